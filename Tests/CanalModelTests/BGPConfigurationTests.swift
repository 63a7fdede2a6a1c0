import CanalModel
import Testing

@Suite struct BGPConfigurationTests {
    let docExample = """
    {"apiVersion":"projectcalico.org/v3","kind":"BGPConfiguration","metadata":{"name":"default"},
     "spec":{"logSeverityScreen":"Info","nodeToNodeMeshEnabled":true,"nodeMeshMaxRestartTime":"120s","asNumber":63400,
             "serviceClusterIPs":[{"cidr":"10.96.0.0/12"}],
             "serviceExternalIPs":[{"cidr":"104.244.42.129/32"},{"cidr":"172.217.3.0/24"}],
             "listenPort":178,"bindMode":"NodeIP",
             "communities":[{"name":"bgp-large-community","value":"63400:300:100"}],
             "prefixAdvertisements":[{"cidr":"172.218.4.0/26","communities":["bgp-large-community","63400:120"]}]}}
    """

    private func config(_ spec: BGPConfigurationSpec, name: String = "default") -> BGPConfiguration { InfraFixtures.make(name, spec) }
    private func paths(_ spec: BGPConfigurationSpec, name: String = "default") -> [String] { InfraFixtures.errorPaths(config(spec, name: name)) }

    @Test func decodesDocumentationExample() throws {
        let c = try InfraFixtures.decode(docExample, as: BGPConfigurationSpec.self)
        #expect(c.spec.asNumber == 63400)
        #expect(c.spec.listenPort == 178)
        #expect(c.spec.bindMode == .nodeIP)
        #expect(c.spec.serviceExternalIPs.map(\.cidr) == ["104.244.42.129/32", "172.217.3.0/24"])
        #expect(c.spec.resolvedCommunities(of: c.spec.prefixAdvertisements[0]).map(\.description) == ["63400:300:100", "63400:120"])
        #expect(c.validationErrors().isEmpty)
        #expect(try InfraFixtures.roundTrips(c))
    }

    @Test func defaultsWriteOnlyWhatCalicoWrites() {
        var c = config(BGPConfigurationSpec(nodeMeshMaxRestartTime: "90s"))
        c.applyDefaults()
        #expect(c.spec.logSeverityScreen == "Info")
        #expect(c.spec.serviceLoadBalancerAggregation == .enabled)
        #expect(c.spec.nodeMeshMaxRestartTime == "1m30s")
        // Read-time defaults are not written.
        #expect(c.spec.nodeToNodeMeshEnabled == nil)
        #expect(c.spec.asNumber == nil)
        #expect(c.spec.listenPort == 0)
        #expect(c.spec.effectiveNodeToNodeMeshEnabled)
        #expect(c.spec.effectiveASNumber == 64512)
        #expect(c.spec.effectiveListenPort == 179)
        var explicit = config(BGPConfigurationSpec(logSeverityScreen: "Debug", serviceLoadBalancerAggregation: .disabled))
        explicit.applyDefaults()
        #expect(explicit.spec.logSeverityScreen == "Debug")
        #expect(explicit.spec.serviceLoadBalancerAggregation == .disabled)
    }

    @Test func unknownFieldsAndEnums() {
        #expect(InfraFixtures.schemaErrorPaths(#"{"apiVersion":"projectcalico.org/v3","kind":"BGPConfiguration","metadata":{"name":"default"},"spec":{"nodeToNodeMesh":true}}"#) == ["spec.nodeToNodeMesh"])
        #expect(InfraFixtures.schemaErrorPaths(#"{"apiVersion":"projectcalico.org/v3","kind":"BGPConfiguration","metadata":{"name":"default"},"spec":{"bindMode":"All"}}"#) == ["spec.bindMode"])
        #expect(InfraFixtures.schemaErrorPaths(#"{"apiVersion":"projectcalico.org/v3","kind":"BGPConfiguration","metadata":{"name":"default"},"spec":{"listenPort":70000}}"#) == ["spec.listenPort"])
        #expect(InfraFixtures.schemaErrorPaths(#"{"apiVersion":"projectcalico.org/v3","kind":"BGPConfiguration","metadata":{"name":"default"},"spec":{"communities":[{"name":"a","value":"1:2","extra":1}]}}"#) == ["spec.communities[0].extra"])
    }

    @Test("community values", arguments: [
        ("100:520", true), ("100:520:56", true), ("65535:65535", true), ("4294967295:1:2", true),
        ("100", false), ("ab-n", false), ("65536:999999", false), ("4147483647:999999", false),
        ("4294967296:1:1", false), ("1:2:3:4", false), ("", false),
    ])
    func communityValues(_ value: String, _ valid: Bool) {
        let spec = BGPConfigurationSpec(
            communities: [.init(name: "community-test", value: value)],
            prefixAdvertisements: [.init(cidr: "10.0.0.0/8", communities: ["community-test"])])
        #expect(paths(spec) == (valid ? [] : ["spec.communities[0].value"]))
    }

    @Test func communityNamesAndPrefixAdvertisements() {
        let communities = [BGPConfigurationSpec.Community(name: "community-test", value: "101:5695")]
        #expect(paths(BGPConfigurationSpec(communities: communities, prefixAdvertisements: [
            .init(cidr: "2001:4860::/128", communities: ["community-test", "8988:202", "1:2:3"])])).isEmpty)
        #expect(paths(BGPConfigurationSpec(prefixAdvertisements: [
            .init(cidr: "2001:4860::/128", communities: ["nonexistent-community"])])) == ["spec.prefixAdvertisements[0].communities[0]"])
        #expect(paths(BGPConfigurationSpec(prefixAdvertisements: [.init(cidr: "10.0.0.0/8", communities: ["65536:1"])]))
            == ["spec.prefixAdvertisements[0].communities[0]"])
        #expect(paths(BGPConfigurationSpec(prefixAdvertisements: [.init(cidr: "10.0.0.1/8", communities: ["1:1"])]))
            == ["spec.prefixAdvertisements[0].cidr"])
        #expect(paths(BGPConfigurationSpec(prefixAdvertisements: [.init(cidr: "10.0.0.0/8", communities: nil)]))
            == ["spec.prefixAdvertisements[0].communities"])
        // Communities need prefix advertisements; names must be valid.
        #expect(paths(BGPConfigurationSpec(communities: communities)) == ["spec.communities"])
        #expect(paths(BGPConfigurationSpec(communities: [.init(name: "Bad_Name", value: "1:1")],
                                           prefixAdvertisements: [.init(cidr: "10.0.0.0/8", communities: ["1:1"])]))
            == ["spec.communities[0].name"])
    }

    @Test func meshRules() {
        let password = BGPPassword(secretKeyRef: .init(name: "bgp-secrets", key: "mesh"))
        #expect(paths(BGPConfigurationSpec(nodeToNodeMeshEnabled: true, nodeMeshPassword: password, nodeMeshMaxRestartTime: "2m")).isEmpty)
        #expect(paths(BGPConfigurationSpec(nodeToNodeMeshEnabled: false, nodeMeshPassword: password, nodeMeshMaxRestartTime: "2m"))
            == ["spec.nodeMeshPassword", "spec.nodeMeshMaxRestartTime"])
        #expect(paths(BGPConfigurationSpec(nodeMeshMaxRestartTime: "soon")) == ["spec.nodeMeshMaxRestartTime"])
        #expect(paths(BGPConfigurationSpec(nodeMeshPassword: BGPPassword(secretKeyRef: .init(key: ""))))
            == ["spec.nodeMeshPassword.secretKeyRef.key"])
    }

    @Test func fieldRules() {
        #expect(paths(BGPConfigurationSpec(logSeverityScreen: "debug")).isEmpty)
        #expect(paths(BGPConfigurationSpec(logSeverityScreen: "Verbose")) == ["spec.logSeverityScreen"])
        #expect(paths(BGPConfigurationSpec(serviceClusterIPs: [.init(cidr: "10.96.0.1/12")])) == ["spec.serviceClusterIPs[0].cidr"])
        #expect(paths(BGPConfigurationSpec(serviceLoadBalancerIPs: [.init(cidr: "fd00::/120")])).isEmpty)
        #expect(paths(BGPConfigurationSpec(ignoredInterfaces: ["eth*", "*", "an-interface-name-too-long", "eth*"]))
            == ["spec.ignoredInterfaces[1]", "spec.ignoredInterfaces[2]", "spec.ignoredInterfaces[3]"])
        #expect(paths(BGPConfigurationSpec(localWorkloadPeeringIPV4: "169.254.0.179", localWorkloadPeeringIPV6: "fe80::179")).isEmpty)
        #expect(paths(BGPConfigurationSpec(localWorkloadPeeringIPV4: "fe80::1", localWorkloadPeeringIPV6: "10.0.0.1"))
            == ["spec.localWorkloadPeeringIPV4", "spec.localWorkloadPeeringIPV6"])
        #expect(paths(BGPConfigurationSpec(ipv4NormalRoutePriority: 0, ipv6NormalRoutePriority: 1024)) == ["spec.ipv4NormalRoutePriority"])
    }

    @Test func fieldsOnlyForDefault() {
        let spec = BGPConfigurationSpec(
            nodeToNodeMeshEnabled: false, asNumber: 65000, serviceClusterIPs: [.init(cidr: "10.96.0.0/12")], listenPort: 1179)
        #expect(paths(spec).isEmpty)
        #expect(paths(spec, name: "node.worker-1") == ["spec.nodeToNodeMeshEnabled", "spec.asNumber", "spec.serviceClusterIPs"])
        #expect(paths(BGPConfigurationSpec(logSeverityScreen: "Debug", listenPort: 1179), name: "node.worker-1").isEmpty)
    }
}
