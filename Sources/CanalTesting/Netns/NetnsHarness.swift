#if canImport(Glibc)
import Glibc
#endif
import CanalToolSupport
import Foundation
import Synchronization

/// A failure of a harness command.
public struct NetnsError: Error, Sendable, CustomStringConvertible {
    /// What failed, with the command's output.
    public let description: String
}

/// Whether kernel tests can run here, and whether they must.
public enum KernelTestGate {
    /// Running as root.
    public static var isRoot: Bool { getuid() == 0 }
    /// `CI=true`: kernel tests must run (and fail when they cannot).
    public static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }
    /// Run the kernel tests: as root, or in CI (where not being root is a failure).
    public static var shouldRun: Bool { isRoot || isCI }
}

/// A workload as a network namespace joined to the node by a veth pair: the node side carries
/// the endpoint's interface name (`cali…`), the workload side (`eth0`) its addresses.
public struct Workload: Sendable, Hashable {
    /// The namespace name.
    public let namespace: String
    /// The node-side interface name.
    public let interface: String
    /// The IPv4 address.
    public let ipv4: String
    /// The IPv6 address.
    public let ipv6: String
}

/// A node (a network namespace acting as the host, IP forwarding on) with workloads.
///
/// Create one with ``withNode(test:_:)``, which removes every namespace it created whatever the
/// outcome. Namespace names are `canal-<test>-<pid>-<random>`; namespaces of earlier runs of the
/// same test whose process is gone are removed first (they are clearly this harness's).
public final class NetnsNode: Sendable {
    /// The node's namespace.
    public let namespace: String
    private let prefix: String
    private let created = Mutex<[String]>([])
    /// Listeners started by ``listen(in:ports:)``, stopped with the node.
    private let helpers = Mutex<[SpawnedChild]>([])
    /// Forwarders started by ``forwardLoopbackPort(_:)``, stopped with the node.
    private let forwarders = Mutex<[LoopbackForwarder]>([])

    private init(test: String) {
        let pid = getpid()
        prefix = "canal-\(test)-\(pid)-\(UInt16.random(in: 0...UInt16.max))"
        namespace = prefix + "-node"
    }

    /// Builds a node for `test` (a short name, letters, digits and dashes), runs `body`, then
    /// deletes everything (listeners, namespaces and with them veths, rules and sets).
    public static func withNode<T>(test: String, _ body: (NetnsNode) async throws -> T) async throws -> T {
        removeStale(test: test)
        let node = NetnsNode(test: test)
        defer { node.destroy() }
        try node.add(node.namespace)
        try node.exec(["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])
        try node.exec(["sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=1"])
        try node.exec(["ip", "link", "set", "lo", "up"])
        // A default route, as a real host has: proxy ARP only answers for 169.254.1.1 when the
        // node routes that address out of another interface. A veth pair inside the node stands
        // in for the uplink (the dummy driver may be missing).
        try node.exec(["ip", "link", "add", "uplink0", "type", "veth", "peer", "name", "uplink1"])
        try node.exec(["ip", "link", "set", "uplink0", "up"])
        try node.exec(["ip", "link", "set", "uplink1", "up"])
        try node.exec(["ip", "route", "add", "default", "dev", "uplink0"])
        return try await body(node)
    }

    /// Adds a workload namespace `name` joined by `interface` with the given addresses
    /// (in 198.18.0.0/15 and fd5e:ca1::/48), routed as Calico routes: a host route per
    /// workload via its interface on the node; a default route via 169.254.1.1 (IPv4,
    /// proxy ARP on the node side) and via fe80::1 (IPv6, proxy NDP) in the workload.
    @discardableResult
    public func addWorkload(_ name: String, interface: String, ipv4: String, ipv6: String) throws -> Workload {
        let ns = "\(prefix)-\(name)"
        try add(ns)
        try check(["ip", "link", "add", interface, "netns", namespace, "type", "veth", "peer", "name", "eth0", "netns", ns])
        // Node side.
        for key in ["net.ipv4.conf.\(interface).proxy_arp=1", "net.ipv4.neigh.\(interface).proxy_delay=0",
                    "net.ipv4.conf.\(interface).forwarding=1", "net.ipv6.conf.\(interface).proxy_ndp=1",
                    "net.ipv6.conf.\(interface).accept_dad=0",
                    "net.ipv6.conf.\(interface).forwarding=1", "net.ipv4.conf.\(interface).rp_filter=0"] {
            try exec(["sysctl", "-q", "-w", key])
        }
        try exec(["ip", "link", "set", interface, "up"])
        try exec(["ip", "route", "add", "\(ipv4)/32", "dev", interface])
        try exec(["ip", "-6", "route", "add", "\(ipv6)/128", "dev", interface])
        try exec(["ip", "-6", "neigh", "add", "proxy", "fe80::1", "dev", interface])
        // Workload side.
        let wl = ["ip", "netns", "exec", ns]
        try check(wl + ["sysctl", "-q", "-w", "net.ipv6.conf.eth0.accept_dad=0"])
        try check(wl + ["ip", "link", "set", "lo", "up"])
        try check(wl + ["ip", "addr", "add", "\(ipv4)/32", "dev", "eth0"])
        try check(wl + ["ip", "-6", "addr", "add", "\(ipv6)/128", "dev", "eth0", "nodad"])
        try check(wl + ["ip", "link", "set", "eth0", "up"])
        try check(wl + ["ip", "route", "add", "169.254.1.1", "dev", "eth0", "scope", "link"])
        try check(wl + ["ip", "route", "add", "default", "via", "169.254.1.1", "dev", "eth0"])
        try check(wl + ["ip", "-6", "route", "add", "default", "via", "fe80::1", "dev", "eth0"])
        return Workload(namespace: ns, interface: interface, ipv4: ipv4, ipv6: ipv6)
    }

    /// The node itself as a probe source or listener host, with the given addresses (those of one
    /// of its interfaces, e.g. a host endpoint's).
    public func host(ipv4: String, ipv6: String) -> Workload {
        Workload(namespace: namespace, interface: "", ipv4: ipv4, ipv6: ipv6)
    }

    /// Adds a namespace `name` outside the node (a peer on the node's network) joined by a veth
    /// whose node side is `interface` (say, a host endpoint's interface) with `nodeIPv4`/24 and
    /// `nodeIPv6`/64, the peer side having `ipv4`/24 and `ipv6`/64 and default routes via the
    /// node, so it reaches the node and, forwarded, its workloads.
    @discardableResult
    public func addExternal(
        _ name: String, interface: String, nodeIPv4: String, nodeIPv6: String, ipv4: String, ipv6: String
    ) throws -> Workload {
        let ns = "\(prefix)-\(name)"
        try add(ns)
        try check(["ip", "link", "add", interface, "netns", namespace, "type", "veth", "peer", "name", "eth0", "netns", ns])
        for key in ["net.ipv4.conf.\(interface).rp_filter=0", "net.ipv6.conf.\(interface).accept_dad=0"] {
            try exec(["sysctl", "-q", "-w", key])
        }
        try exec(["ip", "addr", "add", "\(nodeIPv4)/24", "dev", interface])
        try exec(["ip", "-6", "addr", "add", "\(nodeIPv6)/64", "dev", interface, "nodad"])
        try exec(["ip", "link", "set", interface, "up"])
        let peer = ["ip", "netns", "exec", ns]
        try check(peer + ["sysctl", "-q", "-w", "net.ipv6.conf.eth0.accept_dad=0"])
        try check(peer + ["ip", "link", "set", "lo", "up"])
        try check(peer + ["ip", "addr", "add", "\(ipv4)/24", "dev", "eth0"])
        try check(peer + ["ip", "-6", "addr", "add", "\(ipv6)/64", "dev", "eth0", "nodad"])
        try check(peer + ["ip", "link", "set", "eth0", "up"])
        try check(peer + ["ip", "route", "add", "default", "via", nodeIPv4])
        try check(peer + ["ip", "-6", "route", "add", "default", "via", nodeIPv6])
        return Workload(namespace: ns, interface: interface, ipv4: ipv4, ipv6: ipv6)
    }

    /// Adds an empty namespace `name` for a CNI plugin to set up (removed with the node); returns its
    /// path, the `CNI_NETNS` a runtime would pass.
    public func addContainer(_ name: String) throws -> String {
        let ns = "\(prefix)-\(name)"
        try add(ns)
        try check(["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"])
        return "/var/run/netns/\(ns)"
    }

    /// Makes `127.0.0.1:port` of the test's own namespace (for example an ``EtcdServer``) reachable
    /// at the same address inside the node namespace, so a tool run there (a CNI plugin) can use it:
    /// a ``LoopbackForwarder``, stopped with the node.
    public func forwardLoopbackPort(_ port: Int) throws {
        let forwarder = LoopbackForwarder(namespace: namespace, port: port)
        forwarders.withLock { $0.append(forwarder) }
        try forwarder.start()
    }

    /// Runs a command in the namespace at `path` (a container's), throwing on failure.
    @discardableResult
    public func exec(inContainer path: String, _ arguments: [String]) throws -> String {
        try check(["nsenter", "--net=\(path)"] + arguments)
    }

    /// Runs a command in the node namespace (optionally feeding it `input`), throwing on failure.
    @discardableResult
    public func exec(_ arguments: [String], input: String? = nil) throws -> String {
        try check(["ip", "netns", "exec", namespace] + arguments, input: input)
    }

    /// `ipset restore` in the node namespace (ipset is not namespaced by `ip netns exec`'s mount
    /// namespace but by the network namespace, as it must be).
    public func applyIPSets(_ input: String) throws {
        guard !input.isEmpty else { return }
        try exec(["ipset", "restore"], input: input)
    }

    /// `iptables-restore` (or `ip6tables-restore` for `ipv6`), with `--noflush` when `noflush`.
    public func applyIptables(_ input: String, ipv6: Bool = false, noflush: Bool = false) throws {
        guard !input.isEmpty else { return }
        try exec([ipv6 ? "ip6tables-restore" : "iptables-restore"] + (noflush ? ["--noflush"] : []), input: input)
    }

    /// `nft -f -` with `script`.
    public func applyNft(_ script: String) throws {
        guard !script.isEmpty else { return }
        try exec(["nft", "-f", "-"], input: script)
    }

    /// Starts TCP and UDP echo listeners on `ports` in `workload` (both families); they are
    /// killed with the namespaces.
    public func listen(in workload: Workload, ports: [UInt16]) throws {
        let listener = try start(["ip", "netns", "exec", workload.namespace, "python3", "-c", Probe.server(ports: ports)])
        helpers.withLock { $0.append(listener) }
        // Wait until every port is bound.
        for _ in 0..<100 {
            guard listener.isRunning else { break }
            let out = (try? check(["ip", "netns", "exec", workload.namespace, "ss", "-Htuln"])) ?? ""
            // TCP and UDP, IPv4 and IPv6: four listening sockets per port.
            let local = out.split(separator: "\n").compactMap { $0.split(separator: " ", omittingEmptySubsequences: true).dropFirst(4).first }
            if ports.allSatisfy({ p in local.filter { $0 == "0.0.0.0:\(p)" || $0 == "[::]:\(p)" }.count >= 4 }) { return }
            usleep(20_000)
        }
        throw NetnsError(description: "listeners on \(ports) in \(workload.namespace) did not start")
    }

    /// Runs `probes` from `source` concurrently and reports, per probe, whether a reply came
    /// back within `timeout` seconds (allowed) or not (denied).
    public func probe(from source: Workload, _ probes: [Probe], timeout: Double = 1.0) throws -> [Probe: Bool] {
        let spec = probes.map { "\($0.kind.rawValue) \($0.address) \($0.port)" }.joined(separator: ";")
        let out = try check(["ip", "netns", "exec", source.namespace, "python3", "-c", Probe.client, spec, String(timeout)])
        var result: [Probe: Bool] = [:]
        for (probe, line) in zip(probes, out.split(separator: "\n")) { result[probe] = line == "1" }
        guard result.count == probes.count else { throw NetnsError(description: "probe output: \(out)") }
        return result
    }

    private func add(_ ns: String) throws {
        created.withLock { $0.append(ns) }
        try check(["ip", "netns", "add", ns])
    }

    private func destroy() {
        for forwarder in forwarders.withLock({ $0 }) { forwarder.stop() }
        for listener in helpers.withLock({ $0 }) { listener.stop(grace: .seconds(1)) }
        let names = created.withLock { $0 }
        for ns in names.reversed() { Self.delete(ns) }
    }

    private static func delete(_ ns: String) {
        if let pids = try? run(["ip", "netns", "pids", ns]).output {
            for pid in pids.split(whereSeparator: \.isWhitespace).compactMap({ Int32($0) }) { kill(pid, SIGKILL) }
        }
        _ = try? run(["ip", "netns", "delete", ns])
    }

    /// Deletes `canal-<test>-<pid>-…` namespaces whose creating process no longer exists.
    private static func removeStale(test: String) {
        guard let list = try? run(["ip", "netns", "list"]).output else { return }
        for line in list.split(separator: "\n") {
            let name = String(line.split(separator: " ").first ?? "")
            guard name.hasPrefix("canal-\(test)-") else { continue }
            let rest = name.dropFirst("canal-\(test)-".count)
            guard let pid = rest.split(separator: "-").first.flatMap({ Int32($0) }) else { continue }
            if pid != getpid(), kill(pid, 0) != 0, errno == ESRCH { delete(name) }
        }
    }
}

/// One reachability probe: TCP connect + reply, UDP request + reply, or an ICMP echo.
public struct Probe: Sendable, Hashable, CustomStringConvertible {
    /// The probe kinds.
    public enum Kind: String, Sendable, Hashable { case tcp, udp, ping }
    /// The kind.
    public let kind: Kind
    /// The destination address.
    public let address: String
    /// The destination port (0 for ping).
    public let port: UInt16

    /// TCP to `address`:`port`.
    public static func tcp(_ address: String, _ port: UInt16) -> Probe { Probe(kind: .tcp, address: address, port: port) }
    /// UDP to `address`:`port` (allowed only if the echo comes back).
    public static func udp(_ address: String, _ port: UInt16) -> Probe { Probe(kind: .udp, address: address, port: port) }
    /// ICMP echo request to `address`.
    public static func ping(_ address: String) -> Probe { Probe(kind: .ping, address: address, port: 0) }

    /// `tcp 198.18.0.3:5432`.
    public var description: String { kind == .ping ? "ping \(address)" : "\(kind.rawValue) \(address):\(port)" }

    static func server(ports: [UInt16]) -> String {
        """
        import socket, threading
        ports = [\(ports.map(String.init).joined(separator: ","))]
        def tcp(fam, port):
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if fam == socket.AF_INET6: s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            s.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", port)); s.listen(64)
            while True:
                c, _ = s.accept()
                try: c.sendall(b"ok")
                except OSError: pass
                c.close()
        def udp(fam, port):
            s = socket.socket(fam, socket.SOCK_DGRAM)
            if fam == socket.AF_INET6: s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            s.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", port))
            while True:
                d, a = s.recvfrom(2048); s.sendto(d, a)
        for p in ports:
            for f in (socket.AF_INET, socket.AF_INET6):
                for fn in (tcp, udp): threading.Thread(target=fn, args=(f, p), daemon=True).start()
        threading.Event().wait()
        """
    }

    static let client = """
        import socket, subprocess, sys, threading
        specs = [s.split() for s in sys.argv[1].split(";") if s]
        timeout = float(sys.argv[2])
        out = ["0"] * len(specs)
        def one(i, kind, addr, port):
            fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
            try:
                if kind == "ping":
                    r = subprocess.run(["ping", "-n", "-q", "-c1", "-W", str(max(1, int(timeout))), addr], capture_output=True)
                    out[i] = "1" if r.returncode == 0 else "0"; return
                s = socket.socket(fam, socket.SOCK_STREAM if kind == "tcp" else socket.SOCK_DGRAM)
                s.settimeout(timeout)
                if kind == "tcp":
                    s.connect((addr, int(port))); ok = s.recv(2) == b"ok"
                else:
                    s.sendto(b"probe", (addr, int(port))); ok = s.recvfrom(64)[0] == b"probe"
                out[i] = "1" if ok else "0"
            except OSError:
                out[i] = "0"
        ts = [threading.Thread(target=one, args=(i, *spec)) for i, spec in enumerate(specs)]
        for t in ts: t.start()
        for t in ts: t.join()
        print("\\n".join(out))
        """
}

