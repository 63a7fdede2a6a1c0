import CanalDatastore
import CanalTesting
import Foundation
import Testing

/// The backends the conformance suite runs against.
enum Backend: String, CustomTestStringConvertible, CaseIterable, Sendable {
    case memory
    case etcd
    /// etcd, with the test body running on the store's own I/O thread (`taskExecutor`).
    case etcdOnStoreExecutor

    var testDescription: String { rawValue }

    /// Runs `body` with a fresh store of this backend. For etcd the server is passed too (for fault tests).
    func withStore(
        _ body: (any KeyValueStore, EtcdServer?) async throws -> Void
    ) async throws {
        switch self {
        case .memory:
            let store = InMemoryKeyValueStore()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await store.run() }
                defer { group.cancelAll() }
                try await body(store, nil)
            }
        case .etcd:
            try await EtcdServer.withEtcdServer { server in
                try await body(EtcdKeyValueStore(configuration: server.configuration()), server)
            }
        case .etcdOnStoreExecutor:
            try await EtcdServer.withEtcdServer { server in
                let store = EtcdKeyValueStore(configuration: server.configuration())
                try await withTaskExecutorPreference(store.taskExecutor) {
                    try await body(store, server)
                }
            }
        }
    }

    /// The backends to test here: memory always; etcd when installed or when `CI=true` (then a
    /// missing etcd fails the run).
    static var available: [Backend] { EtcdServer.shouldRun ? [.memory, .etcd] : [.memory] }

    /// `available`, plus etcd with the test on the store's executor (for the conformance suite).
    static var all: [Backend] { EtcdServer.shouldRun ? [.memory, .etcd, .etcdOnStoreExecutor] : [.memory] }
}

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

extension KeyValue {
    var text: String { String(decoding: value, as: UTF8.self) }
}

/// Reads `count` events from a watch, failing if they do not arrive within `timeout`.
func collect<S: AsyncSequence & Sendable>(
    _ count: Int, from sequence: S, timeout: Duration = .seconds(20)
) async throws -> [WatchEvent] where S.Element == WatchEvent {
    try await withThrowingTaskGroup(of: [WatchEvent].self) { group in
        group.addTask {
            var events: [WatchEvent] = []
            for try await event in sequence {
                events.append(event)
                if events.count == count { break }
            }
            return events
        }
        group.addTask {
            try await Task.sleep(for: timeout)
            throw DatastoreError(.timeout, "watch did not deliver \(count) events within \(timeout)")
        }
        let first = try await group.next()!
        group.cancelAll()
        return first
    }
}

/// Expects `body` to throw a ``DatastoreError`` with `code`, and returns it.
@discardableResult
func expectDatastoreError(
    _ code: DatastoreError.Code, sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void
) async -> DatastoreError? {
    do {
        try await body()
        Issue.record("expected a \(code) error, got success", sourceLocation: sourceLocation)
    } catch let error as DatastoreError {
        #expect(error.code == code, "expected \(code), got \(error)", sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected a DatastoreError \(code), got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}
