import CanalDatastore
import CanalIPAM
import CanalModel
import CanalTesting
import Foundation
import Testing

/// canal-flannel, the shipped flannel CNI plugin, delegating to canal-cni: dual stack from a
/// subnet.env with IPv6 fields, and bad input answered with the spec's codes, nothing leaked.
extension CanalCNIPluginTests {
    static let dualStackSubnetEnv = """
        FLANNEL_NETWORK=198.19.0.0/16
        FLANNEL_SUBNET=198.19.7.1/24
        FLANNEL_IPV6_NETWORK=fd00:198:19::/48
        FLANNEL_IPV6_SUBNET=fd00:198:19:7::1/64
        FLANNEL_MTU=1400
        FLANNEL_IPMASQ=true

        """

    /// The addresses host-local holds in `dir/<network>` (its files named by address).
    static func hostLocalAddresses(_ dir: String, network: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir + "/" + network)) ?? [])
            .filter { IPAddress($0) != nil }
    }

    /// Two containers under canal-flannel with a dual-stack subnet.env: each gets an IPv4 and an
    /// IPv6 address from host-local in the host's subnets, routes to both flannel networks, and
    /// they reach each other over both families; DEL releases both and removes the kept config.
    @Test(.timeLimit(.minutes(2))) func flannelDualStack() async throws {
        guard try Self.requirePrerequisites() else { return }
        try await EtcdServer.withEtcdServer { server in
            let etcd = server.endpoint
            let store = EtcdKeyValueStore(configuration: server.configuration())
            let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("canal-flannel-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: scratch) }
            let subnetFile = scratch.appendingPathComponent("subnet.env").path, data = scratch.appendingPathComponent("flannel").path
            let hostLocal = scratch.appendingPathComponent("host-local").path
            try Self.dualStackSubnetEnv.write(toFile: subnetFile, atomically: true, encoding: .utf8)
            let config = """
                {"cniVersion":"1.0.0","name":"flannel6","type":"canal-flannel","subnetFile":"\(subnetFile)","dataDir":"\(data)",
                 "delegate":{"etcd_endpoints":"\(etcd)","nodename":"node-1","include_default_routes":true},
                 "ipam":{"dataDir":"\(hostLocal)"}}
                """
            try await NetnsNode.withNode(test: "flannel-v6") { node in
                try node.forwardLoopbackPort(Int(etcd.split(separator: ":").last!)!)
                let ns1 = try node.addContainer("c1"), ns2 = try node.addContainer("c2")
                // Pods (k8s): the container's routes are the IPAM routes (the flannel networks) and the defaults.
                let args1 = "IgnoreUnknown=1;K8S_POD_NAMESPACE=flannel;K8S_POD_NAME=web"
                let add1 = try Call(node: node, command: "ADD", containerID: "fl6c1aaaaaaa", netns: ns1, args: args1, config: config,
                                    plugin: "canal-flannel").run()
                #expect(add1.status == 0, "\(add1.stdout) \(add1.stderr)")
                let add2 = try Call(node: node, command: "ADD", containerID: "fl6c2bbbbbbb", netns: ns2, config: config, plugin: "canal-flannel").run()
                #expect(add2.status == 0, "\(add2.stdout) \(add2.stderr)")
                let a1 = Self.addresses(add1.json), a2 = Self.addresses(add2.json)
                #expect(a1 == ["198.19.7.2", "fd00:198:19:7::2"], "\(add1.stdout)")
                #expect(a2 == ["198.19.7.3", "fd00:198:19:7::3"], "\(add2.stdout)")
                let saved = try JSONValue(parsing: Array(try String(contentsOfFile: data + "/fl6c1aaaaaaa", encoding: .utf8).utf8))
                #expect(saved["ipam"]?["ranges"]?.jsonText == #"[[{"subnet":"198.19.7.0/24"}],[{"subnet":"fd00:198:19:7::/64"}]]"#)
                #expect(saved["mtu"] == .number("1400"))
                #expect(saved["ipMasq"] == .bool(false), "flanneld masquerades (FLANNEL_IPMASQ=true), so the delegate does not")

                let routes6 = try node.exec(inContainer: ns1, ["ip", "-6", "route", "show", "dev", "eth0"])
                #expect(routes6.contains("fd00:198:19::/48 via fe80::ecee:eeff:feee:eeee"), "\(routes6)")
                #expect(try node.exec(inContainer: ns1, ["ip", "route"]).contains("198.19.0.0/16 via 169.254.1.1 dev eth0"))
                #expect(try node.exec(inContainer: ns1, ["ip", "-o", "link", "show", "dev", "eth0"]).contains("mtu 1400"))
                #expect(await NetnsFabric.eventually(10) { Self.ping6(node, from: ns1, "fd00:198:19:7::3") })
                #expect(Self.ping6(node, from: ns2, "fd00:198:19:7::2"))
                #expect(Self.ping(node, from: ns1, "198.19.7.3"))
                let wep = try JSONValue(parsing: try #require(try await store.get(Array(
                    "/calico/resources/v3/projectcalico.org/workloadendpoints/flannel/node--1-k8s-web-eth0".utf8))).value)
                #expect(wep["spec"]?["ipNetworks"] == .array([.string("198.19.7.2/32"), .string("fd00:198:19:7::2/128")]))

                for (cid, ns, args) in [("fl6c1aaaaaaa", ns1, args1), ("fl6c2bbbbbbb", ns2, "")] {
                    let del = try Call(node: node, command: "DEL", containerID: cid, netns: ns, args: args, config: config, plugin: "canal-flannel").run()
                    #expect(del.status == 0, "\(del.stdout) \(del.stderr)")
                }
                #expect(Self.hostLocalAddresses(hostLocal, network: "flannel6").isEmpty)
                #expect(((try? FileManager.default.contentsOfDirectory(atPath: data)) ?? []).isEmpty)
                #expect(try await Self.keys(store, "/calico/resources/v3/projectcalico.org/workloadendpoints/").isEmpty)
                #expect(try Self.caliLinks(node).isEmpty)
                // DEL without a kept config (never added, or already deleted) succeeds.
                let again = try Call(node: node, command: "DEL", containerID: "fl6c1aaaaaaa", netns: ns1, config: config, plugin: "canal-flannel").run()
                #expect(again.status == 0, "\(again.stdout)")
            }
        }
    }

    /// A missing subnet.env (11), a delegate type that is not installed (7), a malformed
    /// subnet.env (7), a delegate whose etcd is unreachable (11): no veth, no host-local address,
    /// no endpoint, and no kept config where the delegate never ran.
    @Test(.timeLimit(.minutes(2))) func flannelBadInputLeavesNothing() async throws {
        guard try Self.requirePrerequisites() else { return }
        try await EtcdServer.withEtcdServer { server in
            let etcd = server.endpoint
            let store = EtcdKeyValueStore(configuration: server.configuration())
            let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("canal-flannel-bad-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: scratch) }
            let subnetFile = scratch.appendingPathComponent("subnet.env").path, data = scratch.appendingPathComponent("flannel").path
            let hostLocal = scratch.appendingPathComponent("host-local").path
            func config(delegate: String = #""etcd_endpoints":"\#(etcd)","nodename":"node-1""#) -> String {
                """
                {"cniVersion":"1.0.0","name":"flbad","type":"canal-flannel","subnetFile":"\(subnetFile)","dataDir":"\(data)",
                 "delegate":{\(delegate)},"ipam":{"dataDir":"\(hostLocal)"}}
                """
            }
            try await NetnsNode.withNode(test: "flannel-bad") { node in
                try node.forwardLoopbackPort(Int(etcd.split(separator: ":").last!)!)
                let ns = try node.addContainer("c1")
                func add(_ config: String) throws -> (Int32, JSONValue?, String) {
                    let r = try Call(node: node, command: "ADD", containerID: "flbad0000001", netns: ns, config: config, plugin: "canal-flannel").run()
                    return (r.status, r.json, r.stdout + r.stderr)
                }
                func nothingLeft(keptConfig: Bool = false) async throws {
                    #expect(try Self.caliLinks(node).isEmpty)
                    #expect(Self.hostLocalAddresses(hostLocal, network: "flbad").isEmpty)
                    #expect(try await Self.keys(store, "/calico/resources/v3/projectcalico.org/workloadendpoints/").isEmpty)
                    #expect(FileManager.default.fileExists(atPath: data + "/flbad0000001") == keptConfig)
                }
                // No subnet.env yet: flanneld has no lease, try again later.
                let (s1, e1, o1) = try add(config())
                #expect(s1 != 0 && e1?["code"] == .number("11"), "\(o1)")
                #expect(e1?["msg"]?.stringValue?.contains("subnet.env") == true)
                try await nothingLeft()
                // A subnet.env without a subnet: invalid (7), naming the keys.
                try "FLANNEL_NETWORK=198.19.0.0/16\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n".write(toFile: subnetFile, atomically: true, encoding: .utf8)
                let (s2, e2, o2) = try add(config())
                #expect(s2 != 0 && e2?["code"] == .number("7"), "\(o2)")
                #expect(e2?["msg"]?.stringValue?.contains("FLANNEL_SUBNET") == true)
                try await nothingLeft()
                // A delegate that is not installed: 7, the plugin named.
                try FlannelSubnetEnvironment(network: CIDR("198.19.0.0/16")!, subnet: CIDR("198.19.8.0/24")!, mtu: 1450, ipMasquerade: false)
                    .write(to: subnetFile)
                let (s3, e3, o3) = try add(config(delegate: #""type":"no-such-plugin""#))
                #expect(s3 != 0 && e3?["code"] == .number("7"), "\(o3)")
                #expect(e3?["msg"]?.stringValue?.contains("no-such-plugin") == true)
                try await nothingLeft()
                // The delegate's etcd is unreachable: canal-cni's 11 comes through; its rollback DEL
                // cannot reach etcd either, so the config stays for the runtime's DEL.
                let (s4, e4, o4) = try add(config(delegate: #""etcd_endpoints":"http://127.0.0.1:9","nodename":"node-1""#))
                #expect(s4 != 0 && e4?["code"] == .number("11"), "\(o4)")
                try await nothingLeft(keptConfig: true)
                // A wrong type for a field: 6.
                let (s5, e5, o5) = try add(#"{"cniVersion":"1.0.0","name":"flbad","type":"canal-flannel","delegate":"canal-cni"}"#)
                #expect(s5 != 0 && e5?["code"] == .number("6"), "\(o5)")
                // With etcd back in the config, the working ADD still succeeds and DEL cleans everything.
                let (s6, _, o6) = try add(config())
                #expect(s6 == 0, "\(o6)")
                let del = try Call(node: node, command: "DEL", containerID: "flbad0000001", netns: ns, config: config(), plugin: "canal-flannel").run()
                #expect(del.status == 0, "\(del.stdout)")
                try await nothingLeft()
            }
        }
    }
}
