import CanalDatastore
@testable import CanalIPAM
import CanalModel
import CanalTesting
import Foundation
import Testing

// MARK: Helpers

/// Creates a k8s WorkloadEndpoint `ns/<node>-k8s-<pod>-eth0` using `addresses`.
@discardableResult
func addEndpoint<S: KeyValueStore>(_ store: S, node: String, pod: String, _ addresses: [String], namespace: String = "ns") async throws
    -> WorkloadEndpoint
{
    let wep = WorkloadEndpoint(
        metadata: ObjectMeta(namespace: namespace),
        spec: WorkloadEndpointSpec(
            orchestrator: "k8s", node: node, pod: pod, endpoint: "eth0", ipNetworks: addresses.map { "\($0)/32" },
            interfaceName: "cali\(abs(pod.hashValue) % 100_000_000)"))
    return try await ResourceClient(store: store).create(wep)
}

/// Assigns one IPv4 address as canal-cni does for a pod: handle `k8s-pod-network.<pod>`, pod attributes.
func assignPod<S: KeyValueStore>(_ ipam: IPAMClient<S>, node: String, pod: String, namespace: String = "ns") async throws -> IPAddress {
    let result = try await ipam.autoAssign(
        AutoAssignRequest(
            host: node, ipv4: 1, handle: "k8s-pod-network.\(pod)",
            attributes: ["node": node, "pod": pod, "namespace": namespace, "timestamp": "2026-01-01T00:00:00Z"]))
    return try #require(result.addresses.first?.address)
}

typealias TestCollector<S: KeyValueStore> = IPAMGarbageCollector<S, ManualClock>

func collector<S: KeyValueStore>(_ ipam: IPAMClient<S>, _ clock: ManualClock, grace: Duration = .seconds(60)) -> TestCollector<S> {
    IPAMGarbageCollector(ipam: ipam, clock: clock, configuration: .init(leakGracePeriod: grace))
}

// MARK: The checker

@Suite("IPAMChecker: allocations against WorkloadEndpoints and Nodes")
struct IPAMCheckerTests {
    @Test("allocated but not in use: the leak with its handle and attributes; the endpoint's address in use", arguments: IPAMBackend.available)
    func leakWithHandle(backend: IPAMBackend) async throws {
        try await backend.withStore { try await Self.leakWithHandleBody($0) }
    }

    static func leakWithHandleBody<S: KeyValueStore>(_ store: S) async throws {
        try await addPool(store, name: "p", cidr: "10.1.0.0/24", blockSize: 26)
        try await addNode(store, name: "n1", labels: [:])
        let ipam = IPAMClient.sequential(store)
        let used = try await assignPod(ipam, node: "n1", pod: "web")
        let leaked = try await assignPod(ipam, node: "n1", pod: "gone")
        try await addEndpoint(store, node: "n1", pod: "web", [used.description])
        let report = IPAMChecker(snapshot: try await ipam.snapshot()).report()
        #expect(report.allocations.count == 2)
        let leak = try #require(report.notInUse.first)
        #expect(report.notInUse.count == 1)
        #expect(leak.address == leaked)
        #expect(leak.handle == "k8s-pod-network.gone")
        #expect(leak.attributes["pod"] == "gone" && leak.kind == .workload)
        #expect(leak.attributeText.hasPrefix("Main:k8s-pod-network.gone Extra:"))
        let inUse = try #require(report.allocations.first { $0.address == used })
        #expect(inUse.owners == ["Workload(ns/n1-k8s-web-eth0)"])
        #expect(report.blocksOfMissingNodes.isEmpty && report.corrupt.isEmpty && report.duplicates.isEmpty)
    }

    @Test("in use but not allocated (in an active pool, outside every pool); tunnel addresses; dead nodes' blocks")
    func inUseNotAllocatedAndTunnels() async throws {
        let store = memoryStore()
        try await addPool(store, name: "p", cidr: "10.1.0.0/24", blockSize: 26)
        let ipam = IPAMClient.sequential(store)
        // A tunnel address allocated as helper tools do, and the Node naming it.
        try await ipam.assignIP(ip("10.1.0.10"), handle: "ipip-tunnel-addr-n1", attributes: ["node": "n1", "type": "ipipTunnelAddress"], host: "n1")
        let node = Node(metadata: ObjectMeta(name: "n1"), spec: NodeSpec(bgp: NodeSpec.BGP(ipv4Address: "192.0.2.1/24", ipv4IPIPTunnelAddr: "10.1.0.10")))
        _ = try await ResourceClient(store: store).create(node)
        try await addEndpoint(store, node: "n1", pod: "a", ["10.1.0.20"])
        try await addEndpoint(store, node: "n1", pod: "b", ["172.16.0.1"])
        _ = try await assignPod(ipam, node: "gone", pod: "c")  // a block of a host with no Node
        let report = IPAMChecker(snapshot: try await ipam.snapshot()).report()
        #expect(report.inUseNotAllocated.map(\.address) == [ip("10.1.0.20")])
        #expect(report.inUseNotAllocated.first?.owners == ["Workload(ns/n1-k8s-a-eth0)"])
        #expect(report.inUseOutsidePools.map(\.address) == [ip("172.16.0.1")])
        let tunnel = try #require(report.allocations.first { $0.address == ip("10.1.0.10") })
        #expect(tunnel.kind == .tunnel && tunnel.owners == ["Node(n1)"])
        #expect(report.blocksOfMissingNodes.map(\.host) == ["gone"])
        #expect(report.affinitiesOfMissingNodes.map(\.host) == ["gone"])
    }

    @Test("a corrupted block is reported with its key and reason, and never rewritten", arguments: IPAMBackend.available)
    func corruptBlock(backend: IPAMBackend) async throws {
        try await backend.withStore { try await Self.corruptBlockBody($0) }
    }

    static func corruptBlockBody<S: KeyValueStore>(_ store: S) async throws {
        try await addPool(store, name: "p", cidr: "10.1.0.0/24", blockSize: 26)
        let ipam = IPAMClient.sequential(store)
        _ = try await assignPod(ipam, node: "gone", pod: "x")
        let key = IPAMKeys.block(cidr("10.1.0.64/26"))
        let bad = Array(#"{"cidr":"10.1.0.64/26","allocations":[0],"attributes":[]}"#.utf8)
        try await store.put(Array(key.utf8), value: bad)
        let before = try #require(try await store.get(Array(key.utf8)))
        let report = IPAMChecker(snapshot: try await ipam.snapshot()).report()
        #expect(report.corrupt.count == 1)
        #expect(report.corrupt.first?.key == key)
        #expect(report.corrupt.first?.reason.contains("missing attribute") == true)
        let old = try await ipam.check()
        #expect(old.corrupt.count == 1 && old.corrupt[0].hasPrefix(key + ": "))
        // The collector reports it and leaves it alone, scan after scan.
        let clock = ManualClock()
        var gc = collector(ipam, clock, grace: .seconds(1))
        for _ in 0..<3 {
            let scan = try await gc.scan()
            #expect(scan.corrupt.map(\.key).contains(key))
            clock.advance(by: .seconds(5))
        }
        let after = try #require(try await store.get(Array(key.utf8)))
        #expect(after.value == bad && after.modRevision == before.modRevision)
    }

    @Test("the report file round-trips; release --from-report releases a current report and refuses a stale one or another cluster's", arguments: IPAMBackend.available)
    func releaseFromReport(backend: IPAMBackend) async throws {
        try await backend.withStore { try await Self.releaseFromReportBody($0) }
    }

    static func releaseFromReportBody<S: KeyValueStore>(_ store: S) async throws {
        try await ResourceClient(store: store).initialize()
        try await addPool(store, name: "p", cidr: "10.1.0.0/24", blockSize: 26)
        try await addNode(store, name: "n1", labels: [:])
        let ipam = IPAMClient.sequential(store)
        let leakA = try await assignPod(ipam, node: "n1", pod: "a")
        let report = IPAMChecker(snapshot: try await ipam.snapshot()).report()
        let read = try IPAMLeakReport(json: Array(report.json.jsonText.utf8))
        #expect(read.notInUse.map(\.address) == [leakA])
        #expect(read.notInUse.first?.sequenceNumber == report.notInUse.first?.sequenceNumber)
        #expect(read.revision == report.revision && !read.clusterGUID.isEmpty)

        // Another cluster's report.
        var foreign = read
        foreign.clusterGUID = "0123"
        await #expect(throws: IPAMError.self) { try await ipam.releaseFromReports([foreign]) }

        // The data changes after the report: refused, nothing released.
        _ = try await assignPod(ipam, node: "n1", pod: "b")
        #expect(try await ipam.staleness(of: read) != nil)
        await #expect(throws: IPAMError.self) { try await ipam.releaseFromReports([read]) }
        #expect(try await ipam.allocation(of: leakA) != nil)

        // A fresh report: released (both leaks), and the handles with them.
        let fresh = IPAMChecker(snapshot: try await ipam.snapshot()).report()
        #expect(try await ipam.staleness(of: fresh) == nil)
        // Two reports: only what both found (the older one is stale but the newer is current).
        let result = try await ipam.releaseFromReports([read, fresh])
        #expect(result.addresses.released.map(\.allocation.address) == [leakA])
        #expect(try await ipam.allocation(of: leakA) == nil)
        #expect(try await store.get(Array(IPAMKeys.handle("k8s-pod-network.a").utf8)) == nil)
        #expect(try await ipam.check().isClean)
    }

    @Test("ipam split: one transaction, children hold the old pool's blocks", arguments: IPAMBackend.available)
    func split(backend: IPAMBackend) async throws {
        try await backend.withStore { try await Self.splitBody($0) }
    }

    static func splitBody<S: KeyValueStore>(_ store: S) async throws {
        try await addPool(store, name: "big", cidr: "10.8.0.0/22", blockSize: 26)
        let ipam = IPAMClient.sequential(store)
        let a = try await assignPod(ipam, node: "n1", pod: "a")
        await #expect(throws: IPAMError.self) { try await ipam.splitPool(named: "big", into: 3) }
        await #expect(throws: IPAMError.self) { try await ipam.splitPool(named: "big", into: 32) }  // /27 < block /26
        let children = try await ipam.splitPool(named: "big", into: 4)
        #expect(children.map(\.spec.cidr) == ["10.8.0.0/24", "10.8.1.0/24", "10.8.2.0/24", "10.8.3.0/24"])
        #expect(children.map { $0.metadata.name ?? "" } == (0..<4).map { "split-big-\($0)" })
        let pools = try await ResourceClient(store: store).list(IPPool.self).items
        #expect(pools.map { $0.metadata.name ?? "" }.sorted() == (0..<4).map { "split-big-\($0)" })
        #expect(pools.allSatisfy { !$0.spec.disabled && $0.spec.blockSize == 26 })
        #expect(try await ipam.allocation(of: a) != nil)
        #expect(try await ipam.check().isClean)
        let next = try await assignPod(ipam, node: "n1", pod: "b")
        #expect(next != a)
    }
}

// MARK: The garbage collector

@Suite("IPAMGarbageCollector: grace period, two scans, CAS against a concurrent ADD, dead nodes")
struct IPAMGarbageCollectorTests {
    @Test("a leak is released after the grace period, on a later scan, and not before", arguments: IPAMBackend.available)
    func graceThenRelease(backend: IPAMBackend) async throws {
        try await backend.withStore { try await Self.graceThenReleaseBody($0) }
    }

    static func graceThenReleaseBody<S: KeyValueStore>(_ store: S) async throws {
        try await addPool(store, name: "p", cidr: "10.1.0.0/24", blockSize: 26)
        try await addNode(store, name: "n1", labels: [:])
        let ipam = IPAMClient.sequential(store)
        let leak = try await assignPod(ipam, node: "n1", pod: "gone")
        let kept = try await assignPod(ipam, node: "n1", pod: "web")
        try await addEndpoint(store, node: "n1", pod: "web", [kept.description])
        let clock = ManualClock()
        var gc = collector(ipam, clock, grace: .seconds(60))
        let first = try await gc.scan()
        #expect(first.candidates.map(\.address) == [leak] && first.released.isEmpty)
        clock.advance(by: .seconds(59))
        let second = try await gc.scan()
        #expect(second.released.isEmpty && second.candidates.map(\.address) == [leak])
        #expect(try await ipam.allocation(of: leak) != nil)
        clock.advance(by: .seconds(1))
        let third = try await gc.scan()
        #expect(third.released.map(\.allocation.address) == [leak])
        #expect(try await ipam.allocation(of: leak) == nil)
        #expect(try await ipam.allocation(of: kept) != nil)
        #expect(try await store.get(Array(IPAMKeys.handle("k8s-pod-network.gone").utf8)) == nil)
        #expect(try await ipam.check().isClean)
        #expect(gc.candidateCount == 0)
    }

    @Test("a grace period passed between scans is not enough alone: the first sighting never releases")
    func firstSightingNeverReleases() async throws {
        let store = memoryStore()
        try await addPool(store, name: "p", cidr: "10.1.0.0/24", blockSize: 26)
        let ipam = IPAMClient.sequential(store)
        let clock = ManualClock()
        clock.advance(by: .seconds(10_000))
        var gc = collector(ipam, clock, grace: .seconds(1))
        _ = try await gc.scan()
        let leak = try await assignPod(ipam, node: "n1", pod: "late")
        clock.advance(by: .seconds(10_000))
        #expect(try await gc.scan().released.isEmpty)
        clock.advance(by: .seconds(2))
        #expect(try await gc.scan().released.map(\.allocation.address) == [leak])
    }

    @Test("an endpoint that appears before the grace period ends makes the address valid again")
    func endpointAppears() async throws {
        let store = memoryStore()
        try await addPool(store, name: "p", cidr: "10.1.0.0/24", blockSize: 26)
        let ipam = IPAMClient.sequential(store)
        let address = try await assignPod(ipam, node: "n1", pod: "slow")
        let clock = ManualClock()
        var gc = collector(ipam, clock)
        #expect(try await gc.scan().candidates.count == 1)
        try await addEndpoint(store, node: "n1", pod: "slow", [address.description])
        clock.advance(by: .seconds(120))
        let scan = try await gc.scan()
        #expect(scan.candidates.isEmpty && scan.released.isEmpty && gc.candidateCount == 0)
        #expect(try await ipam.allocation(of: address) != nil)
    }

    @Test("the endpoint created between the collector's last look and its release write: the write fails, the address is kept", arguments: IPAMBackend.available)
    func concurrentAddLoses(backend: IPAMBackend) async throws {
        try await backend.withStore { try await Self.concurrentAddLosesBody($0) }
    }

    static func concurrentAddLosesBody<S: KeyValueStore>(_ base: S) async throws {
        try await addPool(base, name: "p", cidr: "10.1.0.0/24", blockSize: 26)
        let store = InterposingStore(base)
        let ipam = IPAMClient.sequential(store)
        let address = try await assignPod(ipam, node: "n1", pod: "racing")
        let clock = ManualClock()
        var gc = collector(ipam, clock)
        _ = try await gc.scan()
        clock.advance(by: .seconds(61))
        // The CNI ADD's endpoint lands just before the release transaction.
        store.beforeNextTransaction { try await addEndpoint(base, node: "n1", pod: "racing", [address.description]) }
        let scan = try await gc.scan()
        #expect(scan.released.isEmpty)
        #expect(scan.keptInUse.map(\.address) == [address])
        #expect(try await ipam.allocation(of: address)?.attribute.handleID == "k8s-pod-network.racing")
    }

    @Test("released and allocated again to another pod between scan and release: not released (sequence number and handle)", arguments: IPAMBackend.available)
    func reallocatedMeanwhile(backend: IPAMBackend) async throws {
        try await backend.withStore { try await Self.reallocatedMeanwhileBody($0) }
    }

    static func reallocatedMeanwhileBody<S: KeyValueStore>(_ base: S) async throws {
        try await addPool(base, name: "p", cidr: "10.1.0.0/30", blockSize: 30)
        let store = InterposingStore(base)
        let ipam = IPAMClient.sequential(store)
        let address = try await assignPod(ipam, node: "n1", pod: "old")
        let clock = ManualClock()
        var gc = collector(ipam, clock)
        _ = try await gc.scan()
        clock.advance(by: .seconds(61))
        let other = IPAMClient.sequential(base)
        store.beforeNextTransaction {
            try await other.releaseByHandle("k8s-pod-network.old")
            try await other.assignIP(address, handle: "k8s-pod-network.new", attributes: ["node": "n1", "pod": "new", "namespace": "ns"], host: "n1")
        }
        let scan = try await gc.scan()
        #expect(scan.released.isEmpty)
        #expect(try await other.allocation(of: address)?.attribute.handleID == "k8s-pod-network.new")
    }

    @Test("a handle's addresses go all together or not at all")
    func handleAllOrNone() async throws {
        let store = memoryStore()
        try await addPool(store, name: "p", cidr: "10.1.0.0/24", blockSize: 26)
        let ipam = IPAMClient.sequential(store)
        let result = try await ipam.autoAssign(
            AutoAssignRequest(host: "n1", ipv4: 2, handle: "k8s-pod-network.multi", attributes: ["node": "n1", "pod": "m", "namespace": "ns"]))
        let addresses = result.addresses.map(\.address)
        try await addEndpoint(store, node: "n1", pod: "m", [addresses[0].description])
        let clock = ManualClock()
        var gc = collector(ipam, clock)
        _ = try await gc.scan()
        clock.advance(by: .seconds(120))
        let scan = try await gc.scan()
        #expect(scan.released.isEmpty && scan.candidates.map(\.address) == [addresses[1]])
        #expect(try await ipam.ipsByHandle("k8s-pod-network.multi").count == 2)
    }

    @Test("a grace period of zero never releases (Calico: GC off)")
    func zeroGraceIsOff() async throws {
        let store = memoryStore()
        try await addPool(store, name: "p", cidr: "10.1.0.0/24", blockSize: 26)
        let ipam = IPAMClient.sequential(store)
        _ = try await assignPod(ipam, node: "n1", pod: "x")
        let clock = ManualClock()
        var gc = collector(ipam, clock, grace: .zero)
        for _ in 0..<3 {
            #expect(try await gc.scan().released.isEmpty)
            clock.advance(by: .seconds(1000))
        }
    }

    @Test("a node deleted without delete node: its empty blocks and affinities go after the grace period, its blocks in use stay", arguments: IPAMBackend.available)
    func deadNode(backend: IPAMBackend) async throws {
        try await backend.withStore { try await Self.deadNodeBody($0) }
    }

    static func deadNodeBody<S: KeyValueStore>(_ store: S) async throws {
        try await addPool(store, name: "p", cidr: "10.1.0.0/24", blockSize: 28)
        try await addNode(store, name: "dead", labels: [:])
        try await addNode(store, name: "live", labels: [:])
        let ipam = IPAMClient.sequential(store)
        // dead: two blocks; the first still holds an address nothing judges leaked, the second is emptied.
        try await ipam.assignIP(ip("10.1.0.1"), handle: "keep", attributes: ["node": "dead"], host: "dead")
        try await ipam.assignIP(ip("10.1.0.17"), handle: "tmp", attributes: ["node": "dead"], host: "dead")
        try await ipam.releaseByHandle("tmp")
        // live: an empty block of its own, never touched.
        try await ipam.assignIP(ip("10.1.0.33"), handle: "tmp2", attributes: ["node": "live"], host: "live")
        try await ipam.releaseByHandle("tmp2")
        try await store.put(Array(IPAMKeys.host("dead").utf8), value: Array("{}".utf8))
        _ = try await store.delete(Array("/calico/resources/v3/projectcalico.org/nodes/dead".utf8))

        let clock = ManualClock()
        var gc = collector(ipam, clock, grace: .seconds(60))
        #expect(try await gc.scan().releasedBlocks.isEmpty)
        clock.advance(by: .seconds(30))
        #expect(try await gc.scan().releasedBlocks.isEmpty)
        clock.advance(by: .seconds(30))
        let scan = try await gc.scan()
        #expect(scan.releasedBlocks.map(\.cidr) == [cidr("10.1.0.16/28")])
        #expect(try await store.get(Array(IPAMKeys.block(cidr("10.1.0.16/28")).utf8)) == nil)
        #expect(try await store.get(Array(IPAMKeys.affinity(host: "dead", cidr: cidr("10.1.0.16/28")).utf8)) == nil)
        // The block in use and its affinity stay; so does the record while an affinity is left.
        #expect(try await ipam.allocation(of: ip("10.1.0.1"))?.blockAffinity == "host:dead")
        #expect(try await store.get(Array(IPAMKeys.affinity(host: "dead", cidr: cidr("10.1.0.0/28")).utf8)) != nil)
        #expect(try await store.get(Array(IPAMKeys.host("dead").utf8)) != nil)
        // The live node's empty block is its own business.
        #expect(try await store.get(Array(IPAMKeys.block(cidr("10.1.0.32/28")).utf8)) != nil)
        // Once the last address goes, the block, the affinity and the record go too.
        try await ipam.releaseByHandle("keep")
        _ = try await gc.scan()
        clock.advance(by: .seconds(61))
        let last = try await gc.scan()
        #expect(last.releasedBlocks.map(\.cidr) == [cidr("10.1.0.0/28")])
        #expect(last.removedHosts == ["dead"])
        #expect(try await store.list(prefix: Array(IPAMKeys.host("dead").utf8)).items.isEmpty)
        #expect(try await ipam.check().isClean)
    }

    @Test("a live host's stale affinities (another host's block, pending without a block) are deleted after the grace period")
    func staleAffinities() async throws {
        let store = memoryStore()
        try await addPool(store, name: "p", cidr: "10.1.0.0/24", blockSize: 28)
        try await addNode(store, name: "a", labels: [:])
        try await addNode(store, name: "b", labels: [:])
        let ipam = IPAMClient.sequential(store)
        try await ipam.assignIP(ip("10.1.0.1"), handle: "x", attributes: ["node": "a"], host: "a")
        let foreign = cidr("10.1.0.0/28"), missing = cidr("10.1.0.32/28"), own = cidr("10.1.0.0/28")
        try await store.put(Array(IPAMKeys.affinity(host: "b", cidr: foreign).utf8), value: BlockAffinity(state: .confirmed).jsonBytes)
        try await store.put(Array(IPAMKeys.affinity(host: "b", cidr: missing).utf8), value: BlockAffinity(state: .pending).jsonBytes)
        let clock = ManualClock()
        var gc = collector(ipam, clock, grace: .seconds(60))
        #expect(try await gc.scan().staleAffinities.isEmpty)
        clock.advance(by: .seconds(60))
        let scan = try await gc.scan()
        #expect(Set(scan.staleAffinities.map(\.cidr)) == [foreign, missing] && scan.staleAffinities.allSatisfy { $0.host == "b" })
        #expect(try await store.list(prefix: Array(IPAMKeys.host("b").utf8)).items.isEmpty)
        #expect(try await store.get(Array(IPAMKeys.affinity(host: "a", cidr: own).utf8)) != nil)
        #expect(try await ipam.check().isClean)
    }

    @Test("no Node in the datastore at all: no host is judged dead")
    func noNodesAtAll() async throws {
        let store = memoryStore()
        try await addPool(store, name: "p", cidr: "10.1.0.0/24", blockSize: 28)
        let ipam = IPAMClient.sequential(store)
        try await ipam.assignIP(ip("10.1.0.1"), handle: "tmp", attributes: ["node": "h"], host: "h")
        try await ipam.releaseByHandle("tmp")
        let clock = ManualClock()
        var gc = collector(ipam, clock, grace: .seconds(1))
        for _ in 0..<3 {
            #expect(try await gc.scan().releasedBlocks.isEmpty)
            clock.advance(by: .seconds(10))
        }
        #expect(try await store.get(Array(IPAMKeys.block(cidr("10.1.0.0/28")).utf8)) != nil)
    }

    @Test("an unreadable WorkloadEndpoint stops leak judgement (its addresses are unknown)")
    func unreadableEndpoint() async throws {
        let store = memoryStore()
        try await addPool(store, name: "p", cidr: "10.1.0.0/24", blockSize: 26)
        let ipam = IPAMClient.sequential(store)
        _ = try await assignPod(ipam, node: "n1", pod: "x")
        try await store.put(Array("/calico/resources/v3/projectcalico.org/workloadendpoints/ns/broken".utf8), value: Array("{".utf8))
        let clock = ManualClock()
        var gc = collector(ipam, clock, grace: .seconds(1))
        for _ in 0..<3 {
            let scan = try await gc.scan()
            #expect(scan.skipped != nil && scan.released.isEmpty)
            clock.advance(by: .seconds(10))
        }
    }

    @Test("run() scans on the clock's interval and returns on cancellation")
    func runLoop() async throws {
        let store = memoryStore()
        try await addPool(store, name: "p", cidr: "10.1.0.0/24", blockSize: 26)
        let ipam = IPAMClient.sequential(store)
        let leak = try await assignPod(ipam, node: "n1", pod: "x")
        let clock = ManualClock()
        let gc = IPAMGarbageCollector(ipam: ipam, clock: clock, configuration: .init(leakGracePeriod: .seconds(10), interval: .seconds(5)))
        let scans = ScanCounter()
        let stop = ScanCounter()
        let ticker = Task {
            while stop.value == 0 {
                clock.advance(by: .seconds(5))
                try? await Task.sleep(for: .milliseconds(5))
            }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await gc.run { _ in scans.increment() } }
            while try await ipam.allocation(of: leak) != nil { try await Task.sleep(for: .milliseconds(5)) }
            group.cancelAll()
        }
        stop.increment()
        await ticker.value
        #expect(scans.value >= 3)
    }

    @Test("cooldown end to end: a released address stays out for ipCooldownSeconds, then the collector returns it", arguments: IPAMBackend.available)
    func cooldownEndToEnd(backend: IPAMBackend) async throws {
        try await backend.withStore { try await Self.cooldownBody($0) }
    }

    static func cooldownBody<S: KeyValueStore>(_ store: S) async throws {
        try await addPool(store, name: "p", cidr: "10.1.0.0/30", blockSize: 30)
        let ipam = IPAMClient.sequential(store)
        await #expect(throws: IPAMError.self) { try await ipam.setConfig(IPAMConfig(ipCooldownSeconds: 1201)) }
        try await ipam.setConfig(IPAMConfig(ipCooldownSeconds: 2))
        let first = try await assignPod(ipam, node: "n1", pod: "a")
        let released = try await ipam.releaseIPs([ReleaseRequest(address: first)])
        #expect(released.released == [first])
        let report = IPAMChecker(snapshot: try await ipam.snapshot()).report()
        #expect(report.allocations.map(\.kind) == [.coolingDown] && report.notInUse.isEmpty)
        #expect(try await store.get(Array(IPAMKeys.handle("k8s-pod-network.a").utf8)) == nil)
        #expect(try await ipam.check().isClean)
        var others: [IPAddress] = []
        for i in 0..<3 { others.append(try await assignPod(ipam, node: "n1", pod: "b\(i)")) }
        #expect(!others.contains(first))
        let none = try await ipam.autoAssign(AutoAssignRequest(host: "n1", ipv4: 1, handle: "x", attributes: [:]))
        #expect(none.addresses.isEmpty)  // the only free address is cooling down
        try await Task.sleep(for: .milliseconds(2100))
        var gc = collector(ipam, ManualClock())
        #expect(try await gc.scan().cooledBlocks == [cidr("10.1.0.0/30")])
        #expect(try await assignPod(ipam, node: "n1", pod: "c") == first)
        #expect(try await ipam.check().isClean)
    }

    @Test("cooldown: a released address stays out of the free list until its cooldown is over (Calico's ipCooldownSeconds)")
    func cooldown() throws {
        var block = AllocationBlock(cidr: cidr("10.1.0.0/30"), affinity: "host:n1", sequenceNumber: 1)
        let taken = block.autoAssign(count: 1, handle: "h", attributes: [:], reserved: { _ in false })
        block.releaseAddresses(ordinals: taken, cooldownSeconds: 60, now: 1_000_000)
        #expect(block.allocations[0] != nil && !block.unallocated.contains(0))
        #expect(IPAMChecker.kind(of: block.attributes[block.allocations[0]!]) == .coolingDown)
        #expect(block.attributes[block.allocations[0]!].releasedAt == "1970-01-12T13:46:40Z")
        let early = block.collectCooledAddresses(cooldownSeconds: 60, now: 1_000_059)
        #expect(!early)
        let due = block.collectCooledAddresses(cooldownSeconds: 60, now: 1_000_060)
        #expect(due)
        #expect(block.unallocated.last == 0 && block.allocations[0] == nil && block.attributes.isEmpty)
        // No cooldown: straight to the tail, as before.
        let again = block.autoAssign(count: 1, handle: "h", attributes: [:], reserved: { _ in false })
        block.releaseAddresses(ordinals: again, cooldownSeconds: 0, now: 1_000_100)
        #expect(block.allocations.allSatisfy { $0 == nil } && block.unallocated.count == 4)
        #expect(AllocationBlock.parseRFC3339("2026-12-05T16:00:00.5+01:00") == AllocationBlock.parseRFC3339("2026-12-05T15:00:00Z"))
    }
}

import Synchronization

final class ScanCounter: Sendable {
    private let count = Mutex(0)
    func increment() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}
