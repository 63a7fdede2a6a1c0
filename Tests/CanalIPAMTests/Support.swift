import CanalDatastore
import CanalIPAM
import CanalModel
import Synchronization

/// A store that counts the round trips made through it.
final class CountingStore<Base: KeyValueStore>: KeyValueStore {
    typealias Watch = Base.Watch
    let base: Base
    private let counter = Mutex(0)
    init(_ base: Base) { self.base = base }

    var count: Int { counter.withLock { $0 } }
    func reset() { counter.withLock { $0 = 0 } }
    private func tick() { counter.withLock { $0 += 1 } }

    func get(_ key: [UInt8], at revision: Revision?) async throws -> KeyValue? { tick(); return try await base.get(key, at: revision) }
    func list(prefix: [UInt8], at revision: Revision?) async throws -> ListResult { tick(); return try await base.list(prefix: prefix, at: revision) }
    func transaction(_ transaction: Transaction) async throws -> TransactionResult { tick(); return try await base.transaction(transaction) }
    func grantLease(ttl: Duration) async throws -> Lease { tick(); return try await base.grantLease(ttl: ttl) }
    func keepAlive(_ lease: LeaseID) async throws -> Duration { tick(); return try await base.keepAlive(lease) }
    func revokeLease(_ lease: LeaseID) async throws { tick(); try await base.revokeLease(lease) }
    func compact(to revision: Revision) async throws { try await base.compact(to: revision) }
    func watch(prefix: [UInt8], fromRevision: Revision?) -> Base.Watch { base.watch(prefix: prefix, fromRevision: fromRevision) }
}

typealias MemoryStore = InMemoryKeyValueStore<ContinuousClock>

func memoryStore() -> MemoryStore { InMemoryKeyValueStore(clock: ContinuousClock()) }

/// Writes an IPPool resource.
func addPool<S: KeyValueStore>(
    _ store: S, name: String, cidr: String, blockSize: Int = 0, disabled: Bool = false, nodeSelector: String = ""
) async throws {
    var pool = IPPool(metadata: ObjectMeta(name: name), spec: IPPoolSpec(cidr: cidr, disabled: disabled, blockSize: blockSize, nodeSelector: nodeSelector))
    if blockSize == 0 { pool.spec.blockSize = 0 }
    _ = try await ResourceClient(store: store).create(pool)
}

func addReservation<S: KeyValueStore>(_ store: S, name: String, _ cidrs: [String]) async throws {
    _ = try await ResourceClient(store: store).create(IPReservation(metadata: ObjectMeta(name: name), spec: IPReservationSpec(reservedCIDRs: cidrs)))
}

func addNode<S: KeyValueStore>(_ store: S, name: String, labels: [String: String]) async throws {
    let labelText = labels.map { "\"\($0.key)\":\"\($0.value)\"" }.joined(separator: ",")
    let json = "{\"kind\":\"Node\",\"apiVersion\":\"projectcalico.org/v3\",\"metadata\":{\"name\":\"\(name)\",\"labels\":{\(labelText)}},\"spec\":{}}"
    try await store.put(Array("/calico/resources/v3/projectcalico.org/nodes/\(name)".utf8), value: Array(json.utf8))
}

func ip(_ text: String) -> IPAddress { IPAddress(text)! }
func cidr(_ text: String) -> CIDR { CIDR(text)! }

extension IPAMClient {
    /// A sequential-order client, so tests know which block comes first.
    static func sequential(_ store: Store) -> IPAMClient { IPAMClient(store: store, options: .init(blockOrder: .sequential)) }
}

/// A store that runs actions just before transactions: a one-shot action (another client's write
/// landing between a read, or a snapshot, and the write that relies on it) and a hook for every
/// transaction, given its number (from 1), which may suspend or throw (an injected failure: the
/// transaction then never reaches the store).
final class InterposingStore<Base: KeyValueStore>: KeyValueStore {
    typealias Watch = Base.Watch
    let base: Base
    private let pending = Mutex<(@Sendable () async throws -> Void)?>(nil)
    private let every = Mutex<(@Sendable (Int) async throws -> Void)?>(nil)
    private let transactions = Mutex(0)
    init(_ base: Base) { self.base = base }

    /// Runs `action` before the next transaction (once).
    func beforeNextTransaction(_ action: @escaping @Sendable () async throws -> Void) { pending.withLock { $0 = action } }
    /// Runs `hook` before every transaction, with the transaction's number.
    func onEveryTransaction(_ hook: @escaping @Sendable (Int) async throws -> Void) { every.withLock { $0 = hook } }
    var transactionCount: Int { transactions.withLock { $0 } }

    func get(_ key: [UInt8], at revision: Revision?) async throws -> KeyValue? { try await base.get(key, at: revision) }
    func list(prefix: [UInt8], at revision: Revision?) async throws -> ListResult { try await base.list(prefix: prefix, at: revision) }
    func transaction(_ transaction: Transaction) async throws -> TransactionResult {
        let number = transactions.withLock { count in
            count += 1
            return count
        }
        if let hook = every.withLock({ $0 }) { try await hook(number) }
        if let action = pending.withLock({ p in defer { p = nil }; return p }) { try await action() }
        return try await base.transaction(transaction)
    }
    func grantLease(ttl: Duration) async throws -> Lease { try await base.grantLease(ttl: ttl) }
    func keepAlive(_ lease: LeaseID) async throws -> Duration { try await base.keepAlive(lease) }
    func revokeLease(_ lease: LeaseID) async throws { try await base.revokeLease(lease) }
    func compact(to revision: Revision) async throws { try await base.compact(to: revision) }
    func watch(prefix: [UInt8], fromRevision: Revision?) -> Base.Watch { base.watch(prefix: prefix, fromRevision: fromRevision) }
}
