public import CanalDatastore
import CanalModel
import CanalSelector
import Foundation
import Synchronization

/// Calico's block IPAM over any ``KeyValueStore`` (libcalico-go `lib/ipam` on its etcdv3 backend),
/// with Calico's keys and JSON (see ``IPAMKeys``, ``AllocationBlock``).
///
/// Pools (`IPPool` resources) are carved into blocks of the pool's `blockSize`. A host owns blocks
/// through affinities and assigns from them first; when they are full it claims a free block, and
/// when none is left it borrows from other hosts' blocks unless strict affinity is on.
///
/// ## Writes
/// Every write is one etcd transaction guarded by compare-and-swap on each key it writes; a failed
/// compare returns the keys' current values in the same round trip, so a conflict is re-computed on
/// fresh data and retried (up to ``Options/maxAttempts``, with jitter after repeated conflicts),
/// never overwritten. Where Calico writes several keys one after the other, Canal writes them in one
/// transaction, so no intermediate state is ever visible and a crash cannot leave one half:
/// - assigning from a block: the block (with every address of the call from that block) and the
///   handle's count, together;
/// - claiming a block: Calico's pending affinity → block create → confirmed affinity become one
///   transaction "block absent and affinity unchanged ⇒ put block (with the addresses), put affinity
///   `confirmed`, put handle". A pending affinity left by Calico (or a crashed client) is confirmed
///   when the block is ours and deleted when another host owns it, as Calico does.
///
/// ## The host snapshot
/// A client keeps, per host, what its last full ``autoAssign(_:)`` read: the config, the node, the
/// pools and reservations, the host's affinities and blocks, with their mod revisions (and the
/// handles it wrote). The next call for that host decides from the snapshot and writes in one
/// transaction that carries, besides the block and handle compare-and-swap, a compare on the mod
/// revision of every key the decision rests on — the config, the node, each pool and reservation,
/// the chosen block's affinity (for a claim: all the host's affinities of the family, which count
/// against the block limit, and each of their blocks, still full) — and "nothing created or
/// modified since" compares over the pool/reservation prefix and the host's affinity prefix. So a
/// write lands only if what it was decided on is still current at the write's own revision — a
/// stronger guarantee than a read-then-write — and a change by another client (a disabled pool, a
/// new reservation, relabelled node, released affinity, changed config) fails the write and sends
/// the call down the full path. A failed write returns the current block and handle, so a
/// concurrent assignment from the same block or to the same handle is retried on fresh values
/// without re-reading the rest.
///
/// An assignment from a block with room does not compare the host's full blocks before it.
/// Calico's write compares only the block it writes, and correctness does not need more: the
/// chosen block's own compare-and-swap is what guarantees no address is given twice. The only
/// effect is which of the host's blocks serves the call when another client freed an address in an
/// earlier full block since the snapshot: the block in use does, until the host's next claim (or
/// full path), whose compares on every block of the family find the freed address and send the
/// call down the full path, which takes it — never a new block while the host has room. Those compares cost etcd: with the benchmark's mean of 7 full
/// blocks ahead, a write shaped like an allocation's runs 5–14% slower with them
/// (`canal-bench ipam`, `full-block-compares-cost`).
///
/// The snapshot's blocks are assigned from in place (their arrays are not copied per call): the
/// assignment is marked pending until its write lands and taken back if it fails; a concurrent
/// call of the same client for the same host assigns from a copy of the block as stored.
///
/// The snapshot is used when one affine block per family has room for the whole request, or when
/// every affine block of a family is full and a new block can be claimed: the claim picks the
/// first block in the host's order that the client does not know to exist (its last list of the
/// family's blocks, plus the blocks it created, deleted or found since) and writes "block and
/// affinity absent ⇒ put the block with the addresses, put the affinity `confirmed`, put the
/// handle" with the snapshot's compares. A block created by another client since fails the compare
/// and returns it, and the next block is tried (three times, then the full path lists the blocks).
/// A block another client deleted since the list may be passed over until the full path lists
/// again — never an address twice. Borrowing and partial fills take the full path, which refreshes
/// the snapshot. Writes don't ask etcd for the previous values
/// (``Transaction/returnsPreviousValues``): a block is kilobytes.
///
/// ## The handle
/// Calico writes the handle (its count for the block) and then the block, two round trips. Canal
/// puts both in one transaction, with a compare on each (the handle's mod revision as this client
/// last wrote it, or "absent" for a handle it has not seen — no read of a new handle first): the
/// same two writes, one round trip, and no state where one is written without the other.
///
/// ## Block JSON
/// The JSON of a block this client wrote is kept with its layout, and an assignment from it
/// patches only the parts that change (the taken `allocations` entries, the head of
/// `unallocated`, an appended `attributes` entry, `sequenceNumber` and the new
/// `sequenceNumberForAllocation` entries in Go's key order) instead of encoding the block again;
/// the bytes are those of a full encoding.
///
/// ## etcd round trips per path
/// | path | round trips |
/// |---|---|
/// | ``autoAssign(_:)`` with a current snapshot, a host-affine block has room (both families alike) | 1: one validated write txn |
/// | … the block or the handle changed since | + 1 per retry (the failed compare returns both) |
/// | … every affine block of the family full, a new block can be claimed | 1: the claim is the validated write (+ 1 per block found taken, at most 3, then the full path) |
/// | … anything else in the snapshot changed | + the full path |
/// | ``autoAssign(_:)``, full path (a client's first call for a host), one family, host-affine block has room | 5: config+node+handle (one read txn), pools+reservations (one list), the host's affinities (one list) — these three concurrently — then its blocks (one read txn), then one write txn |
/// | … both families | 6: the same four reads (shared by the families), one write per family |
/// | … claiming a new block | + 1 list of the family's blocks, and the write is the claim itself (no extra write) |
/// | … borrowing | + 1 list of the family's blocks (shared with a claim attempt) + 1 write per block used |
/// | … a conflict | + 1 write per retry (the failed compare returns the fresh values) |
/// | ``assignIP(_:handle:attributes:host:)`` | 4: config+handle and pools (concurrently), block+affinity (one read txn), one write |
/// | ``releaseIPs(_:)`` | 3 + 1 list when an address is in no pool: pools, blocks (one read txn), handles (one read txn), one write txn for every block and handle |
/// | ``releaseByHandle(_:)`` | 3: handle, its blocks (one read txn), one write txn |
/// | ``ipsByHandle(_:)`` | 2 |
/// | ``removeHost(_:)`` | 2 + 2 per affinity: one list (record and affinities), per affinity its block and one write, then the record's write |
///
/// N addresses from one block are always one block write.
public struct IPAMClient<Store: KeyValueStore>: Sendable {
    /// Tuning and injectable behaviour.
    public struct Options: Sendable {
        /// The attempts of one compare-and-swap loop before ``IPAMError/Code/tooManyRetries``
        /// (Calico's `datastoreRetries`, 100).
        public var maxAttempts: Int
        /// The order new blocks are tried in.
        public var blockOrder: BlockOrder
        /// The built-in cap on blocks per host when neither the config nor the request sets one (20).
        public var defaultMaxBlocksPerHost: Int

        /// Calico's defaults.
        public init(maxAttempts: Int = 100, blockOrder: BlockOrder = .hostSeeded, defaultMaxBlocksPerHost: Int = 20) {
            self.maxAttempts = maxAttempts
            self.blockOrder = blockOrder
            self.defaultMaxBlocksPerHost = defaultMaxBlocksPerHost
        }
    }

    /// The store.
    public let store: Store
    /// The options.
    public let options: Options
    let cache: DecodeCache
    let hostCache: HostCache

    /// A client over `store`.
    public init(store: Store, options: Options = Options()) {
        self.store = store
        self.options = options
        self.cache = DecodeCache()
        self.hostCache = HostCache()
    }

    // MARK: Configuration

    /// The IPAM configuration; Calico's defaults when none is stored. One round trip.
    public func config() async throws(IPAMError) -> IPAMConfig {
        let kv = try await ipam { try await store.get(IPAMKeys.config.bytes) }
        guard let kv else { return IPAMConfig() }
        return try IPAMConfig(json: kv.value)
    }

    /// Validates and writes the IPAM configuration (Calico's `SetIPAMConfig`: an unconditional put).
    public func setConfig(_ config: IPAMConfig) async throws(IPAMError) {
        try config.validate()
        _ = try await ipam { try await store.put(IPAMKeys.config.bytes, value: config.jsonBytes) }
    }

    // MARK: Shared reads

    /// Pools and reservations, from one list of `/calico/resources/v3/projectcalico.org/ip`.
    func loadPoolsAndReservations() async throws(IPAMError) -> (pools: [Pool], reservations: ReservationFilter) {
        let (pools, reservations, _) = try await loadPoolList()
        return (pools, reservations)
    }

    /// Pools and reservations, and the list they came from.
    func loadPoolList() async throws(IPAMError) -> (pools: [Pool], reservations: ReservationFilter, list: ListResult) {
        let list = try await ipam { try await store.list(prefix: Pool.listPrefixBytes) }
        var pools: [Pool] = []
        var reserved: [CIDR] = []
        for kv in list.items {
            if let pool = try cache.pool(kv) { pools.append(pool) }
            if let networks = cache.reservation(kv) { reserved += networks }
        }
        return (pools, ReservationFilter(networks: reserved), list)
    }

    /// The pool containing `address` (any state), if any.
    static func pool(containing address: IPAddress, in pools: [Pool]) -> Pool? {
        pools.first { $0.cidr.contains(address) }
    }

    /// Runs a transaction, wrapping errors.
    func run(_ transaction: Transaction) async throws(IPAMError) -> TransactionResult {
        try await ipam { try await store.transaction(transaction) }
    }

    /// Sleeps a random jitter after the `attempt`th consecutive conflict (none after the first).
    static func backoff(attempt: Int) async {
        guard attempt >= 2 else { return }
        let ceiling = min(1 << min(attempt, 5), 20)  // ms
        let micros = Int.random(in: 0...(ceiling * 1000))
        try? await Task.sleep(for: .microseconds(micros))
    }

    /// Nanoseconds since the epoch, the seed of a new block's sequence number.
    static func nowNanos() -> UInt64 {
        var t = timespec()
        clock_gettime(CLOCK_REALTIME, &t)
        return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
    }

    /// The time as `metav1.Time` writes it: RFC 3339 in UTC, whole seconds (`2024-05-01T10:00:00Z`).
    static func timestamp() -> String { rfc3339(seconds: time(nil)) }

    /// `seconds` since the epoch as `YYYY-MM-DDTHH:MM:SSZ`.
    static func rfc3339(seconds: Int) -> String {
        var t = seconds
        var parts = tm()
        gmtime_r(&t, &parts)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }

    /// A decoded block from a key's value (cached by key and mod revision).
    func block(_ kv: KeyValue) throws(IPAMError) -> AllocationBlock { try cache.block(kv) }

    /// Records a block this client wrote, so the next read of that revision needs no decoding.
    func remember(
        _ block: AllocationBlock, key: [UInt8], value: [UInt8], layout: BlockJSONLayout? = nil, revision: Revision, previous: KeyValue?
    ) -> KeyValue {
        let kv = KeyValue(
            key: key, value: value, createRevision: previous?.createRevision ?? revision, modRevision: revision,
            version: (previous?.version ?? 0) + 1)
        cache.store(block, for: kv, layout: layout)
        return kv
    }
}

/// How new blocks of a pool are tried (Calico's `randomBlockGenerator`).
public enum BlockOrder: Sendable, Hashable {
    /// Start at a pseudo-random block chosen from an FNV-1 hash of the host name, then walk in
    /// address order with wrap-around: a host revisits the same order, different hosts spread out.
    case hostSeeded
    /// Start at the pool's first block (deterministic, for tests and small pools).
    case sequential

    /// The index of the first block to try among `count` for `host`.
    func start(host: String, pool: CIDR, count: UInt128) -> UInt128 {
        guard count > 1, self == .hostSeeded else { return 0 }
        var hash: UInt32 = 2_166_136_261  // FNV-1 32-bit
        for b in host.utf8 {
            hash = hash &* 16_777_619
            hash ^= UInt32(b)
        }
        var x = UInt64(hash) ^ UInt64(truncatingIfNeeded: pool.address.value)
        // SplitMix64 step.
        x = x &+ 0x9E37_79B9_7F4A_7C15
        x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
        x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
        x ^= x >> 31
        return UInt128(x) % count
    }
}

/// A usable view of an IPPool resource.
struct Pool: Sendable {
    static let listPrefix = "/calico/resources/v3/projectcalico.org/ip"
    static let poolPrefix = "/calico/resources/v3/projectcalico.org/ippools/"
    static let reservationPrefix = "/calico/resources/v3/projectcalico.org/ipreservations/"

    var name: String
    var cidr: CIDR
    var blockSize: Int
    var disabled: Bool
    var automatic: Bool
    var uses: [IPPoolUse]
    var nodeSelector: Selector?
    /// The pool's `namespaceSelector`, when it has one (nil: every namespace).
    var namespaceSelector: Selector? = nil

    var family: IPAddress.Family { cidr.family }
    var blockCount: UInt128 { cidr.subnets(prefixLength: blockSize).count }

    /// The block of this pool containing `address`.
    func block(containing address: IPAddress) -> CIDR {
        CIDR(address: address, prefixLength: blockSize)!.network
    }

    /// The `index`th block.
    func block(at index: UInt128) -> CIDR {
        let step = UInt128(1) << UInt128(family.bitCount - blockSize)
        return CIDR(address: IPAddress(family: family, value: cidr.address.value + index * step), prefixLength: blockSize)!
    }

    /// The index of a block of this pool.
    func index(of block: CIDR) -> UInt128 {
        (block.address.value - cidr.address.value) >> UInt128(family.bitCount - blockSize)
    }

    func selects(_ labels: [String: String]) -> Bool { nodeSelector?.matches(labels) ?? true }
}

/// Decoded values by key and mod revision: a value that has not changed is decoded once.
final class DecodeCache: Sendable {
    /// A block as of one revision, and where the parts of its JSON are when this client wrote it
    /// (``AllocationBlock/patchedJSON(from:layout:old:taken:)``).
    private struct Block {
        var revision: Revision
        var block: AllocationBlock
        var layout: BlockJSONLayout?
    }
    private struct Entry<Value> {
        var revision: Revision
        var value: Value
    }
    private struct State {
        var blocks: [ByteKey: Block] = [:]
        var pools: [ByteKey: Entry<Pool?>] = [:]
        var reservations: [ByteKey: Entry<[CIDR]>] = [:]
    }
    private let state = Mutex(State())

    func block(_ kv: KeyValue) throws(IPAMError) -> AllocationBlock {
        if let hit = state.withLock({ $0.blocks[ByteKey(kv.key)] }), hit.revision == kv.modRevision { return hit.block }
        let block = try AllocationBlock(json: kv.value)
        store(block, for: kv)
        return block
    }

    func store(_ block: AllocationBlock, for kv: KeyValue, layout: BlockJSONLayout? = nil) {
        state.withLock {
            if $0.blocks.count > 4096 { $0.blocks.removeAll(keepingCapacity: true) }
            $0.blocks[ByteKey(kv.key)] = Block(revision: kv.modRevision, block: block, layout: layout)
        }
    }

    /// The layout of `kv`'s value when this client wrote it.
    func layout(_ kv: KeyValue) -> BlockJSONLayout? {
        guard let hit = state.withLock({ $0.blocks[ByteKey(kv.key)] }), hit.revision == kv.modRevision else { return nil }
        return hit.layout
    }

    func pool(_ kv: KeyValue) throws(IPAMError) -> Pool? {
        guard kv.key.starts(with: Pool.poolPrefix.utf8) else { return nil }
        if let hit = state.withLock({ $0.pools[ByteKey(kv.key)] }), hit.revision == kv.modRevision { return hit.value }
        let pool = Self.parsePool(kv)
        state.withLock { $0.pools[ByteKey(kv.key)] = Entry(revision: kv.modRevision, value: pool) }
        return pool
    }

    func reservation(_ kv: KeyValue) -> [CIDR]? {
        guard kv.key.starts(with: Pool.reservationPrefix.utf8) else { return nil }
        if let hit = state.withLock({ $0.reservations[ByteKey(kv.key)] }), hit.revision == kv.modRevision { return hit.value }
        var networks: [CIDR] = []
        if let value = try? JSONValue(parsing: kv.value),
           case .array(let items)? = value["spec"]?["reservedCIDRs"] {
            networks = items.compactMap { $0.stringValue.flatMap { CIDR(ipOrCIDR: $0) } }
        }
        state.withLock { $0.reservations[ByteKey(kv.key)] = Entry(revision: kv.modRevision, value: networks) }
        return networks
    }

    /// A pool from its stored JSON with Calico's defaults; nil when it is not a usable pool.
    static func parsePool(_ kv: KeyValue) -> Pool? {
        guard let value = try? JSONValue(parsing: kv.value),
              let spec = try? JSONValueDecoding.decode(IPPoolSpec.self, from: value["spec"] ?? .object(JSONObject()), rejectUnknownFields: false),
              let cidr = spec.network?.network, let blockSize = spec.effectiveBlockSize,
              blockSize >= cidr.prefixLength, blockSize <= cidr.family.bitCount
        else { return nil }
        let name = value["metadata"]?["name"]?.stringValue ?? ""
        let selectorText = spec.nodeSelector.isEmpty ? "all()" : spec.nodeSelector
        let selector: Selector? = selectorText == "all()" ? nil : ((try? Selector(selectorText)) ?? Selector.none)
        return Pool(
            name: name, cidr: cidr, blockSize: blockSize, disabled: spec.disabled,
            automatic: (spec.assignmentMode ?? .automatic) == .automatic, uses: spec.effectiveAllowedUses,
            nodeSelector: selector, namespaceSelector: Pool.namespaceSelector(spec.namespaceSelector))
    }
}

extension Selector {
    /// A selector matching nothing (an unparsable pool selector selects no node).
    static var none: Selector { try! Selector("!all()") }
}
