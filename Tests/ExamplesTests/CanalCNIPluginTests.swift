import CanalDatastore
import CanalIPAM
import CanalModel
import CanalTesting
import CanalToolSupport
import Foundation
import Testing

/// canal-cni run as a runtime runs it: a built executable in the host's namespace, the config on
/// stdin, `CNI_*` in the environment; real namespaces, real etcd, Debian's host-local.
@Suite(.serialized, .enabled(if: KernelTestGate.shouldRun, "needs root (runs as root or when CI=true)"))
struct CanalCNIPluginTests {
    static let hostLocal = "/usr/lib/cni/host-local"

    /// One canal-cni call in `node`'s namespace.
    struct Call {
        var node: NetnsNode
        var command: String
        var containerID: String
        var netns: String
        var ifName = "eth0"
        var args = ""
        var config: String
        var removing: [String] = []
        /// The plugin to run: canal-cni, or canal-flannel delegating to it.
        var plugin = "canal-cni"

        func run() throws -> (status: Int32, json: JSONValue?, stdout: String, stderr: String) {
            // Debian's plugins, then the built ones (canal-flannel finds its delegate canal-cni there).
            var env = ["CNI_COMMAND": command, "CNI_CONTAINERID": containerID, "CNI_NETNS": netns, "CNI_IFNAME": ifName,
                       "CNI_PATH": "/usr/lib/cni:" + ToolRunner.binDirectory.path, "CNI_ARGS": args]
            for k in removing { env[k] = nil }
            let out = try ToolRunner.run(plugin, [], stdin: config, environment: env,
                                         launcher: ["ip", "netns", "exec", node.namespace], removing: removing + ["DATASTORE_TYPE", "ETCD_ENDPOINTS"])
            return (out.status, try? JSONValue(parsing: out.stdout), out.stdout, out.stderr)
        }
    }

    static func requirePrerequisites() throws -> Bool {
        if FileManager.default.isExecutableFile(atPath: hostLocal) { return true }
        if KernelTestGate.isCI { throw ToolRunnerError(description: "\(hostLocal) is missing (containernetworking-plugins)") }
        return false
    }

    static func createPool(_ etcd: String, cidr: String) throws {
        let pool = "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: pool}\nspec: {cidr: \(cidr), blockSize: 26}\n"
        let out = try ToolRunner.run("canalctl", ["create", "-f", "-"], stdin: pool, environment: ["DATASTORE_TYPE": "etcdv3", "ETCD_ENDPOINTS": etcd])
        #expect(out.status == 0, "\(out.stderr)")
    }

    /// Keys under `prefix` in etcd.
    static func keys(_ store: EtcdKeyValueStore, _ prefix: String) async throws -> [String] {
        try await store.list(prefix: Array(prefix.utf8)).items.map { String(decoding: $0.key, as: UTF8.self) }
    }

    /// Links in the node whose names start with `cali`.
    static func caliLinks(_ node: NetnsNode) throws -> [String] {
        try node.exec(["ip", "-o", "link", "show"]).split(separator: "\n").compactMap { line in
            let name = line.split(separator: ":").dropFirst().first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            let base = String(name.split(separator: "@").first ?? "")
            return base.hasPrefix("cali") ? base : nil
        }
    }

    static func ping(_ node: NetnsNode, from netns: String, _ address: String) -> Bool {
        (try? node.exec(inContainer: netns, ["ping", "-n", "-q", "-c1", "-W2", address])) != nil
    }

    static func address(_ result: JSONValue?) -> String? {
        guard case .array(let ips)? = result?["ips"], let first = ips.first?["address"]?.stringValue else { return nil }
        return String(first.split(separator: "/").first ?? "")
    }

    @Test func twoContainersCanalIPAMAndFlannelHostLocal() async throws {
        guard try Self.requirePrerequisites() else { return }
        try await EtcdServer.withEtcdServer { server in
            let etcd = server.endpoint
            try Self.createPool(etcd, cidr: "198.18.64.0/20")
            let store = EtcdKeyValueStore(configuration: server.configuration())
            let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("canal-cni-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: scratch) }
            try await NetnsNode.withNode(test: "cni-two") { node in
                try node.forwardLoopbackPort(Int(etcd.split(separator: ":").last!)!)
                let ns1 = try node.addContainer("c1"), ns2 = try node.addContainer("c2")
                // Container 1: canal-ipam.
                let config1 = """
                    {"cniVersion":"1.0.0","name":"k8s-pod-network","type":"canal-cni","etcd_endpoints":"\(etcd)",
                     "nodename":"node-1","mtu":1440,"log_level":"debug","log_file_path":"\(scratch.path)/cni.log",
                     "ipam":{"type":"canal-ipam","assign_ipv4":"true"},"policy":{"type":"k8s"}}
                    """
                let args1 = "IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web-1;K8S_POD_INFRA_CONTAINER_ID=c1aaaaaaaaaaaaaa"
                let cid1 = "c1aaaaaaaaaaaaaa"
                let add1 = try Call(node: node, command: "ADD", containerID: cid1, netns: ns1, args: args1, config: config1).run()
                #expect(add1.status == 0, "\(add1.stdout) \(add1.stderr)")
                let ip1 = try #require(Self.address(add1.json))
                #expect(CIDR("198.18.64.0/20")!.contains(IPAddress(ip1)!))
                #expect(add1.json?["ips"].map { "\($0.jsonText)" }?.contains("/32") == true)
                #expect(add1.json?["cniVersion"] == .string("1.0.0"))

                // Container 2: flannel's wrapping, host-local from the host's flannel subnet.
                let subnetFile = scratch.appendingPathComponent("subnet.env").path
                try FlannelSubnetEnvironment(network: CIDR("198.19.0.0/16")!, subnet: CIDR("198.19.5.0/24")!, mtu: 1450, ipMasquerade: true)
                    .write(to: subnetFile)
                let flannelData = scratch.appendingPathComponent("flannel").path
                let flannelConfig = """
                    {"cniVersion":"0.4.0","name":"canal","type":"canal-flannel","subnetFile":"\(subnetFile)","dataDir":"\(flannelData)",
                     "delegate":{"etcd_endpoints":"\(etcd)","nodename":"node-1","include_default_routes":true},
                     "ipam":{"dataDir":"\(scratch.appendingPathComponent("host-local").path)"}}
                    """
                let cid2 = "c2bbbbbbbbbbbbbb"
                let args2 = "IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=db-0"
                let add2 = try Call(node: node, command: "ADD", containerID: cid2, netns: ns2, args: args2, config: flannelConfig,
                                    plugin: "canal-flannel").run()
                #expect(add2.status == 0, "\(add2.stdout) \(add2.stderr)")
                // The delegate config canal-flannel kept for DEL: canal-cni, host-local over the host's subnet.
                let savedText = try String(contentsOfFile: flannelData + "/" + cid2, encoding: .utf8)
                let delegate = try JSONValue(parsing: Array(savedText.utf8))
                #expect(delegate["type"] == .string("canal-cni"))
                #expect(delegate["ipam"]?["type"] == .string("host-local"))
                #expect(delegate["ipam"]?["ranges"]?.jsonText == #"[[{"subnet":"198.19.5.0/24"}]]"#)
                #expect(delegate["ipam"]?["routes"]?.jsonText == #"[{"dst":"198.19.0.0/16"}]"#)
                #expect(delegate["mtu"] == .number("1450"))
                #expect(delegate["ipMasq"] == .bool(false))
                #expect(try FileManager.default.attributesOfItem(atPath: flannelData + "/" + cid2)[.posixPermissions] as? Int == 0o600)
                let ip2 = try #require(Self.address(add2.json))
                #expect(ip2 == "198.19.5.2", "host-local's first address in the subnet")
                #expect(add2.json?["ips"]?.jsonText.contains(#""version":"4""#) == true, "0.4.0 result shape")

                // The container side: /32, routes via 169.254.1.1, MTU from flannel; the host side: proxy ARP, host routes.
                let addr2 = try node.exec(inContainer: ns2, ["ip", "-o", "addr", "show", "dev", "eth0"])
                #expect(addr2.contains("198.19.5.2/32"))
                #expect(try node.exec(inContainer: ns2, ["ip", "-o", "link", "show", "dev", "eth0"]).contains("mtu 1450"))
                let routes2 = try node.exec(inContainer: ns2, ["ip", "route"])
                #expect(routes2.contains("default via 169.254.1.1 dev eth0"))
                #expect(routes2.contains("198.19.0.0/16 via 169.254.1.1 dev eth0"))
                let digest = try #require(try Self.sha1Hex("shop.web-1"))
                let host1 = "cali" + digest.prefix(11)
                #expect(try node.exec(["ip", "route", "show", ip1]).contains("dev \(host1) scope link"))
                #expect(try node.exec(["cat", "/proc/sys/net/ipv4/conf/\(host1)/proxy_arp"]).hasPrefix("1"))
                #expect(try node.exec(["ip", "-o", "link", "show", "dev", host1]).contains("ee:ee:ee:ee:ee:ee"))

                // They reach each other through the host.
                #expect(Self.ping(node, from: ns1, ip2))
                #expect(Self.ping(node, from: ns2, ip1))

                // The endpoints in etcd, as Calico's plugin writes them.
                let wepKey = "/calico/resources/v3/projectcalico.org/workloadendpoints/shop/node--1-k8s-web--1-eth0"
                let kv = try #require(try await store.get(Array(wepKey.utf8)))
                let wep = try JSONValue(parsing: kv.value)
                #expect(wep["kind"] == .string("WorkloadEndpoint"))
                #expect(wep["apiVersion"] == .string("projectcalico.org/v3"))
                #expect(wep["metadata"]?["namespace"] == .string("shop"))
                #expect(wep["metadata"]?["labels"]?["projectcalico.org/namespace"] == .string("shop"))
                #expect(wep["metadata"]?["labels"]?["projectcalico.org/orchestrator"] == .string("k8s"))
                let spec = try #require(wep["spec"])
                #expect(spec["orchestrator"] == .string("k8s"))
                #expect(spec["node"] == .string("node-1"))
                #expect(spec["pod"] == .string("web-1"))
                #expect(spec["endpoint"] == .string("eth0"))
                #expect(spec["containerID"] == .string(cid1))
                #expect(spec["ipNetworks"] == .array([.string("\(ip1)/32")]))
                #expect(spec["profiles"] == .array([.string("kns.shop")]))
                #expect(spec["interfaceName"] == .string(host1))
                #expect(spec["mac"] == add1.json?["interfaces"].flatMap { if case .array(let a) = $0 { a[1]["mac"] } else { nil } })
                let wep2 = try JSONValue(parsing: try #require(try await store.get(Array(
                    "/calico/resources/v3/projectcalico.org/workloadendpoints/shop/node--1-k8s-db--0-eth0".utf8))).value)
                #expect(wep2["spec"]?["ipNetworks"] == .array([.string("198.19.5.2/32")]))
                #expect(wep2["spec"]?["profiles"] == .array([.string("canal")]))
                // No k8s policy on network "canal": the network's profile was created, as Calico does.
                #expect(try await store.get(Array("/calico/resources/v3/projectcalico.org/profiles/canal".utf8)) != nil)

                // IPAM: the handle as Calico names it, with the pod's attributes.
                let ipam = IPAMClient(store: store)
                #expect(try await ipam.ipsByHandle("k8s-pod-network.\(cid1)") == [IPAddress(ip1)!])
                let allocation = try #require(try await ipam.allocation(of: IPAddress(ip1)!))
                #expect(allocation.attribute.handleID == "k8s-pod-network.\(cid1)")
                #expect(allocation.attribute.attributes["pod"] == "web-1")
                #expect(allocation.attribute.attributes["node"] == "node-1")

                // CHECK with the previous results.
                func withPrev(_ config: String, _ prev: String) throws -> String {
                    guard case .object(var o) = try JSONValue(parsing: config) else { return config }
                    o["prevResult"] = try JSONValue(parsing: prev)
                    return JSONValue.object(o).jsonText
                }
                let check1 = try Call(node: node, command: "CHECK", containerID: cid1, netns: ns1, args: args1,
                                      config: try withPrev(config1, add1.stdout)).run()
                #expect(check1.status == 0, "\(check1.stdout)")
                let check2 = try Call(node: node, command: "CHECK", containerID: cid2, netns: ns2, args: args2,
                                      config: try withPrev(flannelConfig, add2.stdout), plugin: "canal-flannel").run()
                #expect(check2.status == 0, "\(check2.stdout)")
                // CHECK notices a removed host route.
                try node.exec(["ip", "route", "del", ip1])
                let broken = try Call(node: node, command: "CHECK", containerID: cid1, netns: ns1, args: args1,
                                      config: try withPrev(config1, add1.stdout)).run()
                #expect(broken.status != 0)
                #expect(broken.json?["code"] == .number("104"))
                #expect(broken.json?["details"]?.stringValue?.contains("no host route to \(ip1)") == true)

                // The log file was written at debug level.
                #expect((try? String(contentsOfFile: scratch.appendingPathComponent("cni.log").path, encoding: .utf8))?.contains("[debug]") == true)

                // DEL releases everything; a second DEL succeeds.
                for _ in 0..<2 {
                    let del1 = try Call(node: node, command: "DEL", containerID: cid1, netns: ns1, args: args1, config: config1).run()
                    #expect(del1.status == 0, "\(del1.stdout)")
                    let del2 = try Call(node: node, command: "DEL", containerID: cid2, netns: ns2, args: args2, config: flannelConfig,
                                        plugin: "canal-flannel").run()
                    #expect(del2.status == 0, "\(del2.stdout)")
                    #expect(!FileManager.default.fileExists(atPath: flannelData + "/" + cid2), "the kept config is removed by DEL")
                }
                #expect(try await Self.keys(store, "/calico/ipam/v2/handle/").isEmpty)
                #expect(try await Self.keys(store, "/calico/resources/v3/projectcalico.org/workloadendpoints/").isEmpty)
                #expect(try Self.caliLinks(node).isEmpty)
                #expect(!(try node.exec(inContainer: ns1, ["ip", "-o", "link"])).contains("eth0"))
                let hostLocalFiles = (try? FileManager.default.contentsOfDirectory(atPath: scratch.appendingPathComponent("host-local/canal").path)) ?? []
                #expect(!hostLocalFiles.contains("198.19.5.2"), "host-local released the address")
            }
        }
    }

    @Test func errorsLeaveNothingBehind() async throws {
        guard try Self.requirePrerequisites() else { return }
        try await EtcdServer.withEtcdServer { server in
            let etcd = server.endpoint
            try Self.createPool(etcd, cidr: "198.18.80.0/20")
            let store = EtcdKeyValueStore(configuration: server.configuration())
            try await NetnsNode.withNode(test: "cni-err") { node in
                try node.forwardLoopbackPort(Int(etcd.split(separator: ":").last!)!)
                let ns = try node.addContainer("c1")
                let config = #"{"cniVersion":"1.0.0","name":"net1","type":"canal-cni","etcd_endpoints":"\#(etcd)","nodename":"node-1","ipam":{"type":"canal-ipam"}}"#
                let cid = "0123456789abcdef"
                func call(_ command: String, containerID: String = cid, netns: String = ns, config: String = config, removing: [String] = []) throws -> (Int32, JSONValue?) {
                    let r = try Call(node: node, command: command, containerID: containerID, netns: netns, config: config, removing: removing).run()
                    return (r.status, r.json)
                }
                func nothingLeft(keepingHandle handle: String? = nil) async throws {
                    let handles = try await Self.keys(store, "/calico/ipam/v2/handle/")
                    #expect(handles == (handle.map { ["/calico/ipam/v2/handle/\($0)"] } ?? []))
                    let weps = try await Self.keys(store, "/calico/resources/v3/projectcalico.org/workloadendpoints/")
                    #expect(weps.count == (handle == nil ? 0 : 1))
                    #expect(try Self.caliLinks(node).count == (handle == nil ? 0 : 1))
                }

                // A missing network namespace: 3, container unknown.
                let (s1, e1) = try call("ADD", netns: "/var/run/netns/canal-no-such-ns")
                #expect(s1 != 0 && e1?["code"] == .number("3"))
                try await nothingLeft()
                // Malformed JSON: 6.
                let (s2, e2) = try call("ADD", config: #"{"cniVersion":"1.0.0","name":"#)
                #expect(s2 != 0 && e2?["code"] == .number("6"))
                // Missing environment: 4, naming the variable.
                let (s3, e3) = try call("ADD", removing: ["CNI_NETNS"])
                #expect(s3 != 0 && e3?["code"] == .number("4"))
                #expect(e3?["msg"]?.stringValue?.contains("CNI_NETNS") == true)
                let (s4, e4) = try call("ADD", removing: ["CNI_COMMAND"])
                #expect(s4 != 0 && e4?["code"] == .number("4"))
                // An unsupported version: 1; an invalid config: 7.
                let (s5, e5) = try call("ADD", config: config.replacingOccurrences(of: "1.0.0", with: "9.9.9"))
                #expect(s5 != 0 && e5?["code"] == .number("1"))
                let (s6, e6) = try call("ADD", config: config.replacingOccurrences(of: #""name":"net1","#, with: ""))
                #expect(s6 != 0 && e6?["code"] == .number("7"))
                try await nothingLeft()

                // A failure in the middle of ADD (the interface name is taken in the container) rolls back.
                try node.exec(inContainer: ns, ["ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth0peer"])
                let (s7, e7) = try call("ADD")
                #expect(s7 != 0 && e7?["code"] == .number("102"))
                try await nothingLeft()
                try node.exec(inContainer: ns, ["ip", "link", "del", "eth0"])

                // ADD works; the same ADD again is refused (100) and leaves the first one intact.
                let (s8, added) = try call("ADD")
                #expect(s8 == 0)
                let (s9, e9) = try call("ADD")
                #expect(s9 != 0 && e9?["code"] == .number("100"))
                try await nothingLeft(keepingHandle: "net1.\(cid)")
                #expect(try await IPAMClient(store: store).ipsByHandle("net1.\(cid)").map(\.description) == [Self.address(added) ?? ""])
                let held = try node.exec(inContainer: ns, ["ip", "-o", "addr"])
                #expect(Self.address(added).map { held.contains($0) } ?? false)

                // CHECK needs 0.4.0 or later and a prevResult.
                let (s10, e10) = try call("CHECK", config: config.replacingOccurrences(of: "1.0.0", with: "0.3.1"))
                #expect(s10 != 0 && e10?["code"] == .number("1"))
                let (s11, e11) = try call("CHECK")
                #expect(s11 != 0 && e11?["code"] == .number("7"))

                // DEL of an unknown container succeeds and touches nothing of the others.
                let (s12, _) = try call("DEL", containerID: "feedfacefeedface", netns: "")
                #expect(s12 == 0)
                try await nothingLeft(keepingHandle: "net1.\(cid)")
                // DEL with the namespace already gone still cleans up.
                let (s13, _) = try call("DEL", netns: "/var/run/netns/canal-gone")
                #expect(s13 == 0)
                try await nothingLeft()
            }
        }
    }

    @Test func versionCommand() throws {
        let out = try ToolRunner.run("canal-cni", [], stdin: #"{"cniVersion":"0.4.0"}"#, environment: ["CNI_COMMAND": "VERSION"])
        #expect(out.status == 0)
        #expect(out.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            == #"{"cniVersion":"0.4.0","supportedVersions":["0.1.0","0.2.0","0.3.0","0.3.1","0.4.0","1.0.0"]}"#)
        let empty = try ToolRunner.run("canal-cni", [], stdin: "", environment: ["CNI_COMMAND": "VERSION"])
        #expect(empty.stdout.hasPrefix(#"{"cniVersion":"1.0.0","#))
        let unknown = try ToolRunner.run("canal-cni", [], stdin: "", environment: ["CNI_COMMAND": "FROB"])
        #expect(unknown.status != 0)
        #expect((try? JSONValue(parsing: unknown.stdout))?["code"] == .number("4"))
    }

    /// SHA-1 through the system's sha1sum, to check the host interface name independently.
    static func sha1Hex(_ text: String) throws -> String? {
        // sha1sum of an empty input reads /dev/null: the same digest.
        let digest = try Spawn.run(["/usr/bin/sha1sum"], input: Array(text.utf8), timeout: .seconds(60))
        return digest.stdoutText.split(separator: " ").first.map(String.init)
    }
}
