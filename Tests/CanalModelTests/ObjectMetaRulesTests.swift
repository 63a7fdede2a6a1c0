import CanalModel
import Testing

@Suite struct ObjectMetaRulesTests {
    private func errors(_ meta: ObjectMeta, _ kind: ResourceKind) -> [FieldError] {
        var v = Validator()
        meta.validate(for: kind, into: &v)
        return v.errors
    }

    private func paths(_ meta: ObjectMeta, _ kind: ResourceKind) -> [String] { errors(meta, kind).map(\.path.description) }

    @Test func nameIsRequired() {
        #expect(paths(ObjectMeta(), .ipPool) == ["metadata.name"])
        var meta = ObjectMeta()
        meta.generateName = "pool-"
        let errs = errors(meta, .ipPool)
        #expect(errs.map(\.path.description) == ["metadata.name", "metadata.generateName"])
        #expect(errs[0].message.contains("generateName is not supported"))
    }

    @Test("DNS subdomain names for most kinds", arguments: [
        ("default", true), ("node.worker-1", true), ("my.ippool-1", true), ("a", true),
        ("Default", false), ("-a", false), ("a-", false), ("a..b", false), ("a_b", false),
        (String(repeating: "a", count: 63) + "." + String(repeating: "b", count: 63) + "." + String(repeating: "c", count: 63) + "." + String(repeating: "d", count: 61), true),
        (String(repeating: "a.", count: 127), false),
    ])
    func subdomainNames(_ name: String, _ valid: Bool) {
        for kind in [ResourceKind.ipPool, .bgpPeer, .bgpConfiguration, .felixConfiguration, .node, .hostEndpoint] {
            #expect(paths(ObjectMeta(name: name), kind).isEmpty == valid, "\(kind) \(name)")
        }
    }

    @Test("NetworkPolicy names", arguments: [
        ("allow-dns", true), ("default.allow-dns", true), ("knp.default.allow-dns", true),
        ("ossg.default.a.b.c", true), ("a.b.c", false), ("knp.other.x", false), ("Allow", false),
    ])
    func networkPolicyNames(_ name: String, _ valid: Bool) {
        #expect(paths(ObjectMeta(name: name, namespace: "ns1"), .networkPolicy).isEmpty == valid)
    }

    @Test("GlobalNetworkPolicy names", arguments: [("allow", true), ("tier1.allow", true), ("a.b.c", false), ("knp.default.x", false)])
    func globalNetworkPolicyNames(_ name: String, _ valid: Bool) {
        #expect(paths(ObjectMeta(name: name), .globalNetworkPolicy).isEmpty == valid)
    }

    @Test func tierAndClusterInformationNames() {
        #expect(paths(ObjectMeta(name: "security"), .tier).isEmpty)
        #expect(paths(ObjectMeta(name: "a.b"), .tier) == ["metadata.name"])
        #expect(paths(ObjectMeta(name: String(repeating: "t", count: 64)), .tier) == ["metadata.name"])
        #expect(paths(ObjectMeta(name: "default"), .clusterInformation).isEmpty)
        #expect(paths(ObjectMeta(name: "other"), .clusterInformation) == ["metadata.name"])
    }

    @Test func namespaceRequiredForNamespacedKindsIgnoredOtherwise() {
        #expect(paths(ObjectMeta(name: "p"), .networkPolicy) == ["metadata.namespace"])
        #expect(paths(ObjectMeta(name: "p", namespace: "Bad_NS"), .networkSet) == ["metadata.namespace"])
        #expect(paths(ObjectMeta(name: "p", namespace: "prod"), .workloadEndpoint).isEmpty)
        #expect(paths(ObjectMeta(name: "p", namespace: "prod"), .ipPool).isEmpty)
    }

    @Test func labels() {
        let good = ["app": "web", "example.com/tier": "front_end.v1", "empty": "", "A-b_c.d": "x"]
        #expect(paths(ObjectMeta(name: "n", labels: good), .node).isEmpty)
        let bad = ["-app": "x", "Example.com/x": "y", "a/b/c": "z", "ok": "bad value", "long": String(repeating: "v", count: 64)]
        let found = Set(paths(ObjectMeta(name: "n", labels: bad), .node))
        #expect(found == ["metadata.labels.-app", "metadata.labels.Example.com/x", "metadata.labels.a/b/c", "metadata.labels.ok", "metadata.labels.long"])
    }

    @Test func annotations() {
        // Keys are checked lower-cased, so an upper-case prefix passes; the total size is limited.
        #expect(paths(ObjectMeta(name: "n", annotations: ["Example.COM/Note": "anything at all"]), .node).isEmpty)
        #expect(paths(ObjectMeta(name: "n", annotations: ["bad key": "x"]), .node) == ["metadata.annotations.bad key"])
        let big = ["k": String(repeating: "x", count: 256 * 1024)]
        #expect(paths(ObjectMeta(name: "n", annotations: big), .node) == ["metadata.annotations"])
    }
}
