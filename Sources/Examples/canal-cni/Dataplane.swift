#if canImport(Glibc)
import Glibc
#endif
import CanalCNI
import CanalModel
import CanalToolSupport
import Foundation

/// The kernel side of a workload, as Calico's plugin sets it up (`dataplane_linux.go`): a veth pair
/// whose host end (`cali…`, MAC ee:ee:ee:ee:ee:ee, proxy ARP) carries a /32 or /128 route per
/// address, and whose container end (`CNI_IFNAME`) carries the addresses and routes via
/// 169.254.1.1 and the host end's link-local address. Uses `ip`; work in the container's namespace
/// runs on a thread that joined it (``Netns``), so each ADD starts three `ip` processes.
struct Dataplane: Sendable {
    let ip = Command.find("ip")
    let log: Log

    /// What ``setUp`` needs.
    struct Workload {
        var netns: String
        var ifName: String
        var hostName: String
        var mtu: Int
        var addresses: [IPAddress]
        var routes: [CIDR]
        var allowIPForwarding: Bool
    }

    /// Creates the veth pair and configures both ends; returns the container end's MAC. On failure
    /// the pair is removed again before the error is thrown.
    func setUp(_ w: Workload) throws(CNIError) -> String {
        if linkExists(w.hostName) {
            log.info("removing an old host interface \(w.hostName)")
            _ = try Command.run(ip, ["link", "del", w.hostName])
        }
        let mac = Self.randomMAC()
        let (ip, hostPID) = (ip, getpid())
        try Netns.run(in: w.netns) { () throws(CNIError) in
            let created = try Command.run(ip, ["link", "add", w.ifName, "mtu", "\(w.mtu)", "address", mac,
                                               "type", "veth", "peer", "name", w.hostName, "mtu", "\(w.mtu)",
                                               "address", CalicoGateway.hostMAC, "netns", "\(hostPID)"])
            guard created.status == 0 else {
                throw .dataplane("cannot create the veth pair \(w.hostName)/\(w.ifName)", details: created.stderrText.trimmed)
            }
        }
        do {
            try configure(w)
        } catch {
            _ = try? Command.run(ip, ["link", "del", w.hostName])
            throw error
        }
        return mac
    }

    private func configure(_ w: Workload) throws(CNIError) {
        let hasV6 = w.addresses.contains { $0.family == .v6 }
        // Host end: sysctls before it comes up.
        var sysctls = [("ipv4/conf/\(w.hostName)/route_localnet", "1"), ("ipv4/neigh/\(w.hostName)/proxy_delay", "0"),
                       ("ipv4/conf/\(w.hostName)/proxy_arp", "1"), ("ipv4/conf/\(w.hostName)/forwarding", "1")]
        if hasV6 {
            sysctls += [("ipv6/conf/\(w.hostName)/accept_dad", "0"), ("ipv6/conf/\(w.hostName)/disable_ipv6", "0"),
                        ("ipv6/conf/\(w.hostName)/proxy_ndp", "1"), ("ipv6/conf/\(w.hostName)/forwarding", "1")]
        }
        if FileManager.default.fileExists(atPath: "/proc/sys/net/ipv6/conf/\(w.hostName)/accept_ra") {
            sysctls.append(("ipv6/conf/\(w.hostName)/accept_ra", "0"))
        }
        for (key, value) in sysctls { try writeSysctl(key, value) }
        var host = ["link set \(w.hostName) up"]
        for a in w.addresses { host.append("route add \(a)/\(a.family.bitCount) dev \(w.hostName) scope link") }
        try batch(host, what: "configure the host interface \(w.hostName)")

        // Container end.
        var container: [String] = []
        for a in w.addresses {
            container.append("addr add \(a)/\(a.family.bitCount) dev \(w.ifName)" + (a.family == .v6 ? " nodad" : ""))
        }
        container.append("link set \(w.ifName) up")
        if w.routes.contains(where: { $0.family == .v4 }) {
            container.append("route add \(CalicoGateway.ipv4)/32 dev \(w.ifName) scope link")
        }
        for r in w.routes {
            let via = r.family == .v4 ? CalicoGateway.ipv4 : CalicoGateway.ipv6
            container.append("route add \(r) via \(via) dev \(w.ifName)")
        }
        var keys = [("ipv4/ip_forward", w.allowIPForwarding ? "1" : "0")]
        if hasV6 { keys += [("ipv6/conf/\(w.ifName)/accept_dad", "0"), ("ipv6/conf/\(w.ifName)/disable_ipv6", "0")] }
        let this = self
        try Netns.run(in: w.netns) { () throws(CNIError) in
            for (key, value) in keys { try this.writeSysctl(key, value) }
            try this.batch(container, what: "configure \(w.ifName) in \(w.netns)")
        }
    }

    /// Removes the container's interface (and with it the host end). A missing namespace or link
    /// is not an error; when `netns` is empty or gone, `hostName` (if given) is removed instead.
    func tearDown(netns: String, ifName: String, hostName: String?) throws(CNIError) {
        if !netns.isEmpty, FileManager.default.fileExists(atPath: netns) {
            let ip = ip
            let out = try Netns.run(in: netns) { () throws(CNIError) in try Command.run(ip, ["link", "del", ifName]) }
            if out.status == 0 || Self.isMissing(out.stderrText) { return }
            throw .dataplane("cannot delete \(ifName) in \(netns)", details: out.stderrText.trimmed)
        }
        guard let hostName, linkExists(hostName) else { return }
        let out = try Command.run(ip, ["link", "del", hostName])
        if out.status != 0, !Self.isMissing(out.stderrText) {
            throw .dataplane("cannot delete \(hostName)", details: out.stderrText.trimmed)
        }
    }

    /// Deletes the host interface if it exists (rollback).
    func removeHostInterface(_ name: String) {
        _ = try? Command.run(ip, ["link", "del", name])
    }

    /// Checks what ``setUp`` made; returns the problems found.
    func verify(_ w: Workload) throws(CNIError) -> [String] {
        var problems: [String] = []
        // Host end: up, with a route per address.
        let link = try json([ip, "-j", "link", "show", "dev", w.hostName], netns: nil)
        if case .array(let links)? = link, let first = links.first {
            if case .array(let flags)? = first["flags"], !flags.contains(.string("UP")) {
                problems.append("host interface \(w.hostName) is down")
            }
        } else {
            problems.append("host interface \(w.hostName) does not exist")
            return problems
        }
        for family in ["-4", "-6"] {
            guard case .array(let routes)? = try json([ip, "-j", family, "route", "show", "dev", w.hostName], netns: nil) else { continue }
            let dsts = Set(routes.compactMap { $0["dst"]?.stringValue })
            for a in w.addresses where (a.family == .v4) == (family == "-4") {
                if !dsts.contains("\(a)") && !dsts.contains("\(a)/\(a.family.bitCount)") {
                    problems.append("no host route to \(a) via \(w.hostName)")
                }
            }
        }
        // Container end: the addresses and routes.
        guard FileManager.default.fileExists(atPath: w.netns) else { return problems + ["namespace \(w.netns) is gone"] }
        guard case .array(let addrs)? = try json([ip, "-j", "addr", "show", "dev", w.ifName], netns: w.netns), let entry = addrs.first else {
            return problems + ["\(w.ifName) does not exist in \(w.netns)"]
        }
        var held: Set<String> = []
        if case .array(let infos)? = entry["addr_info"] {
            for info in infos {
                if let local = info["local"]?.stringValue, case .number(let len)? = info["prefixlen"] { held.insert("\(local)/\(len)") }
            }
        }
        for a in w.addresses where !held.contains("\(a)/\(a.family.bitCount)") {
            problems.append("\(w.ifName) in the container lacks \(a)/\(a.family.bitCount)")
        }
        for family in ["-4", "-6"] {
            guard case .array(let routes)? = try json([ip, "-j", family, "route", "show", "dev", w.ifName], netns: w.netns) else { continue }
            for r in w.routes where (r.family == .v4) == (family == "-4") {
                let via = r.family == .v4 ? CalicoGateway.ipv4 : CalicoGateway.ipv6
                let dst = r.prefixLength == 0 ? "default" : r.description
                let found = routes.contains { $0["dst"]?.stringValue == dst && $0["gateway"]?.stringValue == via.description }
                if !found { problems.append("no route \(r) via \(via) in the container") }
            }
        }
        return problems
    }

    private func json(_ command: [String], netns: String?) throws(CNIError) -> JSONValue? {
        let run = { () throws(CNIError) -> Command.Output in try Command.run(command[0], Array(command.dropFirst())) }
        let out = netns.map { ns in try? Netns.run(in: ns, run) } ?? (try? run())
        guard let out, out.status == 0 else { return nil }
        return try? JSONValue(parsing: out.stdout)
    }

    /// `ip -batch -` with `lines`, in the calling thread's network namespace.
    private func batch(_ lines: [String], what: String) throws(CNIError) {
        let input = Array((lines.joined(separator: "\n") + "\n").utf8)
        let out = try Command.run(ip, ["-batch", "-"], input: input)
        guard out.status == 0 else { throw .dataplane("cannot \(what)", details: out.stderrText.trimmed) }
    }

    private func writeSysctl(_ key: String, _ value: String) throws(CNIError) {
        let path = "/proc/sys/net/" + key
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw .dataplane("cannot set \(key.replacingOccurrences(of: "/", with: "."))", details: "cannot open \(path)")
        }
        defer { try? handle.close() }
        do {
            try handle.write(contentsOf: Data(value.utf8))
        } catch {
            throw .dataplane("cannot set \(key.replacingOccurrences(of: "/", with: "."))", details: "\(error)")
        }
    }

    /// Whether the host has a link `name` (an ioctl on a socket of this thread's namespace; not
    /// /sys/class/net, which under `nsenter --net` still shows the caller's namespace).
    func linkExists(_ name: String) -> Bool {
        if_nametoindex(name) != 0
    }

    private static func isMissing(_ stderr: String) -> Bool {
        stderr.contains("Cannot find device") || stderr.contains("does not exist") || stderr.contains("No such device")
    }

    /// A random locally administered unicast MAC.
    static func randomMAC() -> String {
        var bytes = (0..<6).map { _ in UInt8.random(in: 0...255) }
        bytes[0] = (bytes[0] & 0xFE) | 0x02
        return bytes.map { String($0, radix: 16).leftPadded(2) }.joined(separator: ":")
    }
}

extension String {
    var trimmed: String { trimmingCharacters(in: .whitespacesAndNewlines) }
    func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}
