import CanalCNI
import CanalModel
import Testing

@Suite struct FlannelDelegationTests {
    static let v4 = "FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n"

    static func conf(_ json: String) throws -> FlannelNetConf { try FlannelNetConf(json: Array(json.utf8)) }

    @Test func subnetFileAsFlannelReadsIt() throws {
        let env = try FlannelSubnetFile(text: Self.v4 + "OTHER=x\nnot a line\n", path: "subnet.env")
        #expect(env.networks == [CIDR("10.1.0.0/16")!])
        #expect(env.subnet == CIDR("10.1.17.0/24"), "masked, as net.ParseCIDR gives it")
        #expect(env.mtu == 1472)
        #expect(env.ipMasquerade)
        #expect(env.ipv6Subnet == nil)
    }

    @Test func missingKeysAreNamed() {
        #expect(throws: CNIError.invalidConfig("s.env is missing FLANNEL_SUBNET, FLANNEL_IPV6_SUBNET, FLANNEL_IPMASQ",
                                               details: "flanneld writes it when it holds a lease")) {
            try FlannelSubnetFile(text: "FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_MTU=1450\n", path: "s.env")
        }
        #expect(throws: CNIError.self) { try FlannelSubnetFile(text: "FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=banana\n", path: "s") }
        #expect(throws: CNIError.self) { try FlannelSubnetFile(text: "FLANNEL_SUBNET=fd00::/64\n", path: "s") }
    }

    @Test func defaultDelegateIsCanalCNIWithHostLocal() throws {
        let c = try Self.conf(#"{"cniVersion":"1.0.0","name":"canal","type":"canal-flannel"}"#)
        #expect(c.subnetFile == "/run/flannel/subnet.env")
        #expect(c.dataDirectory == "/var/lib/cni/flannel")
        let d = JSONValue.object(c.delegateConfig(subnets: try FlannelSubnetFile(text: Self.v4, path: "s")))
        #expect(d.jsonText == #"{"name":"canal","type":"canal-cni","ipMasq":false,"mtu":1472,"cniVersion":"1.0.0","ipam":{"type":"host-local","ranges":[[{"subnet":"10.1.17.0/24"}]],"routes":[{"dst":"10.1.0.0/16"}]}}"#)
    }

    @Test func delegateKeepsWhatTheUserSetAndBridgeIsAGateway() throws {
        let c = try Self.conf(#"""
            {"cniVersion":"0.4.0","name":"n","type":"canal-flannel","subnetFile":"/tmp/s.env","dataDir":"/tmp/d",
             "delegate":{"type":"bridge","mtu":1400,"ipMasq":true,"bridge":"cni9"},
             "ipam":{"dataDir":"/tmp/hl","routes":[{"dst":"0.0.0.0/0"}]},"runtimeConfig":{"portMappings":[]}}
            """#)
        #expect(c.subnetFile == "/tmp/s.env")
        #expect(c.dataDirectory == "/tmp/d")
        let d = c.delegateConfig(subnets: try FlannelSubnetFile(text: "FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=false\n", path: "s"))
        #expect(d["type"] == .string("bridge"))
        #expect(d["mtu"] == .number("1400"))
        #expect(d["ipMasq"] == .bool(true))
        #expect(d["isGateway"] == .bool(true))
        #expect(d["bridge"] == .string("cni9"))
        #expect(d["runtimeConfig"]?.jsonText == #"{"portMappings":[]}"#)
        #expect(d["ipam"]?.jsonText == #"{"dataDir":"/tmp/hl","routes":[{"dst":"0.0.0.0/0"},{"dst":"10.1.0.0/16"}],"type":"host-local","ranges":[[{"subnet":"10.1.17.0/24"}]]}"#)
    }

    @Test func dualStackHasARangeAndRoutesPerFamily() throws {
        let text = "FLANNEL_NETWORK=10.1.0.0/16,10.9.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24\nFLANNEL_IPV6_NETWORK=fd00:10::/56\n"
            + "FLANNEL_IPV6_SUBNET=fd00:10:0:11::1/64\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n"
        let d = try Self.conf(#"{"cniVersion":"1.0.0","name":"n"}"#).delegateConfig(subnets: try FlannelSubnetFile(text: text, path: "s"))
        #expect(d["ipam"]?["ranges"]?.jsonText == #"[[{"subnet":"10.1.17.0/24"}],[{"subnet":"fd00:10:0:11::/64"}]]"#)
        #expect(d["ipam"]?["routes"]?.jsonText == #"[{"dst":"10.1.0.0/16"},{"dst":"10.9.0.0/16"},{"dst":"fd00:10::/56"}]"#)
        // IPv6 only.
        let v6 = try FlannelSubnetFile(text: "FLANNEL_IPV6_NETWORK=fd00:10::/56\nFLANNEL_IPV6_SUBNET=fd00:10:0:11::1/64\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n", path: "s")
        #expect(v6.subnet == nil && v6.networks.isEmpty)
    }

    @Test(arguments: [
        (#"{"cniVersion":"1.0.0","name":"n","delegate":{"name":"x"}}"#, 7),
        (#"{"cniVersion":"1.0.0","name":"n","delegate":{"ipam":{}}}"#, 7),
        (#"{"cniVersion":"1.0.0","name":"n","delegate":{"type":3}}"#, 6),
        (#"{"cniVersion":"1.0.0","name":"n","delegate":"canal-cni"}"#, 6),
        (#"{"cniVersion":"1.0.0","name":"n","subnetFile":7}"#, 6),
        (#"{"cniVersion":"1.0.0","name":"n","delegate":{"type":"../x"}}"#, 7),
        (#"{"cniVersion":"1.0.0"}"#, 7),
        (#"{"cniVersion":"9.9.9","name":"n"}"#, 1),
        (#"[1]"#, 6),
    ])
    func badConfigsHaveTheSpecsCode(json: String, code: Int) {
        #expect { try Self.conf(json) } throws: { ($0 as? CNIError)?.code == code }
    }
}
