import CanalTesting
import CanalToolSupport
import Foundation
import Testing

/// A node namespace with three workloads, a real etcd reachable from the node's loopback, and
/// `canal-agent` processes run under `ip netns exec` as a user would run them on a host.
final class AgentHarness: Sendable {
    let etcd: EtcdServer
    let node: NetnsNode
    let forwarder: LoopbackForwarder
    let client: Workload
    let db: Workload
    let other: Workload
    let directory: URL

    static let nodeName = "node1"

    /// The first cluster: profile allowing everything, three endpoints, and a policy letting
    /// `role == 'client'` reach the db on TCP 8080.
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
        metadata: {name: node1-k8s-client-eth0, namespace: default, labels: {role: client}}
        spec: {orchestrator: k8s, node: node1, pod: client, endpoint: eth0, interfaceName: calia0000000001, ipNetworks: [198.18.0.1/32, fd5e:ca1::1/128], profiles: [kns.default]}
        ---
        apiVersion: projectcalico.org/v3
        kind: WorkloadEndpoint
        metadata: {name: node1-k8s-db-eth0, namespace: default, labels: {role: db}}
        spec: {orchestrator: k8s, node: node1, pod: db, endpoint: eth0, interfaceName: calib0000000002, ipNetworks: [198.18.0.2/32, fd5e:ca1::2/128], profiles: [kns.default]}
        ---
        apiVersion: projectcalico.org/v3
        kind: WorkloadEndpoint
        metadata: {name: node1-k8s-other-eth0, namespace: default, labels: {role: other}}
        spec: {orchestrator: k8s, node: node1, pod: other, endpoint: eth0, interfaceName: calic0000000003, ipNetworks: [198.18.0.3/32, fd5e:ca1::3/128], profiles: [kns.default]}
        ---
        \(dbPolicy(port: 8080))
        """

    static func dbPolicy(port: Int) -> String {
        """
        apiVersion: projectcalico.org/v3
        kind: GlobalNetworkPolicy
        metadata: {name: db-ingress}
        spec:
          order: 100
          selector: role == 'db'
          types: [Ingress]
          ingress:
          - {action: Allow, protocol: TCP, source: {selector: role == 'client'}, destination: {ports: [\(port)]}}
        """
    }

    private init(etcd: EtcdServer, node: NetnsNode) throws {
        self.etcd = etcd
        self.node = node
        let port = Int(etcd.endpoint.split(separator: ":").last!)!
        forwarder = LoopbackForwarder(namespace: node.namespace, port: port)
        try forwarder.start()
        client = try node.addWorkload("client", interface: "calia0000000001", ipv4: "198.18.0.1", ipv6: "fd5e:ca1::1")
        db = try node.addWorkload("db", interface: "calib0000000002", ipv4: "198.18.0.2", ipv6: "fd5e:ca1::2")
        other = try node.addWorkload("other", interface: "calic0000000003", ipv4: "198.18.0.3", ipv6: "fd5e:ca1::3")
        try node.listen(in: db, ports: [8080, 9090])
        try node.listen(in: client, ports: [8080])
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("canal-agent-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    /// Runs `body` with etcd, the node and its workloads; removes everything afterwards.
    static func with<T>(test: String, _ body: (AgentHarness) async throws -> T) async throws -> T {
        try await EtcdServer.withEtcdServer { etcd in
            try await NetnsNode.withNode(test: test) { node in
                let harness = try AgentHarness(etcd: etcd, node: node)
                defer {
                    harness.forwarder.stop()
                    try? FileManager.default.removeItem(at: harness.directory)
                }
                return try await body(harness)
            }
        }
    }

    /// `canalctl apply -f -` against the etcd.
    func apply(_ yaml: String) throws {
        let out = try ToolRunner.run("canalctl", ["apply", "-f", "-"], stdin: yaml,
                                     environment: ["DATASTORE_TYPE": "etcdv3", "ETCD_ENDPOINTS": etcd.endpoint])
        #expect(out.status == 0, "canalctl apply: \(out.stderr)")
        if out.status != 0 { throw AgentTestError(description: "canalctl apply failed: \(out.stderr)") }
    }

    /// A running agent.
    final class AgentProcess: Sendable {
        let child: SpawnedChild
        let log: URL
        let health: URL
        init(child: SpawnedChild, log: URL, health: URL) {
            self.child = child
            self.log = log
            self.health = health
        }

        var logText: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }
        /// Whether the agent still runs.
        var isRunning: Bool { child.isRunning }

        /// SIGTERM, then wait for its exit (SIGKILL after 30 s); its exit status.
        func terminate() -> Int32 { child.stop(grace: .seconds(30)) }
    }

    /// Starts `canal-agent` in the node namespace (1 s refresh so drift tests are quick).
    func startAgent(_ extra: [String] = [], name: String = "agent") throws -> AgentProcess {
        let log = directory.appendingPathComponent("\(name)-\(UUID().uuidString).log")
        let health = directory.appendingPathComponent("\(name)-health.json")
        try? FileManager.default.removeItem(at: health)
        let arguments = ["ip", "netns", "exec", node.namespace, ToolRunner.binDirectory.appendingPathComponent("canal-agent").path,
                         "--node", Self.nodeName, "--health-file", health.path, "--refresh-interval", "1",
                         "--etcd-endpoints", etcd.endpoint] + extra
        do throws(SpawnFailure) {
            return AgentProcess(child: try Spawn.start(arguments, output: .appended(to: log.path)), log: log, health: health)
        } catch {
            throw AgentTestError(description: "cannot start canal-agent: \(error.reason)")
        }
    }

    /// Runs `canal-agent` with `arguments` to completion in the node namespace.
    func runAgent(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let command = ["ip", "netns", "exec", node.namespace, ToolRunner.binDirectory.appendingPathComponent("canal-agent").path] + arguments
        do throws(SpawnFailure) {
            let finished = try Spawn.run(command, mergingErrors: true, timeout: .seconds(300))
            return (finished.status, finished.stdoutText)
        } catch {
            throw AgentTestError(description: "cannot run canal-agent: \(error.reason)")
        }
    }

    /// Waits until the agent's health file says it is in sync.
    func waitInSync(_ agent: AgentProcess, within seconds: Double = 15) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let text = try? String(contentsOf: agent.health, encoding: .utf8), text.contains("\"inSync\": true") { return }
            guard agent.isRunning else { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw AgentTestError(description: "the agent did not report in sync:\n\(agent.logText.suffix(3000))")
    }

    /// Probes `probes` from `source` with a short timeout.
    func reach(from source: Workload, _ probes: [Probe]) throws -> [Probe: Bool] {
        try node.probe(from: source, probes, timeout: 0.3)
    }

    /// Waits until every probe has its expected result; returns the seconds it took, or throws
    /// after `seconds` with the last results.
    @discardableResult
    func expectEventually(within seconds: Double, from source: Workload, _ expected: [Probe: Bool]) async throws -> Double {
        let start = Date()
        var last: [Probe: Bool] = [:]
        repeat {
            last = try reach(from: source, Array(expected.keys))
            if last == expected { return Date().timeIntervalSince(start) }
        } while Date().timeIntervalSince(start) < seconds
        throw AgentTestError(description: "after \(seconds) s from \(source.namespace): got \(last), expected \(expected)")
    }

    /// The kernel's tables (iptables and ip6tables, ipset, nft) with comments and counters removed.
    func kernelState() throws -> String {
        func clean(_ text: String) -> String {
            text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { line in
                line.replacingOccurrences(of: #"\[\d+:\d+\]"#, with: "", options: .regularExpression)
            }.joined(separator: "\n")
        }
        return [try node.exec(["iptables-save"]), try node.exec(["ip6tables-save"]), try node.exec(["ipset", "save"]),
                try node.exec(["nft", "list", "ruleset"])].map(clean).joined(separator: "\n---\n")
    }
}

/// A failed expectation of the agent tests.
struct AgentTestError: Error, CustomStringConvertible {
    let description: String
}
