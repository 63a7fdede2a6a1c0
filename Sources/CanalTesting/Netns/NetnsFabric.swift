#if canImport(Glibc)
import Glibc
#endif
import CanalToolSupport
public import Foundation
import Synchronization

/// Several hosts on one L2 segment, for tests across hosts: a "fabric" namespace holds a Linux
/// bridge; each host is a namespace joined to it by a veth (`eth0` on the host, an address in
/// `198.19.<s>.0/24`, IP forwarding on); a veth from the root namespace to the bridge carries
/// `198.19.<s>.254/24`, so a server in the root namespace (etcd) is reachable from every host.
/// Workloads hang off hosts as Calico wires them (see ``addWorkload(on:name:ipv4:)``).
///
/// ``withFabric(test:hosts:_:)`` removes every namespace (with their veths, the root one included)
/// and kills every process left in them, whatever the outcome. Processes started with
/// ``spawn(in:_:log:)`` are stopped first (SIGTERM, then SIGKILL).
public final class NetnsFabric: Sendable {
    /// A host namespace.
    public struct Host: Sendable, Hashable {
        /// A short name (`a`, `b`, …).
        public let name: String
        /// The namespace.
        public let namespace: String
        /// The host's address on the segment (its public IP), e.g. `198.19.7.1`.
        public let address: String
        /// The host's interface on the segment.
        public let interface: String
    }

    /// The fabric namespace (holding the bridge `br0`).
    public let fabric: String
    /// The root namespace's address on the segment (`198.19.<s>.254`).
    public let rootAddress: String
    /// The segment, e.g. `198.19.7.0/24`.
    public let segment: String
    private let prefix: String
    private let segmentOctet: Int
    private let rootLink: String
    private let created = Mutex<[String]>([])
    private let hostCount = Mutex(0)
    private let processes = Mutex<[SpawnedProcess]>([])
    private let workloadCount = Mutex(0)

    private init(test: String) {
        let random = UInt16.random(in: 0...UInt16.max)
        prefix = "canal-\(test)-\(getpid())-\(random)"
        fabric = prefix + "-fab"
        segmentOctet = Int.random(in: 100...250)
        segment = "198.19.\(segmentOctet).0/24"
        rootAddress = "198.19.\(segmentOctet).254"
        rootLink = "cnf" + String(format: "%04x", random) + "r"
    }

    /// Builds the fabric and `hosts` hosts for `test` (letters, digits, dashes), runs `body`, then
    /// tears everything down.
    public static func withFabric<T>(test: String, hosts: Int, _ body: (NetnsFabric, [Host]) async throws -> T) async throws -> T {
        removeStale(test: test)
        let fabric = NetnsFabric(test: test)
        defer { fabric.destroy() }
        try fabric.add(fabric.fabric)
        let fab = ["ip", "netns", "exec", fabric.fabric]
        try check(fab + ["ip", "link", "set", "lo", "up"])
        try check(fab + ["ip", "link", "add", "br0", "type", "bridge"])
        try check(fab + ["ip", "link", "set", "br0", "up"])
        try check(["ip", "link", "add", fabric.rootLink, "type", "veth", "peer", "name", "root", "netns", fabric.fabric])
        try check(fab + ["ip", "link", "set", "root", "master", "br0", "up"])
        try check(["ip", "addr", "add", "\(fabric.rootAddress)/24", "dev", fabric.rootLink])
        try check(["ip", "link", "set", fabric.rootLink, "up"])
        var made: [Host] = []
        for _ in 0..<hosts { made.append(try fabric.addHost()) }
        return try await body(fabric, made)
    }

    /// Adds one more host (named `a`, `b`, … in order, addresses `.1`, `.2`, …).
    public func addHost() throws -> Host {
        let index = hostCount.withLock { count -> Int in
            count += 1
            return count
        }
        let name = String(UnicodeScalar(UInt8(96 + index)))
        let host = Host(name: name, namespace: "\(prefix)-\(name)", address: "198.19.\(segmentOctet).\(index)", interface: "eth0")
        try add(host.namespace)
        try check(["ip", "link", "add", "eth0", "netns", host.namespace, "type", "veth", "peer", "name", "h\(name)", "netns", fabric])
        try check(["ip", "netns", "exec", fabric, "ip", "link", "set", "h\(name)", "master", "br0", "up"])
        for key in ["net.ipv4.ip_forward=1", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0"] {
            try exec(on: host, ["sysctl", "-q", "-w", key])
        }
        try exec(on: host, ["ip", "link", "set", "lo", "up"])
        try exec(on: host, ["ip", "addr", "add", "\(host.address)/24", "dev", "eth0"])
        try exec(on: host, ["ip", "link", "set", "eth0", "up"])
        // A default route out of a dead-end veth, as a host has an uplink: proxy ARP answers for
        // 169.254.1.1 only when the host routes it out of another interface, and nothing unrouted
        // leaves the host.
        try exec(on: host, ["ip", "link", "add", "uplink0", "type", "veth", "peer", "name", "uplink1"])
        try exec(on: host, ["ip", "link", "set", "uplink0", "up"])
        try exec(on: host, ["ip", "link", "set", "uplink1", "up"])
        try exec(on: host, ["ip", "route", "add", "default", "dev", "uplink0"])
        return host
    }

    /// Adds a workload namespace on `host` as Calico's CNI plugin wires one: a veth `cali<n>` on the
    /// host (proxy ARP, a /32 route to the workload) and `eth0` in the workload with `ipv4/32` and a
    /// default route via 169.254.1.1.
    @discardableResult
    public func addWorkload(on host: Host, name: String, ipv4: String) throws -> Workload {
        let n = workloadCount.withLock { count -> Int in
            count += 1
            return count
        }
        let interface = "cali\(host.name)\(n)"
        let ns = "\(prefix)-\(host.name)-\(name)"
        try add(ns)
        try check(["ip", "link", "add", interface, "netns", host.namespace, "type", "veth", "peer", "name", "eth0", "netns", ns])
        for key in ["net.ipv4.conf.\(interface).proxy_arp=1", "net.ipv4.neigh.\(interface).proxy_delay=0",
                    "net.ipv4.conf.\(interface).forwarding=1", "net.ipv4.conf.\(interface).rp_filter=0"] {
            try exec(on: host, ["sysctl", "-q", "-w", key])
        }
        try exec(on: host, ["ip", "link", "set", interface, "up"])
        try exec(on: host, ["ip", "route", "add", "\(ipv4)/32", "dev", interface])
        let wl = ["ip", "netns", "exec", ns]
        try check(wl + ["ip", "link", "set", "lo", "up"])
        try check(wl + ["ip", "addr", "add", "\(ipv4)/32", "dev", "eth0"])
        try check(wl + ["ip", "link", "set", "eth0", "up"])
        try check(wl + ["ip", "route", "add", "169.254.1.1", "dev", "eth0", "scope", "link"])
        try check(wl + ["ip", "route", "add", "default", "via", "169.254.1.1", "dev", "eth0"])
        return Workload(namespace: ns, interface: interface, ipv4: ipv4, ipv6: "")
    }

    /// Runs a command in `host`'s namespace, throwing on failure.
    @discardableResult
    public func exec(on host: Host, _ arguments: [String]) throws -> String {
        try check(["ip", "netns", "exec", host.namespace] + arguments)
    }

    /// Runs a command in `host`'s namespace, returning its status and output.
    public func run(on host: Host, _ arguments: [String]) throws -> (status: Int32, output: String) {
        try CanalTesting.run(["ip", "netns", "exec", host.namespace] + arguments)
    }

    /// Whether an ICMP echo from `workload` to `address` is answered (any of three, each waited for `seconds`).
    public func ping(from workload: Workload, _ address: String, seconds: Int = 1) -> Bool {
        // Three echo requests, and any reply counts: one lost to a busy machine is not a verdict.
        ((try? CanalTesting.run(["ip", "netns", "exec", workload.namespace, "ping", "-n", "-q", "-c3", "-i", "0.3", "-W", String(seconds), address]))?.status ?? 1) == 0
    }

    /// Starts `arguments` in `host`'s namespace (in the root namespace when `host` is nil) with its
    /// output appended to `log`; it is stopped at teardown if still running.
    public func spawn(in host: Host?, _ arguments: [String], log: URL) throws -> SpawnedProcess {
        let child = try start((host.map { ["ip", "netns", "exec", $0.namespace] } ?? []) + arguments, output: .appended(to: log.path))
        let spawned = SpawnedProcess(child: child, log: log)
        processes.withLock { $0.append(spawned) }
        return spawned
    }

    /// Polls `condition` every 100 ms until it holds or `seconds` pass; returns whether it held.
    public static func eventually(_ seconds: Double, _ condition: () throws -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            if (try? condition()) == true { return true }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return (try? condition()) == true
    }

    private func add(_ ns: String) throws {
        created.withLock { $0.append(ns) }
        try check(["ip", "netns", "add", ns])
    }

    private func destroy() {
        // All at once, then each waited for (SIGKILL after 3 s): a slow one does not delay the rest.
        let spawned = processes.withLock { $0 }
        for process in spawned { process.child.signal(SIGTERM) }
        for process in spawned { process.stop() }
        for ns in created.withLock({ $0 }).reversed() { Self.delete(ns) }
        _ = try? CanalTesting.run(["ip", "link", "del", rootLink])
    }

    private static func delete(_ ns: String) {
        if let pids = try? CanalTesting.run(["ip", "netns", "pids", ns]).output {
            for pid in pids.split(whereSeparator: \.isWhitespace).compactMap({ Int32($0) }) { kill(pid, SIGKILL) }
        }
        _ = try? CanalTesting.run(["ip", "netns", "delete", ns])
    }

    /// Deletes `canal-<test>-<pid>-…` namespaces whose creating process no longer exists.
    private static func removeStale(test: String) {
        guard let list = try? CanalTesting.run(["ip", "netns", "list"]).output else { return }
        for line in list.split(separator: "\n") {
            let name = String(line.split(separator: " ").first ?? "")
            guard name.hasPrefix("canal-\(test)-") else { continue }
            let rest = name.dropFirst("canal-\(test)-".count)
            guard let pid = rest.split(separator: "-").first.flatMap({ Int32($0) }) else { continue }
            if pid != getpid(), kill(pid, 0) != 0, errno == ESRCH { delete(name) }
        }
    }
}

/// A process started by ``NetnsFabric/spawn(in:_:log:)``.
public final class SpawnedProcess: Sendable {
    let child: SpawnedChild
    /// Where its output goes.
    public let log: URL

    init(child: SpawnedChild, log: URL) {
        self.child = child
        self.log = log
    }

    /// The process id.
    public var pid: Int32 { child.pid }
    /// Whether it still runs.
    public var isRunning: Bool { child.isRunning }
    /// Its exit status (after it ended; -1 while it runs): the exit code, or 128 + the signal
    /// that ended it.
    public var exitStatus: Int32 { child.exitStatus ?? -1 }
    /// Its output so far.
    public var output: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// SIGTERM, then SIGKILL after `grace`; waits for the exit.
    public func stop(grace: Duration = .seconds(3)) {
        child.stop(grace: grace)
    }

    /// Waits up to `seconds` for the process to exit by itself; returns whether it did.
    public func waitForExit(seconds: Double) async -> Bool {
        await NetnsFabric.eventually(seconds) { !self.child.isRunning }
    }
}
