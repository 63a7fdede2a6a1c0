import Foundation
import Synchronization

/// An in-memory ``KeyValueStore`` with etcd's semantics: one cluster revision counter, create/mod
/// revisions and versions per key, multi-key transactions, leases with TTL, historical reads, a
/// bounded history with compaction, and watches.
///
/// **Watches pull from the history.** A watcher is a cursor (the next revision it wants) into the
/// store's history of changes; writers never push into per-watcher buffers, so a slow watcher costs
/// no memory beyond the bounded history and never slows a writer (which runs under a `Mutex` and must
/// not suspend). Each pull takes at most ``Configuration/watchBatchSize`` events. A watcher that falls
/// so far behind that its cursor is compacted away fails with `compacted`, as an etcd watcher does.
///
/// **Leases** expire against the injected clock: every operation first expires the leases whose
/// deadline has passed (deleting their keys in one revision). To expire leases on time while the
/// store is idle (so watchers see the deletes), keep ``run()`` running, e.g. in a task group.
public final class InMemoryKeyValueStore<C: Clock>: KeyValueStore where C.Duration == Duration {
    /// Tuning for the in-memory store.
    public struct Configuration: Sendable, Hashable {
        /// The number of change events kept for watches and historical reads; older revisions are
        /// compacted automatically (in steps: up to a quarter more events may be kept meanwhile).
        /// etcd keeps history until it is compacted by policy.
        public var historyLimit: Int
        /// The most events one watch pull takes from the history.
        public var watchBatchSize: Int
        /// Creates a configuration.
        public init(historyLimit: Int = 10_000, watchBatchSize: Int = 256) {
            self.historyLimit = max(1, historyLimit)
            self.watchBatchSize = max(1, watchBatchSize)
        }
    }

    private let clock: C
    /// The instant lease deadlines are measured from (the state itself is not generic over the clock,
    /// so the hot paths run without looking up generic metadata).
    private let base: C.Instant
    private let configuration: Configuration
    private let state: Mutex<InMemoryState>

    /// Creates an empty store whose leases expire against `clock`.
    public init(clock: C, configuration: Configuration = Configuration()) {
        self.clock = clock
        self.base = clock.now
        self.configuration = configuration
        self.state = Mutex(InMemoryState(historyLimit: configuration.historyLimit))
    }

    /// The current store revision.
    public var revision: Revision { state.withLock { Revision($0.revision) } }

    /// Discards the history before `revision`: reads and watches at older revisions then fail with `compacted`.
    ///
    /// Throws `invalidArgument` for a future revision and `compacted` when already compacted past it.
    public func compact(to revision: Revision) async throws {
        try state.withLock { state in
            guard revision.rawValue <= state.revision else {
                throw DatastoreError(.invalidArgument, "cannot compact to future revision \(revision)")
            }
            guard revision.rawValue > state.compactRevision else {
                throw DatastoreError(.compacted, "already compacted", revision: Revision(state.compactRevision))
            }
            state.compact(to: revision.rawValue)
        }
    }

    /// Expires leases on time (so watchers see their keys deleted while the store is otherwise idle)
    /// until the calling task is cancelled.
    public func run() async throws {
        while !Task.isCancelled {
            let deadline: Duration? = state.withLock { state in
                self.expireLeases(&state)
                return state.leases.values.map(\.deadline).min()
            }
            let wake = clock.now.advanced(by: .seconds(1))
            do {
                try await clock.sleep(until: deadline.map { min(base.advanced(by: $0), wake) } ?? wake, tolerance: nil)
            } catch is CancellationError {
                return
            }
        }
    }

    /// The time since ``base``, lease deadlines' scale.
    private var now: Duration { base.duration(to: clock.now) }

    /// Expires the leases whose deadline passed (a no-op without leases).
    @inline(__always)
    private func expireLeases(_ state: inout InMemoryState) {
        guard !state.leases.isEmpty else { return }
        state.expireLeases(now: now)
    }

    // MARK: KeyValueStore

    public func get(_ key: [UInt8], at revision: Revision?) async throws -> KeyValue? {
        try state.withLock { state in
            expireLeases(&state)
            guard let revision else { return state.current[StoreKey(key)] }
            return try state.snapshot(at: revision, keys: { $0 == key })[key]
        }
    }

    public func list(prefix: [UInt8], at revision: Revision?) async throws -> ListResult {
        try state.withLock { state in
            expireLeases(&state)
            let matches = { (key: [UInt8]) in key.hasBytePrefix(prefix) }
            let items: [KeyValue]
            if let revision {
                items = Array(try state.snapshot(at: revision, keys: matches).values)
            } else {
                items = state.current.values.filter { matches($0.key) }
            }
            return ListResult(
                items: items.sorted { [UInt8].byteLess($0.key, $1.key) },
                revision: revision ?? Revision(state.revision))
        }
    }

    public func transaction(_ transaction: Transaction) async throws -> TransactionResult {
        try state.withLock { state in
            expireLeases(&state)
            return try state.apply(transaction)
        }
    }

    public func grantLease(ttl: Duration) async throws -> Lease {
        guard ttl > .zero else { throw DatastoreError(.invalidArgument, "a lease needs a positive TTL") }
        let seconds = Self.wholeSeconds(ttl)
        return state.withLock { state in
            expireLeases(&state)
            state.nextLeaseID += 1
            let id = state.nextLeaseID
            state.leases[id] = InMemoryState.LeaseState(ttl: .seconds(seconds), deadline: now + .seconds(seconds))
            return Lease(id: LeaseID(rawValue: id), ttl: .seconds(seconds))
        }
    }

    public func keepAlive(_ lease: LeaseID) async throws -> Duration {
        try state.withLock { state in
            expireLeases(&state)
            guard let ttl = state.leases[lease.rawValue]?.ttl else {
                throw DatastoreError(.notFound, "lease \(lease) not found")
            }
            state.leases[lease.rawValue]?.deadline = now + ttl
            return ttl
        }
    }

    public func revokeLease(_ lease: LeaseID) async throws {
        try state.withLock { state in
            expireLeases(&state)
            guard let removed = state.leases.removeValue(forKey: lease.rawValue) else {
                throw DatastoreError(.notFound, "lease \(lease) not found")
            }
            state.deleteLeaseKeys(removed)
        }
    }

    public func watch(prefix: [UInt8], fromRevision: Revision?) -> Watch {
        let start = fromRevision ?? state.withLock { Revision($0.revision + 1) }
        return Watch(prefix: prefix, start: start, store: self)
    }

    /// The in-memory watch: a cursor into the store's history (see the type's documentation).
    public struct Watch: AsyncSequence, Sendable {
        /// Events.
        public typealias Element = WatchEvent
        /// Failures are ``DatastoreError``s (`compacted`).
        public typealias Failure = any Error

        fileprivate let prefix: [UInt8]
        fileprivate let start: Revision
        fileprivate let store: InMemoryKeyValueStore

        /// Creates an iterator starting at the watch's revision.
        public func makeAsyncIterator() -> Iterator {
            Iterator(prefix: prefix, cursor: start, store: store)
        }

        /// Iterates a watch; returns `nil` once the task is cancelled.
        public struct Iterator: AsyncIteratorProtocol {
            fileprivate let prefix: [UInt8]
            fileprivate var cursor: Revision
            fileprivate let store: InMemoryKeyValueStore
            fileprivate var pending: [WatchEvent] = []
            fileprivate var pendingIndex = 0

            /// The next event, waiting for one if needed.
            public mutating func next() async throws -> WatchEvent? {
                while pendingIndex == pending.count {
                    if Task.isCancelled { return nil }
                    let (events, nextCursor) = try store.pull(prefix: prefix, from: cursor)
                    cursor = nextCursor
                    if !events.isEmpty {
                        pending = events
                        pendingIndex = 0
                        break
                    }
                    let id = store.newWaiterID()
                    let cursor = self.cursor
                    let store = self.store
                    await withTaskCancellationHandler {
                        await store.waitForChanges(after: cursor, id: id)
                    } onCancel: {
                        store.cancelWaiter(id)
                    }
                }
                defer { pendingIndex += 1 }
                return pending[pendingIndex]
            }
        }
    }

    // MARK: Watch support

    /// Takes up to a batch of events under `prefix` with revision >= `cursor`, and the cursor after them.
    fileprivate func pull(prefix: [UInt8], from cursor: Revision) throws -> ([WatchEvent], Revision) {
        try state.withLock { state in
            expireLeases(&state)
            return try state.events(prefix: prefix, from: cursor.rawValue, limit: configuration.watchBatchSize)
        }
    }

    /// Suspends until the store's revision passes `cursor - 1` (or `id` is cancelled).
    fileprivate func waitForChanges(after cursor: Revision, id: UInt64) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { state -> Bool in
                if state.revision >= cursor.rawValue || Task.isCancelled { return true }
                state.waiters[id] = continuation
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    fileprivate func newWaiterID() -> UInt64 {
        state.withLock { state in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
    }

    fileprivate func cancelWaiter(_ id: UInt64) {
        state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
    }

    private static func wholeSeconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return max(1, seconds + (attoseconds > 0 ? 1 : 0))
    }
}

/// The state of an ``InMemoryKeyValueStore`` and its operations (all called with the lock held).
///
/// Not generic: lease deadlines are durations since the store's base instant, so the transaction
/// path is compiled for concrete types once and never instantiates generic metadata.
struct InMemoryState {
    struct LeaseState {
        var ttl: Duration
        /// Since the store's base instant.
        var deadline: Duration
        var keys: Set<StoreKey> = []
    }

    let historyLimit: Int
    var revision: Int64 = 1
    var compactRevision: Int64 = 0
    var current: [StoreKey: KeyValue] = [:]
    /// Every change with revision >= compactRevision, in revision order.
    var history: [WatchEvent] = []
    var leases: [Int64: LeaseState] = [:]
    var nextLeaseID: Int64 = 0x1000
    var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
    var nextWaiterID: UInt64 = 0

    init(historyLimit: Int) { self.historyLimit = historyLimit }

    /// Runs a transaction (see ``KeyValueStore/transaction(_:)``).
    mutating func apply(_ transaction: Transaction) throws -> TransactionResult {
        try Self.checkDistinctWrites(transaction.success)
        try Self.checkDistinctWrites(transaction.failure)
        var succeeded = true
        for comparison in transaction.comparisons where !holds(comparison) {
            succeeded = false
            break
        }
        let branch = succeeded ? transaction.success : transaction.failure
        for case .put(let key, _, let lease?) in branch where leases[lease.rawValue] == nil {
            throw DatastoreError(.notFound, "lease \(lease) not found", key: key)
        }
        let newRevision = Revision(revision + 1)
        // The events go straight to the history (nothing can fail from here on).
        let firstEvent = history.endIndex
        var results: [KeyValue?] = []
        results.reserveCapacity(branch.count)
        for operation in branch {
            switch operation {
            case .get(let key):
                results.append(current[StoreKey(key)])
            case .put(let key, let value, let lease):
                let storeKey = StoreKey(key)
                let kv: KeyValue
                let previous: KeyValue?
                // One hash lookup: an existing key is changed in place.
                if let index = current.index(forKey: storeKey) {
                    let old = current.values[index]
                    previous = old
                    kv = KeyValue(
                        key: key, value: value, createRevision: old.createRevision, modRevision: newRevision,
                        version: old.version + 1, lease: lease)
                    if old.lease != nil || lease != nil { detach(old) }
                    current.values[index] = kv
                } else {
                    previous = nil
                    kv = KeyValue(key: key, value: value, createRevision: newRevision, modRevision: newRevision, version: 1, lease: lease)
                    current[storeKey] = kv
                }
                if let lease { leases[lease.rawValue]?.keys.insert(storeKey) }
                history.append(WatchEvent(kind: .put, key: key, current: kv, previous: previous, revision: newRevision))
                results.append(transaction.returnsPreviousValues ? previous : nil)
            case .delete(let key):
                let previous = current.removeValue(forKey: StoreKey(key))
                if let previous {
                    detach(previous)
                    history.append(WatchEvent(kind: .delete, key: key, current: nil, previous: previous, revision: newRevision))
                }
                results.append(transaction.returnsPreviousValues ? previous : nil)
            }
        }
        if history.endIndex > firstEvent { committed() }
        return TransactionResult(succeeded: succeeded, revision: Revision(revision), results: results)
    }

    /// Throws `invalidArgument` when two writes of a branch name one key (pairwise for the usual
    /// few writes, hashed for many).
    private static func checkDistinctWrites(_ branch: [Transaction.Operation]) throws {
        guard branch.count > 1 else { return }
        func written(_ operation: Transaction.Operation) -> [UInt8]? {
            switch operation {
            case .put(let key, _, _), .delete(let key): key
            case .get: nil
            }
        }
        func duplicate(_ key: [UInt8]) -> DatastoreError {
            DatastoreError(.invalidArgument, "duplicate key given in transaction", key: key)
        }
        if branch.count <= 16 {
            for i in branch.indices {
                guard let key = written(branch[i]) else { continue }
                for j in branch.index(after: i)..<branch.endIndex {
                    if let other = written(branch[j]), other == key { throw duplicate(key) }
                }
            }
            return
        }
        var seen = Set<StoreKey>()
        for operation in branch {
            if let key = written(operation), !seen.insert(StoreKey(key)).inserted { throw duplicate(key) }
        }
    }

    mutating func commit(_ events: [WatchEvent]) {
        history.append(contentsOf: events)
        committed()
    }

    /// Moves to the next revision once its events are in the history: compacts, wakes watchers.
    mutating func committed() {
        revision += 1
        // Compacted in steps, so that a full history does not shift on every write.
        if history.count > historyLimit + max(1, historyLimit / 4) {
            let firstKept = history[history.count - historyLimit].revision.rawValue
            compact(to: firstKept)
        }
        guard !waiters.isEmpty else { return }
        let woken = waiters
        waiters.removeAll()
        for waiter in woken.values { waiter.resume() }
    }

    mutating func expireLeases(now: Duration) {
        for (id, lease) in leases where lease.deadline <= now {
            leases.removeValue(forKey: id)
            deleteLeaseKeys(lease)
        }
    }

    mutating func deleteLeaseKeys(_ lease: LeaseState) {
        let newRevision = Revision(revision + 1)
        var events: [WatchEvent] = []
        for key in lease.keys.sorted(by: { [UInt8].byteLess($0.bytes, $1.bytes) }) {
            guard let previous = current.removeValue(forKey: key) else { continue }
            events.append(WatchEvent(kind: .delete, key: key.bytes, current: nil, previous: previous, revision: newRevision))
        }
        if !events.isEmpty { commit(events) }
    }

    private mutating func detach(_ previous: KeyValue) {
        if let lease = previous.lease { leases[lease.rawValue]?.keys.remove(StoreKey(previous.key)) }
    }

    mutating func compact(to revision: Int64) {
        compactRevision = max(compactRevision, revision)
        let drop = history.firstIndex { $0.revision.rawValue >= compactRevision } ?? history.count
        history.removeFirst(drop)
    }

    func holds(_ comparison: Transaction.Comparison) -> Bool {
        guard let rangeEnd = comparison.rangeEnd else { return Self.holds(comparison, for: current[StoreKey(comparison.key)]) }
        let start = comparison.key
        let inRange = { (key: [UInt8]) in
            !key.lexicographicallyPrecedes(start) && (rangeEnd == [0] || key.lexicographicallyPrecedes(rangeEnd))
        }
        // "No key in range modified at or after r": only the history since r can break it, so when
        // that history is kept, look there instead of at every key.
        if case .modRevision(let r) = comparison.target, comparison.relation == .less, r.rawValue > compactRevision {
            var index = history.endIndex
            while index > history.startIndex {
                index -= 1
                let event = history[index]
                guard event.revision >= r else { break }
                if event.kind == .put, inRange(event.key), current[StoreKey(event.key)] != nil { return false }
            }
            return true
        }
        var any = false
        for (key, kv) in current where inRange(key.bytes) {
            any = true
            if !Self.holds(comparison, for: kv) { return false }
        }
        if any { return true }
        if case .value = comparison.target { return false }
        return Self.holds(comparison, for: nil)
    }

    private static func holds(_ comparison: Transaction.Comparison, for kv: KeyValue?) -> Bool {
        let order: Int
        switch comparison.target {
        case .modRevision(let r): order = compare(kv?.modRevision.rawValue ?? 0, r.rawValue)
        case .createRevision(let r): order = compare(kv?.createRevision.rawValue ?? 0, r.rawValue)
        case .version(let v): order = compare(kv?.version ?? 0, v)
        case .value(let value):
            guard let stored = kv?.value else { return false }
            order = stored == value ? 0 : (stored.lexicographicallyPrecedes(value) ? -1 : 1)
        }
        switch comparison.relation {
        case .equal: return order == 0
        case .notEqual: return order != 0
        case .less: return order < 0
        case .greater: return order > 0
        }
    }

    private static func compare(_ a: Int64, _ b: Int64) -> Int { a == b ? 0 : (a < b ? -1 : 1) }

    private func checkReadable(_ revision: Revision) throws {
        if revision.rawValue > self.revision {
            throw DatastoreError(.invalidArgument, "revision \(revision) is in the future (store is at \(self.revision))")
        }
        if revision.rawValue < compactRevision {
            throw DatastoreError(.compacted, "revision \(revision) has been compacted", revision: Revision(compactRevision))
        }
    }

    /// The keys matching `keys` as they were at `revision`: the current state with later changes undone.
    func snapshot(at revision: Revision, keys: ([UInt8]) -> Bool) throws -> [[UInt8]: KeyValue] {
        try checkReadable(revision)
        var result: [[UInt8]: KeyValue] = [:]
        for (key, kv) in current where keys(key.bytes) { result[key.bytes] = kv }
        for event in history.reversed() {
            guard event.revision > revision else { break }
            guard keys(event.key) else { continue }
            result[event.key] = event.previous
        }
        return result
    }

    func events(prefix: [UInt8], from cursor: Int64, limit: Int) throws -> ([WatchEvent], Revision) {
        if cursor < compactRevision {
            throw DatastoreError(.compacted, "watch revision \(cursor) has been compacted", revision: Revision(compactRevision))
        }
        guard cursor <= revision else { return ([], Revision(cursor)) }
        // Binary search for the first event at or after the cursor.
        var low = 0
        var high = history.count
        while low < high {
            let mid = (low + high) / 2
            if history[mid].revision.rawValue < cursor { low = mid + 1 } else { high = mid }
        }
        var batch: [WatchEvent] = []
        var index = low
        while index < history.count {
            let event = history[index]
            // Never split one revision across batches, so the cursor can move past whole revisions.
            if batch.count >= limit, batch.last?.revision != event.revision { break }
            if event.key.hasBytePrefix(prefix) { batch.append(event) }
            index += 1
        }
        let nextCursor = index < history.count ? history[index].revision.rawValue : revision + 1
        return (batch, Revision(nextCursor))
    }
}

extension InMemoryKeyValueStore {
    /// The store's keys and revision counter, for persisting an embedded datastore between runs
    /// (see ``StateFile``). Keys and values are base64 in JSON. History, leases and watches are not
    /// part of it: a restored store starts with its history compacted at the saved revision, and keys
    /// that were attached to a lease are left out (their lease does not survive).
    public struct Snapshot: Codable, Sendable, Hashable {
        /// One stored key.
        public struct Entry: Codable, Sendable, Hashable {
            /// The key, base64.
            public var key: String
            /// The value, base64.
            public var value: String
            /// The key's create revision.
            public var createRevision: Int64
            /// The key's mod revision.
            public var modRevision: Int64
            /// The key's version.
            public var version: Int64
        }
        /// The store revision.
        public var revision: Int64
        /// The keys, in key order.
        public var entries: [Entry]
    }

    /// The current keys and revision (see ``Snapshot``).
    public func snapshot() -> Snapshot {
        state.withLock { state in
            expireLeases(&state)
            let entries = state.current.values.filter { $0.lease == nil }.sorted { [UInt8].byteLess($0.key, $1.key) }.map {
                Snapshot.Entry(
                    key: Self.base64($0.key), value: Self.base64($0.value), createRevision: $0.createRevision.rawValue,
                    modRevision: $0.modRevision.rawValue, version: $0.version)
            }
            return Snapshot(revision: state.revision, entries: entries)
        }
    }

    /// A store holding a snapshot's keys at its revision; reads and watches at older revisions throw `compacted`.
    ///
    /// - Throws: `invalidArgument` when the snapshot is inconsistent (bad base64, a key revision after the store's).
    public convenience init(restoring snapshot: Snapshot, clock: C, configuration: Configuration = Configuration()) throws {
        self.init(clock: clock, configuration: configuration)
        var current: [StoreKey: KeyValue] = [:]
        for entry in snapshot.entries {
            guard let key = Self.unbase64(entry.key), let value = Self.unbase64(entry.value),
                entry.modRevision <= snapshot.revision, entry.createRevision <= entry.modRevision, entry.version > 0
            else {
                throw DatastoreError(.invalidArgument, "the snapshot entry \(entry.key) is not valid")
            }
            current[StoreKey(key)] = KeyValue(
                key: key, value: value, createRevision: Revision(entry.createRevision),
                modRevision: Revision(entry.modRevision), version: entry.version)
        }
        state.withLock { state in
            state.revision = max(1, snapshot.revision)
            state.compactRevision = state.revision
            state.current = current
        }
    }

    private static func base64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }
    private static func unbase64(_ text: String) -> [UInt8]? { Data(base64Encoded: text).map { Array($0) } }
}

extension InMemoryKeyValueStore where C == ContinuousClock {
    /// Creates an empty store whose leases expire in real time.
    public convenience init(configuration: Configuration = Configuration()) {
        self.init(clock: ContinuousClock(), configuration: configuration)
    }
}

/// A store key with a fast hash: `[UInt8]` hashes byte by byte through SipHash; this hashes eight
/// bytes at a time (``ByteHash``), straight into the table's seed.
package struct StoreKey: Hashable, Sendable {
    /// The key's bytes.
    package let bytes: [UInt8]

    /// A key of `bytes`.
    @inlinable package init(_ bytes: [UInt8]) { self.bytes = bytes }

    @inlinable package func hash(into hasher: inout Hasher) { hasher.combine(ByteHash.hash(bytes, seed: 0)) }

    /// The hash the standard library's tables use: ``ByteHash`` seeded with the table's seed (no `Hasher`).
    @inlinable package func _rawHashValue(seed: Int) -> Int { ByteHash.hash(bytes, seed: seed) }

    @inlinable package static func == (a: StoreKey, b: StoreKey) -> Bool { a.bytes == b.bytes }
}

/// A fast seeded hash of bytes for hash tables keyed by byte strings: eight bytes per
/// multiply-xorshift step, a SplitMix64 finish. Not cryptographic; tables seed it per instance.
package enum ByteHash {
    /// The hash of `bytes` under `seed`.
    @inlinable package static func hash(_ bytes: [UInt8], seed: Int) -> Int {
        bytes.withUnsafeBytes { buffer in
            var h = UInt64(bitPattern: Int64(seed)) ^ 0x9E37_79B9_7F4A_7C15 ^ UInt64(buffer.count)
            var at = 0
            let count = buffer.count
            while at + 8 <= count {
                let word = buffer.loadUnaligned(fromByteOffset: at, as: UInt64.self)
                h = (h ^ word) &* 0xBF58_476D_1CE4_E5B9
                h ^= h >> 29
                at += 8
            }
            if at < count {
                var word: UInt64 = 0
                var shift: UInt64 = 0
                while at < count {
                    word |= UInt64(buffer[at]) << shift
                    shift += 8
                    at += 1
                }
                h = (h ^ word) &* 0xBF58_476D_1CE4_E5B9
                h ^= h >> 29
            }
            h = (h ^ (h >> 30)) &* 0xBF58_476D_1CE4_E5B9
            h = (h ^ (h >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int(bitPattern: UInt(truncatingIfNeeded: h ^ (h >> 31)))
        }
    }
}
