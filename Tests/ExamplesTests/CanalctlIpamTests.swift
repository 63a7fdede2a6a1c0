import CanalDatastore
import CanalModel
import CanalTesting
import CanalToolSupport
import Foundation
import Testing

/// Starts `canalctl ipam assign --repeat` as a child process writing to a file; returns the process and the file.
private func startAssigner(endpoint: String, node: String, handle: String, count: Int, directory: URL) throws -> (SpawnedChild, URL) {
    let out = directory.appendingPathComponent("\(handle).out")
    let err = directory.appendingPathComponent("\(handle).err")
    let arguments = [ToolRunner.binDirectory.appendingPathComponent("canalctl").path,
                     "ipam", "assign", "--node", node, "--ipv4", "1", "--handle", handle, "--repeat", "\(count)", "--timeout", "5"]
    let process = try Spawn.start(arguments, environment: ["DATASTORE_TYPE": "etcdv3", "ETCD_ENDPOINTS": endpoint],
                                  output: .files(stdout: out.path, stderr: err.path))
    return (process, out)
}

private func canalctl(_ arguments: [String], etcd: String) throws -> ToolRunner.Output {
    try ToolRunner.run("canalctl", arguments, environment: ["DATASTORE_TYPE": "etcdv3", "ETCD_ENDPOINTS": etcd])
}

/// 8 processes × `perProcess` single-address assignments on 4 hosts against one etcd; `fault` runs
/// while they work. Checks: every address distinct, each recorded under the handle of the process
/// that printed it, `ipam check` clean.
private func concurrentAssign(perProcess: Int, fault: (@Sendable (EtcdServer) async throws -> Void)?) async throws {
    try await EtcdServer.withEtcdServer { server in
        let pool = """
            apiVersion: projectcalico.org/v3
            kind: IPPool
            metadata: {name: pool}
            spec: {cidr: 10.20.0.0/16, blockSize: 26}
            """
        let created = try ToolRunner.run(
            "canalctl", ["create", "-f", "-"], stdin: pool, environment: ["DATASTORE_TYPE": "etcdv3", "ETCD_ENDPOINTS": server.endpoint])
        #expect(created.status == 0, "\(created.stderr)")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("canal-ipam-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var children: [(SpawnedChild, URL, String)] = []
        defer { for (p, _, _) in children { p.stop() } }
        for i in 0..<8 {
            let handle = "proc-\(i)"
            let (p, out) = try startAssigner(endpoint: server.endpoint, node: "host-\(i % 4)", handle: handle, count: perProcess, directory: directory)
            children.append((p, out, handle))
        }
        if let fault { try await fault(server) }
        let deadline = ContinuousClock.now + .seconds(90)
        for (p, _, _) in children {
            while p.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        }
        var all: [String] = []
        for (p, out, handle) in children {
            #expect(!p.isRunning, "\(handle) did not finish")
            let err = (try? String(contentsOf: directory.appendingPathComponent("\(handle).err"), encoding: .utf8)) ?? ""
            #expect(p.exitStatus == 0, "\(handle): \(err)")
            let printed = try String(contentsOf: out, encoding: .utf8).split(separator: "\n").map(String.init)
            #expect(printed.count == perProcess, "\(handle) printed \(printed.count)")
            all += printed
            // Every address the process was told it got is recorded under its handle.
            let store = EtcdKeyValueStore(configuration: server.configuration())
            let handleKV = try #require(try await store.get(Array("/calico/ipam/v2/handle/\(handle)".utf8)))
            let json = try JSONValue(parsing: handleKV.value)
            guard case .object(let blocks)? = json["block"] else { Issue.record("bad handle"); continue }
            let recorded = blocks.reduce(0) { $0 + (Int($1.value.jsonText) ?? 0) }
            #expect(recorded >= printed.count)
            let held = try canalctl(["ipam", "show", "--handle", handle], etcd: server.endpoint)
            let heldSet = Set(held.stdout.split(separator: "\n").map(String.init))
            #expect(Set(printed).isSubset(of: heldSet), "\(handle): printed addresses missing from its handle")
        }
        #expect(all.count == 8 * perProcess)
        #expect(Set(all).count == all.count, "duplicate addresses")
        let check = try canalctl(["ipam", "check"], etcd: server.endpoint)
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        if fault == nil { #expect(check.stdout.contains("Checked \(all.count) allocated"), "\(check.stdout)") }
    }
}

@Suite("canalctl ipam against real etcd", .serialized, .enabled(if: EtcdServer.shouldRun), .timeLimit(.minutes(3)))
struct CanalctlIpamEtcdTests {
    @Test("8 processes × 200 addresses on 4 hosts: 1,600 distinct addresses, ipam check clean")
    func concurrent() async throws {
        try await concurrentAssign(perProcess: 200, fault: nil)
    }

    @Test("the same while etcd is killed and restarted mid-run: no duplicate, every address under its handle")
    func etcdRestart() async throws {
        try await concurrentAssign(perProcess: 200) { server in
            try await Task.sleep(for: .milliseconds(1500))
            server.kill()
            try await Task.sleep(for: .milliseconds(700))
            try await server.start()
        }
    }
}

@Suite("canalctl ipam and flannel on the embedded datastore", .serialized)
struct CanalctlIpamEmbeddedTests {
    /// Runs `body` with a canalctl runner on a fresh embedded datastore holding the example cluster.
    private func withExampleCluster(_ body: (_ run: ([String]) throws -> ToolRunner.Output) throws -> Void) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("canalctl-ipam-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let env = ["DATASTORE_TYPE": "", "ETCD_ENDPOINTS": "", "CANAL_STATE_FILE": directory.appendingPathComponent("state.json").path]
        func run(_ args: [String]) throws -> ToolRunner.Output { try ToolRunner.run("canalctl", args, environment: env) }
        let manifest = ToolRunner.repoRoot.appendingPathComponent("Examples/manifests/cluster.yaml").path
        #expect(try run(["apply", "-f", manifest]).status == 0)
        try body(run)
    }

    @Test("quick start: apply the example cluster, assign to node1, show, release, check")
    func quickStart() throws {
        try withExampleCluster { run in
            let assigned = try run(["ipam", "assign", "--node", "node1", "--ipv4", "2", "--ipv6", "1", "--handle", "web-1", "-o", "json"])
            #expect(assigned.status == 0, "\(assigned.stderr)")
            let json = try JSONValue(parsing: assigned.stdout)
            guard case .array(let v4)? = json["ipv4"], case .array(let v6)? = json["ipv6"] else { Issue.record("bad JSON"); return }
            #expect(v4.count == 2 && v6.count == 1)
            let first = try #require(v4.first?.stringValue)
            #expect(try CIDR("198.18.0.0/16")!.contains(#require(IPAddress(first))))
            let shown = try run(["ipam", "show", "--ip", first])
            #expect(shown.stdout.contains("handle: web-1") && shown.stdout.contains("node: node1"), "\(shown.stdout)")
            let blocks = try run(["ipam", "show", "--show-blocks"])
            #expect(blocks.stdout.contains("(node1)"), "\(blocks.stdout)")
            #expect(try run(["ipam", "check"]).status == 0)
            #expect(try run(["ipam", "release", "--ip", first]).status == 0)
            #expect(try run(["ipam", "release", "--ip", first]).status == 1)
            #expect(try run(["ipam", "release", "--handle", "web-1"]).status == 0)
            #expect(try run(["ipam", "configure", "--strictaffinity=true"]).status == 0)
            #expect(try run(["ipam", "show", "--show-configuration"]).stdout.contains("StrictAffinity: true"))
            #expect(try run(["flannel", "config", "set", "--network", "10.5.0.0/16"]).status == 0)
            #expect(try run(["flannel", "config", "get"]).stdout.contains("\"SubnetMin\":\"10.5.1.0\""))
            #expect(try run(["flannel", "config", "set", "--network", "10.5.0.0/30"]).status == 1)
        }
    }

    @Test("delete node cleans its IPAM as calicoctl does; ipam check reports allocations left outside every pool")
    func deleteNodeAndPool() throws {
        try withExampleCluster { run in
            // node1 holds its IPv4 and IPv6 blocks; one address stays under a handle no endpoint names.
            #expect(try run(["ipam", "assign", "--node", "node1", "--ipv4", "1", "--ipv6", "1", "--handle", "left"]).status == 0)
            #expect(try run(["ipam", "assign", "--node", "node2", "--ipv4", "1", "--handle", "n2"]).status == 0)
            #expect(try run(["ipam", "release", "--handle", "left"]).status == 0)
            let kept = try run(["ipam", "assign", "--node", "node1", "--ipv4", "1", "--handle", "stray"])
            let stray = kept.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(try run(["ipam", "show", "--show-blocks"]).stdout.contains("(node1)"))

            let deleted = try run(["delete", "node", "node1"])
            #expect(deleted.status == 0, "\(deleted.stderr)")
            let blocks = try run(["ipam", "show", "--show-blocks"]).stdout
            #expect(!blocks.contains("(node1)") && blocks.contains("(node2)"), "\(blocks)")
            #expect(try run(["get", "workloadendpoint", "node1-k8s-frontend--7d9f-eth0", "-n", "shop"]).status == 1)
            #expect(try run(["get", "hostendpoint", "node1-eth0"]).status == 1)
            #expect(try run(["get", "workloadendpoint", "node2-k8s-backend--5c2e-eth0", "-n", "shop"]).status == 0)
            let shown = try run(["ipam", "show", "--ip", stray]).stdout
            #expect(shown.contains("handle: stray"), "\(shown)")
            let clean = try run(["ipam", "check"])
            #expect(clean.status == 0, "\(clean.stdout)")
            #expect(clean.stdout.contains("Found 0 allocations outside every IP pool."), "\(clean.stdout)")

            // Deleting the pool leaves the two IPv4 addresses in its blocks: the check reports them.
            #expect(try run(["delete", "ippool", "default-ipv4-ippool"]).status == 0)
            let check = try run(["ipam", "check"])
            #expect(check.status == 1)
            #expect(check.stdout.contains("Found 2 allocations outside every IP pool."), "\(check.stdout)")
            #expect(check.stdout.contains("  \(stray) in block "), "\(check.stdout)")
        }
    }
}
