import CanalDatastore
import CanalTesting
import Foundation
import Testing

/// One suite every backend must pass: the in-memory store always, a real etcd started by the
/// harness when etcd is installed (and always under `CI=true`).
@Suite("KeyValueStore conformance", .timeLimit(.minutes(2)))
struct KeyValueStoreConformanceTests {
    @Test("create, get, update and delete with revisions", arguments: Backend.all)
    func crud(backend: Backend) async throws {
        try await backend.withStore { store, _ in
            let key = bytes("/canal/test/a")
            let created = try await store.create(key, value: bytes("one"))
            let first = try #require(try await store.get(key))
            #expect(first.text == "one")
            #expect(first.createRevision == created && first.modRevision == created && first.version == 1)

            let exists = await expectDatastoreError(.alreadyExists) { try await store.create(key, value: bytes("two")) }
            #expect(exists?.current?.text == "one")
            #expect(exists?.current?.modRevision == created)

            let updated = try await store.update(key, value: bytes("two"), ifRevision: created)
            #expect(updated > created)
            let second = try #require(try await store.get(key))
            #expect(second.text == "two" && second.version == 2)
            #expect(second.createRevision == created && second.modRevision == updated)

            let conflict = await expectDatastoreError(.conflict) {
                try await store.update(key, value: bytes("three"), ifRevision: created)
            }
            #expect(conflict?.current?.text == "two")
            #expect(conflict?.revision == updated)
            await expectDatastoreError(.notFound) {
                try await store.update(bytes("/canal/test/missing"), value: [], ifRevision: created)
            }
            await expectDatastoreError(.conflict) { try await store.delete(key, ifRevision: created) }

            // The old value is still readable at its revision.
            #expect(try await store.get(key, at: created)?.text == "one")

            let deleted = try await store.delete(key, ifRevision: updated)
            #expect(deleted.text == "two")
            #expect(try await store.get(key) == nil)
            await expectDatastoreError(.notFound) { try await store.delete(key) }

            // Recreating starts a new life: version 1 and a new create revision.
            let recreated = try await store.create(key, value: bytes("again"))
            let third = try #require(try await store.get(key))
            #expect(third.version == 1 && third.createRevision == recreated && recreated > updated)

            // Apply: unconditional put.
            let applied = try await store.put(key, value: bytes("applied"))
            #expect(try await store.get(key)?.modRevision == applied)
            #expect(try await store.delete(key).text == "applied")
        }
    }

    @Test("list by prefix, in key order, now and at a past revision", arguments: Backend.all)
    func list(backend: Backend) async throws {
        try await backend.withStore { store, _ in
            try await store.put(bytes("/p/b"), value: bytes("b"))
            let afterB = try await store.put(bytes("/p/a"), value: bytes("a"))
            try await store.put(bytes("/pq"), value: bytes("not under /p/"))
            try await store.put(bytes("/p/c"), value: bytes("c"))
            try await store.put(Array("/p/".utf8) + [0xff, 0x01], value: bytes("binary key"))

            let now = try await store.list(prefix: bytes("/p/"))
            #expect(now.items.map(\.text) == ["a", "b", "c", "binary key"])
            #expect(now.revision >= now.items.map(\.modRevision).max()!)

            let past = try await store.list(prefix: bytes("/p/"), at: afterB)
            #expect(past.items.map(\.text) == ["a", "b"])

            let all = try await store.list(prefix: [])
            #expect(all.items.count == 5)
            await expectDatastoreError(.invalidArgument) {
                _ = try await store.get(bytes("/p/a"), at: Revision(now.revision.rawValue + 1000))
            }
        }
    }

    @Test("multi-key transactions compare revisions and values atomically", arguments: Backend.all)
    func transactions(backend: Backend) async throws {
        try await backend.withStore { store, _ in
            let a = bytes("/t/a")
            let b = bytes("/t/b")
            let ra = try await store.create(a, value: bytes("1"))
            let rb = try await store.create(b, value: bytes("1"))

            let swap = Transaction(
                if: [.modRevision(a, is: ra), .modRevision(b, is: rb), .absent(bytes("/t/c"))],
                then: [
                    .put(key: a, value: bytes("2"), lease: nil), .put(key: b, value: bytes("2"), lease: nil),
                    .put(key: bytes("/t/c"), value: bytes("new"), lease: nil),
                ],
                else: [.get(key: a), .get(key: b)])
            let result = try await store.transaction(swap)
            #expect(result.succeeded)
            #expect(result.results.map { $0?.text } == ["1", "1", nil])
            let values = try await store.list(prefix: bytes("/t/")).items
            #expect(values.map(\.text) == ["2", "2", "new"])
            // One transaction, one revision.
            #expect(Set(values.map(\.modRevision)) == [result.revision])

            // Replaying it fails as a whole and runs the failure branch.
            let replay = try await store.transaction(swap)
            #expect(!replay.succeeded)
            #expect(replay.results.map { $0?.text } == ["2", "2"])
            #expect(replay.revision == result.revision)

            let byValue = try await store.transaction(
                Transaction(
                    if: [Transaction.Comparison(key: a, .value(bytes("2"))), Transaction.Comparison(key: b, .version(2))],
                    then: [.delete(key: a)]))
            #expect(byValue.succeeded)
            #expect(byValue.results.first??.text == "2")
            #expect(try await store.get(a) == nil)

            await expectDatastoreError(.invalidArgument) {
                _ = try await store.transaction(
                    Transaction(if: [], then: [.put(key: b, value: [], lease: nil), .delete(key: b)]))
            }

            // Without previous values, writes report nil and reads still read.
            let quiet = try await store.transaction(
                Transaction(
                    if: [], then: [.put(key: b, value: bytes("3"), lease: nil), .get(key: b), .delete(key: bytes("/t/c"))],
                    returnsPreviousValues: false))
            #expect(quiet.succeeded)
            #expect(quiet.results.map { $0?.text } == [nil, "3", nil])
            #expect(try await store.get(bytes("/t/c")) == nil)
        }
    }

    @Test("range comparisons: every key of a prefix unmodified since a revision", arguments: Backend.all)
    func rangeComparisons(backend: Backend) async throws {
        try await backend.withStore { store, _ in
            let prefix = bytes("/r/")
            let mark = bytes("/mark")
            func unchanged(since revision: Revision) async throws -> Bool {
                try await store.transaction(
                    Transaction(if: [.unmodified(prefix: prefix, since: revision)], then: [.put(key: mark, value: bytes("x"), lease: nil)])
                ).succeeded
            }
            // An empty range holds.
            let r0 = try await store.put(bytes("/other"), value: bytes("1"))
            #expect(try await unchanged(since: r0))
            let ra = try await store.put(bytes("/r/a"), value: bytes("1"))
            #expect(try await !unchanged(since: ra))
            #expect(try await unchanged(since: ra.next))
            // Writes outside the prefix (and the transactions' own marks) don't count.
            try await store.put(bytes("/r"), value: bytes("outside"))
            try await store.put(bytes("/s/a"), value: bytes("outside"))
            #expect(try await unchanged(since: ra.next))
            // A new key and a modified key are seen; a deletion is not.
            let rb = try await store.put(bytes("/r/b"), value: bytes("1"))
            #expect(try await !unchanged(since: ra.next))
            #expect(try await unchanged(since: rb.next))
            let rd = try await store.delete(bytes("/r/b")).modRevision
            #expect(rd == rb)
            #expect(try await unchanged(since: rb.next))
            let ra2 = try await store.put(bytes("/r/a"), value: bytes("2"))
            #expect(try await !unchanged(since: rb.next))
            // After a compaction past the revision compared, the answer is the same.
            try await store.compact(to: try await store.put(bytes("/pad"), value: bytes("1")))
            #expect(try await !unchanged(since: ra2))
            #expect(try await unchanged(since: ra2.next))
            // Other targets over a range: every key must hold; a value comparison over nothing fails.
            let versions = Transaction.Comparison(key: prefix, .version(1), .equal, rangeEnd: prefix.prefixRangeEnd)
            #expect(try await !store.transaction(Transaction(if: [versions], then: [])).succeeded)
            try await store.put(bytes("/q/1"), value: bytes("v"))
            try await store.put(bytes("/q/2"), value: bytes("v"))
            let q = bytes("/q/")
            let sameValue = Transaction.Comparison(key: q, .value(bytes("v")), .equal, rangeEnd: q.prefixRangeEnd)
            #expect(try await store.transaction(Transaction(if: [sameValue], then: [])).succeeded)
            let none = bytes("/none/")
            let noValue = Transaction.Comparison(key: none, .value(bytes("v")), .equal, rangeEnd: none.prefixRangeEnd)
            #expect(try await !store.transaction(Transaction(if: [noValue], then: [])).succeeded)
        }
    }

    @Test("concurrent writers on one key: exactly one wins per revision", arguments: Backend.all)
    func concurrentWriters(backend: Backend) async throws {
        try await backend.withStore { store, _ in
            let key = bytes("/counter")
            let start = try await store.create(key, value: bytes("0"))
            let writers = 8
            let winners = try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<writers {
                    group.addTask {
                        do {
                            try await store.update(key, value: bytes("writer \(index)"), ifRevision: start)
                            return true
                        } catch let error as DatastoreError where error.code == .conflict {
                            return false
                        }
                    }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(winners == 1)

            // Read-modify-write with retry: every increment lands exactly once.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<writers {
                    group.addTask {
                        while true {
                            let current = try #require(try await store.get(key))
                            let value = Int(current.text) ?? 0
                            do {
                                try await store.update(key, value: bytes(String(value + 1)), ifRevision: current.modRevision)
                                return
                            } catch let error as DatastoreError where error.code == .conflict {
                                continue
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await store.get(key)?.text == String(writers))
        }
    }

    @Test("watch delivers puts and deletes in order with previous values", arguments: Backend.all)
    func watchOrdering(backend: Backend) async throws {
        try await backend.withStore { store, _ in
            let marker = try await store.put(bytes("/other/marker"), value: [])
            let watch = store.watch(prefix: bytes("/w/"), fromRevision: marker.next)
            async let events = collect(5, from: watch)
            let r1 = try await store.create(bytes("/w/a"), value: bytes("1"))
            try await store.put(bytes("/other/x"), value: bytes("ignored"))
            let r2 = try await store.update(bytes("/w/a"), value: bytes("2"), ifRevision: r1)
            try await store.put(bytes("/w/b"), value: bytes("b"))
            let tx = try await store.transaction(
                Transaction(if: [], then: [.delete(key: bytes("/w/a")), .put(key: bytes("/w/c"), value: bytes("c"), lease: nil)]))
            let received = try await events

            #expect(received.map(\.kind) == [.put, .put, .put, .delete, .put])
            #expect(received.map { String(decoding: $0.key, as: UTF8.self) } == ["/w/a", "/w/a", "/w/b", "/w/a", "/w/c"])
            #expect(received[0].isCreate && received[0].previous == nil && received[0].revision == r1)
            #expect(received[1].previous?.text == "1" && received[1].current?.text == "2" && received[1].revision == r2)
            #expect(!received[1].isCreate)
            #expect(received[3].previous?.text == "2" && received[3].current == nil && received[3].revision == tx.revision)
            #expect(received[4].revision == tx.revision)
            #expect(received.map(\.revision) == received.map(\.revision).sorted())
        }
    }

    @Test("watch from a past revision replays the history", arguments: Backend.all)
    func watchFromPast(backend: Backend) async throws {
        try await backend.withStore { store, _ in
            let first = try await store.put(bytes("/h/a"), value: bytes("1"))
            try await store.put(bytes("/h/a"), value: bytes("2"))
            try await store.delete(bytes("/h/a"))
            let events = try await collect(3, from: store.watch(prefix: bytes("/h/"), fromRevision: first))
            #expect(events.map(\.kind) == [.put, .put, .delete])
            #expect(events.map(\.revision) == [first, first.next, first.next.next])
            #expect(events[2].previous?.text == "2")
        }
    }

    @Test("reads and watches before a compaction fail with compacted", arguments: Backend.all)
    func compaction(backend: Backend) async throws {
        try await backend.withStore { store, _ in
            let first = try await store.put(bytes("/c/a"), value: bytes("1"))
            try await store.put(bytes("/c/a"), value: bytes("2"))
            let third = try await store.put(bytes("/c/a"), value: bytes("3"))
            try await store.compact(to: third)

            await expectDatastoreError(.compacted) { _ = try await store.get(bytes("/c/a"), at: first) }
            #expect(try await store.get(bytes("/c/a"), at: third)?.text == "3")
            let error = await expectDatastoreError(.compacted) {
                _ = try await collect(1, from: store.watch(prefix: bytes("/c/"), fromRevision: first))
            }
            #expect(error?.revision == third)
            await expectDatastoreError(.compacted) { try await store.compact(to: first) }
        }
    }

    @Test("leases: keep-alive, revoke, and expiry delete the attached keys", arguments: Backend.all)
    func leases(backend: Backend) async throws {
        try await backend.withStore { store, _ in
            let long = try await store.grantLease(ttl: .seconds(30))
            #expect(long.ttl == .seconds(30))
            try await store.put(bytes("/l/kept"), value: bytes("x"), lease: long.id)
            #expect(try await store.get(bytes("/l/kept"))?.lease == long.id)
            #expect(try await store.keepAlive(long.id) == .seconds(30))
            try await store.revokeLease(long.id)
            #expect(try await store.get(bytes("/l/kept")) == nil)
            await expectDatastoreError(.notFound) { _ = try await store.keepAlive(long.id) }
            await expectDatastoreError(.notFound) { try await store.revokeLease(long.id) }
            await expectDatastoreError(.notFound) {
                try await store.put(bytes("/l/x"), value: [], lease: long.id)
            }

            // Long enough that a loaded machine still puts the key before the lease runs out.
            let short = try await store.grantLease(ttl: .seconds(3))
            let written = try await store.put(bytes("/l/short"), value: bytes("y"), lease: short.id)
            let expiry = try await collect(1, from: store.watch(prefix: bytes("/l/short"), fromRevision: written.next))
            #expect(expiry.first?.kind == .delete)
            #expect(expiry.first?.previous?.text == "y")
            #expect(try await store.get(bytes("/l/short")) == nil)
        }
    }
}

/// Fault tests against a real etcd.
@Suite("etcd faults", .enabled(if: EtcdServer.shouldRun), .timeLimit(.minutes(2)))
struct EtcdFaultTests {
    @Test("a watch survives etcd being killed and restarted without losing events", arguments: [false, true])
    func watchAcrossRestart(onStoreExecutor: Bool) async throws {
        try await EtcdServer.withEtcdServer { server in
            let store = EtcdKeyValueStore(configuration: server.configuration())
            try await withTaskExecutorPreference(onStoreExecutor ? store.taskExecutor : nil) {
            let start = try await store.put(bytes("/r/0"), value: bytes("0"))
            try await withThrowingTaskGroup(of: [WatchEvent].self) { group in
                group.addTask { try await collect(4, from: store.watch(prefix: bytes("/r/"), fromRevision: start), timeout: .seconds(60)) }
                try await store.put(bytes("/r/1"), value: bytes("1"))
                try await Task.sleep(for: .milliseconds(300))
                server.kill()
                try await Task.sleep(for: .milliseconds(300))
                try await server.start()
                // Written while the watch is still reconnecting: it must resume from its revision.
                try await store.put(bytes("/r/2"), value: bytes("2"))
                try await store.put(bytes("/r/3"), value: bytes("3"))
                let events = try await group.next()!
                #expect(events.map { $0.current?.text } == ["0", "1", "2", "3"])
                #expect(events.map(\.revision) == events.map(\.revision).sorted())
            }
            }
        }
    }

    @Test("etcd down: a clear unavailable error naming the endpoints, nothing written")
    func unavailable() async throws {
        try await EtcdServer.withEtcdServer { server in
            var configuration = server.configuration()
            // A dead endpoint first: the store must fail over to the live one.
            configuration.endpoints = ["http://127.0.0.1:1", server.endpoint]
            let store = EtcdKeyValueStore(configuration: configuration)
            try await store.put(bytes("/u"), value: bytes("up"))
            server.stop()
            let began = ContinuousClock.now
            let read = await expectDatastoreError(.unavailable) { _ = try await store.get(bytes("/u")) }
            let write = await expectDatastoreError(.unavailable) { try await store.put(bytes("/u"), value: bytes("down")) }
            await expectDatastoreError(.unavailable) { try await store.create(bytes("/new"), value: bytes("x")) }
            for error in [read, write].compactMap(\.self) {
                #expect(error.message.contains("127.0.0.1:1") && error.message.contains(server.endpoint), "\(error)")
                #expect(error.cause is CurlError, "the connection failure is kept as the cause: \(error)")
            }
            // Only a ceiling against hangs (refused connections fail at once; no timing is asserted).
            #expect(ContinuousClock.now - began < .seconds(120))

            // Back up: none of the refused writes was applied.
            try await server.start()
            #expect(try await store.get(bytes("/u"))?.text == "up")
            #expect(try await store.get(bytes("/new")) == nil)
            #expect(try await store.list(prefix: bytes("/")).items.count == 1)
        }
    }
}
