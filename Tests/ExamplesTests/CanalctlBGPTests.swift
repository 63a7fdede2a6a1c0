import CanalDatastore
import CanalToolSupport
import Foundation
import Testing

private let cluster = """
    apiVersion: projectcalico.org/v3
    kind: Node
    metadata: {name: node1}
    spec: {bgp: {ipv4Address: 10.0.0.1/24}}
    ---
    apiVersion: projectcalico.org/v3
    kind: Node
    metadata: {name: node2}
    spec: {bgp: {ipv4Address: 10.0.0.2/24, asNumber: 65002}}
    ---
    apiVersion: projectcalico.org/v3
    kind: IPPool
    metadata: {name: default-ipv4}
    spec: {cidr: 10.244.0.0/16}
    ---
    apiVersion: projectcalico.org/v3
    kind: BGPPeer
    metadata: {name: upstream}
    spec: {peerIP: 192.0.2.1, asNumber: 65000, password: {secretKeyRef: {name: bgp, key: upstream}}}
    """

@Suite("canalctl bgp config")
struct CanalctlBGPTests {
    @Test("renders a node from the embedded datastore, with its IPAM block affinities")
    func rendersFromStateFile() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("canalctl-bgp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let state = directory.appendingPathComponent("state.json").path
        let environment = ["DATASTORE_TYPE": "", "ETCD_ENDPOINTS": "", "CANAL_STATE_FILE": state, "CALICO_ROUTER_ID": ""]

        let applied = try ToolRunner.run("canalctl", ["apply", "-f", "-"], stdin: cluster, environment: environment)
        #expect(applied.status == 0, "\(applied.stderr)")
        // Block affinities as Calico IPAM writes them (the IPAM module is not needed to read them).
        try await StateFile.withStore(at: state) { store in
            let affinities = [
                ("/calico/ipam/v2/host/node1/ipv4/block/10.244.1.0-26", #"{"state":"confirmed","deleted":false}"#),
                ("/calico/ipam/v2/host/node1/ipv4/block/10.244.1.64-26", #"{"state":"pending","deleted":false}"#),
                ("/calico/ipam/v2/host/node1/ipv4/block/10.244.1.128-26", ""),
                ("/calico/ipam/v2/host/node2/ipv4/block/10.244.2.0-26", #"{"state":"confirmed","deleted":false}"#),
            ]
            for (key, value) in affinities {
                _ = try await store.create(Array(key.utf8), value: Array(value.utf8))
            }
        }

        let out = try ToolRunner.run(
            "canalctl", ["bgp", "config", "--node", "node1", "--password", "bgp/upstream=pw1"], environment: environment)
        #expect(out.status == 0, "\(out.stderr)")
        let text = out.stdout
        #expect(text.contains("router id 10.0.0.1;"))
        #expect(text.contains("  route 10.244.1.0/26 blackhole;\n  route 10.244.1.128/26 blackhole;\n"))
        #expect(!text.contains("10.244.1.64"))
        #expect(!text.contains("10.244.2.0/26"))
        #expect(text.contains("protocol bgp Mesh_10_0_0_2 from bgp_template_v4 {\n  neighbor 10.0.0.2 as 65002;"))
        #expect(text.contains("protocol bgp Global_192_0_2_1 from bgp_template_v4 {"))
        #expect(text.contains("  password \"pw1\";"))

        let hashed = try ToolRunner.run("canalctl", ["bgp", "config", "--node", "node2", "--router-id", "hash"], environment: environment)
        #expect(hashed.status == 0)
        #expect(!hashed.stdout.contains("router id 10.0.0.2;"))

        let missing = try ToolRunner.run("canalctl", ["bgp", "config", "--node", "node9"], environment: environment)
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("node \"node9\""))

        // BIRD itself accepts the rendering.
        if let bird = ["/usr/sbin/bird", "/usr/local/sbin/bird"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) {
            let file = directory.appendingPathComponent("bird.conf")
            try text.write(to: file, atomically: true, encoding: .utf8)
            let parsed = try Spawn.run([bird, "-p", "-c", file.path], timeout: .seconds(60))
            #expect(parsed.status == 0, "\(parsed.stderrText)")
        } else {
            #expect(ProcessInfo.processInfo.environment["CI"] != "true", "bird is required in CI")
        }
    }
}
