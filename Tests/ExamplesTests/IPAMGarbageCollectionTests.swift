import CanalDatastore
import CanalIPAM
import CanalModel
import CanalTesting
import CanalToolSupport
import Foundation
import Testing

private func etcdEnvironment(_ endpoint: String) -> [String: String] { ["DATASTORE_TYPE": "etcdv3", "ETCD_ENDPOINTS": endpoint] }

private func canalctl(_ arguments: [String], etcd: String, stdin: String? = nil) throws -> ToolRunner.Output {
    try ToolRunner.run("canalctl", arguments, stdin: stdin, environment: etcdEnvironment(etcd))
}

private func createPool(_ etcd: String, cidr: String, blockSize: Int = 26) throws {
    let pool = "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: pool}\nspec: {cidr: \(cidr), blockSize: \(blockSize)}\n"
    let out = try canalctl(["create", "-f", "-"], etcd: etcd, stdin: pool)
    #expect(out.status == 0, "\(out.stderr)")
}

/// A k8s WorkloadEndpoint `ns/<node>-k8s-<pod>-eth0` using `address`.
@discardableResult
private func createEndpoint(_ store: EtcdKeyValueStore, node: String, pod: String, address: IPAddress) async throws -> WorkloadEndpoint {
    let wep = WorkloadEndpoint(
        metadata: ObjectMeta(namespace: "ns"),
        spec: WorkloadEndpointSpec(
            orchestrator: "k8s", node: node, pod: pod, endpoint: "eth0", ipNetworks: ["\(address)/32"], interfaceName: "cali\(pod)"))
    return try await ResourceClient(store: store).create(wep)
}

private func putNode(_ store: EtcdKeyValueStore, _ name: String) async throws {
    _ = try await ResourceClient(store: store).create(Node(metadata: ObjectMeta(name: name), spec: NodeSpec()))
}

/// Starts canal-controllers with its log in a file.
private func startControllers(_ etcd: String, _ arguments: [String], log: URL) throws -> SpawnedChild {
    let command = [ToolRunner.binDirectory.appendingPathComponent("canal-controllers").path] + arguments
    return try Spawn.start(command, environment: etcdEnvironment(etcd), output: .files(stdout: "/dev/null", stderr: log.path))
}

private func scratchDirectory(_ name: String) throws -> URL {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("canal-\(name)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    return directory
}

/// ADD through canal-cni in a namespace, then the WorkloadEndpoint deleted behind the plugin's back.
@Suite("IPAM leaks end to end: canal-cni, ipam check, canal-controllers", .serialized,
       .enabled(if: KernelTestGate.shouldRun, "needs root (runs as root or when CI=true)"), .timeLimit(.minutes(4)))
struct IPAMLeakEndToEndTests {
    @Test("a WorkloadEndpoint deleted behind canal-cni: ipam check reports the leak with its handle; canal-controllers releases it after the grace period, not before, and keeps the live one")
    func leakFoundAndCollected() async throws {
        try await EtcdServer.withEtcdServer { server in
            let etcd = server.endpoint
            try createPool(etcd, cidr: "198.18.96.0/20")
            let store = EtcdKeyValueStore(configuration: server.configuration())
            let ipam = IPAMClient(store: store)
            let scratch = try scratchDirectory("gc-e2e")
            defer { try? FileManager.default.removeItem(at: scratch) }
            try await NetnsNode.withNode(test: "gc-leak") { node in
                try node.forwardLoopbackPort(Int(etcd.split(separator: ":").last!)!)
                let config = """
                    {"cniVersion":"1.0.0","name":"k8s-pod-network","type":"canal-cni","etcd_endpoints":"\(etcd)",
                     "nodename":"node-1","ipam":{"type":"canal-ipam"}}
                    """
                var addresses: [String: IPAddress] = [:]
                for (cid, pod) in [("c1aaaaaaaaaaaaaa", "leaky"), ("c2bbbbbbbbbbbbbb", "live")] {
                    let netns = try node.addContainer(pod)
                    let add = try CanalCNIPluginTests.Call(
                        node: node, command: "ADD", containerID: cid, netns: netns,
                        args: "IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=\(pod);K8S_POD_INFRA_CONTAINER_ID=\(cid)",
                        config: config
                    ).run()
                    #expect(add.status == 0, "\(add.stdout) \(add.stderr)")
                    addresses[pod] = IPAddress(try #require(CanalCNIPluginTests.address(add.json)))
                }
                let leaked = try #require(addresses["leaky"]), live = try #require(addresses["live"])
                let handle = "k8s-pod-network.c1aaaaaaaaaaaaaa"

                // Clean before: nothing leaked.
                let before = try canalctl(["ipam", "check"], etcd: etcd)
                #expect(before.stdout.contains("Found 0 IPs that are allocated in IPAM but not actually in use."), "\(before.stdout)")

                // The endpoint goes behind the plugin's back.
                _ = try await ResourceClient(store: store).delete(WorkloadEndpoint.self, name: "node--1-k8s-leaky-eth0", namespace: "shop")

                let reportFile = scratch.appendingPathComponent("report.json").path
                let check = try canalctl(["ipam", "check", "--show-problem-ips", "--output", reportFile], etcd: etcd)
                #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
                #expect(check.stdout.contains("Found 1 IPs that are allocated in IPAM but not actually in use."), "\(check.stdout)")
                #expect(check.stdout.contains("  \(leaked) leaked; attrs Main:\(handle) Extra:"), "\(check.stdout)")
                #expect(check.stdout.contains("namespace=shop,node=node-1,pod=leaky"), "\(check.stdout)")
                let json = try canalctl(["ipam", "check", "-o", "json"], etcd: etcd)
                let report = try JSONValue(parsing: json.stdout)
                let leakedEntry = report["allocations"]?[leaked.description]?.jsonText ?? ""
                let liveEntry = report["allocations"]?[live.description]?.jsonText ?? ""
                #expect(leakedEntry.contains("\"handle\":\"\(handle)\"") && leakedEntry.contains("\"inUse\":false"), "\(json.stdout)")
                #expect(liveEntry.contains("\"inUse\":true"), "\(json.stdout)")
                let file = try String(contentsOfFile: reportFile, encoding: .utf8)
                #expect(file.contains(handle) && file.contains("\"revision\""))

                // The collector: 4 s of grace, scans twice a second.
                let log = scratch.appendingPathComponent("controllers.log")
                let started = ContinuousClock.now
                let controllers = try startControllers(etcd, ["--leak-grace-period", "4", "--interval", "0.5"], log: log)
                defer { _ = controllers.stop() }
                var releasedAfter: Duration?
                while ContinuousClock.now - started < .seconds(60) {
                    if try await ipam.allocation(of: leaked) == nil {
                        releasedAfter = ContinuousClock.now - started
                        break
                    }
                    try await Task.sleep(for: .milliseconds(100))
                }
                let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
                let after = try #require(releasedAfter, "not released within 60 s: \(text)")
                #expect(after >= .seconds(4), "released \(after) after the collector started, before its 4 s grace period")
                #expect(try await ipam.allocation(of: live)?.attribute.handleID == "k8s-pod-network.c2bbbbbbbbbbbbbb")
                try await Task.sleep(for: .milliseconds(300))
                let logged = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
                #expect(logged.contains("candidate leak \(leaked) handle \(handle)"), "\(logged)")
                #expect(logged.contains("released leaked address \(leaked) handle \(handle)"), "\(logged)")
                #expect(controllers.isRunning)

                // The check is clean of leaks; the plugin's DEL of the leaked container still succeeds.
                let clean = try canalctl(["ipam", "check"], etcd: etcd)
                #expect(clean.status == 0 && clean.stdout.contains("Found 0 IPs that are allocated in IPAM but not actually in use."), "\(clean.stdout)")
                let del = try CanalCNIPluginTests.Call(
                    node: node, command: "DEL", containerID: "c1aaaaaaaaaaaaaa", netns: "", args: "IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=leaky",
                    config: config, removing: ["CNI_NETNS"]
                ).run()
                #expect(del.status == 0, "\(del.stdout) \(del.stderr)")
            }
        }
    }
}

@Suite("IPAM garbage collection against real etcd", .serialized, .enabled(if: EtcdServer.shouldRun), .timeLimit(.minutes(5)))
struct IPAMGarbageCollectionEtcdTests {
    @Test("an endpoint created concurrently with the release: never released while it exists (150 races, etcd revisions checked)")
    func concurrentEndpointCreation() async throws {
        try await EtcdServer.withEtcdServer { server in
            let store = EtcdKeyValueStore(configuration: server.configuration())
            try createPool(server.endpoint, cidr: "10.40.0.0/16")
            let ipam = IPAMClient(store: store)
            let clock = ManualClock()
            var gc = IPAMGarbageCollector(ipam: ipam, clock: clock, configuration: .init(leakGracePeriod: .seconds(1), cleanUpMissingNodes: false))
            var kept = 0, lost = 0, guarded = 0
            for i in 0..<150 {
                let pod = "race-\(i)"
                let result = try await ipam.autoAssign(
                    AutoAssignRequest(host: "n1", ipv4: 1, handle: "k8s-pod-network.\(pod)", attributes: ["node": "n1", "pod": pod, "namespace": "ns"]))
                let address = try #require(result.addresses.first?.address)
                let scanStart = ContinuousClock.now
                let first = try await gc.scan()
                let scanTime = ContinuousClock.now - scanStart
                #expect(first.candidates.contains { $0.address == address })
                clock.advance(by: .seconds(2))
                // The CNI ADD's endpoint write races the collector's release: it lands at a random
                // moment from before the scan's first read to after its release write.
                let micros = scanTime.components.seconds * 1_000_000 + scanTime.components.attoseconds / 1_000_000_000_000
                let delay = Int.random(in: 0...Int(max(1000, micros * 4)))
                async let endpoint: WorkloadEndpoint = {
                    try await Task.sleep(for: .microseconds(delay))
                    return try await createEndpoint(store, node: "n1", pod: pod, address: address)
                }()
                let scan = try await gc.scan()
                let created = try await endpoint
                let createdAt = try #require(Revision(created.metadata.resourceVersion ?? ""))
                if scan.keptInUse.contains(where: { $0.address == address }) { guarded += 1 }
                if let release = scan.released.first(where: { $0.allocation.address == address }) {
                    // Only an endpoint that did not exist yet at the release's revision.
                    #expect(createdAt > release.revision, "\(address) released at \(release.revision), its endpoint exists since \(createdAt)")
                    lost += 1
                    _ = try await ResourceClient(store: store).delete(WorkloadEndpoint.self, name: created.metadata.name ?? "", namespace: "ns")
                } else {
                    #expect(try await ipam.allocation(of: address)?.attribute.handleID == "k8s-pod-network.\(pod)")
                    kept += 1
                }
                #expect(!scan.released.contains { $0.allocation.address != address }, "released another address: \(scan.released)")
            }
            #expect(kept > 0)
            print("concurrent endpoint creation: \(kept) kept (\(guarded) of them found in use at the release itself), \(lost) released before their endpoint was written")
        }
    }

    @Test("8 processes assigning while canal-controllers runs: 0 duplicates, 0 wrongly released, the real leaks released")
    func assignersAndCollector() async throws {
        try await EtcdServer.withEtcdServer { server in
            let etcd = server.endpoint
            try createPool(etcd, cidr: "10.50.0.0/16")
            let store = EtcdKeyValueStore(configuration: server.configuration())
            for h in 0..<4 { try await putNode(store, "host-\(h)") }
            let ipam = IPAMClient(store: store)
            var leaks: [IPAddress] = []
            for i in 0..<16 {
                let r = try await ipam.autoAssign(
                    AutoAssignRequest(host: "host-\(i % 4)", ipv4: 1, handle: "k8s-pod-network.leak-\(i)",
                                      attributes: ["node": "host-\(i % 4)", "pod": "leak-\(i)", "namespace": "ns"]))
                leaks.append(try #require(r.addresses.first?.address))
            }
            let scratch = try scratchDirectory("gc-8")
            defer { try? FileManager.default.removeItem(at: scratch) }
            let log = scratch.appendingPathComponent("controllers.log")
            let controllers = try startControllers(etcd, ["--leak-grace-period", "1", "--interval", "0.2"], log: log)
            defer { _ = controllers.stop() }
            var children: [(SpawnedChild, URL, String)] = []
            defer { for (p, _, _) in children { _ = p.stop() } }
            let perProcess = 100
            for i in 0..<8 {
                let handle = "proc-\(i)"
                let out = scratch.appendingPathComponent("\(handle).out")
                let arguments = [ToolRunner.binDirectory.appendingPathComponent("canalctl").path,
                                 "ipam", "assign", "--node", "host-\(i % 4)", "--ipv4", "1", "--handle", handle, "--repeat", "\(perProcess)", "--timeout", "5"]
                let p = try Spawn.start(arguments, environment: etcdEnvironment(etcd),
                                        output: .files(stdout: out.path, stderr: scratch.appendingPathComponent("\(handle).err").path))
                children.append((p, out, handle))
            }
            let deadline = ContinuousClock.now + .seconds(120)
            for (p, _, _) in children { while p.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) } }
            var all: [String] = []
            for (p, out, handle) in children {
                #expect(p.exitStatus == 0, "\(handle)")
                let printed = try String(contentsOf: out, encoding: .utf8).split(separator: "\n").map(String.init)
                #expect(printed.count == perProcess, "\(handle) printed \(printed.count)")
                all += printed
                // 0 wrongly released: every address the process got is still its handle's.
                let held = Set(try await ipam.ipsByHandle(handle).map(\.description))
                #expect(held == Set(printed), "\(handle): \(Set(printed).subtracting(held).count) of its addresses are gone")
            }
            #expect(Set(all).count == all.count, "duplicates: \(all.count - Set(all).count)")
            // The real leaks go (their handles with them).
            let until = ContinuousClock.now + .seconds(30)
            var left = leaks.count
            while ContinuousClock.now < until {
                left = 0
                for i in 0..<16 where try await store.get(Array(IPAMKeys.handle("k8s-pod-network.leak-\(i)").utf8)) != nil { left += 1 }
                if left == 0 { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(left == 0, "\(left) leaks not released")
            #expect(controllers.isRunning)
            let check = try canalctl(["ipam", "check"], etcd: etcd)
            #expect(check.status == 0, "\(check.stdout)")
            #expect(check.stdout.contains("Found 0 duplicate or multiply-owned IPs."), "\(check.stdout)")
        }
    }

    @Test("a node deleted from the datastore without delete node: its empty blocks and affinities cleaned, its block in use kept")
    func deadNodeCleanup() async throws {
        try await EtcdServer.withEtcdServer { server in
            let etcd = server.endpoint
            try createPool(etcd, cidr: "10.60.0.0/24", blockSize: 28)
            let store = EtcdKeyValueStore(configuration: server.configuration())
            try await putNode(store, "gone")
            try await putNode(store, "alive")
            let ipam = IPAMClient(store: store)
            try await ipam.assignIP(IPAddress("10.60.0.1")!, handle: "kept", attributes: ["node": "gone"], host: "gone")
            try await ipam.assignIP(IPAddress("10.60.0.17")!, handle: "tmp", attributes: ["node": "gone"], host: "gone")
            try await ipam.releaseByHandle("tmp")
            // Gone from the datastore, the way a cluster's own cleanup (or a user) removes it: not `canalctl delete node`.
            _ = try await store.delete(Array("/calico/resources/v3/projectcalico.org/nodes/gone".utf8))
            let check = try canalctl(["ipam", "check"], etcd: etcd)
            #expect(check.stdout.contains("Found 2 blocks affine to nodes that no longer exist."), "\(check.stdout)")

            let scratch = try scratchDirectory("gc-node")
            defer { try? FileManager.default.removeItem(at: scratch) }
            let log = scratch.appendingPathComponent("controllers.log")
            let controllers = try startControllers(etcd, ["--leak-grace-period", "1", "--interval", "0.2"], log: log)
            defer { _ = controllers.stop() }
            let emptyBlock = Array(IPAMKeys.block(CIDR("10.60.0.16/28")!).utf8)
            let until = ContinuousClock.now + .seconds(30)
            while ContinuousClock.now < until, try await store.get(emptyBlock) != nil { try await Task.sleep(for: .milliseconds(100)) }
            #expect(try await store.get(emptyBlock) == nil)
            #expect(try await store.get(Array(IPAMKeys.affinity(host: "gone", cidr: CIDR("10.60.0.16/28")!).utf8)) == nil)
            try await Task.sleep(for: .seconds(2))
            #expect(try await ipam.allocation(of: IPAddress("10.60.0.1")!)?.blockAffinity == "host:gone")
            #expect(try await store.get(Array(IPAMKeys.affinity(host: "gone", cidr: CIDR("10.60.0.0/28")!).utf8)) != nil)
            let logged = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            #expect(logged.contains("released block 10.60.0.16/28 of the missing node gone"), "\(logged)")
        }
    }

    @Test("a corrupted block in etcd: ipam check and canal-controllers report its key and reason, and never rewrite it")
    func corruptBlock() async throws {
        try await EtcdServer.withEtcdServer { server in
            let etcd = server.endpoint
            try createPool(etcd, cidr: "10.70.0.0/24")
            let store = EtcdKeyValueStore(configuration: server.configuration())
            let key = IPAMKeys.block(CIDR("10.70.0.0/26")!)
            let garbage = Array("{\"cidr\":\"10.70.0.0/26\",\"allocations\":\"nope\"".utf8)
            try await store.put(Array(key.utf8), value: garbage)
            let before = try #require(try await store.get(Array(key.utf8)))
            let check = try canalctl(["ipam", "check"], etcd: etcd)
            #expect(check.status == 1)
            #expect(check.stdout.contains("Found 1 stored values that do not parse."), "\(check.stdout)")
            #expect(check.stdout.contains("  \(key): a block is not JSON"), "\(check.stdout)")
            let scratch = try scratchDirectory("gc-corrupt")
            defer { try? FileManager.default.removeItem(at: scratch) }
            let log = scratch.appendingPathComponent("controllers.log")
            let controllers = try startControllers(etcd, ["--leak-grace-period", "1", "--interval", "0.2"], log: log)
            try await Task.sleep(for: .seconds(2))
            _ = controllers.stop()
            let logged = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            #expect(logged.contains("corrupt value left alone: \(key): a block is not JSON"), "\(logged)")
            // An assignment into the pool does not rewrite it either.
            let assign = try canalctl(["ipam", "assign", "--node", "n1", "--handle", "h"], etcd: etcd)
            _ = assign
            let after = try #require(try await store.get(Array(key.utf8)))
            #expect(after.value == garbage && after.modRevision == before.modRevision)
        }
    }

    @Test("ipam release --from-report: releases from a current report, refuses one older than the data; ipam split")
    func releaseFromReportAndSplit() async throws {
        try await EtcdServer.withEtcdServer { server in
            let etcd = server.endpoint
            try createPool(etcd, cidr: "10.80.0.0/24")
            let scratch = try scratchDirectory("gc-report")
            defer { try? FileManager.default.removeItem(at: scratch) }
            let first = try canalctl(["ipam", "assign", "--node", "n1", "--handle", "h1"], etcd: etcd)
            let leaked = first.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let report = scratch.appendingPathComponent("r.json").path
            #expect(try canalctl(["ipam", "check", "--output", report], etcd: etcd).status == 0)
            // The data changes after the report: refused.
            _ = try canalctl(["ipam", "assign", "--node", "n1", "--handle", "h2"], etcd: etcd)
            let stale = try canalctl(["ipam", "release", "--from-report", report], etcd: etcd)
            #expect(stale.status == 1)
            #expect(stale.stderr.contains("older than the data it describes"), "\(stale.stderr)")
            // A fresh report: released.
            #expect(try canalctl(["ipam", "check", "--output", report], etcd: etcd).status == 0)
            let release = try canalctl(["ipam", "release", "--from-report", report], etcd: etcd)
            #expect(release.status == 0, "\(release.stderr)")
            #expect(release.stdout.contains("Released 2 IPs successfully."), "\(release.stdout)")
            #expect(release.stdout.contains("  \(leaked) (handle h1)"), "\(release.stdout)")
            let show = try canalctl(["ipam", "show", "--ip", leaked], etcd: etcd)
            #expect(show.stdout.contains("is not assigned"), "\(show.stdout)")

            let split = try canalctl(["ipam", "split", "2", "--cidr", "10.80.0.0/24"], etcd: etcd)
            #expect(split.status == 0, "\(split.stderr)")
            #expect(split.stdout.contains("Created split-pool-0 with CIDR 10.80.0.0/25."), "\(split.stdout)")
            #expect(split.stdout.contains("Created split-pool-1 with CIDR 10.80.0.128/25."), "\(split.stdout)")
            let store = EtcdKeyValueStore(configuration: server.configuration())
            let names = try await ResourceClient(store: store).list(IPPool.self).items.compactMap(\.metadata.name)
            #expect(names == ["split-pool-0", "split-pool-1"])
            #expect(try canalctl(["ipam", "split", "3", "--name", "split-pool-0"], etcd: etcd).status == 1)
        }
    }
}
