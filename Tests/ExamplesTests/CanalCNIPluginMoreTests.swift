import CanalDatastore
import CanalIPAM
import CanalModel
import CanalTesting
import CanalToolSupport
import Foundation
import Testing

/// More of canal-cni end to end: IPv6 from canal-ipam, `IP=` in `CNI_ARGS`, a node whose loopback
/// is down, and canal-agent enforcing a canalctl policy on containers canal-cni attached.
extension CanalCNIPluginTests {
    /// `canalctl apply` of `yaml` against `etcd`.
    static func apply(_ etcd: String, _ yaml: String) throws {
        let out = try ToolRunner.run("canalctl", ["apply", "-f", "-"], stdin: yaml, environment: ["DATASTORE_TYPE": "etcdv3", "ETCD_ENDPOINTS": etcd])
        #expect(out.status == 0, "canalctl apply: \(out.stderr)")
    }

    static func pool(_ name: String, _ cidr: String, blockSize: Int) -> String {
        "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: \(name)}\nspec: {cidr: \(cidr), blockSize: \(blockSize)}\n"
    }

    /// The addresses of a result (without prefix lengths), in order.
    static func addresses(_ result: JSONValue?) -> [String] {
        guard case .array(let ips)? = result?["ips"] else { return [] }
        return ips.compactMap { $0["address"]?.stringValue }.map { String($0.split(separator: "/").first ?? "") }
    }

    static func ping6(_ node: NetnsNode, from netns: String, _ address: String) -> Bool {
        (try? node.exec(inContainer: netns, ["ping", "-6", "-n", "-q", "-c1", "-W1", address])) != nil
    }

    /// Dual stack from canal-ipam: a /32 and a /128, the IPv6 default route via the host interface's
    /// link-local address fe80::ecee:eeff:feee:eeee as Calico programs it, a /128 host route, ping6
    /// between two containers; CHECK passes and DEL removes everything.
    @Test(.timeLimit(.minutes(2))) func ipv6FromCanalIPAM() async throws {
        guard try Self.requirePrerequisites() else { return }
        try await EtcdServer.withEtcdServer { server in
            let etcd = server.endpoint
            try Self.apply(etcd, Self.pool("v4", "198.18.112.0/20", blockSize: 26) + "---\n" + Self.pool("v6", "fd00:198:18::/48", blockSize: 122))
            let store = EtcdKeyValueStore(configuration: server.configuration())
            try await NetnsNode.withNode(test: "cni-v6") { node in
                try node.forwardLoopbackPort(Int(etcd.split(separator: ":").last!)!)
                let config = #"{"cniVersion":"1.0.0","name":"net6","type":"canal-cni","etcd_endpoints":"\#(etcd)","nodename":"node-1","ipam":{"type":"canal-ipam","assign_ipv4":"true","assign_ipv6":"true"}}"#
                let ns1 = try node.addContainer("c1"), ns2 = try node.addContainer("c2")
                let add1 = try Call(node: node, command: "ADD", containerID: "v6c1aaaaaaaa", netns: ns1, config: config).run()
                #expect(add1.status == 0, "\(add1.stdout) \(add1.stderr)")
                // The second asks for its addresses with IP=, one per family.
                let add2 = try Call(node: node, command: "ADD", containerID: "v6c2bbbbbbbb", netns: ns2,
                                    args: "IgnoreUnknown=1;IP=198.18.112.200,fd00:198:18::c8", config: config).run()
                #expect(add2.status == 0, "\(add2.stdout) \(add2.stderr)")
                let a1 = Self.addresses(add1.json), a2 = Self.addresses(add2.json)
                #expect(a2 == ["198.18.112.200", "fd00:198:18::c8"])
                let v6a = try #require(a1.first { $0.contains(":") }), v4a = try #require(a1.first { !$0.contains(":") })
                #expect(CIDR("fd00:198:18::/48")!.contains(IPAddress(v6a)!))
                #expect(CIDR("198.18.112.0/20")!.contains(IPAddress(v4a)!))
                #expect(add1.json?["ips"]?.jsonText.contains("\(v6a)/128") == true)
                #expect(add1.json?["routes"]?.jsonText.contains(#"{"dst":"::/0","gw":"fe80::ecee:eeff:feee:eeee"}"#) == true)

                // Container: the /128, the default route via the host's link-local address; host: the /128 route.
                #expect(try node.exec(inContainer: ns1, ["ip", "-6", "-o", "addr", "show", "dev", "eth0"]).contains("\(v6a)/128"))
                let routes = try node.exec(inContainer: ns1, ["ip", "-6", "route", "show", "dev", "eth0"])
                #expect(routes.contains("default via fe80::ecee:eeff:feee:eeee"), "\(routes)")
                let host1 = "cali" + "v6c1aaaaaaaa".prefix(11)
                #expect(try node.exec(["ip", "-6", "route", "show", v6a]).contains("dev \(host1)"))
                #expect(try node.exec(["ip", "-6", "-o", "addr", "show", "dev", host1]).contains("fe80::ecee:eeff:feee:eeee/64"))
                #expect(try node.exec(["cat", "/proc/sys/net/ipv6/conf/\(host1)/proxy_ndp"]).hasPrefix("1"))
                #expect(try node.exec(inContainer: ns1, ["cat", "/proc/sys/net/ipv6/conf/eth0/accept_dad"]).hasPrefix("0"))

                // Both families reach across the host (the first IPv6 packets wait for neighbour discovery).
                #expect(await NetnsFabric.eventually(10) { Self.ping6(node, from: ns1, "fd00:198:18::c8") })
                #expect(Self.ping6(node, from: ns2, v6a))
                #expect(Self.ping(node, from: ns1, "198.18.112.200"))
                #expect(Self.ping(node, from: ns2, v4a))

                let wep = try JSONValue(parsing: try #require(try await store.get(Array(
                    "/calico/resources/v3/projectcalico.org/workloadendpoints/default/node--1-cni-v6c2bbbbbbbb-eth0".utf8))).value)
                #expect(wep["spec"]?["ipNetworks"] == .array([.string("198.18.112.200/32"), .string("fd00:198:18::c8/128")]))

                // CHECK verifies the IPv6 route and addresses too.
                guard case .object(var withPrev) = try JSONValue(parsing: config) else { return }
                withPrev["prevResult"] = try JSONValue(parsing: add1.stdout)
                let check = try Call(node: node, command: "CHECK", containerID: "v6c1aaaaaaaa", netns: ns1, config: JSONValue.object(withPrev).jsonText).run()
                #expect(check.status == 0, "\(check.stdout)")

                for (cid, ns) in [("v6c1aaaaaaaa", ns1), ("v6c2bbbbbbbb", ns2)] {
                    let del = try Call(node: node, command: "DEL", containerID: cid, netns: ns, config: config).run()
                    #expect(del.status == 0, "\(del.stdout)")
                }
                #expect(try await Self.keys(store, "/calico/ipam/v2/handle/").isEmpty)
                #expect(try await IPAMClient(store: store).allocation(of: IPAddress("fd00:198:18::c8")!) == nil)
                #expect(try Self.caliLinks(node).isEmpty)
            }
        }
    }

    /// `IP=` asks canal-ipam for one address: it is assigned under the container's handle; an
    /// address another container holds, one outside every pool, or a malformed one fails the ADD
    /// with nothing left behind; DEL releases it.
    @Test(.timeLimit(.minutes(2))) func requestedAddress() async throws {
        guard try Self.requirePrerequisites() else { return }
        try await EtcdServer.withEtcdServer { server in
            let etcd = server.endpoint
            try Self.apply(etcd, Self.pool("pool", "198.18.128.0/20", blockSize: 26))
            let store = EtcdKeyValueStore(configuration: server.configuration())
            let ipam = IPAMClient(store: store)
            try await NetnsNode.withNode(test: "cni-ip") { node in
                try node.forwardLoopbackPort(Int(etcd.split(separator: ":").last!)!)
                let config = #"{"cniVersion":"0.4.0","name":"net-ip","type":"canal-cni","etcd_endpoints":"\#(etcd)","nodename":"node-1","ipam":{"type":"canal-ipam"}}"#
                let ns1 = try node.addContainer("c1"), ns2 = try node.addContainer("c2")
                let args1 = "IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=fixed;IP=198.18.130.77"
                let add = try Call(node: node, command: "ADD", containerID: "ipc1aaaaaaaa", netns: ns1, args: args1, config: config).run()
                #expect(add.status == 0, "\(add.stdout) \(add.stderr)")
                #expect(Self.addresses(add.json) == ["198.18.130.77"])
                #expect(try node.exec(inContainer: ns1, ["ip", "-o", "addr", "show", "dev", "eth0"]).contains("198.18.130.77/32"))
                let allocation = try #require(try await ipam.allocation(of: IPAddress("198.18.130.77")!))
                #expect(allocation.attribute.handleID == "net-ip.ipc1aaaaaaaa")
                #expect(allocation.attribute.attributes["pod"] == "fixed")
                #expect(try await ipam.ipsByHandle("net-ip.ipc1aaaaaaaa") == [IPAddress("198.18.130.77")!])

                func refused(_ ip: String, code: String) async throws {
                    let r = try Call(node: node, command: "ADD", containerID: "ipc2bbbbbbbb", netns: ns2,
                                     args: "IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=other;IP=\(ip)", config: config).run()
                    #expect(r.status != 0 && r.json?["code"] == .number(code), "IP=\(ip): \(r.stdout)")
                    #expect(try await Self.keys(store, "/calico/ipam/v2/handle/") == ["/calico/ipam/v2/handle/net-ip.ipc1aaaaaaaa"])
                    #expect(try await Self.keys(store, "/calico/resources/v3/projectcalico.org/workloadendpoints/").count == 1)
                    #expect(try Self.caliLinks(node).count == 1)
                    #expect(!(try node.exec(inContainer: ns2, ["ip", "-o", "link"])).contains("eth0"))
                }
                try await refused("198.18.130.77", code: "101")   // taken by the first container
                try await refused("198.18.250.1", code: "101")    // in no pool
                try await refused("198.18.130.300", code: "4")    // not an address
                #expect(try await ipam.allocation(of: IPAddress("198.18.130.77")!)?.attribute.handleID == "net-ip.ipc1aaaaaaaa")

                let del = try Call(node: node, command: "DEL", containerID: "ipc1aaaaaaaa", netns: ns1, args: args1, config: config).run()
                #expect(del.status == 0, "\(del.stdout)")
                #expect(try await ipam.allocation(of: IPAddress("198.18.130.77")!) == nil)
                #expect(try await Self.keys(store, "/calico/ipam/v2/handle/").isEmpty)
            }
        }
    }

    /// canal-cni run in a node namespace whose loopback is down (Foundation's `Process` used to wait
    /// there forever): ADD and DEL complete with the embedded datastore, and an etcd on the dead
    /// loopback is a prompt "try again later". Each call is killed after 60 s, so a hang fails.
    @Test(.timeLimit(.minutes(3))) func loopbackDownInTheNode() async throws {
        guard try Self.requirePrerequisites() else { return }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("canal-cni-lo-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let state = scratch.appendingPathComponent("state.json").path
        let created = try ToolRunner.run("canalctl", ["create", "-f", "-"], stdin: Self.pool("pool", "198.18.160.0/20", blockSize: 26),
                                         environment: ["CANAL_STATE_FILE": state], removing: ["DATASTORE_TYPE", "ETCD_ENDPOINTS"])
        #expect(created.status == 0, "\(created.stderr)")
        try await NetnsNode.withNode(test: "cni-lo") { node in
            try node.exec(["ip", "link", "set", "lo", "down"])
            let ns = try node.addContainer("c1")
            func call(_ command: String, _ config: String) throws -> (status: Int32, json: JSONValue?, text: String) {
                let env = ["CNI_COMMAND": command, "CNI_CONTAINERID": "lo0123456789", "CNI_NETNS": ns, "CNI_IFNAME": "eth0",
                           "CNI_PATH": "/usr/lib/cni", "CANAL_STATE_FILE": state]
                let out = try ToolRunner.run("canal-cni", [], stdin: config, environment: env,
                                             launcher: ["ip", "netns", "exec", node.namespace],
                                             removing: ["DATASTORE_TYPE", "ETCD_ENDPOINTS"], timeout: .seconds(60))
                return (out.status, try? JSONValue(parsing: out.stdout), out.stdout + out.stderr)
            }
            let config = #"{"cniVersion":"1.0.0","name":"net-lo","type":"canal-cni","nodename":"node-1","ipam":{"type":"canal-ipam"}}"#
            let add = try call("ADD", config)
            #expect(add.status == 0, "\(add.text)")
            let address = try #require(Self.address(add.json))
            #expect(CIDR("198.18.160.0/20")!.contains(IPAddress(address)!))
            #expect(try node.exec(inContainer: ns, ["ip", "-o", "addr", "show", "dev", "eth0"]).contains("\(address)/32"))
            let del = try call("DEL", config)
            #expect(del.status == 0, "\(del.text)")
            #expect(try Self.caliLinks(node).isEmpty)

            // etcd on the node's loopback, which is down: code 11, not a hang.
            let etcdConfig = #"{"cniVersion":"1.0.0","name":"net-lo","type":"canal-cni","nodename":"node-1","etcd_endpoints":"http://127.0.0.1:2379","ipam":{"type":"canal-ipam"}}"#
            let unreachable = try call("ADD", etcdConfig)
            #expect(unreachable.status == 1, "\(unreachable.text)")
            #expect(unreachable.json?["code"] == .number("11"), "\(unreachable.text)")
            #expect(try Self.caliLinks(node).isEmpty)
        }
    }

    /// With canal-agent running for the node, a policy applied with canalctl changes what two
    /// containers canal-cni attached (one with canal-ipam, one under flannel's wrapping with
    /// host-local) can reach, and deleting it restores the traffic.
    @Test(.timeLimit(.minutes(3)), .enabled(if: EtcdServer.shouldRun, "needs etcd (or CI=true)"))
    func agentEnforcesPolicyOnAttachedContainers() async throws {
        guard try Self.requirePrerequisites() else { return }
        try await EtcdServer.withEtcdServer { server in
            let etcd = server.endpoint
            try Self.apply(etcd, Self.pool("pool", "198.18.144.0/20", blockSize: 26))
            let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("canal-cni-agent-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: scratch) }
            try await NetnsNode.withNode(test: "cni-agent") { node in
                try node.forwardLoopbackPort(Int(etcd.split(separator: ":").last!)!)
                let ns1 = try node.addContainer("web"), ns2 = try node.addContainer("db")
                let config1 = #"{"cniVersion":"1.0.0","name":"k8s-pod-network","type":"canal-cni","etcd_endpoints":"\#(etcd)","nodename":"node-1","ipam":{"type":"canal-ipam"}}"#
                let args1 = "IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web"
                let add1 = try Call(node: node, command: "ADD", containerID: "agentweb0001", netns: ns1, args: args1, config: config1).run()
                #expect(add1.status == 0, "\(add1.stdout) \(add1.stderr)")
                let subnetFile = scratch.appendingPathComponent("subnet.env").path
                try FlannelSubnetEnvironment(network: CIDR("198.19.0.0/16")!, subnet: CIDR("198.19.9.0/24")!, mtu: 1450, ipMasquerade: true)
                    .write(to: subnetFile)
                let flannelConfig = """
                    {"cniVersion":"1.0.0","name":"canal","type":"canal-flannel","subnetFile":"\(subnetFile)",
                     "dataDir":"\(scratch.appendingPathComponent("flannel").path)",
                     "delegate":{"etcd_endpoints":"\(etcd)","nodename":"node-1","include_default_routes":true},
                     "ipam":{"dataDir":"\(scratch.appendingPathComponent("host-local").path)"}}
                    """
                let args2 = "IgnoreUnknown=1;K8S_POD_NAMESPACE=vault;K8S_POD_NAME=db"
                let add2 = try Call(node: node, command: "ADD", containerID: "agentdb00002", netns: ns2, args: args2, config: flannelConfig,
                                    plugin: "canal-flannel").run()
                #expect(add2.status == 0, "\(add2.stdout) \(add2.stderr)")
                let web = try #require(Self.address(add1.json)), db = try #require(Self.address(add2.json))

                // canal-agent for the node, as on a host.
                let log = scratch.appendingPathComponent("agent.log"), health = scratch.appendingPathComponent("health.json")
                let agent = try Spawn.start(
                    ["ip", "netns", "exec", node.namespace, ToolRunner.binDirectory.appendingPathComponent("canal-agent").path,
                     "--node", "node-1", "--health-file", health.path, "--refresh-interval", "1", "--etcd-endpoints", etcd],
                    output: .appended(to: log.path))
                defer { agent.stop(grace: .seconds(30)) }
                let agentLog = { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }
                let inSync = await NetnsFabric.eventually(20) {
                    ((try? String(contentsOf: health, encoding: .utf8)) ?? "").contains("\"inSync\": true")
                }
                try #require(inSync, "the agent did not report in sync:\n\(agentLog().suffix(3000))")

                // The networks' profiles allow everything: both directions pass.
                #expect(await NetnsFabric.eventually(10) { Self.ping(node, from: ns1, db) && Self.ping(node, from: ns2, web) })

                // A policy denying ingress to the vault namespace's endpoints: web can no longer reach db;
                // db still reaches web (its egress is not covered, the replies are established traffic).
                try Self.apply(etcd, """
                    apiVersion: projectcalico.org/v3
                    kind: GlobalNetworkPolicy
                    metadata: {name: deny-vault-ingress}
                    spec:
                      selector: projectcalico.org/namespace == 'vault'
                      types: [Ingress]
                      ingress: [{action: Deny}]
                    """)
                #expect(await NetnsFabric.eventually(10) { !Self.ping(node, from: ns1, db) }, "\(agentLog().suffix(2000))")
                #expect(Self.ping(node, from: ns2, web))
                #expect(!Self.ping(node, from: ns1, db))

                // Deleting it restores the traffic.
                let deleted = try ToolRunner.run("canalctl", ["delete", "globalnetworkpolicy", "deny-vault-ingress"],
                                                 environment: ["DATASTORE_TYPE": "etcdv3", "ETCD_ENDPOINTS": etcd])
                #expect(deleted.status == 0, "\(deleted.stderr)")
                #expect(await NetnsFabric.eventually(10) { Self.ping(node, from: ns1, db) }, "\(agentLog().suffix(2000))")

                #expect(agent.stop(grace: .seconds(30)) == 0, "\(agentLog().suffix(2000))")
                let del1 = try Call(node: node, command: "DEL", containerID: "agentweb0001", netns: ns1, args: args1, config: config1).run()
                #expect(del1.status == 0, "\(del1.stdout)")
                #expect(try Call(node: node, command: "DEL", containerID: "agentdb00002", netns: ns2, args: args2, config: flannelConfig,
                                 plugin: "canal-flannel").run().status == 0)
                #expect(try Self.caliLinks(node).isEmpty)
            }
        }
    }
}
