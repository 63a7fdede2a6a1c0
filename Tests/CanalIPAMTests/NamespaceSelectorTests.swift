import CanalDatastore
import CanalIPAM
import CanalModel
import Testing

/// IP pools' `namespaceSelector` on assignment (Calico's `determinePools`).
@Suite("namespaceSelector on assignment")
struct NamespaceSelectorTests {
    static func setUp<S: KeyValueStore>(_ store: S) async throws {
        let resources = ResourceClient(store: store)
        _ = try await resources.create(
            IPPool(metadata: ObjectMeta(name: "a-pool"), spec: IPPoolSpec(cidr: "10.2.0.0/24", blockSize: 26, namespaceSelector: "team == 'a'", allowedUses: [.workload])))
        _ = try await resources.create(
            IPPool(metadata: ObjectMeta(name: "b-pool"), spec: IPPoolSpec(cidr: "10.3.0.0/24", blockSize: 26, namespaceSelector: "team != 'a'", allowedUses: [.workload])))
        // The namespace's labels as Calico's Kubernetes conversion writes them: profile kns.<ns>, pcns.-prefixed.
        _ = try await resources.create(
            Profile(metadata: ObjectMeta(name: "kns.ns-a"), spec: ProfileSpec(labelsToApply: ["pcns.team": "a", "pcns.projectcalico.org/name": "ns-a"])))
    }

    static func assign<S: KeyValueStore>(
        _ ipam: IPAMClient<S>, namespace: String?, labels: [String: String]? = nil, pools: [CIDR] = [], host: String = "n1"
    ) async throws -> IPAddress? {
        var attributes = ["node": host]
        if let namespace { attributes["namespace"] = namespace; attributes["pod"] = "p" }
        let result = try await ipam.autoAssign(
            AutoAssignRequest(host: host, ipv4: 1, handle: "h-\(namespace ?? "none")", attributes: attributes, ipv4Pools: pools, namespaceLabels: labels))
        return result.addresses.first?.address
    }

    @Test("the namespace's labels come from its kns. profile, or from the caller; named pools bypass the selector", arguments: IPAMBackend.available)
    func selects(backend: IPAMBackend) async throws {
        try await backend.withStore { try await Self.body($0) }
    }

    static func body<S: KeyValueStore>(_ store: S) async throws {
        try await setUp(store)
        let ipam = IPAMClient.sequential(store)
        let a = CIDR("10.2.0.0/24")!, b = CIDR("10.3.0.0/24")!
        // Alternate namespaces on one host: every call decides on its own namespace (never the host snapshot's pools).
        for _ in 0..<3 {
            #expect(try await assign(ipam, namespace: "ns-a").map(a.contains) == true)
            #expect(try await assign(ipam, namespace: "ns-b").map(b.contains) == true)  // no profile: no labels
        }
        #expect(try await assign(ipam, namespace: "other", labels: ["team": "a"]).map(a.contains) == true)
        #expect(try await assign(ipam, namespace: nil).map(b.contains) == true)  // no namespace: no labels
        #expect(try await assign(ipam, namespace: "ns-b", pools: [a]).map(a.contains) == true)
        // A namespace no pool selects gets nothing (a short result, not an error).
        let resources = ResourceClient(store: store)
        var bPool = try await resources.get(IPPool.self, name: "b-pool")
        bPool.spec.namespaceSelector = "team == 'b'"
        _ = try await resources.update(bPool)
        #expect(try await assign(ipam, namespace: "ns-c") == nil)
        #expect(try await ipam.check().isClean)
    }
}
