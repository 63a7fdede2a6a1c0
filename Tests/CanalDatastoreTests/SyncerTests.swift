import CanalDatastore
import CanalModel
import CanalTesting
import Foundation
import Synchronization
import Testing

/// What a consumer has built from a syncer's batches.
final class SyncModel: Sendable {
    struct State {
        var values: [String: String] = [:]
        var statuses: [SyncStatus] = []
        var deletes: [String] = []
        var puts = 0
        var resyncDeletes: [String] = []
    }
    let state = Mutex(State())

    func apply(_ batch: SyncBatch) {
        state.withLock { state in
            if state.statuses.last != batch.status { state.statuses.append(batch.status) }
            for update in batch.updates {
                if update.kind == .delete {
                    state.values.removeValue(forKey: update.key)
                    state.deletes.append(update.key)
                    if batch.status == .resyncing { state.resyncDeletes.append(update.key) }
                } else {
                    state.values[update.key] = String(decoding: update.value?.value ?? [], as: UTF8.self)
                    state.puts += 1
                }
            }
        }
    }
    var snapshot: State { state.withLock { $0 } }
}

/// A switch the consumer waits on.
final class Gate: Sendable {
    private let open = Mutex(true)
    var isOpen: Bool { open.withLock { $0 } }
    func set(_ value: Bool) { open.withLock { $0 = value } }
}

/// Runs a syncer over `prefix` and a consumer feeding `model`, while `body` drives the store.
func withSyncer<Store: KeyValueStore>(
    _ store: Store, prefixes: [String], configuration: Syncer<Store>.Configuration = .init(retryInterval: .milliseconds(100), minimumResyncInterval: .milliseconds(50)),
    consumerGate: Gate? = nil,
    _ body: @Sendable (SyncModel) async throws -> Void
) async throws {
    let syncer = Syncer(store: store, prefixes: prefixes, configuration: configuration)
    let model = SyncModel()
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await syncer.run() }
        group.addTask {
            for try await batch in syncer.updates {
                while consumerGate?.isOpen == false { try await Task.sleep(for: .milliseconds(10)) }
                model.apply(batch)
            }
        }
        defer { group.cancelAll() }
        try await body(model)
    }
}

/// Waits until `condition` holds for the model, or fails after `timeout`.
func eventually(
    _ model: SyncModel, timeout: Duration = .seconds(30), sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: (SyncModel.State) -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if condition(model.snapshot) { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    Issue.record("condition not met in \(timeout); model: \(model.snapshot.values.keys.sorted()) statuses \(model.snapshot.statuses)", sourceLocation: sourceLocation)
}

@Suite("Syncer", .timeLimit(.minutes(3)))
struct SyncerTests {
    @Test("snapshot, then inSync, then updates; other prefixes ignored", arguments: Backend.available)
    func snapshotThenUpdates(backend: Backend) async throws {
        try await backend.withStore { store, _ in
            try await runSnapshotThenUpdates(store)
        }
    }

    func runSnapshotThenUpdates(_ store: any KeyValueStore) async throws {
        if let store = store as? InMemoryKeyValueStore<ContinuousClock> { try await snapshotThenUpdates(store) }
        if let store = store as? EtcdKeyValueStore { try await snapshotThenUpdates(store) }
    }

    func snapshotThenUpdates<Store: KeyValueStore>(_ store: Store) async throws {
        for i in 0..<3 { try await store.put(bytes("/sync/a/\(i)"), value: bytes("v\(i)")) }
        try await store.put(bytes("/sync/b/other"), value: bytes("x"))
        try await withSyncer(store, prefixes: ["/sync/a/", "/sync/c/"]) { model in
            try await eventually(model) { $0.statuses.last == .inSync }
            let first = model.snapshot
            #expect(first.statuses == [.waitingForDatastore, .resyncing, .inSync])
            #expect(first.values == ["/sync/a/0": "v0", "/sync/a/1": "v1", "/sync/a/2": "v2"])
            try await store.put(bytes("/sync/a/1"), value: bytes("changed"))
            try await store.delete(bytes("/sync/a/0"))
            try await store.put(bytes("/sync/c/new"), value: bytes("n"))
            try await store.put(bytes("/sync/b/ignored"), value: bytes("i"))
            try await eventually(model) { $0.values["/sync/c/new"] == "n" }
            let after = model.snapshot
            #expect(after.values == ["/sync/a/1": "changed", "/sync/a/2": "v2", "/sync/c/new": "n"])
            #expect(after.deletes == ["/sync/a/0"])
            #expect(after.statuses == [.waitingForDatastore, .resyncing, .inSync])
        }
    }

    @Test("resource keys are decoded; a bad value is delivered with its error")
    func decodesResources() async throws {
        let store = InMemoryKeyValueStore()
        let client = ResourceClient(store: store)
        try await client.initialize()
        try await store.put(bytes("/calico/resources/v3/projectcalico.org/tiers/broken"), value: bytes("{"))
        let syncer = Syncer(store: store, kinds: [.tier])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await syncer.run() }
            var updates: [SyncUpdate] = []
            for try await batch in syncer.updates {
                updates += batch.updates
                if batch.status == .inSync { break }
            }
            group.cancelAll()
            #expect(updates.compactMap { $0.resource?.metadata.name } == ["default", "kube-admin", "kube-baseline"])
            #expect(updates.filter { $0.error != nil }.map(\.key) == ["/calico/resources/v3/projectcalico.org/tiers/broken"])
        }
    }

    @Test("compaction while the consumer lags: resync with deletes for vanished keys, none for unchanged")
    func compactionResync() async throws {
        let store = InMemoryKeyValueStore(configuration: .init(historyLimit: 8, watchBatchSize: 1))
        for i in 0..<5 { try await store.put(bytes("/c/keep\(i)"), value: bytes("k")) }
        try await store.put(bytes("/c/doomed"), value: bytes("d"))
        let gate = Gate()
        try await withSyncer(
            store, prefixes: ["/c/"], configuration: .init(bufferLimit: 1, maxBatchSize: 1, retryInterval: .milliseconds(50), minimumResyncInterval: .milliseconds(10)),
            consumerGate: gate
        ) { model in
            try await eventually(model) { $0.statuses.last == .inSync }
            let putsBefore = model.snapshot.puts
            gate.set(false)  // the consumer stops: the syncer stalls on its bounded buffer
            // Three updates fill the hand-off: one in the consumer's hand, one buffered, one in the
            // syncer's blocked send. The syncer then reads no further, so the delete below stays
            // unread in the store's history until the churn compacts it away.
            try await store.put(bytes("/c/first"), value: bytes("1"))
            try await store.put(bytes("/c/second"), value: bytes("2"))
            try await store.put(bytes("/c/third"), value: bytes("3"))
            try await Task.sleep(for: .milliseconds(200))
            try await store.delete(bytes("/c/doomed"))
            for i in 0..<30 { try await store.put(bytes("/c/churn"), value: bytes("\(i)")) }  // pushes the watch cursor out of history
            gate.set(true)
            try await eventually(model) { $0.values["/c/churn"] == "29" && $0.values["/c/doomed"] == nil && $0.statuses.last == .inSync }
            let state = model.snapshot
            #expect(state.resyncDeletes == ["/c/doomed"])
            #expect(state.statuses.filter { $0 == .resyncing }.count >= 2)
            let listed = try await store.list(prefix: bytes("/c/"))
            #expect(Set(state.values.keys) == Set(listed.items.map(\.keyString)))
            // Unchanged keys were not re-sent by the resync: only first, second, third (maybe), churn and nothing for keep*.
            #expect(state.puts - putsBefore <= 4)
        }
    }

    @Test("etcd killed and restarted during a watch: no update lost", .enabled(if: EtcdServer.shouldRun))
    func etcdRestart() async throws {
        try await EtcdServer.withEtcdServer { server in
            let store = EtcdKeyValueStore(configuration: server.configuration())
            try await store.put(bytes("/r/before"), value: bytes("b"))
            try await withSyncer(store, prefixes: ["/r/"]) { model in
                try await eventually(model) { $0.statuses.last == .inSync }
                try await store.put(bytes("/r/one"), value: bytes("1"))
                server.kill()
                try await server.start()
                for i in 0..<20 { try await store.put(bytes("/r/after\(i)"), value: bytes("\(i)")) }
                try await store.delete(bytes("/r/before"))
                try await eventually(model) { $0.values.count == 21 && $0.values["/r/before"] == nil }
                let listed = try await store.list(prefix: bytes("/r/"))
                #expect(Dictionary(uniqueKeysWithValues: listed.items.map { ($0.keyString, $0.text) }) == model.snapshot.values)
            }
        }
    }

    @Test("etcd compaction and restart while the consumer lags: the syncer converges", .enabled(if: EtcdServer.shouldRun))
    func etcdCompaction() async throws {
        try await EtcdServer.withEtcdServer { server in
            let store = EtcdKeyValueStore(configuration: server.configuration())
            for i in 0..<3 { try await store.put(bytes("/e/keep\(i)"), value: bytes("k")) }
            try await store.put(bytes("/e/doomed"), value: bytes("d"))
            let gate = Gate()
            try await withSyncer(
                store, prefixes: ["/e/"], configuration: .init(bufferLimit: 1, maxBatchSize: 1, retryInterval: .milliseconds(100), minimumResyncInterval: .milliseconds(10)),
                consumerGate: gate
            ) { model in
                try await eventually(model) { $0.statuses.last == .inSync }
                gate.set(false)
                try await store.delete(bytes("/e/doomed"))
                var last = Revision.zero
                for i in 0..<50 { last = try await store.put(bytes("/e/churn"), value: bytes("\(i)")) }
                try await store.compact(to: last)
                server.kill()  // the watch connection breaks; it resumes from a compacted revision
                try await server.start()
                gate.set(true)
                try await eventually(model) { $0.values["/e/churn"] == "49" && $0.values["/e/doomed"] == nil && $0.statuses.last == .inSync }
                let listed = try await store.list(prefix: bytes("/e/"))
                #expect(Dictionary(uniqueKeysWithValues: listed.items.map { ($0.keyString, $0.text) }) == model.snapshot.values)
                #expect(model.snapshot.deletes == ["/e/doomed"])
            }
        }
    }
}
