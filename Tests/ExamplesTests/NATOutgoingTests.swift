import CanalTesting
import CanalToolSupport
import Foundation
import Testing

/// Outgoing NAT in `canal-agent`, on a real kernel: an "outside" namespace routed through the
/// node runs an HTTP server answering with the peer address it sees. A pool with `natOutgoing`
/// makes that the node's address, one without keeps the pod's; toggling the flag (canalctl) or
/// setting FelixConfiguration's `natOutgoingAddress` takes effect at once. Both dataplanes.
@Suite(.serialized, .enabled(if: KernelTestGate.shouldRun && EtcdServer.shouldRun, "needs root and etcd (or CI=true)"))
struct NATOutgoingTests {
    static let outside = (node: "198.19.77.1", peer: "198.19.77.2")
    static let snatAddress = "198.19.78.1"

    static func pool(nat: Bool) -> String {
        """
        apiVersion: projectcalico.org/v3
        kind: IPPool
        metadata: {name: pods}
        spec: {cidr: 198.18.0.0/24, natOutgoing: \(nat), blockSize: 26}
        """
    }

    /// The peer address the outside server saw for a GET from `workload` (nil when no answer).
    static func peerSeen(from workload: Workload) -> String? {
        let script = "import urllib.request; print(urllib.request.urlopen('http://\(outside.peer):8000/', timeout=1).read().decode())"
        guard let done = try? Spawn.run(["ip", "netns", "exec", workload.namespace, "python3", "-c", script], timeout: .seconds(10)),
              done.status == 0 else { return nil }
        return done.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Waits until the peer seen from `workload` is `expected`; returns the seconds it took.
    static func expectPeer(_ expected: String, from workload: Workload, within seconds: Double, agent: AgentHarness.AgentProcess) async throws -> Double {
        let start = Date()
        var last: String?
        repeat {
            last = peerSeen(from: workload)
            if last == expected { return Date().timeIntervalSince(start) }
            try await Task.sleep(for: .milliseconds(50))
        } while Date().timeIntervalSince(start) < seconds
        throw AgentTestError(description: "peer seen \(last ?? "none"), expected \(expected); agent log:\n\(agent.logText.suffix(2000))")
    }

    static let server = """
        import http.server, sys
        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = self.client_address[0].encode()
                print(self.client_address[0], flush=True)
                self.send_response(200)
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def log_message(self, *args):
                pass
        http.server.ThreadingHTTPServer(('0.0.0.0', 8000), H).serve_forever()
        """

    func scenario(dataplane: String, test: String) async throws {
        try await AgentHarness.with(test: test) { h in
            let outside = try h.node.addExternal("outside", interface: "ext0", nodeIPv4: Self.outside.node, nodeIPv6: "fd5e:ca2::1",
                                                 ipv4: Self.outside.peer, ipv6: "fd5e:ca2::2")
            try h.node.exec(["ip", "addr", "add", "\(Self.snatAddress)/32", "dev", "lo"])
            let log = h.directory.appendingPathComponent("outside-http.log")
            let server = try Spawn.start(["ip", "netns", "exec", outside.namespace, "python3", "-c", Self.server], output: .appended(to: log.path))
            defer { _ = server.stop(grace: .seconds(1)) }
            try h.apply(AgentHarness.cluster)
            try h.apply(Self.pool(nat: true))
            let agent = try h.startAgent(["--dataplane", dataplane])
            defer { _ = agent.terminate() }
            try await h.waitInSync(agent)

            // Masqueraded: the outside sees the node's address on the outgoing interface.
            try await Self.expectPeer(Self.outside.node, from: h.client, within: 5, agent: agent)
            #expect((try String(contentsOf: log, encoding: .utf8)).contains(Self.outside.node), "the server logged the node as peer")
            // Pool to pool keeps the source: the db sees the client's own address.
            try await h.expectEventually(within: 1, from: h.client, [.tcp(h.db.ipv4, 8080): true])

            // The flag off: the pod's own address, within a second.
            try h.apply(Self.pool(nat: false))
            let off = try await Self.expectPeer(h.client.ipv4, from: h.client, within: 1, agent: agent)
            // Back on, then natOutgoingAddress: SNAT to that address instead of masquerading.
            try h.apply(Self.pool(nat: true))
            let on = try await Self.expectPeer(Self.outside.node, from: h.other, within: 1, agent: agent)
            try h.apply("""
                apiVersion: projectcalico.org/v3
                kind: FelixConfiguration
                metadata: {name: default}
                spec: {natOutgoingAddress: \(Self.snatAddress)}
                """)
            let snat = try await Self.expectPeer(Self.snatAddress, from: h.client, within: 1, agent: agent)
            print("\(dataplane): natOutgoing off after \(off) s, on after \(on) s, natOutgoingAddress after \(snat) s")

            // The kernel holds Felix's chain and sets.
            if dataplane == "iptables" {
                let nat = try h.node.exec(["iptables-save", "-t", "nat"])
                #expect(nat.contains("-A POSTROUTING -m comment --comment \"cali:"), "\(nat)")
                #expect(nat.contains("-A cali-POSTROUTING"), "\(nat)")
                #expect(nat.contains("-A cali-nat-outgoing") && nat.contains("--match-set cali40masq-ipam-pools src")
                        && nat.contains("! --match-set cali40all-ipam-pools dst") && nat.contains("-j SNAT --to-source \(Self.snatAddress)"), "\(nat)")
                let sets = try h.node.exec(["ipset", "list", "cali40all-ipam-pools"])
                #expect(sets.contains("198.18.0.0/24"))
            } else {
                let table = try h.node.exec(["nft", "list", "table", "ip", "canal"])
                #expect(table.contains("type nat hook postrouting priority srcnat"), "\(table)")
                #expect(table.contains("snat to \(Self.snatAddress)"), "\(table)")
            }

            // The pool deleted: nothing is masqueraded any more.
            try h.apply("""
                apiVersion: projectcalico.org/v3
                kind: FelixConfiguration
                metadata: {name: default}
                spec: {}
                """)
            let deleted = try ToolRunner.run("canalctl", ["delete", "ippool", "pods"], stdin: "",
                                             environment: ["DATASTORE_TYPE": "etcdv3", "ETCD_ENDPOINTS": h.etcd.endpoint])
            #expect(deleted.status == 0, "\(deleted.stderr)")
            try await Self.expectPeer(h.client.ipv4, from: h.client, within: 2, agent: agent)
            #expect(agent.terminate() == 0)
            #expect(try h.runAgent(["--cleanup"]).status == 0)
            #expect(!(try h.node.exec(["iptables-save", "-t", "nat"]).contains("cali-")))
        }
    }

    @Test(.timeLimit(.minutes(2))) func iptables() async throws {
        try await scenario(dataplane: "iptables", test: "nat-ipt")
    }

    @Test(.timeLimit(.minutes(2))) func nftables() async throws {
        try await scenario(dataplane: "nft", test: "nat-nft")
    }
}
