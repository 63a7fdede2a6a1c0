import CanalModel
import Foundation
import Testing

/// `canalctl policy compile|simulate` on the embedded datastore, end to end.
@Suite struct CanalctlPolicyTests {
    static let cluster = """
        apiVersion: projectcalico.org/v3
        kind: Profile
        metadata: {name: kns.default}
        spec:
          ingress: [{action: Allow}]
          egress: [{action: Allow}]
        ---
        apiVersion: projectcalico.org/v3
        kind: WorkloadEndpoint
        metadata: {name: node1-k8s-web-eth0, namespace: default, labels: {app: web}}
        spec: {orchestrator: k8s, node: node1, pod: web, endpoint: eth0, interfaceName: cali1a2b3c4d5e6, ipNetworks: [10.65.0.2/32], profiles: [kns.default]}
        ---
        apiVersion: projectcalico.org/v3
        kind: WorkloadEndpoint
        metadata: {name: node1-k8s-db-eth0, namespace: default, labels: {app: db}}
        spec: {orchestrator: k8s, node: node1, pod: db, endpoint: eth0, interfaceName: cali7f8e9d0c1b2, ipNetworks: [10.65.0.3/32], profiles: [kns.default]}
        ---
        apiVersion: projectcalico.org/v3
        kind: GlobalNetworkPolicy
        metadata: {name: allow-web-to-db}
        spec:
          order: 100
          selector: app == 'db'
          types: [Ingress]
          ingress:
          - {action: Allow, protocol: TCP, source: {selector: app == 'web'}, destination: {ports: [5432]}}
        """

    @Test func compileAndSimulate() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("canalctl-policy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let env = ["DATASTORE_TYPE": "", "ETCD_ENDPOINTS": "", "CANAL_STATE_FILE": directory.appendingPathComponent("state.json").path]
        let applied = try ToolRunner.run("canalctl", ["apply", "-f", "-"], stdin: Self.cluster, environment: env)
        #expect(applied.status == 0, "\(applied.stderr)")

        let sets = directory.appendingPathComponent("sets.txt").path
        let compiled = try ToolRunner.run("canalctl", ["policy", "compile", "--node", "node1", "--ipsets", sets], environment: env)
        #expect(compiled.status == 0, "\(compiled.stderr)")
        // Felix's rule hash for the worked example's policy rule (felix-rules.md §8).
        #expect(compiled.stdout.contains("-A cali-pi-gnp/allow-web-to-db -m comment --comment \"cali:HCXvo2-iKoyDlhPO\""))
        #expect(try String(contentsOfFile: sets, encoding: .utf8).contains("add cali40s:oy593DLyi5BRwxLRqXScOfE 10.65.0.2/32"))
        let nft = try ToolRunner.run("canalctl", ["policy", "compile", "--node", "node1", "--format", "nft"], environment: env)
        #expect(nft.stdout.contains("chain filter-cali-pi-gnp/allow-web-to-db"))

        func simulate(_ args: [String]) throws -> JSONValue {
            let out = try ToolRunner.run("canalctl", ["policy", "simulate"] + args + ["-o", "json"], environment: env)
            #expect(out.status == 0, "\(out.stderr)")
            return try JSONValue(parsing: out.stdout)
        }
        let web = "default/node1-k8s-web-eth0", db = "default/node1-k8s-db-eth0"
        let allowed = try simulate(["--from", web, "--to", db, "--protocol", "TCP", "--port", "5432"])
        guard case .object(let a) = allowed else { Issue.record("not an object"); return }
        #expect(a["verdict"] == .string("allow"))
        guard case .object(let by)? = a["decidedBy"] else { Issue.record("no decidedBy"); return }
        #expect(by["policy"] == .string("gnp/allow-web-to-db"))
        #expect(by["tier"] == .string("default"))
        let denied = try simulate(["--from", web, "--to", db, "--protocol", "TCP", "--port", "80"])
        guard case .object(let d) = denied, case .object(let dby)? = d["decidedBy"] else { Issue.record("bad output"); return }
        #expect(d["verdict"] == .string("deny"))
        #expect(dby["reason"] == .string("endOfTier"))
        let ping = try simulate(["--from", "10.65.0.3", "--to", web, "--protocol", "ICMP", "--icmp-type", "8"])
        guard case .object(let p) = ping else { Issue.record("bad output"); return }
        #expect(p["verdict"] == .string("allow"))
    }
}
