import CanalDatastore
import CanalTesting
import CanalToolSupport
import Foundation
import Synchronization
import Testing

@Suite("etcd watch flow control and start", .enabled(if: EtcdServer.shouldRun), .timeLimit(.minutes(2)))
struct EtcdWatchTests {
    @Test("a reader that stops reading pauses the transfer: bounded buffer, no bytes flow, then everything in order")
    func pausesAndResumes() async throws {
        // etcd splits watch responses above --max-request-bytes (the watch asks for fragments):
        // without that, a catch-up from history arrives as one line of up to 1,000 revisions.
        try await EtcdServer.withEtcdServer(extraArguments: ["--max-request-bytes", "131072"]) { server in
            var configuration = server.configuration()
            let limit = 16 << 10
            configuration.watchBufferLimit = limit
            let store = EtcdKeyValueStore(configuration: configuration)
            let start = try await store.put(bytes("/flow-start"), value: [])
            // 3,000 events of ~1.4 kB on the wire each (≈ 4 MB pending), 25 per revision.
            let value = [UInt8](repeating: UInt8(ascii: "v"), count: 1000)
            var expected: [String] = []
            for batch in 0..<120 {
                let keys = (0..<25).map { String(format: "/flow/%03d/%02d", batch, $0) }
                expected += keys
                let revision = try await store.transaction(
                    Transaction(if: [], then: keys.map { .put(key: bytes($0), value: value, lease: nil) })
                ).revision
                #expect(revision > start)
            }
            let streamBytes = expected.count * 1400

            var iterator = store.watch(prefix: bytes("/flow/"), fromRevision: start.next).makeAsyncIterator()
            let statistics = iterator.statistics
            var received: [WatchEvent] = []
            received.append(try #require(try await iterator.next()))

            // The consumer stops reading: the transfer must pause with a bounded buffer.
            try await Task.sleep(for: .milliseconds(800))
            let pausedAt = statistics.receivedBytes.load(ordering: .relaxed)
            #expect(statistics.pauses.load(ordering: .relaxed) >= 1)
            try await Task.sleep(for: .milliseconds(500))
            #expect(statistics.receivedBytes.load(ordering: .relaxed) == pausedAt, "bytes kept arriving while paused")
            #expect(pausedAt < streamBytes / 3, "received \(pausedAt) of ~\(streamBytes) bytes without a reader")
            // At most the limit plus the one chunk that crossed it (curl delivers ≤ 16 kB at a time).
            #expect(statistics.bufferedBytes.load(ordering: .relaxed) <= limit + (64 << 10))

            // Reading resumes the transfer and every event arrives, in revision and key order.
            while received.count < expected.count, let event = try await iterator.next() { received.append(event) }
            let keys = received.map(\.keyString)
            #expect(keys.count == expected.count)
            #expect(keys == expected, "first difference at \(String(describing: zip(keys, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset))")
            #expect(zip(received, received.dropFirst()).allSatisfy { $0.revision <= $1.revision })
            #expect(received.allSatisfy { $0.kind == .put && $0.current?.value == value })
            #expect(statistics.pauses.load(ordering: .relaxed) > 10)
            #expect(statistics.peakBufferedBytes.load(ordering: .relaxed) <= limit + (64 << 10))
        }
    }

    @Test("a watch without a start revision loses nothing when its first connection drops before etcd confirms it")
    func startRevisionPinnedBeforeConnecting() async throws {
        try await EtcdServer.withEtcdServer { server in
            // The first endpoint is a proxy to etcd that stalls the first watch and then drops it
            // without an answer; the watch fails over to etcd itself.
            try await WatchStallingProxy.with(upstream: server.endpoint) { proxy in
                var configuration = server.configuration()
                configuration.endpoints = [proxy.endpoint, server.endpoint]
                let store = EtcdKeyValueStore(configuration: configuration)
                let writer = EtcdKeyValueStore(configuration: server.configuration())
                try await writer.put(bytes("/gap/before"), value: bytes("0"))
                let watching = Task {
                    try await collect(3, from: store.watch(prefix: bytes("/gap/")), timeout: .seconds(30))
                }
                // Written while the first watch request hangs unconfirmed in the proxy.
                try await proxy.waitForStalledWatch()
                for index in 1...2 { try await writer.put(bytes("/gap/\(index)"), value: bytes(String(index))) }
                proxy.releaseStalledWatch()
                try await Task.sleep(for: .milliseconds(300))
                try await writer.put(bytes("/gap/3"), value: bytes("3"))
                let events = try await watching.value
                #expect(events.map(\.keyString) == ["/gap/1", "/gap/2", "/gap/3"])
            }
        }
    }
}

extension WatchEvent {
    fileprivate var keyString: String { String(decoding: key, as: UTF8.self) }
}

/// A Python HTTP proxy to etcd: unary requests are forwarded; the first `/v3/watch` request is
/// held until the file `release` appears, then its connection is closed without a response.
private struct WatchStallingProxy {
    let endpoint: String
    let directory: URL

    static let script = #"""
        import http.client, http.server, os, sys, threading, time
        upstream_host, upstream_port, directory = sys.argv[1], int(sys.argv[2]), sys.argv[3]
        lock = threading.Lock()
        stalled = [False]
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def log_message(self, *args): pass
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.path == "/v3/watch":
                    with lock:
                        first = not stalled[0]
                        stalled[0] = True
                    if first:
                        open(os.path.join(directory, "stalled"), "w").close()
                        while not os.path.exists(os.path.join(directory, "release")): time.sleep(0.02)
                    self.close_connection = True
                    return
                connection = http.client.HTTPConnection(upstream_host, upstream_port, timeout=10)
                headers = {k: v for k, v in self.headers.items() if k.lower() in ("content-type", "authorization")}
                connection.request("POST", self.path, body, headers)
                response = connection.getresponse()
                data = response.read()
                self.send_response(response.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        print(server.server_address[1], flush=True)
        server.serve_forever()
        """#

    static func with(upstream: String, _ body: (WatchStallingProxy) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("canal-proxy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = try #require(URL(string: upstream))
        let proxy = try Spawn.start(["python3", "-c", script, url.host ?? "127.0.0.1", String(url.port ?? 2379), directory.path],
                                    output: .piped)
        defer { proxy.stop(grace: .seconds(1)) }
        guard let port = proxy.readLine(timeout: .seconds(30))?.trimmingCharacters(in: .whitespacesAndNewlines), !port.isEmpty else {
            throw DatastoreError(.unavailable, "the proxy did not start")
        }
        try await body(WatchStallingProxy(endpoint: "http://127.0.0.1:\(port)", directory: directory))
    }

    func waitForStalledWatch() async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("stalled").path) {
            guard ContinuousClock.now < deadline else { throw DatastoreError(.timeout, "the watch never reached the proxy") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    func releaseStalledWatch() {
        _ = FileManager.default.createFile(atPath: directory.appendingPathComponent("release").path, contents: nil)
    }
}
