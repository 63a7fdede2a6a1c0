public import CanalModel
import Synchronization

/// Keeps a consumer in step with part of the datastore: list, then watch (libcalico-go's
/// watchersyncer on etcd v3).
///
/// ``run()`` lists every key under the requested prefixes at one revision and delivers them as a
/// snapshot (status `resyncing`), then a batch with status `inSync`, then follows one watch from the
/// list's revision and delivers each change. When the watch fails — history compacted, or the
/// store unreachable for longer than its reconnect window — it lists again (retrying every
/// ``Configuration/retryInterval`` while the store is down) and delivers only the difference from what
/// it delivered before: puts for new or changed keys (by mod revision), deletes for keys that
/// vanished, nothing for unchanged ones; then `inSync` again.
///
/// Read the batches from ``updates`` while ``run()`` runs (e.g. in a task group). The hand-off is
/// bounded: when the consumer falls behind by ``Configuration/bufferLimit`` updates, the syncer stops
/// reading from the store until it catches up; meanwhile consecutive updates are merged into larger
/// batches. One consumer per syncer; `run()` once.
public final class Syncer<Store: KeyValueStore>: Sendable {
    /// Tuning.
    public struct Configuration: Sendable, Hashable {
        /// The most updates buffered for the consumer before the syncer waits.
        public var bufferLimit: Int
        /// The most updates in one batch.
        public var maxBatchSize: Int
        /// The wait between failed lists.
        public var retryInterval: Duration
        /// The least time between two resyncs (Calico: 500 ms).
        public var minimumResyncInterval: Duration
        /// Creates a configuration.
        public init(
            bufferLimit: Int = 1_000, maxBatchSize: Int = 500, retryInterval: Duration = .seconds(1),
            minimumResyncInterval: Duration = .milliseconds(500)
        ) {
            self.bufferLimit = bufferLimit
            self.maxBatchSize = maxBatchSize
            self.retryInterval = retryInterval
            self.minimumResyncInterval = minimumResyncInterval
        }
    }

    /// The batches ``Syncer/run()`` produces: an `AsyncSequence` that ends when `run()` returns and
    /// throws when it fails.
    public struct Updates: AsyncSequence, Sendable {
        /// Batches.
        public typealias Element = SyncBatch
        /// The error `run()` failed with.
        public typealias Failure = any Error
        let channel: BatchChannel
        /// Creates the iterator.
        public func makeAsyncIterator() -> Iterator { Iterator(channel: channel) }
        /// Iterates the batches.
        public struct Iterator: AsyncIteratorProtocol {
            let channel: BatchChannel
            /// The next batch, or `nil` at the end (or when the reading task is cancelled).
            public mutating func next() async throws -> SyncBatch? { try await channel.next() }
        }
    }

    private let store: Store
    private let prefixes: [[UInt8]]
    private let watchPrefix: [UInt8]
    private let configuration: Configuration
    private let channel: BatchChannel
    private let currentStatus = Mutex(SyncStatus.waitingForDatastore)

    /// A syncer over every key under `prefixes` (raw keys; resource keys are also decoded).
    public init(store: Store, prefixes: [String], configuration: Configuration = Configuration()) {
        self.store = store
        self.prefixes = prefixes.map { Array($0.utf8) }
        var common = self.prefixes.first ?? []
        for prefix in self.prefixes.dropFirst() {
            common = Array(zip(common, prefix).prefix { $0 == $1 }.map(\.0))
        }
        self.watchPrefix = common
        self.configuration = configuration
        self.channel = BatchChannel(limit: configuration.bufferLimit, maxBatch: configuration.maxBatchSize)
    }

    /// A syncer over the resources of `kinds` (all namespaces).
    public convenience init(store: Store, kinds: [ResourceKind], configuration: Configuration = Configuration()) {
        self.init(store: store, prefixes: kinds.map { ResourceKey.prefix(kind: $0) }, configuration: configuration)
    }

    /// The batches; iterate once, while ``run()`` runs.
    public var updates: Updates { Updates(channel: channel) }

    /// The latest status delivered.
    public var status: SyncStatus { currentStatus.withLock { $0 } }

    /// Lists and watches until the calling task is cancelled (then returns), delivering to ``updates``.
    /// Store failures do not end it: it retries. It throws only if the consumer side cannot be served.
    public func run() async throws {
        defer { channel.finish() }
        do {
            try await loop()
        } catch is CancellationError {
            return
        }
    }

    private func loop() async throws {
        let client = ResourceClient(store: store)
        var known: [[UInt8]: Revision] = [:]
        try await deliver(status: .waitingForDatastore, [])
        var lastResync: ContinuousClock.Instant?
        while !Task.isCancelled {
            if let lastResync {
                try await Task.sleep(until: lastResync + configuration.minimumResyncInterval)
            }
            let snapshot: (items: [KeyValue], revision: Revision)
            do {
                snapshot = try await listAll()
            } catch is CancellationError {
                return
            } catch {
                try await Task.sleep(for: configuration.retryInterval)
                continue
            }
            lastResync = .now
            var updates: [SyncUpdate] = []
            var listed = Set<[UInt8]>()
            for kv in snapshot.items {
                listed.insert(kv.key)
                if known[kv.key] == kv.modRevision { continue }
                known[kv.key] = kv.modRevision
                updates.append(Self.put(kv, revision: kv.modRevision, client: client))
            }
            for key in known.keys.sorted(by: [UInt8].byteLess) where !listed.contains(key) {
                known.removeValue(forKey: key)
                updates.append(SyncUpdate(kind: .delete, key: String(decoding: key, as: UTF8.self), revision: snapshot.revision))
            }
            var start = 0
            repeat {
                let end = min(updates.count, start + configuration.maxBatchSize)
                try await deliver(status: .resyncing, Array(updates[start..<end]))
                start = end
            } while start < updates.count
            try await deliver(status: .inSync, [])
            do {
                for try await event in store.watch(prefix: watchPrefix, fromRevision: snapshot.revision.next) {
                    guard matches(event.key) else { continue }
                    let update: SyncUpdate
                    if event.kind == .delete {
                        known.removeValue(forKey: event.key)
                        update = SyncUpdate(kind: .delete, key: String(decoding: event.key, as: UTF8.self), revision: event.revision)
                    } else if let current = event.current {
                        known[event.key] = current.modRevision
                        update = Self.put(current, revision: event.revision, client: client)
                    } else {
                        continue
                    }
                    try await deliver(status: .inSync, [update])
                }
                return  // the watch ends only when this task is cancelled
            } catch is CancellationError {
                return
            } catch {
                // Compacted, or unreachable beyond the reconnect window: resync.
                try await deliver(status: .resyncing, [])
            }
        }
    }

    private func deliver(status: SyncStatus, _ updates: [SyncUpdate]) async throws {
        currentStatus.withLock { $0 = status }
        try await channel.send(SyncBatch(status: status, updates: updates))
    }

    private func matches(_ key: [UInt8]) -> Bool {
        prefixes.contains { key.hasBytePrefix($0) }
    }

    /// Every key under the prefixes, read at one revision.
    private func listAll() async throws -> (items: [KeyValue], revision: Revision) {
        var items: [KeyValue] = []
        var revision: Revision?
        for prefix in prefixes {
            let result = try await store.list(prefix: prefix, at: revision)
            revision = revision ?? result.revision
            items += result.items
        }
        return (items, revision ?? .zero)
    }

    private static func put(_ kv: KeyValue, revision: Revision, client: ResourceClient<Store>) -> SyncUpdate {
        var update = SyncUpdate(kind: .put, key: kv.keyString, value: kv, revision: revision)
        if ResourceKey(bytes: kv.key) != nil {
            do {
                update.resource = try client.resource(from: kv)
            } catch {
                update.error = error
            }
        }
        return update
    }
}
