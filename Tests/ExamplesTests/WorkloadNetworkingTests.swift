import CanalTesting
import CanalToolSupport
import Foundation
import Testing

/// Anti-spoofing and route ownership in `canal-agent`, on a real kernel: a workload forging a
/// neighbour's source address (raw socket) does not reach a port only the neighbour may reach,
/// unless the endpoint may spoof that prefix; a workload route deleted by hand comes back.
@Suite(.serialized, .enabled(if: KernelTestGate.shouldRun && EtcdServer.shouldRun, "needs root and etcd (or CI=true)"))
struct WorkloadNetworkingTests {
    /// Sends three TCP SYNs from `source` (forged) to `destination:port` through a raw socket.
    static let forgeSYN = """
        import socket, struct, sys, time
        src, dst, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
        def csum(b):
            if len(b) % 2: b += b'\\0'
            s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
            while s >> 16: s = (s & 0xffff) + (s >> 16)
            return ~s & 0xffff
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        for seq in range(3):
            tcp = struct.pack('!HHIIBBHHH', 40000 + seq, port, 1000 + seq, 0, 5 << 4, 0x02, 64240, 0, 0)
            pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack('!BBH', 0, 6, len(tcp))
            tcp = tcp[:16] + struct.pack('!H', csum(pseudo + tcp)) + tcp[18:]
            ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(tcp), seq, 0, 64, 6, 0, socket.inet_aton(src), socket.inet_aton(dst))
            s.sendto(ip + tcp, (dst, 0))
            time.sleep(0.2)
        """

    /// Whether a forged SYN from `from` claiming `claimed`'s address reaches `to` on `port`
    /// (seen by tcpdump in the destination's namespace).
    static func forgedSYNArrives(_ h: AgentHarness, from: Workload, claiming claimed: Workload, to: Workload, port: Int) async throws -> Bool {
        let capture = h.directory.appendingPathComponent("capture-\(UUID().uuidString).txt")
        let tcpdump = try Spawn.start(["ip", "netns", "exec", to.namespace, "timeout", "4", "tcpdump", "-l", "-n", "-i", "eth0", "-c", "1",
                                       "src \(claimed.ipv4) and dst port \(port) and tcp[tcpflags] & tcp-syn != 0"],
                                      output: .appended(to: capture.path))
        defer { _ = tcpdump.stop(grace: .seconds(1)) }
        // tcpdump says "listening on" once its filter is in place.
        for _ in 0..<40 where !((try? String(contentsOf: capture, encoding: .utf8)) ?? "").contains("listening on") {
            try await Task.sleep(for: .milliseconds(50))
        }
        let sent = try Spawn.run(["ip", "netns", "exec", from.namespace, "python3", "-c", forgeSYN, claimed.ipv4, to.ipv4, String(port)],
                                 mergingErrors: true, timeout: .seconds(10))
        #expect(sent.status == 0, "raw socket: \(sent.stdoutText)")
        _ = await NetnsFabric.eventually(2) { !tcpdump.isRunning }
        let text = (try? String(contentsOf: capture, encoding: .utf8)) ?? ""
        return text.contains("\(claimed.ipv4).4000") && text.contains("> \(to.ipv4).\(port)")
    }

    @Test(.timeLimit(.minutes(2))) func forgedSourceIsDroppedUnlessAllowed() async throws {
        try await AgentHarness.with(test: "antispoof") { h in
            try h.apply(AgentHarness.cluster)
            let agent = try h.startAgent()
            defer { _ = agent.terminate() }
            try await h.waitInSync(agent)
            // Only the client may reach the db's 8080; `other` may not.
            try await h.expectEventually(within: 5, from: h.client, [.tcp(h.db.ipv4, 8080): true])
            try await h.expectEventually(within: 1, from: h.other, [.tcp(h.db.ipv4, 8080): false])
            #expect(await NetnsFabric.eventually(3) {
                try h.node.exec(["sysctl", "-n", "net.ipv4.conf.\(h.other.interface).rp_filter"]).contains("1")
            })
            // `other` forges the client's address: strict RPF drops it before any policy.
            #expect(try await !Self.forgedSYNArrives(h, from: h.other, claiming: h.client, to: h.db, port: 8080))

            // The same with spoofing allowed for `other`: the forged SYN gets through (so the
            // check above can fail), and the source-based allow rule lets it in.
            try h.apply("""
                apiVersion: projectcalico.org/v3
                kind: FelixConfiguration
                metadata: {name: default}
                spec: {workloadSourceSpoofing: Any}
                ---
                apiVersion: projectcalico.org/v3
                kind: WorkloadEndpoint
                metadata: {name: node1-k8s-other-eth0, namespace: default, labels: {role: other}}
                spec: {orchestrator: k8s, node: node1, pod: other, endpoint: eth0, interfaceName: calic0000000003, ipNetworks: [198.18.0.3/32, fd5e:ca1::3/128], profiles: [kns.default], allowSpoofedSourcePrefixes: [198.18.0.1/32]}
                """)
            #expect(await NetnsFabric.eventually(3) {
                try h.node.exec(["sysctl", "-n", "net.ipv4.conf.\(h.other.interface).rp_filter"]).contains("0")
            })
            #expect(try await Self.forgedSYNArrives(h, from: h.other, claiming: h.client, to: h.db, port: 8080))
            #expect(agent.terminate() == 0)
        }
    }

    @Test(.timeLimit(.minutes(2))) func deletedWorkloadRouteIsRepaired() async throws {
        try await AgentHarness.with(test: "route-repair") { h in
            try h.apply(AgentHarness.cluster)
            let agent = try h.startAgent()
            defer { _ = agent.terminate() }
            try await h.waitInSync(agent)
            try await h.expectEventually(within: 5, from: h.client, [.tcp(h.db.ipv4, 8080): true])
            try h.node.exec(["ip", "route", "del", "\(h.db.ipv4)/32", "dev", h.db.interface])
            try h.node.exec(["ip", "-6", "route", "del", "\(h.db.ipv6)/128", "dev", h.db.interface])
            #expect(!(try h.node.exec(["ip", "route", "show", "\(h.db.ipv4)/32"]).contains(h.db.interface)))
            let start = Date()
            // The agent's refresh is 1 s here.
            #expect(await NetnsFabric.eventually(3) {
                try h.node.exec(["ip", "route", "show", "\(h.db.ipv4)/32"]).contains("dev \(h.db.interface)")
                    && h.node.exec(["ip", "-6", "route", "show", "\(h.db.ipv6)/128"]).contains("dev \(h.db.interface)")
            }, "agent log: \(agent.logText.suffix(2000))")
            print("workload route repaired after \(Date().timeIntervalSince(start)) s")
            try await h.expectEventually(within: 2, from: h.client, [.tcp(h.db.ipv4, 8080): true, .tcp(h.db.ipv6, 8080): true])
            #expect(agent.logText.contains("is missing: repairing"))
            #expect(agent.terminate() == 0)
        }
    }
}
