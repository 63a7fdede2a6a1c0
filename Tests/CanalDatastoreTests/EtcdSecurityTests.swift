import CanalDatastore
import CanalTesting
import Foundation
import Synchronization
import Testing

/// A temporary directory, removed afterwards.
func withTemporaryDirectory<T>(_ body: (URL) async throws -> T) async throws -> T {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("canal-sec-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try await body(directory)
}

@Suite("etcd authentication", .enabled(if: EtcdServer.shouldRun), .timeLimit(.minutes(2)))
struct EtcdAuthenticationTests {
    static let user = EtcdServer.User(name: "canal", password: "s3cret \"quoted\"", readWritePrefixes: ["/calico/"])

    @Test("username and password: the user's prefix is writable, other keys and missing credentials are refused")
    func usernamePassword() async throws {
        try await EtcdServer.withEtcdServer { server in
            try server.enableAuthentication(rootPassword: "root-pw", users: [Self.user])
            let store = EtcdKeyValueStore(configuration: server.configuration(username: "canal", password: Self.user.password))
            let revision = try await store.put(bytes("/calico/a"), value: bytes("1"))
            #expect(try await store.get(bytes("/calico/a"))?.modRevision == revision)
            // Concurrent first requests share one authentication.
            let fresh = EtcdKeyValueStore(configuration: server.configuration(username: "canal", password: Self.user.password))
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<8 { group.addTask { try await fresh.put(bytes("/calico/c\(index)"), value: []) } }
                try await group.waitForAll()
            }
            #expect(fresh.authenticationCount.load(ordering: .relaxed) == 1)
            // etcd's permission check, outside the role's prefix.
            let denied = await expectDatastoreError(.unauthorized) { try await store.put(bytes("/other"), value: bytes("x")) }
            #expect(denied?.message.contains("permission denied") == true)
            // No credentials at all.
            let anonymous = EtcdKeyValueStore(configuration: server.configuration())
            await expectDatastoreError(.unauthorized) { _ = try await anonymous.get(bytes("/calico/a")) }
            // The value written is visible to etcdctl as root.
            #expect(try server.etcdctl(["get", "/calico/a", "--print-value-only"], user: "root:root-pw") == "1\n")
        }
    }

    @Test("a wrong password is refused with a clear unauthorized error and nothing is written")
    func wrongPassword() async throws {
        try await EtcdServer.withEtcdServer { server in
            try server.enableAuthentication(rootPassword: "root-pw", users: [Self.user])
            let store = EtcdKeyValueStore(configuration: server.configuration(username: "canal", password: "wrong"))
            let error = await expectDatastoreError(.unauthorized) { try await store.put(bytes("/calico/w"), value: bytes("x")) }
            #expect(error?.message.contains("user canal") == true, "\(String(describing: error))")
            #expect(error?.message.contains("invalid user ID or password") == true, "\(String(describing: error))")
            // A second attempt authenticates again (a failure is not cached) and fails the same way.
            await expectDatastoreError(.unauthorized) { _ = try await store.get(bytes("/calico/w")) }
            #expect(store.authenticationCount.load(ordering: .relaxed) == 2)
            #expect(try server.etcdctl(["get", "/calico/w", "--print-value-only"], user: "root:root-pw").isEmpty)
        }
    }

    @Test("an expired token is replaced; a watch survives an etcd restart with authentication on")
    func tokenExpiry() async throws {
        // Simple tokens live --auth-token-ttl seconds without use (5 s: a loaded CI machine can take
        // seconds between authenticating and using a token).
        try await EtcdServer.withEtcdServer(extraArguments: ["--auth-token-ttl", "5"]) { server in
            try server.enableAuthentication(rootPassword: "root-pw", users: [Self.user])
            let store = EtcdKeyValueStore(configuration: server.configuration(username: "canal", password: Self.user.password))
            let first = try await store.put(bytes("/calico/t"), value: bytes("1"))
            // (On a loaded machine a token can also expire between authenticating and using it,
            // so counts are lower bounds.)
            let initial = store.authenticationCount.load(ordering: .relaxed)
            #expect(initial >= 1)
            try await Task.sleep(for: .milliseconds(7000))
            let second = try await store.put(bytes("/calico/t"), value: bytes("2"))
            #expect(second > first)
            let renewed = store.authenticationCount.load(ordering: .relaxed)
            #expect(renewed > initial)

            // A watch whose token may have expired while etcd was down reconnects and keeps delivering.
            var iterator = store.watch(prefix: bytes("/calico/"), fromRevision: second.next).makeAsyncIterator()
            try await store.put(bytes("/calico/t"), value: bytes("3"))
            #expect(try await iterator.next()?.current?.text == "3")
            server.kill()
            try await Task.sleep(for: .milliseconds(500))
            try await server.start()
            let writer = EtcdKeyValueStore(configuration: server.configuration(username: "canal", password: Self.user.password))
            // Right after a restart etcd may refuse fresh tokens for a moment: retry for a while.
            var attempts = 0
            while true {
                do {
                    try await writer.put(bytes("/calico/t"), value: bytes("4"))
                    break
                } catch let error as DatastoreError where error.code == .unauthorized && attempts < 40 {
                    attempts += 1
                    try await Task.sleep(for: .milliseconds(250))
                }
            }
            #expect(try await iterator.next()?.current?.text == "4")
            // (Whether it had to authenticate again depends on the token outliving the outage;
            // either way it must keep delivering.)
            #expect(store.authenticationCount.load(ordering: .relaxed) >= renewed)
        }
    }
}

@Suite("etcd TLS refusals", .enabled(if: EtcdServer.shouldRun), .timeLimit(.minutes(2)))
struct EtcdTLSRefusalTests {
    @Test("a client certificate signed by another CA is refused with a clear TLS error")
    func foreignClientCertificate() async throws {
        try await withTemporaryDirectory { directory in
            let certificates = try TestCertificates.make(in: directory)
            try await EtcdServer.withEtcdServer(tls: certificates.mutualTLS) { server in
                try await EtcdKeyValueStore(configuration: server.configuration()).put(bytes("/ok"), value: [])
                var configuration = server.configuration()
                configuration.certFile = certificates.foreignClientCertFile
                configuration.keyFile = certificates.foreignClientKeyFile
                let store = EtcdKeyValueStore(configuration: configuration)
                let error = await expectDatastoreError(.unavailable) { try await store.put(bytes("/bad"), value: []) }
                #expect(error?.message.hasPrefix("TLS with etcd failed") == true, "\(String(describing: error))")
                #expect(error?.message.contains("refuse") == true, "\(String(describing: error))")
                #expect(error?.cause is CurlError)
                #expect(try await EtcdKeyValueStore(configuration: server.configuration()).get(bytes("/bad")) == nil)
            }
        }
    }
}
