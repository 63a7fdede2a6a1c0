import CanalDatastore
@testable import CanalIPAM
import CanalModel
import CanalTesting
import Testing

/// The stores the host-removal tests run on: memory always, etcd when installed or `CI=true`.
enum IPAMBackend: String, CustomTestStringConvertible, Sendable {
    case memory
    case etcd

    var testDescription: String { rawValue }

    static var available: [IPAMBackend] { EtcdServer.shouldRun ? [.memory, .etcd] : [.memory] }

    /// Runs `body` on a fresh store of this backend.
    func withStore(_ body: (any KeyValueStore) async throws -> Void) async throws {
        switch self {
        case .memory: try await body(memoryStore())
        case .etcd: try await EtcdServer.withEtcdServer { server in try await body(EtcdKeyValueStore(configuration: server.configuration())) }
        }
    }
}

private func key(_ text: String) -> [UInt8] { Array(text.utf8) }

private func put(_ store: some KeyValueStore, _ path: String, _ json: String) async throws {
    try await store.put(key(path), value: key(json))
}

private func blockJSON(_ store: some KeyValueStore, _ block: String) async throws -> JSONValue? {
    guard let kv = try await store.get(key("/calico/ipam/v2/assignment/ipv4/block/\(block)")) else { return nil }
    return try JSONValue(parsing: kv.value)
}

/// Host `host-a` as Calico leaves it in etcd (hand-written Calico JSON): the IPAM host record, a
/// block in use (two pod addresses and the IPIP tunnel address), an empty affine block, an affinity
/// to a block that another host owns, and a pending affinity whose block was never created; host
/// `host-ab` (a name `host-a` is a prefix of) has a block of its own.
private func seedCalicoHost(_ store: some KeyValueStore) async throws {
    try await addPool(store, name: "p", cidr: "10.0.0.0/24", blockSize: 30)
    try await put(store, "/calico/ipam/v2/host/host-a", "{}")
    try await put(
        store, "/calico/ipam/v2/assignment/ipv4/block/10.0.0.0-30",
        """
        {"cidr":"10.0.0.0/30","affinity":"host:host-a","affinity_claim_time":"2024-05-01T10:00:00Z","allocations":[0,null,0,1],\
        "unallocated":[1],"attributes":[{"handle_id":"k8s-pod-network.abc","secondary":{"namespace":"ns","node":"host-a","pod":"p"}},\
        {"handle_id":"ipip-tunnel-addr-host-a","secondary":null}],"sequenceNumber":1700000000000000002,\
        "sequenceNumberForAllocation":{"0":1700000000000000000,"2":1700000000000000000,"3":1700000000000000001},"deleted":false}
        """)
    try await put(store, "/calico/ipam/v2/handle/k8s-pod-network.abc", #"{"block":{"10.0.0.0/30":2},"deleted":false}"#)
    try await put(store, "/calico/ipam/v2/handle/ipip-tunnel-addr-host-a", #"{"block":{"10.0.0.0/30":1},"deleted":false}"#)
    try await put(store, "/calico/ipam/v2/host/host-a/ipv4/block/10.0.0.0-30", #"{"state":"confirmed","deleted":false}"#)
    for (last, owner) in [(4, "host-a"), (8, "host-b"), (12, "host-ab")] {
        let (block, cidr) = ("10.0.0.\(last)-30", "10.0.0.\(last)/30")
        try await put(
            store, "/calico/ipam/v2/assignment/ipv4/block/\(block)",
            """
            {"cidr":"\(cidr)","affinity":"host:\(owner)","affinity_claim_time":"2024-05-01T10:00:00Z","allocations":[null,null,null,null],\
            "unallocated":[0,1,2,3],"attributes":[],"sequenceNumber":5,"sequenceNumberForAllocation":{},"deleted":false}
            """)
        try await put(store, "/calico/ipam/v2/host/\(owner)/ipv4/block/\(block)", #"{"state":"confirmed","deleted":false}"#)
    }
    // host-a's stale affinity to host-b's block, and a pending claim that never made its block.
    try await put(store, "/calico/ipam/v2/host/host-a/ipv4/block/10.0.0.8-30", #"{"state":"confirmed","deleted":false}"#)
    try await put(store, "/calico/ipam/v2/host/host-a/ipv4/block/10.0.0.16-30", #"{"state":"pending","deleted":false}"#)
}

private func removesCalicoHost(_ store: some KeyValueStore) async throws {
    try await seedCalicoHost(store)
    let ipam = IPAMClient.sequential(store)
    let released = try await ipam.removeHost("host-a")
    #expect(Set(released.map(\.description)) == ["10.0.0.0/30", "10.0.0.4/30", "10.0.0.8/30", "10.0.0.16/30"])

    // Nothing of host-a's is left under /calico/ipam/v2/host/host-a, the record included.
    let left = try await store.list(prefix: key("/calico/ipam/v2/host/host-a")).items.map(\.keyString)
    #expect(left == ["/calico/ipam/v2/host/host-ab/ipv4/block/10.0.0.12-30"])
    // The block in use keeps its addresses and loses its affinity (Calico's `"affinity":null`).
    let used = try #require(try await blockJSON(store, "10.0.0.0-30"))
    #expect(used["affinity"] == .null)
    #expect(used["affinity_claim_time"] == nil || used["affinity_claim_time"] == .null)
    #expect(used["allocations"]?.jsonText == "[0,null,0,1]")
    #expect(used["attributes"]?.jsonText.contains("ipip-tunnel-addr-host-a") == true)
    // The empty affine block is deleted; other hosts' blocks stay theirs.
    #expect(try await blockJSON(store, "10.0.0.4-30") == nil)
    #expect(try await blockJSON(store, "10.0.0.8-30")?["affinity"]?.stringValue == "host:host-b")
    #expect(try await blockJSON(store, "10.0.0.12-30")?["affinity"]?.stringValue == "host:host-ab")
    #expect(try await store.get(key("/calico/ipam/v2/host/host-b/ipv4/block/10.0.0.8-30")) != nil)
    // The addresses stay valid under their handles, and the data is consistent.
    #expect(try await ipam.ipsByHandle("k8s-pod-network.abc").map(\.description) == ["10.0.0.0", "10.0.0.2"])
    let report = try await ipam.check()
    #expect(report.isClean, "\(report)")
    // Removing it again finds nothing to do.
    #expect(try await ipam.removeHost("host-a").isEmpty)
    // Releasing the last addresses of the un-owned block deletes it, as Calico does.
    try await ipam.releaseByHandle("k8s-pod-network.abc")
    try await ipam.releaseByHandle("ipip-tunnel-addr-host-a")
    #expect(try await blockJSON(store, "10.0.0.0-30") == nil)
}

/// Host `n1` holds blocks of `pool` (some emptied again) while `n2` assigns one address per call;
/// removing `n1` must leave every one of `n2`'s addresses and blocks as they are.
private func removalBesideAssignments(_ store: some KeyValueStore) async throws {
    try await addPool(store, name: "p", cidr: "10.1.0.0/20", blockSize: 28)
    let ipam = IPAMClient(store: store)
    let n1 = try await ipam.autoAssign(AutoAssignRequest(host: "n1", ipv4: 80, handle: "n1-h"))  // 5 blocks
    #expect(n1.ipv4.addresses.count == 80)
    _ = try await ipam.releaseIPs(n1.ipv4.addresses.prefix(40).map { ReleaseRequest(address: $0.address) })
    let n1Blocks = Set(try await ipam.blockAffinities(host: "n1").keys)

    let other = IPAMClient(store: store)  // another process
    async let assigned: [IPAddress] = {
        var out: [IPAddress] = []
        for i in 0..<60 {
            let r = try await other.autoAssign(AutoAssignRequest(host: "n2", ipv4: 1, handle: "n2-\(i)"))
            out += r.ipv4.addresses.map(\.address)
        }
        return out
    }()
    let released = try await ipam.removeHost("n1")
    let n2Addresses = try await assigned

    #expect(Set(released) == n1Blocks)
    #expect(try await ipam.blockAffinities(host: "n1").isEmpty)
    #expect(n2Addresses.count == 60 && Set(n2Addresses).count == 60)
    for (i, address) in n2Addresses.enumerated() {
        #expect(try await ipam.ipsByHandle("n2-\(i)") == [address])
        #expect(try await ipam.allocation(of: address)?.blockAffinity == "host:n2")
    }
    #expect(Set(try await ipam.blockAffinities(host: "n2").keys).isDisjoint(with: n1Blocks))
    // n1's remaining 40 addresses are still held, in blocks without an affinity.
    let kept = try await ipam.ipsByHandle("n1-h")
    #expect(Set(kept) == Set(n1.ipv4.addresses.dropFirst(40).map(\.address)))
    for address in kept { #expect(try await ipam.allocation(of: address)?.blockAffinity == nil) }
    let report = try await ipam.check()
    #expect(report.isClean, "\(report)")
}

@Suite("Removing a host's IPAM state (Calico's RemoveIPAMHost)", .serialized)
struct HostRemovalTests {
    @Test("Calico's keys and JSON: affinities released, empty blocks deleted, used blocks kept without affinity, record deleted", arguments: IPAMBackend.available)
    func calicoHost(backend: IPAMBackend) async throws {
        try await backend.withStore { store in try await removesCalicoHost(store) }
    }

    @Test("another host assigning meanwhile is unaffected", arguments: IPAMBackend.available)
    func concurrentAssignments(backend: IPAMBackend) async throws {
        try await backend.withStore { store in try await removalBesideAssignments(store) }
    }

    @Test("a block changed by another client between read and write is re-read and retried, not overwritten")
    func blockConflict() async throws {
        let base = memoryStore()
        try await addPool(base, name: "p", cidr: "10.0.0.0/24", blockSize: 26)
        let first = try await IPAMClient.sequential(base).autoAssign(AutoAssignRequest(host: "n1", ipv4: 1, handle: "a"))
        let block = try #require(first.ipv4.addresses.first).network
        let store = InterposingStore(base)
        store.beforeNextTransaction {
            // Another client assigns from the block after removeHost read it.
            try await IPAMClient.sequential(base).assignIP(ip("10.0.0.9"), handle: "late", attributes: [:], host: "n1")
        }
        let released = try await IPAMClient.sequential(store).removeHost("n1")
        #expect(released == [block])
        #expect(store.transactionCount >= 3)  // the failed write, the retried one, the record's
        let stored = try AllocationBlock(json: try #require(try await base.get(key(IPAMKeys.block(block)))).value)
        #expect(stored.affinity == nil)
        #expect(Set(stored.allocatedOrdinals.map { stored.address(ordinal: $0) }) == [ip("10.0.0.0"), ip("10.0.0.9")])
        #expect(try await IPAMClient.sequential(base).ipsByHandle("late") == [ip("10.0.0.9")])
        #expect(try await IPAMClient.sequential(base).check().isClean)
    }

    @Test("a block claimed for the host while it is removed is released too", arguments: [false, true])
    func claimDuringRemoval(withRecord: Bool) async throws {
        let base = memoryStore()
        try await addPool(base, name: "p", cidr: "10.0.0.0/24", blockSize: 26)
        if withRecord { try await put(base, IPAMKeys.host("n1"), "{}") }
        let store = InterposingStore(base)
        // No affinity yet: the first transaction is the record's delete. Before it, a claim for n1 lands.
        store.beforeNextTransaction {
            _ = try await IPAMClient.sequential(base).autoAssign(AutoAssignRequest(host: "n1", ipv4: 1, handle: "racer"))
        }
        let released = try await IPAMClient.sequential(store).removeHost("n1")
        #expect(released.map(\.description) == ["10.0.0.0/26"])
        #expect(try await base.list(prefix: key("/calico/ipam/v2/host/n1")).items.isEmpty)
        let racer = try await IPAMClient.sequential(base).ipsByHandle("racer")
        #expect(racer.count == 1)
        #expect(try await IPAMClient.sequential(base).allocation(of: racer[0])?.blockAffinity == nil)
        #expect(try await IPAMClient.sequential(base).check().isClean)
    }

    @Test("a record rewritten between read and delete is re-read, then deleted")
    func recordConflict() async throws {
        let base = memoryStore()
        try await put(base, IPAMKeys.host("n1"), "{}")
        let store = InterposingStore(base)
        store.beforeNextTransaction { try await put(base, IPAMKeys.host("n1"), #"{"rewritten":true}"#) }
        #expect(try await IPAMClient(store: store).removeHost("n1").isEmpty)
        #expect(store.transactionCount == 2)
        #expect(try await base.get(key(IPAMKeys.host("n1"))) == nil)
    }

    @Test("host names are checked")
    func badHost() async throws {
        let ipam = IPAMClient(store: memoryStore())
        for host in ["", "a/b"] {
            await #expect(throws: IPAMError.self) { try await ipam.removeHost(host) }
        }
    }
}
