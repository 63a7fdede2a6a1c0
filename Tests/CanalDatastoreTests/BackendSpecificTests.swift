import CanalDatastore
import CanalTesting
import Foundation
import Testing

@Suite("In-memory store")
struct InMemoryKeyValueStoreTests {
    @Test("leases expire against the injected clock")
    func leaseExpiryWithManualClock() async throws {
        let clock = ManualClock()
        let store = InMemoryKeyValueStore(clock: clock)
        let lease = try await store.grantLease(ttl: .milliseconds(1500))
        #expect(lease.ttl == .seconds(2))
        let written = try await store.put(bytes("/k"), value: bytes("v"), lease: lease.id)
        clock.advance(by: .seconds(1))
        #expect(try await store.keepAlive(lease.id) == .seconds(2))
        clock.advance(by: .seconds(1))
        #expect(try await store.get(bytes("/k")) != nil)
        clock.advance(by: .seconds(1))
        #expect(try await store.get(bytes("/k")) == nil)
        await expectDatastoreError(.notFound) { _ = try await store.keepAlive(lease.id) }
        let events = try await collect(1, from: store.watch(prefix: bytes("/k"), fromRevision: written.next))
        #expect(events.first?.kind == .delete)
    }

    @Test("the bounded history compacts itself; a watcher that falls behind fails with compacted")
    func boundedHistory() async throws {
        let store = InMemoryKeyValueStore(configuration: .init(historyLimit: 10, watchBatchSize: 4))
        let first = try await store.put(bytes("/h"), value: bytes("0"))
        var iterator = store.watch(prefix: bytes("/"), fromRevision: first).makeAsyncIterator()
        // The watcher reads one event (pulling one batch), then falls behind.
        #expect(try await iterator.next()?.revision == first)
        for index in 1...30 { try await store.put(bytes("/h"), value: bytes(String(index))) }
        var error: DatastoreError?
        do {
            while try await iterator.next() != nil {}
        } catch let caught as DatastoreError {
            error = caught
        }
        #expect(error?.code == .compacted)
        #expect(try await store.get(bytes("/h"))?.text == "30")
        await expectDatastoreError(.compacted) { _ = try await store.get(bytes("/h"), at: first) }
    }

    @Test("a cancelled watch ends its sequence")
    func cancellation() async throws {
        let store = InMemoryKeyValueStore()
        let watch = store.watch(prefix: bytes("/"))
        let task = Task { () -> Int in
            var count = 0
            for try await _ in watch { count += 1 }
            return count
        }
        try await Task.sleep(for: .milliseconds(50))
        task.cancel()
        #expect(try await task.value == 0)
    }
}

@Suite("etcd backend", .enabled(if: EtcdServer.shouldRun), .timeLimit(.minutes(2)))
struct EtcdBackendTests {
    @Test("a request of an already cancelled task fails with CancellationError and writes nothing")
    func cancelledBeforeSending() async throws {
        try await EtcdServer.withEtcdServer { server in
            let store = EtcdKeyValueStore(configuration: server.configuration())
            for onStoreExecutor in [false, true] {
                let task = Task(executorPreference: onStoreExecutor ? store.taskExecutor : nil) {
                    withUnsafeCurrentTask { $0?.cancel() }
                    _ = try await store.put(bytes("/cancelled"), value: bytes("x"))
                }
                await #expect(throws: CancellationError.self) { try await task.value }
            }
            let written = try await store.get(bytes("/cancelled"))
            #expect(written == nil)
        }
    }

    @Test("a server that accepts but never answers: the request times out (curl's timer), also on the store's executor")
    func requestTimeout() async {
        // A listening socket nobody accepts on: the kernel completes the TCP handshake, then silence.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && listen(fd, 16) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        #expect(bound)
        let store = EtcdKeyValueStore(
            configuration: EtcdConfiguration(
                endpoints: ["http://127.0.0.1:\(UInt16(bigEndian: address.sin_port))"], requestTimeout: .milliseconds(300)))
        for onStoreExecutor in [false, true] {
            await withTaskExecutorPreference(onStoreExecutor ? store.taskExecutor : nil) {
                let error = await expectDatastoreError(.timeout) { _ = try await store.get(bytes("/silent")) }
                #expect(error?.cause is CurlError, "\(String(describing: error))")
            }
        }
    }

    @Test("tasks on the store's executor and on the global pool share connections and see each other's writes")
    func mixedExecutors() async throws {
        try await EtcdServer.withEtcdServer { server in
            let store = EtcdKeyValueStore(configuration: server.configuration())
            let other = EtcdKeyValueStore(configuration: server.configuration())
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<8 {
                    group.addTask(executorPreference: worker % 2 == 0 ? store.taskExecutor : nil) {
                        let target = worker % 4 < 2 ? store : other
                        let key = bytes("/mixed/\(worker)")
                        var revision = try await target.put(key, value: bytes("0"))
                        for step in 1...50 {
                            revision = try await target.update(key, value: bytes(String(step)), ifRevision: revision)
                        }
                    }
                }
                try await group.waitForAll()
            }
            let list = try await store.list(prefix: bytes("/mixed/"))
            #expect(list.items.count == 8)
            #expect(list.items.allSatisfy { $0.text == "50" && $0.version == 51 })
        }
    }

    @Test("a slow reader pauses the watch transfer and still receives every event in order")
    func backpressure() async throws {
        try await EtcdServer.withEtcdServer { server in
            var configuration = server.configuration()
            configuration.watchBufferLimit = 512  // far below the stream's size
            let store = EtcdKeyValueStore(configuration: configuration)
            let start = try await store.put(bytes("/bp/start"), value: [])
            let count = 200
            let payload = [UInt8](repeating: UInt8(ascii: "x"), count: 2048)
            for index in 0..<count { try await store.put(bytes("/bp/\(index)"), value: payload) }
            var received: [WatchEvent] = []
            for try await event in store.watch(prefix: bytes("/bp/"), fromRevision: start.next) {
                received.append(event)
                if received.count % 50 == 0 { try await Task.sleep(for: .milliseconds(100)) }
                if received.count == count { break }
            }
            #expect(received.map { String(decoding: $0.key, as: UTF8.self) } == (0..<count).map { "/bp/\($0)" })
            #expect(received.allSatisfy { $0.current?.value == payload })
        }
    }

    @Test("a read at a future revision is invalidArgument")
    func revisions() async throws {
        try await EtcdServer.withEtcdServer { server in
            let store = EtcdKeyValueStore(configuration: server.configuration())
            let revision = try await store.put(bytes("/x"), value: bytes("1"))
            await expectDatastoreError(.invalidArgument) { _ = try await store.list(prefix: [], at: Revision(revision.rawValue + 10)) }
        }
    }
}

@Suite("Configuration from the environment")
struct ConfigurationTests {
    @Test("calicoctl's ETCD_* variables")
    func etcdEnvironment() throws {
        let configuration = try DatastoreConfiguration(environment: [
            "DATASTORE_TYPE": "etcdv3", "ETCD_ENDPOINTS": "https://10.0.0.1:2379, https://10.0.0.2:2379",
            "ETCD_USERNAME": "root", "ETCD_PASSWORD": "secret", "ETCD_KEY_FILE": "/k.pem", "ETCD_CERT_FILE": "/c.pem",
            "ETCD_CA_CERT_FILE": "/ca.pem",
        ])
        let etcd = try #require(configuration.etcd)
        #expect(etcd.endpoints == ["https://10.0.0.1:2379", "https://10.0.0.2:2379"])
        #expect(etcd.username == "root" && etcd.password == "secret")
        #expect(etcd.keyFile == "/k.pem" && etcd.certFile == "/c.pem" && etcd.caCertFile == "/ca.pem")
    }

    @Test("memory is the default; unknown types and bad endpoints are rejected")
    func datastoreType() throws {
        #expect(try DatastoreConfiguration(environment: [:]) == .memory)
        #expect(try DatastoreConfiguration(environment: ["DATASTORE_TYPE": "memory"]).etcd == nil)
        #expect(try DatastoreConfiguration(environment: ["DATASTORE_TYPE": "etcdv3"]).etcd?.endpoints == ["http://127.0.0.1:2379"])
        #expect(throws: DatastoreError.self) { try DatastoreConfiguration(environment: ["DATASTORE_TYPE": "kubernetes"]) }
        #expect(throws: DatastoreError.self) {
            try DatastoreConfiguration(environment: ["DATASTORE_TYPE": "etcdv3", "ETCD_ENDPOINTS": "10.0.0.1:2379"])
        }
    }
}

@Suite("etcd over TLS", .enabled(if: EtcdServer.shouldRun), .timeLimit(.minutes(2)))
struct EtcdTLSTests {
    @Test("mutual TLS: the CA and client certificate are used; without them the request fails")
    func mutualTLS() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("canal-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let tls = try TestCertificates.make(in: directory).mutualTLS
        try await EtcdServer.withEtcdServer(tls: tls) { server in
            let store = EtcdKeyValueStore(configuration: server.configuration())
            try await store.put(bytes("/tls"), value: bytes("secure"))
            #expect(try await store.get(bytes("/tls"))?.text == "secure")

            var noClientCert = server.configuration()
            noClientCert.certFile = nil
            noClientCert.keyFile = nil
            await expectDatastoreError(.unavailable) {
                _ = try await EtcdKeyValueStore(configuration: noClientCert).get(bytes("/tls"))
            }
            var noCA = server.configuration()
            noCA.caCertFile = nil
            let error = await expectDatastoreError(.unavailable) {
                _ = try await EtcdKeyValueStore(configuration: noCA).get(bytes("/tls"))
            }
            #expect(error?.cause is CurlError)
        }
    }
}
