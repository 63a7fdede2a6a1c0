import CanalModel
import Testing

@Suite struct NodeTests {
    let example = """
    {"apiVersion":"projectcalico.org/v3","kind":"Node","metadata":{"name":"node-hostname","labels":{"kubernetes.io/hostname":"node-hostname"}},
     "spec":{"bgp":{"asNumber":64512,"ipv4Address":"10.244.0.1/24","ipv6Address":"2001:db8:85a3::8a2e:370:7334/120","ipv4IPIPTunnelAddr":"192.168.0.1"},
             "ipv4VXLANTunnelAddr":"192.168.0.65","vxlanTunnelMACAddr":"66:c4:5f:a1:02:3b",
             "orchRefs":[{"nodeName":"node-hostname","orchestrator":"k8s"}],
             "addresses":[{"address":"10.244.0.1","type":"CalicoNodeIP"},{"address":"10.244.0.0/24","type":"InternalIP"}],
             "wireguard":{"interfaceIPv4Address":"192.168.0.129"}},
     "status":{"podCIDRs":["192.168.0.0/24"]}}
    """

    private func paths(_ spec: NodeSpec) -> [String] { InfraFixtures.errorPaths(InfraFixtures.make("node1", spec)) }

    @Test func decodesNode() throws {
        let n = try InfraFixtures.decode(example, as: NodeSpec.self)
        #expect(n.spec.bgp?.asNumber == 64512)
        #expect(n.spec.ipv4Network == CIDR("10.244.0.1/24"))
        #expect(n.spec.orchRefs == [.init(nodeName: "node-hostname", orchestrator: "k8s")])
        #expect(n.spec.addresses[0].type == .calicoNodeIP)
        #expect(n.status?["podCIDRs"] != nil)
        #expect(n.validationErrors().isEmpty)
        #expect(try InfraFixtures.roundTrips(n))
    }

    @Test func unknownFieldsAndEnums() {
        #expect(InfraFixtures.schemaErrorPaths(#"{"apiVersion":"projectcalico.org/v3","kind":"Node","metadata":{"name":"n"},"spec":{"bgp":{"ipv4Addr":"10.0.0.1/24"}}}"#) == ["spec.bgp.ipv4Addr"])
        #expect(InfraFixtures.schemaErrorPaths(#"{"apiVersion":"projectcalico.org/v3","kind":"Node","metadata":{"name":"n"},"spec":{"addresses":[{"address":"10.0.0.1","type":"PublicIP"}]}}"#) == ["spec.addresses[0].type"])
    }

    @Test func bgpRules() {
        #expect(paths(NodeSpec(bgp: .init())) == ["spec.bgp"])
        #expect(paths(NodeSpec(bgp: .init(ipv4Address: "10.0.0.5"))).isEmpty)
        #expect(paths(NodeSpec(bgp: .init(ipv4Address: "fd00::1/64", ipv6Address: "10.0.0.1/24"))) == ["spec.bgp.ipv4Address", "spec.bgp.ipv6Address"])
        #expect(paths(NodeSpec(bgp: .init(ipv4Address: "10.0.0.5/33"))) == ["spec.bgp.ipv4Address"])
        #expect(paths(NodeSpec(bgp: .init(ipv4IPIPTunnelAddr: "10.0.0.1/32"))) == ["spec.bgp.ipv4IPIPTunnelAddr"])
        #expect(paths(NodeSpec(bgp: .init(routeReflectorClusterID: "224.0.0.1"))).isEmpty)
        #expect(paths(NodeSpec(bgp: .init(routeReflectorClusterID: "fd00::1"))) == ["spec.bgp.routeReflectorClusterID"])
    }

    @Test func tunnelAndAddressRules() {
        #expect(paths(NodeSpec(ipv4VXLANTunnelAddr: "fd00::1", ipv6VXLANTunnelAddr: "10.0.0.1")) == ["spec.ipv4VXLANTunnelAddr", "spec.ipv6VXLANTunnelAddr"])
        #expect(paths(NodeSpec(wireguard: .init(interfaceIPv4Address: "fd00::1", interfaceIPv6Address: "fd00::2")))
            == ["spec.wireguard.interfaceIPv4Address"])
        #expect(paths(NodeSpec(addresses: [.init(address: "10.0.0.5/24"), .init(address: ""), .init(address: "fd00::/64")]))
            == ["spec.addresses[0].address", "spec.addresses[1].address"])
        #expect(paths(NodeSpec(interfaces: [.init(name: "eth0", addresses: ["10.0.0.1"]), .init(name: "Bad_If")])) == ["spec.interfaces[1].name"])
    }

    @Test("MAC addresses", arguments: [
        ("66:c4:5f:a1:02:3b", true), ("66-C4-5F-A1-02-3B", true), ("66c4.5fa1.023b", true), ("00:00:5e:00:53:01:02:03", true),
        ("66:c4:5f:a1:02", false), ("66:c4:5f:a1:02:3g", false), ("66:c4-5f:a1:02:3b", false), ("66c45fa1023b", false),
    ])
    func macAddresses(_ mac: String, _ valid: Bool) {
        #expect(paths(NodeSpec(vxlanTunnelMACAddr: mac)) == (valid ? [] : ["spec.vxlanTunnelMACAddr"]))
    }
}
