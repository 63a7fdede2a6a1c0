import CanalDatastore
@testable import CanalIPAM
import CanalModel
import Testing

private func create(_ store: some KeyValueStore, _ json: String) async throws {
    _ = try await ResourceClient(store: store).create(try decodeResource(try JSONValue(parsing: json)))
}

private func workloadEndpoint(node: String, pod: String, networks: [IPAddress]) -> String {
    let nets = networks.map { "\"\($0)/\($0.family == .v4 ? 32 : 128)\"" }.joined(separator: ",")
    return """
        {"apiVersion":"projectcalico.org/v3","kind":"WorkloadEndpoint",\
        "metadata":{"name":"\(node)-k8s-\(pod)-eth0","namespace":"shop"},\
        "spec":{"orchestrator":"k8s","node":"\(node)","pod":"\(pod)","endpoint":"eth0","interfaceName":"cali\(pod)","ipNetworks":[\(nets)]}}
        """
}

/// Two nodes with endpoints, tunnel addresses, BGP peers, per-node configuration and host
/// endpoints; deleting `n1` as calicoctl does must clean up all of n1's and none of n2's.
private func deletesNode(_ store: some KeyValueStore) async throws {
    try await addPool(store, name: "v4", cidr: "10.2.0.0/24", blockSize: 28)
    try await addPool(store, name: "v6", cidr: "fd00:2::/120", blockSize: 124)
    let ipam = IPAMClient.sequential(store)
    let resources = ResourceClient(store: store)
    var podAddresses: [String: [IPAddress]] = [:]
    for (node, pod) in [("n1", "a"), ("n1", "b"), ("n2", "c")] {
        let r = try await ipam.autoAssign(AutoAssignRequest(host: node, ipv4: 1, ipv6: 1, handle: "k8s-pod-network.\(pod)"))
        podAddresses[pod] = r.addresses.map(\.address)
        try await create(store, workloadEndpoint(node: node, pod: pod, networks: podAddresses[pod]!))
    }
    // n1's tunnel addresses, and one more address n1 holds that no endpoint or tunnel names.
    let ipip = try #require(try await ipam.autoAssign(AutoAssignRequest(host: "n1", ipv4: 1, handle: "ipip-tunnel-addr-n1")).ipv4.addresses.first).address
    let vxlan6 = try #require(try await ipam.autoAssign(AutoAssignRequest(host: "n1", ipv4: 0, ipv6: 1, handle: "vxlan-v6-tunnel-addr-n1")).ipv6.addresses.first).address
    let stray = try #require(try await ipam.autoAssign(AutoAssignRequest(host: "n1", ipv4: 1, handle: "stray")).ipv4.addresses.first).address
    try await create(store, """
        {"apiVersion":"projectcalico.org/v3","kind":"Node","metadata":{"name":"n1"},\
        "spec":{"bgp":{"ipv4Address":"198.18.0.1/24","ipv4IPIPTunnelAddr":"\(ipip)"},"ipv6VXLANTunnelAddr":"\(vxlan6)"}}
        """)
    try await create(store, #"{"apiVersion":"projectcalico.org/v3","kind":"Node","metadata":{"name":"n2"},"spec":{}}"#)
    for (name, node) in [("n1-tor", "n1"), ("n2-tor", "n2"), ("global", "")] {
        try await create(store, """
            {"apiVersion":"projectcalico.org/v3","kind":"BGPPeer","metadata":{"name":"\(name)"},\
            "spec":{"node":"\(node)","peerIP":"198.18.1.1","asNumber":64512}}
            """)
    }
    for node in ["n1", "n2"] {
        try await create(store, #"{"apiVersion":"projectcalico.org/v3","kind":"FelixConfiguration","metadata":{"name":"node.\#(node)"},"spec":{}}"#)
        try await create(store, #"{"apiVersion":"projectcalico.org/v3","kind":"BGPConfiguration","metadata":{"name":"node.\#(node)"},"spec":{}}"#)
        try await create(store, #"{"apiVersion":"projectcalico.org/v3","kind":"HostEndpoint","metadata":{"name":"\#(node)-eth0"},"spec":{"node":"\#(node)","interfaceName":"eth0"}}"#)
    }
    try await store.put(Array(IPAMKeys.host("n1").utf8), value: Array("{}".utf8))
    let n1Blocks = try await ipam.blockAffinities(host: "n1").keys
    #expect(n1Blocks.count == 2)  // one per family

    // A stale resourceVersion changes nothing.
    let node = try await resources.get(Node.self, name: "n1")
    let version = try #require(node.metadata.resourceVersion)
    await #expect(throws: DatastoreError.self) { try await ipam.deleteNode(named: "n1", resourceVersion: String(Int(version)! - 1)) }
    #expect(try await ipam.blockAffinities(host: "n1").count == 2)
    #expect(try await resources.list(WorkloadEndpoint.self).items.count == 3)

    let deleted = try await ipam.deleteNode(named: "n1", resourceVersion: version)
    #expect(deleted.metadata.name == "n1")
    await #expect(throws: DatastoreError.self) { try await resources.get(Node.self, name: "n1") }
    // Endpoint and tunnel addresses released, their handles gone.
    for address in podAddresses["a"]! + podAddresses["b"]! + [ipip, vxlan6] {
        #expect(try await ipam.allocation(of: address) == nil, "\(address)")
    }
    for handle in ["k8s-pod-network.a", "k8s-pod-network.b", "ipip-tunnel-addr-n1", "vxlan-v6-tunnel-addr-n1"] {
        await #expect(throws: IPAMError.self) { try await ipam.ipsByHandle(handle) }
    }
    // The IPAM host is gone: no affinity, no record; the emptied v6 block deleted, the v4 block
    // still holding the stray address kept without an affinity.
    #expect(try await store.list(prefix: Array("/calico/ipam/v2/host/n1".utf8)).items.isEmpty)
    #expect(try await ipam.allocation(of: stray)?.blockAffinity == nil)
    #expect(try await ipam.ipsByHandle("stray") == [stray])
    let v6Block = try #require(n1Blocks.first { $0.family == .v6 })
    #expect(try await store.get(Array(IPAMKeys.block(v6Block).utf8)) == nil)
    // n1's resources are gone, n2's all there.
    #expect(try await resources.list(WorkloadEndpoint.self).items.map { $0.metadata.name ?? "" } == ["n2-k8s-c-eth0"])
    #expect(Set(try await resources.list(BGPPeer.self).items.map { $0.metadata.name ?? "" }) == ["n2-tor", "global"])
    #expect(try await resources.list(FelixConfiguration.self).items.map { $0.metadata.name ?? "" } == ["node.n2"])
    #expect(try await resources.list(BGPConfiguration.self).items.map { $0.metadata.name ?? "" } == ["node.n2"])
    #expect(try await resources.list(HostEndpoint.self).items.map { $0.metadata.name ?? "" } == ["n2-eth0"])
    #expect(try await ipam.ipsByHandle("k8s-pod-network.c") == podAddresses["c"]!)
    #expect(try await ipam.blockAffinities(host: "n2").count == 2)
    let report = try await ipam.check()
    #expect(report.isClean, "\(report)")

    // The node is gone: a second delete still cleans leftovers (a new claim for n1), then reports notFound.
    _ = try await ipam.autoAssign(AutoAssignRequest(host: "n1", ipv4: 1, handle: "late"))
    await #expect(throws: DatastoreError.self) { try await ipam.deleteNode(named: "n1") }
    #expect(try await ipam.blockAffinities(host: "n1").isEmpty)
}

@Suite("Deleting a node as calicoctl does; ipam check outside every pool", .serialized)
struct NodeDeletionTests {
    @Test("deleting a node releases its addresses, removes its IPAM host and what belongs to it", arguments: IPAMBackend.available)
    func deleteNode(backend: IPAMBackend) async throws {
        try await backend.withStore { store in try await deletesNode(store) }
    }

    @Test("check reports allocations left in blocks outside every pool after a pool is deleted")
    func outsidePools() async throws {
        let store = memoryStore()
        try await addPool(store, name: "p", cidr: "10.0.0.0/24", blockSize: 26)
        try await addPool(store, name: "q", cidr: "10.1.0.0/24", blockSize: 26, disabled: false)
        let ipam = IPAMClient.sequential(store)
        let kept = try await ipam.autoAssign(AutoAssignRequest(host: "n1", ipv4: 2, handle: "kept", ipv4Pools: [cidr("10.0.0.0/24")]))
        _ = try await ipam.autoAssign(AutoAssignRequest(host: "n1", ipv4: 1, handle: "other", ipv4Pools: [cidr("10.1.0.0/24")]))
        #expect(try await ipam.check().isClean)
        try await ipam.deletePool(named: "p")
        let report = try await ipam.check()
        #expect(!report.isClean)
        #expect(report.duplicates.isEmpty && report.leaked.isEmpty && report.orphaned.isEmpty)
        #expect(report.outsidePools == kept.ipv4.addresses.map {
            "\($0.address) in block 10.0.0.0/26 (affinity none, handle kept) is not in any IP pool"
        })
        // Disabling the other pool is not "outside": its allocation is not reported.
        var q = try await ResourceClient(store: store).get(IPPool.self, name: "q")
        q.spec.disabled = true
        _ = try await ResourceClient(store: store).update(q)
        #expect(try await ipam.check().outsidePools.count == 2)
        // Releasing them makes the check clean again (and deletes the un-owned block).
        try await ipam.releaseByHandle("kept")
        #expect(try await ipam.check().isClean)
    }
}
