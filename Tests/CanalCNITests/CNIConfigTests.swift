import CanalCNI
import CanalModel
import PropertyBased
import Testing

@Suite struct CNIInvocationTests {
    let base = ["CNI_COMMAND": "ADD", "CNI_CONTAINERID": "abc", "CNI_NETNS": "/var/run/netns/x", "CNI_IFNAME": "eth0", "CNI_PATH": "/opt/cni/bin:/usr/lib/cni"]

    @Test func readsTheEnvironment() throws {
        var env = base
        env["CNI_ARGS"] = "IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p"
        let i = try CNIInvocation(environment: env)
        #expect(i.command == .add)
        #expect(i.path == ["/opt/cni/bin", "/usr/lib/cni"])
        #expect(i.arg("K8S_POD_NAME") == "p")
        #expect(i.arg("missing") == nil)
    }

    @Test(arguments: [("ADD", "CNI_NETNS"), ("CHECK", "CNI_NETNS"), ("DEL", "CNI_IFNAME"), ("ADD", "CNI_PATH")])
    func missingVariablesAreCode4(command: String, missing: String) {
        var env = base
        env["CNI_COMMAND"] = command
        env[missing] = nil
        #expect(throws: CNIError.invalidEnvironment("required env variables [\(missing)] missing")) { try CNIInvocation(environment: env) }
    }

    @Test func delNeedsNoNetnsAndVersionNeedsNothing() throws {
        var env = base
        env["CNI_COMMAND"] = "DEL"
        env["CNI_NETNS"] = nil
        #expect(try CNIInvocation(environment: env).netns == "")
        #expect(try CNIInvocation(environment: ["CNI_COMMAND": "VERSION"]).command == .version)
    }

    @Test func requestedAddresses() throws {
        func requested(_ args: String) throws(CNIError) -> [String] {
            var env = base
            env["CNI_ARGS"] = args
            return try CNIInvocation(environment: env).requestedAddresses().map(\.description)
        }
        #expect(try requested("IgnoreUnknown=1;K8S_POD_NAME=p") == [])
        #expect(try requested("IgnoreUnknown=1;IP=198.18.0.7") == ["198.18.0.7"])
        #expect(try requested("IP=fd00:198:18::7") == ["fd00:198:18::7"])
        #expect(try requested("IP=198.18.0.7,fd00::7") == ["198.18.0.7", "fd00::7"])
        for bad in ["IP=198.18.0.300", "IP=198.18.0.7/32", "IP=198.18.0.7,198.18.0.8", "IP=198.18.0.7,", "IP=fd00::1,fd00::2"] {
            #expect(throws: CNIError.self, "\(bad)") { try requested(bad) }
            do { _ = try requested(bad) } catch { #expect(error.code == 4) }
        }
    }

    @Test func badValuesAreCode4() {
        for (key, value) in [("CNI_COMMAND", "FROB"), ("CNI_CONTAINERID", "-bad"), ("CNI_IFNAME", "a/b"), ("CNI_IFNAME", "sixteen-chars-xx"), ("CNI_ARGS", "novalue")] {
            var env = base
            env[key] = value
            #expect(throws: CNIError.self) { try CNIInvocation(environment: env) }
            do { _ = try CNIInvocation(environment: env) } catch { #expect(error.code == 4) }
        }
    }
}

@Suite struct NetworkConfigTests {
    func config(_ text: String) throws(CNIError) -> NetworkConfig { try NetworkConfig(json: Array(text.utf8)) }

    @Test func calicoFields() throws {
        let c = try config("""
            {"cniVersion":"0.4.0","name":"k8s-pod-network","type":"calico","etcd_endpoints":"http://127.0.0.1:2379",
             "nodename":"n1","mtu":1440,"log_level":"debug","policy":{"type":"k8s"},"include_default_routes":true,
             "container_settings":{"allow_ip_forwarding":true},
             "ipam":{"type":"canal-ipam","assign_ipv4":"false","assign_ipv6":"true","ipv6_pools":["fd00::/48"],"routes":[{"dst":"10.0.0.0/8"}]}}
            """)
        #expect(c.version.description == "0.4.0")
        #expect(c.nodename == "n1" && c.mtu == 1440 && c.policyType == "k8s" && c.includeDefaultRoutes && c.allowIPForwarding)
        #expect(!c.assignIPv4 && c.assignIPv6)
        #expect(c.ipv6Pools == [CIDR("fd00::/48")!])
        #expect(c.ipamRoutes == [CIDR("10.0.0.0/8")!])
        #expect(c.etcdEndpoints == "http://127.0.0.1:2379")
    }

    @Test func defaults() throws {
        let c = try config(#"{"name":"n","type":"canal-cni","ipam":{"type":"host-local"},"hostname":"h"}"#)
        #expect(c.version.description == "0.2.0")
        #expect(c.nodename == "h")
        #expect(c.assignIPv4 && !c.assignIPv6)
        #expect(c.nodenameFile == "/var/lib/calico/nodename")
    }

    @Test(arguments: [
        ("not json", 6), ("[1]", 6), (#"{"name":5,"type":"x","ipam":{"type":"y"}}"#, 6),
        (#"{"cniVersion":"9.9.9","name":"n","type":"x","ipam":{"type":"y"}}"#, 1),
        (#"{"cniVersion":"1.0.0","type":"x","ipam":{"type":"y"}}"#, 7),
        (#"{"cniVersion":"1.0.0","name":"n","type":"x"}"#, 7),
        (#"{"cniVersion":"1.0.0","name":"n","type":"x","ipam":{"type":"y","ipv4_pools":["nope"]}}"#, 7),
        (#"{"cniVersion":"1.0.0","name":"n","type":"x","ipam":{"type":"y"},"datastore_type":"kubernetes"}"#, 2),
        (#"{"cniVersion":"1.0.0","name":"n","type":"x","ipam":{"type":"y"},"feature_control":{"floating_ips":true}}"#, 2),
    ])
    func errorCodes(text: String, code: Int) {
        do {
            _ = try config(text)
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.code == code, "\(error)")
        }
    }
}

@Suite struct CNIResultTests {
    @Test func readsHostLocalAndWritesEachVersion() throws {
        let hostLocal = try JSONValue(parsing: #"{"cniVersion":"0.4.0","ips":[{"version":"4","address":"198.18.1.2/24","gateway":"198.18.1.1"}],"routes":[{"dst":"198.18.0.0/16"}],"dns":{}}"#)
        let r = try CNIResult(json: hostLocal)
        #expect(r.ips == [.init(address: CIDR("198.18.1.2/24")!, gateway: IPAddress("198.18.1.1"))])
        #expect(r.routes == [.init(dst: CIDR("198.18.0.0/16")!)])
        #expect(r.json(cniVersion: "1.0.0", version: CNIVersion("1.0.0")!).jsonText
            == #"{"cniVersion":"1.0.0","ips":[{"address":"198.18.1.2/24","gateway":"198.18.1.1"}],"routes":[{"dst":"198.18.0.0/16"}],"dns":{}}"#)
        #expect(r.json(cniVersion: "0.3.1", version: CNIVersion("0.3.1")!).jsonText.contains(#""version":"4""#))
        #expect(r.json(cniVersion: "0.2.0", version: CNIVersion("0.2.0")!).jsonText
            == #"{"cniVersion":"0.2.0","ip4":{"ip":"198.18.1.2/24","gateway":"198.18.1.1","routes":[{"dst":"198.18.0.0/16"}]},"dns":{}}"#)
        // And back: the 0.2.0 shape reads to the same addresses and routes.
        let old = try CNIResult(json: r.json(cniVersion: "0.2.0", version: CNIVersion("0.2.0")!))
        #expect(old.ips == r.ips && old.routes == r.routes)
    }

    @Test func errorJSON() throws {
        let e = CNIError.unknownContainer("gone", details: "netns")
        #expect(e.json(cniVersion: nil).jsonText == #"{"code":3,"msg":"gone","details":"netns"}"#)
        #expect(CNIError(json: e.json(cniVersion: "1.0.0")) == e)
    }
}

@Suite struct WorkloadIdentityTests {
    func identity(args: String, container: String = "abcdef0123456789", ifName: String = "eth0", node: String = "node1") throws -> WorkloadIdentity {
        let i = try CNIInvocation(environment: ["CNI_COMMAND": "DEL", "CNI_CONTAINERID": container, "CNI_IFNAME": ifName, "CNI_PATH": "/x", "CNI_ARGS": args])
        return WorkloadIdentity(invocation: i, network: "k8s-pod-network", node: node)
    }

    @Test func kubernetesNames() throws {
        let id = try identity(args: "K8S_POD_NAMESPACE=default;K8S_POD_NAME=nginx")
        #expect(id.orchestrator == "k8s")
        // Calico's documented example: default/nginx → calic440f455693.
        #expect(id.hostInterfaceName() == "calic440f455693")
        #expect(try identity(args: "K8S_POD_NAMESPACE=default;K8S_POD_NAME=my-pod").endpointName() == "node1-k8s-my--pod-eth0")
        #expect(id.ipamHandle == "k8s-pod-network.abcdef0123456789")
        #expect(id.legacyIPAMHandle == "default.nginx")
        #expect(id.profiles(policyType: "k8s") == ["kns.default"])
        #expect(id.profiles(policyType: "") == ["k8s-pod-network"])
        #expect(id.ipamAttributes(timestamp: "t") == ["node": "node1", "timestamp": "t", "namespace": "default", "pod": "nginx"])
    }

    @Test func cniNames() throws {
        let id = try identity(args: "IgnoreUnknown=1")
        #expect(id.orchestrator == "cni" && id.namespace == "default")
        #expect(id.hostInterfaceName() == "caliabcdef01234")
        #expect(try id.endpointName() == "node1-cni-abcdef0123456789-eth0")
        #expect(id.legacyIPAMHandle == "abcdef0123456789")
        let wep = try id.workloadEndpoint(addresses: [IPAddress("10.0.0.5")!, IPAddress("fd00::5")!], interfaceName: "caliabcdef01234",
                                          mac: "02:00:00:00:00:01", profiles: ["k8s-pod-network"])
        #expect(wep.spec.ipNetworks == ["10.0.0.5/32", "fd00::5/128"])
        #expect(wep.metadata.labels == ["projectcalico.org/namespace": "default", "projectcalico.org/orchestrator": "cni"])
        #expect(wep.validationErrors().isEmpty)
        #expect(id.networkProfile().spec.ingress?.first?.source.selector == "has(k8s-pod-network)")
    }

    @Test func unusableNameIsCode7() throws {
        #expect(throws: CNIError.self) { try identity(args: "", node: "bad-").endpointName() }
    }

    @Test func hostNamesAreValidInterfaceNames() async {
        await propertyCheck(input: Gen.letterOrNumber.string(of: 1...40), Gen.letterOrNumber.string(of: 1...40)) { ns, pod in
            let i = try? CNIInvocation(environment: ["CNI_COMMAND": "DEL", "CNI_CONTAINERID": "c", "CNI_IFNAME": "eth0", "CNI_PATH": "/x",
                                                     "CNI_ARGS": "K8S_POD_NAMESPACE=\(ns);K8S_POD_NAME=\(pod)"])
            guard let i else { Issue.record("invocation"); return }
            let name = WorkloadIdentity(invocation: i, network: "n", node: "x").hostInterfaceName()
            #expect(name.count == 15 && name.hasPrefix("cali") && name.dropFirst(4).allSatisfy(\.isHexDigit))
        }
    }

    @Test func routeRule() {
        let flannel = [CIDR("10.244.0.0/16")!]
        #expect(containerRoutes(orchestrator: "k8s", families: [.v4], ipamRoutes: flannel, includeDefaultRoutes: false) == flannel)
        #expect(containerRoutes(orchestrator: "k8s", families: [.v4], ipamRoutes: flannel, includeDefaultRoutes: true) == flannel + [CIDR("0.0.0.0/0")!])
        #expect(containerRoutes(orchestrator: "cni", families: [.v4, .v6], ipamRoutes: flannel, includeDefaultRoutes: false) == [CIDR("0.0.0.0/0")!, CIDR("::/0")!])
    }
}
