// The CNI benchmark: `canal-bench cni` (as root) builds a node (a network namespace with 100 empty
// container namespaces), starts its own etcd inside it, and runs ADD of the 100 containers then DEL
// of the 100, sequentially and 8 at a time, through canal-cni (canal-ipam, a WorkloadEndpoint per
// container) and, in the same run and the same order, through Debian's `bridge` + `host-local`
// plugins (/usr/lib/cni). Both run as a runtime runs them: one process per call, the config on
// stdin, spawned from threads that joined the node's namespace (no `ip netns exec` in the way).
//
// Reported: containers per second (ADD+DEL), ADD/s and DEL/s per side; etcd round trips per ADD and
// per DEL, counted by etcd itself (the gRPC requests its /metrics endpoint has served, which the
// JSON gateway's requests go through); `ratio cni-seq` and `ratio cni-par8` = Canal's containers/s
// ÷ the reference's. Three rounds, medians. canal-cni is built first in release mode with the
// Swift runtime and Foundation linked statically (`--static-swift-stdlib`, into .build-static), as a
// plugin started once per container should be shipped: that halves its start-up CPU (dynamic
// loading of the Swift libraries is most of it). Set CANAL_CNI to measure another binary.
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization

enum CNIBenchmark {
    static let containers = 100
    static let rounds = 3

    struct Failure: Error, CustomStringConvertible { var description: String }

    /// One side's figures for one phase sequence (ADD of all, then DEL of all).
    struct Phase {
        var add: Double
        var del: Double
        var addTrips: Double
        var delTrips: Double
        /// Containers per second over ADD and DEL.
        var rate: Double { Double(CNIBenchmark.containers) / (add + del) }
    }

    static func run() async throws -> Bool {
        guard getuid() == 0 else {
            print("bench cni skipped: needs root (network namespaces)")
            return true
        }
        for plugin in ["bridge", "host-local"] where access("/usr/lib/cni/\(plugin)", X_OK) != 0 {
            throw Failure(description: "/usr/lib/cni/\(plugin) is missing (containernetworking-plugins)")
        }
        signal(SIGPIPE, SIG_IGN)
        let plugin = try canalCNIBinary()
        let host = try Bench()
        let destroy = Cleanup.add { host.destroy() }
        defer { destroy.run() }
        try host.setUp()
        let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
        print("bench cni: \(containers) containers, \(rounds) rounds, load \(load), canal-cni \(plugin)")

        var ok = true
        var figures: [String: [Phase]] = [:]
        for round in 0..<rounds {
            for (mode, workers) in [("seq", 1), ("par8", 8)] {
                for side in ["canal", "reference"] {
                    let tag = "r\(round)\(mode)"
                    let phase = try host.phase(side: side, plugin: plugin, workers: workers, tag: tag)
                    figures["\(side)-\(mode)", default: []].append(phase)
                    if !(try host.clean(side: side)) { ok = false }
                }
            }
        }
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        for mode in ["seq", "par8"] {
            for side in ["canal", "reference"] {
                let phases = figures["\(side)-\(mode)"] ?? []
                bench("cni.\(mode).\(side).containers", median(phases.map(\.rate)), "containers/s (ADD+DEL)")
                bench("cni.\(mode).\(side).add", median(phases.map { Double(containers) / $0.add }), "ADD/s")
                bench("cni.\(mode).\(side).del", median(phases.map { Double(containers) / $0.del }), "DEL/s")
                if side == "canal" {
                    print("bench cni.\(mode).canal.etcd-trips-per-add \(String(format: "%.2f", median(phases.map(\.addTrips)))) round trips")
                    print("bench cni.\(mode).canal.etcd-trips-per-del \(String(format: "%.2f", median(phases.map(\.delTrips)))) round trips")
                }
            }
            let canal = figures["canal-\(mode)"] ?? [], reference = figures["reference-\(mode)"] ?? []
            ratio("cni-\(mode)", median(zip(canal, reference).map { $0.rate / $1.rate }))
        }
        return ok
    }

    /// `CANAL_CNI`, or canal-cni built (release, static Swift libraries) from the repository this benchmark is in.
    static func canalCNIBinary() throws -> String {
        if let path = ProcessInfo.processInfo.environment["CANAL_CNI"], !path.isEmpty { return path }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let scratch = root.appendingPathComponent(".build-static")
        let build = try spawn(["/usr/bin/env", "swift", "build", "-c", "release", "--product", "canal-cni", "--static-swift-stdlib",
                               "--package-path", root.path, "--scratch-path", scratch.path])
        guard build.status == 0 else { throw Failure(description: "building canal-cni failed:\n\(build.stdout)\(build.stderr)") }
        let path = scratch.appendingPathComponent("release/canal-cni").path
        guard access(path, X_OK) == 0 else { throw Failure(description: "\(path) was not built") }
        return path
    }

    /// The node namespace, its containers, its etcd and scratch folder.
    final class Bench: @unchecked Sendable {
        // Set up once on the main task before any worker thread starts; read-only afterwards.
        let node: String
        let directory: URL
        let port = freePort()
        var containers: [String] = []
        var etcd: pid_t = 0

        init() throws {
            node = "canal-bench-cni-\(getpid())"
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("canal-bench-cni-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        }

        var endpoint: String { "http://127.0.0.1:\(port)" }

        func setUp() throws {
            try check(["ip", "netns", "add", node])
            let inNode = ["ip", "netns", "exec", node]
            try check(inNode + ["ip", "link", "set", "lo", "up"])
            try check(inNode + ["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])
            // A default route out of an uplink, as a host has (proxy ARP answers 169.254.1.1 only then).
            try check(inNode + ["ip", "link", "add", "uplink0", "type", "veth", "peer", "name", "uplink1"])
            try check(inNode + ["ip", "link", "set", "uplink0", "up"])
            try check(inNode + ["ip", "link", "set", "uplink1", "up"])
            try check(inNode + ["ip", "route", "add", "default", "dev", "uplink0"])
            for i in 0..<CNIBenchmark.containers {
                let name = "\(node)-c\(i)"
                try check(["ip", "netns", "add", name])
                containers.append("/var/run/netns/\(name)")
            }
            // etcd inside the node: canal-cni reaches it on the node's loopback, as on a host.
            let peer = freePort()
            let log = directory.appendingPathComponent("etcd.log").path
            etcd = try spawnDetached(inNode + [ProcessInfo.processInfo.environment["ETCD_BINARY"] ?? "/usr/bin/etcd",
                "--name", "bench", "--data-dir", directory.appendingPathComponent("etcd").path,
                "--listen-client-urls", endpoint, "--advertise-client-urls", endpoint,
                "--listen-peer-urls", "http://127.0.0.1:\(peer)", "--initial-advertise-peer-urls", "http://127.0.0.1:\(peer)",
                "--initial-cluster", "bench=http://127.0.0.1:\(peer)"], log: log)
            var up = false
            for _ in 0..<100 {
                if (try? etcdctl(["endpoint", "health"])) != nil { up = true; break }
                usleep(100_000)
            }
            guard up else { throw Failure(description: "etcd did not start: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")") }
            let pool = #"{"kind":"IPPool","apiVersion":"projectcalico.org/v3","metadata":{"name":"bench"},"spec":{"cidr":"198.18.0.0/16","blockSize":26}}"#
            _ = try etcdctl(["put", "/calico/resources/v3/projectcalico.org/ippools/bench", pool])
        }

        func destroy() {
            if etcd > 0 {
                kill(etcd, SIGKILL)
                var status: Int32 = 0
                waitpid(etcd, &status, 0)
            }
            // The node and every container (`<node>-c<i>`), also those of a set-up cut short.
            Cleanup.deleteNamespaces(named: node)
            try? FileManager.default.removeItem(at: directory)
        }

        func etcdctl(_ arguments: [String]) throws -> String {
            let out = try spawn(["ip", "netns", "exec", node, "etcdctl", "--endpoints", endpoint] + arguments,
                                environment: ["ETCDCTL_API": "3"])
            guard out.status == 0 else { throw Failure(description: "etcdctl \(arguments): \(out.stderr)") }
            return out.stdout
        }

        /// The unary gRPC requests etcd has started (KV, Lease, …): every gateway request is one.
        func requestCount() throws -> Int {
            let out = try spawn(["ip", "netns", "exec", node, "curl", "-sf", "\(endpoint)/metrics"])
            guard out.status == 0 else { throw Failure(description: "cannot read etcd's /metrics") }
            var total = 0.0
            for line in out.stdout.split(separator: "\n") where line.hasPrefix("grpc_server_started_total{") && line.contains(#"grpc_type="unary""#) {
                total += Double(line.split(separator: " ").last ?? "") ?? 0
            }
            return Int(total)
        }

        func config(side: String) -> String {
            if side == "canal" {
                return #"{"cniVersion":"1.0.0","name":"k8s-pod-network","type":"canal-cni","etcd_endpoints":"\#(endpoint)","nodename":"bench-node","mtu":1500,"ipam":{"type":"canal-ipam"},"policy":{"type":"k8s"}}"#
            }
            return #"{"cniVersion":"1.0.0","name":"bench-ref","type":"bridge","bridge":"cnibench0","isGateway":true,"ipMasq":false,"mtu":1500,"ipam":{"type":"host-local","ranges":[[{"subnet":"198.19.0.0/16"}]],"routes":[{"dst":"0.0.0.0/0"}],"dataDir":"\#(directory.appendingPathComponent("host-local").path)"}}"#
        }

        /// ADD of every container, then DEL of every container, with `workers` threads.
        func phase(side: String, plugin: String, workers: Int, tag: String) throws -> Phase {
            let executable = side == "canal" ? plugin : "/usr/lib/cni/bridge"
            let config = config(side: side)
            let containers = self.containers
            var times: [Double] = []
            var trips: [Double] = []
            for command in ["ADD", "DEL"] {
                let before = side == "canal" ? try requestCount() : 0
                let start = ContinuousClock.now
                let failures = try inNode(workers: workers) { i in
                    let environment = [
                        "CNI_COMMAND": command, "CNI_CONTAINERID": "bench\(tag)c\(i)", "CNI_NETNS": containers[i], "CNI_IFNAME": "eth0",
                        "CNI_PATH": "/usr/lib/cni", "CNI_ARGS": "IgnoreUnknown=1;K8S_POD_NAMESPACE=bench;K8S_POD_NAME=pod-\(tag)-\(i)",
                    ]
                    let out = try spawn([executable], input: config, environment: environment)
                    if out.status != 0 || (command == "ADD" && !out.stdout.contains("\"ips\"")) {
                        return "\(side) \(command) \(i): exit \(out.status): \(out.stdout) \(out.stderr)"
                    }
                    return nil
                }
                times.append((ContinuousClock.now - start) / .seconds(1))
                if let first = failures.first { throw Failure(description: "\(failures.count) calls failed; first: \(first)") }
                trips.append(side == "canal" ? Double(try requestCount() - before) / Double(CNIBenchmark.containers) : 0)
            }
            return Phase(add: times[0], del: times[1], addTrips: trips[0], delTrips: trips[1])
        }

        /// After DEL: nothing of `side` is left (etcd keys, host-local files, interfaces, addresses).
        func clean(side: String) throws -> Bool {
            var problems: [String] = []
            if side == "canal" {
                for prefix in ["/calico/ipam/v2/handle/", "/calico/resources/v3/projectcalico.org/workloadendpoints/"] {
                    let left = try etcdctl(["get", "--prefix", "--keys-only", prefix]).split(separator: "\n").filter { !$0.isEmpty }
                    if !left.isEmpty { problems.append("\(left.count) keys left under \(prefix)") }
                }
                let links = try check(["ip", "netns", "exec", node, "ip", "-o", "link", "show"])
                if links.contains(": cali") { problems.append("cali interfaces left") }
            } else {
                let dir = directory.appendingPathComponent("host-local/bench-ref").path
                let left = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasPrefix("198.") }
                if !left.isEmpty { problems.append("host-local still holds \(left.count) addresses") }
            }
            let inContainer = try check(["ip", "netns", "exec", (containers[0] as NSString).lastPathComponent, "ip", "-o", "link", "show"])
            if inContainer.contains("eth0") { problems.append("eth0 left in a container") }
            for p in problems { FileHandle.standardError.write(Data("canal-bench cni: \(side): \(p)\n".utf8)) }
            return problems.isEmpty
        }

        /// Runs `body` for every container index on `workers` threads that joined the node's
        /// network namespace (so their children start there); returns the failures.
        func inNode(workers: Int, _ body: @escaping @Sendable (Int) throws -> String?) throws -> [String] {
            final class Shared: Sendable {
                let next = Atomic<Int>(0)
                let failures = Mutex<[String]>([])
            }
            let shared = Shared()
            let group = DispatchGroup()
            let nodePath = "/var/run/netns/\(node)"
            let total = CNIBenchmark.containers
            for _ in 0..<workers {
                group.enter()
                Thread.detachNewThread {
                    defer { group.leave() }
                    let fd = open(nodePath, O_RDONLY | O_CLOEXEC)
                    guard fd >= 0, joinNetworkNamespace(fd) == 0 else {
                        shared.failures.withLock { $0.append("cannot join \(nodePath)") }
                        return
                    }
                    close(fd)
                    while true {
                        let i = shared.next.add(1, ordering: .relaxed).oldValue
                        guard i < total else { break }
                        do {
                            if let failure = try body(i) { shared.failures.withLock { $0.append(failure) } }
                        } catch {
                            shared.failures.withLock { $0.append("\(error)") }
                        }
                    }
                }
            }
            group.wait()
            return shared.failures.withLock { $0 }
        }
    }

    /// setns(2) into a network namespace (not in Swift's Glibc module).
    static func joinNetworkNamespace(_ fd: Int32) -> Int32 {
        typealias SetNS = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(nil, "setns") else { return -1 }
        return unsafeBitCast(symbol, to: SetNS.self)(fd, 0x4000_0000)  // CLONE_NEWNET
    }

    @discardableResult
    static func check(_ arguments: [String]) throws -> String {
        let out = try spawn(arguments)
        guard out.status == 0 else { throw Failure(description: "\(arguments.joined(separator: " ")): \(out.stderr)") }
        return out.stdout
    }

    /// Starts `arguments` with output into `log`; returns its pid.
    static func spawnDetached(_ arguments: [String], log: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, arguments[0], &actions, nil, argv, environ)
        guard rc == 0 else { throw Failure(description: "cannot start \(arguments[0]): \(String(cString: strerror(rc)))") }
        return pid
    }

    /// posix_spawnp with `input` on standard input and both outputs collected (poll, so no pipe blocks).
    static func spawn(_ arguments: [String], input: String = "", environment: [String: String] = [:]) throws -> (status: Int32, stdout: String, stderr: String) {
        var pipes: [[Int32]] = []
        for _ in 0..<3 {
            var fds: [Int32] = [-1, -1]
            guard pipe(&fds) == 0, fcntl(fds[0], F_SETFD, FD_CLOEXEC) == 0, fcntl(fds[1], F_SETFD, FD_CLOEXEC) == 0 else { throw Failure(description: "pipe failed") }
            pipes.append(fds)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipes[0][0], 0)
        posix_spawn_file_actions_adddup2(&actions, pipes[1][1], 1)
        posix_spawn_file_actions_adddup2(&actions, pipes[2][1], 2)
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, arguments[0], &actions, nil, argv, envp)
        close(pipes[0][0])
        close(pipes[1][1])
        close(pipes[2][1])
        guard rc == 0 else {
            for fd in [pipes[0][1], pipes[1][0], pipes[2][0]] { close(fd) }
            throw Failure(description: "cannot start \(arguments[0]): \(String(cString: strerror(rc)))")
        }
        let bytes = Array(input.utf8)
        var written = 0
        var fds = [pipes[0][1], pipes[1][0], pipes[2][0]]
        if bytes.isEmpty { close(fds[0]); fds[0] = -1 } else { _ = fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK) }
        var outputs: [[UInt8]] = [[], [], []]
        var buffer = [UInt8](repeating: 0, count: 65536)
        while fds.contains(where: { $0 >= 0 }) {
            var polls = [pollfd(fd: fds[0], events: Int16(POLLOUT), revents: 0), pollfd(fd: fds[1], events: Int16(POLLIN), revents: 0),
                         pollfd(fd: fds[2], events: Int16(POLLIN), revents: 0)]
            if poll(&polls, 3, -1) < 0 { if errno == EINTR { continue } else { break } }
            if fds[0] >= 0, polls[0].revents != 0 {
                let n = bytes.withUnsafeBytes { write(fds[0], $0.baseAddress! + written, $0.count - written) }
                if n > 0 { written += n }
                if written == bytes.count || (n < 0 && errno != EAGAIN && errno != EINTR) { close(fds[0]); fds[0] = -1 }
            }
            for k in 1...2 where fds[k] >= 0 && polls[k].revents != 0 {
                let n = buffer.withUnsafeMutableBytes { read(fds[k], $0.baseAddress, $0.count) }
                if n > 0 { outputs[k] += buffer[0..<n] } else if n == 0 || (errno != EINTR && errno != EAGAIN) { close(fds[k]); fds[k] = -1 }
            }
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (code, String(decoding: outputs[1], as: UTF8.self), String(decoding: outputs[2], as: UTF8.self))
    }
}
