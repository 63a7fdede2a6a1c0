import CanalDatastore
import CanalIPAM
import CanalModel
import CanalTesting
import Foundation
import Testing

/// canal-confd and real BIRD 2 on namespace hosts: blocks claimed with CanalIPAM are announced,
/// learned by every host, and carry workload traffic; adding a node or a peer reconfigures BIRD
/// without dropping established sessions; a route-reflector topology reflects every block.
@Suite("canal-confd and BIRD across hosts", .enabled(if: Hosts.kernelAndEtcd && Hosts.bird, "needs root, etcd and bird (runs as root or when CI=true)"))
struct BGPHostsTests {
    /// One host's BGP pieces: canal-confd and bird, each with files in `directory/<host>`.
    struct Speaker {
        var host: NetnsFabric.Host
        var socket: String
        var config: String
        var confd: SpawnedProcess
        var bird: SpawnedProcess?
    }

    static func nodeYAML(_ host: NetnsFabric.Host) -> String {
        """
        apiVersion: projectcalico.org/v3
        kind: Node
        metadata: {name: \(host.name)}
        spec: {bgp: {ipv4Address: \(host.address)/24}}
        ---

        """
    }

    func start(_ fabric: NetnsFabric, _ host: NetnsFabric.Host, etcd: String, directory: URL) async throws -> Speaker {
        let dir = directory.appendingPathComponent(host.name)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let config = dir.appendingPathComponent("bird.conf").path, socket = dir.appendingPathComponent("bird.ctl").path
        let confd = try fabric.spawn(in: host, [
            Hosts.tool("canal-confd"), "--node", host.name, "--etcd-endpoints", etcd, "--config-file", config,
            "--bird-socket", socket, "--bird", "/usr/sbin/bird", "--birdc", "/usr/sbin/birdc",
        ], log: dir.appendingPathComponent("confd.log"))
        let written = await NetnsFabric.eventually(15) { FileManager.default.fileExists(atPath: config) }
        #expect(written, "canal-confd wrote no config for \(host.name): \(confd.output)")
        let bird = try fabric.spawn(in: host, [
            "/usr/sbin/bird", "-f", "-c", config, "-s", socket, "-P", dir.appendingPathComponent("bird.pid").path,
        ], log: dir.appendingPathComponent("bird.log"))
        _ = await NetnsFabric.eventually(5) { FileManager.default.fileExists(atPath: socket) }
        return Speaker(host: host, socket: socket, config: config, confd: confd, bird: bird)
    }

    /// `birdc show protocols` rows: name → (state, since, info).
    /// Applies `cluster` with canalctl, gives each host a workload with an address from its own
    /// IPAM block, and starts canal-confd and BIRD on every host.
    func bringUp(
        cluster: String, hosts: [NetnsFabric.Host], fabric: NetnsFabric, etcd: EtcdServer, environment: [String: String], directory: URL
    ) async throws -> (workloads: [Workload], blocks: [CIDR], speakers: [Speaker]) {
        let applied = try ToolRunner.run("canalctl", ["apply", "-f", "-"], stdin: cluster, environment: environment)
        try #require(applied.status == 0, "\(applied.stderr)")
        let ipam = IPAMClient(store: EtcdKeyValueStore(configuration: etcd.configuration()))
        var workloads: [Workload] = []
        var blocks: [CIDR] = []
        for host in hosts {
            let address = try #require(try await ipam.autoAssign(AutoAssignRequest(host: host.name, handle: "w-\(host.name)")).ipv4.addresses.first)
            workloads.append(try fabric.addWorkload(on: host, name: "w", ipv4: address.address.description))
            blocks.append(try #require(try await ipam.blockAffinities(host: host.name).keys.first))
        }
        let endpoint = etcd.endpoint(on: fabric.rootAddress)
        var speakers: [Speaker] = []
        for host in hosts { speakers.append(try await start(fabric, host, etcd: endpoint, directory: directory)) }
        return (workloads, blocks, speakers)
    }

    func protocols(_ fabric: NetnsFabric, _ speaker: Speaker) -> [String: (state: String, since: String, info: String)] {
        let out = (try? fabric.exec(on: speaker.host, ["/usr/sbin/birdc", "-s", speaker.socket, "show", "protocols"])) ?? ""
        var rows: [String: (String, String, String)] = [:]
        for line in out.split(separator: "\n") {
            let words = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            guard words.count >= 6, words[1] == "BGP" else { continue }
            rows[words[0]] = (words[3], words[4], words[5...].joined(separator: " "))
        }
        return rows
    }

    @Test("mesh: blocks learned by every host, workloads reach each other, adding a node keeps sessions", .timeLimit(.minutes(3)))
    func mesh() async throws {
        try await NetnsFabric.withFabric(test: "bgp-mesh", hosts: 3) { fabric, hosts in
            try await EtcdServer.withEtcdServer(listeningAlsoOn: [fabric.rootAddress]) { etcd in
                try await Hosts.withTemporaryDirectory("bgp-mesh") { directory in
                    let environment = ["DATASTORE_TYPE": "etcdv3", "ETCD_ENDPOINTS": etcd.endpoint, "CALICO_ROUTER_ID": ""]
                    let cluster = """
                        apiVersion: projectcalico.org/v3
                        kind: IPPool
                        metadata: {name: pool}
                        spec: {cidr: 198.18.0.0/16, blockSize: 26, ipipMode: Never, vxlanMode: Never}
                        ---

                        """ + hosts.map(Self.nodeYAML).joined()
                    var (workloads, blocks, speakers) = try await bringUp(
                        cluster: cluster, hosts: hosts, fabric: fabric, etcd: etcd, environment: environment, directory: directory)
                    let ipam = IPAMClient(store: EtcdKeyValueStore(configuration: etcd.configuration()))
                    let endpoint = etcd.endpoint(on: fabric.rootAddress)
                    // Every host learns the two other blocks from BIRD, via the owner's address.
                    for (i, speaker) in speakers.enumerated() {
                        for (j, block) in blocks.enumerated() where j != i {
                            let learned = await NetnsFabric.eventually(20) {
                                Hosts.route(fabric, speaker.host, to: block.description)?.contains("via \(hosts[j].address) dev eth0 proto bird") == true
                            }
                            #expect(learned, "\(speaker.host.name) did not learn \(block): \(Hosts.routes(fabric, speaker.host))\n\(speaker.bird?.output ?? "")")
                        }
                        #expect(Hosts.route(fabric, speaker.host, to: "blackhole \(blocks[i])") != nil || Hosts.routes(fabric, speaker.host).contains { $0.hasPrefix("blackhole \(blocks[i])") })
                        let routes = try fabric.exec(on: speaker.host, ["/usr/sbin/birdc", "-s", speaker.socket, "show", "route"])
                        for block in blocks { #expect(routes.contains(block.description), "\(routes)") }
                    }
                    for (i, source) in workloads.enumerated() {
                        for (j, target) in workloads.enumerated() where j != i {
                            #expect(fabric.ping(from: source, target.ipv4, seconds: 2), "\(source.ipv4) → \(target.ipv4)")
                        }
                    }
                    // Add node d: a's confd renders a new mesh peer and reloads BIRD; the established
                    // sessions keep their "since" time.
                    let before = protocols(fabric, speakers[0])
                    #expect(before.count == 2 && before.values.allSatisfy { $0.info == "Established" }, "\(before)")
                    let d = try fabric.addHost()
                    let added = try ToolRunner.run("canalctl", ["apply", "-f", "-"], stdin: Self.nodeYAML(d), environment: environment)
                    try #require(added.status == 0, "\(added.stderr)")
                    let dAddress = try #require(try await ipam.autoAssign(AutoAssignRequest(host: d.name, handle: "w-d")).ipv4.addresses.first)
                    let dBlock = try #require(try await ipam.blockAffinities(host: d.name).keys.first)
                    let dWorkload = try fabric.addWorkload(on: d, name: "w", ipv4: dAddress.address.description)
                    speakers.append(try await start(fabric, d, etcd: endpoint, directory: directory))
                    let learnedD = await NetnsFabric.eventually(20) {
                        Hosts.route(fabric, hosts[0], to: dBlock.description)?.contains("via \(d.address)") == true
                    }
                    #expect(learnedD, "a did not learn d's block: \(Hosts.routes(fabric, hosts[0]))\n\(speakers[0].confd.output)")
                    #expect(speakers[0].confd.output.contains("BIRD reconfigured"), "\(speakers[0].confd.output)")
                    let after = protocols(fabric, speakers[0])
                    #expect(after.count == 3, "\(after)")
                    for (name, row) in before {
                        #expect(after[name]?.since == row.since && after[name]?.info == "Established", "\(name): \(row) → \(String(describing: after[name]))")
                    }
                    #expect(fabric.ping(from: workloads[0], dWorkload.ipv4, seconds: 2))
                    for speaker in speakers {
                        speaker.confd.stop()
                        #expect(speaker.confd.exitStatus == 0, "\(speaker.confd.output)")
                        speaker.bird?.stop()
                    }
                }
            }
        }
    }

    /// A protocol name as the renderer builds it: `Node_198_19_7_1`.
    static func protocolName(_ scope: String, _ address: String) -> String {
        scope + "_" + address.replacingOccurrences(of: ".", with: "_")
    }

    /// The BGP rows of `birdc show protocols` whose state is up and info Established.
    func established(_ rows: [String: (state: String, since: String, info: String)]) -> Set<String> {
        Set(rows.filter { $0.value.state == "up" && $0.value.info == "Established" }.keys)
    }

    @Test(
        "route reflector: no mesh, clients peer only with the reflector and learn every block through it; a global BGPPeer added while BIRD runs keeps sessions",
        .timeLimit(.minutes(3)))
    func routeReflector() async throws {
        // a is the route reflector (cluster id 244.0.0.1, label route-reflector=true), b and c its
        // clients, as Calico documents it: the mesh off in the default BGPConfiguration and one
        // BGPPeer from every node (nodeSelector all()) to the reflectors (peerSelector). d is not a
        // Calico node: an external router (AS 64513) running its own BIRD, peered later.
        try await NetnsFabric.withFabric(test: "bgp-rr", hosts: 4) { fabric, all in
            let hosts = Array(all.prefix(3)), router = all[3]
            try await EtcdServer.withEtcdServer(listeningAlsoOn: [fabric.rootAddress]) { etcd in
                try await Hosts.withTemporaryDirectory("bgp-rr") { directory in
                    let environment = ["DATASTORE_TYPE": "etcdv3", "ETCD_ENDPOINTS": etcd.endpoint, "CALICO_ROUTER_ID": ""]
                    let reflector = hosts[0], clients = Array(hosts.dropFirst())
                    var cluster = """
                        apiVersion: projectcalico.org/v3
                        kind: IPPool
                        metadata: {name: pool}
                        spec: {cidr: 198.18.0.0/16, blockSize: 26, ipipMode: Never, vxlanMode: Never}
                        ---
                        apiVersion: projectcalico.org/v3
                        kind: BGPConfiguration
                        metadata: {name: default}
                        spec: {nodeToNodeMeshEnabled: false, asNumber: 64512}
                        ---
                        apiVersion: projectcalico.org/v3
                        kind: BGPPeer
                        metadata: {name: peer-with-route-reflectors}
                        spec: {nodeSelector: all(), peerSelector: route-reflector == 'true'}
                        ---
                        apiVersion: projectcalico.org/v3
                        kind: Node
                        metadata: {name: \(reflector.name), labels: {route-reflector: "true"}}
                        spec: {bgp: {ipv4Address: \(reflector.address)/24, routeReflectorClusterID: 244.0.0.1}}
                        ---

                        """
                    cluster += clients.map(Self.nodeYAML).joined()
                    let (workloads, blocks, speakers) = try await bringUp(
                        cluster: cluster, hosts: hosts, fabric: fabric, etcd: etcd, environment: environment, directory: directory)

                    // Sessions: the reflector has one per client, each client exactly one, to the reflector.
                    let rrName = Self.protocolName("Node", reflector.address)
                    let wanted: [Set<String>] = [Set(clients.map { Self.protocolName("Node", $0.address) }), [rrName], [rrName]]
                    for (speaker, sessions) in zip(speakers, wanted) {
                        let up = await NetnsFabric.eventually(20) { established(protocols(fabric, speaker)) == sessions }
                        let rows = protocols(fabric, speaker)
                        #expect(up && Set(rows.keys) == sessions, "\(speaker.host.name): \(rows)\n\(speaker.bird?.output ?? "")")
                    }
                    let config = try String(contentsOfFile: speakers[0].config, encoding: .utf8)
                    #expect(config.contains("rr client;") && config.contains("rr cluster id 244.0.0.1;") && !config.contains("Mesh_"))
                    // Every host learns the others' blocks; a client learns the other client's block
                    // from the reflector's session (cluster list 244.0.0.1) with the owner as next hop.
                    for (i, speaker) in speakers.enumerated() {
                        for (j, block) in blocks.enumerated() where j != i {
                            let learned = await NetnsFabric.eventually(20) {
                                Hosts.route(fabric, speaker.host, to: block.description)?.contains("via \(hosts[j].address) dev eth0 proto bird") == true
                            }
                            #expect(learned, "\(speaker.host.name) did not learn \(block): \(Hosts.routes(fabric, speaker.host))")
                            let route = try fabric.exec(on: speaker.host, ["/usr/sbin/birdc", "-s", speaker.socket, "show", "route", block.description, "all"])
                            if i > 0 {
                                #expect(route.contains("[\(rrName) "), "\(speaker.host.name), \(block): \(route)")
                                if j > 0 { #expect(route.contains("BGP.cluster_list: 244.0.0.1"), "\(speaker.host.name), \(block): \(route)") }
                            }
                        }
                    }
                    for (i, source) in workloads.enumerated() {
                        for (j, target) in workloads.enumerated() where j != i {
                            #expect(fabric.ping(from: source, target.ipv4, seconds: 2), "\(source.ipv4) → \(target.ipv4)")
                        }
                    }

                    // The external router: its own BIRD, waiting for a, b and c.
                    let routerDirectory = directory.appendingPathComponent(router.name)
                    try FileManager.default.createDirectory(at: routerDirectory, withIntermediateDirectories: true)
                    let routerConfig = routerDirectory.appendingPathComponent("bird.conf").path
                    let routerSocket = routerDirectory.appendingPathComponent("bird.ctl").path
                    var text = "router id \(router.address);\nprotocol device {}\nprotocol kernel { ipv4 { export all; }; }\n"
                    for host in hosts {
                        text += "protocol bgp \(host.name) { local \(router.address) as 64513; neighbor \(host.address) as 64512; ipv4 { import all; export none; }; }\n"
                    }
                    try text.write(toFile: routerConfig, atomically: true, encoding: .utf8)
                    let routerBird = try fabric.spawn(in: router, ["/usr/sbin/bird", "-f", "-c", routerConfig, "-s", routerSocket],
                                                      log: routerDirectory.appendingPathComponent("bird.log"))
                    _ = await NetnsFabric.eventually(5) { FileManager.default.fileExists(atPath: routerSocket) }

                    // A global BGPPeer to it, created with canalctl while BIRD runs: every node's confd
                    // reconfigures BIRD, the new sessions establish, the reflector sessions stay.
                    let before = speakers.map { protocols(fabric, $0) }
                    let reconfigured = speakers.map { $0.confd.output.components(separatedBy: "BIRD reconfigured").count }
                    let peer = """
                        apiVersion: projectcalico.org/v3
                        kind: BGPPeer
                        metadata: {name: external-router}
                        spec: {peerIP: \(router.address), asNumber: 64513}

                        """
                    let created = try ToolRunner.run("canalctl", ["create", "-f", "-"], stdin: peer, environment: environment)
                    try #require(created.status == 0, "\(created.stderr)")
                    let routerName = Self.protocolName("Global", router.address)
                    for (speaker, (rows, count)) in zip(speakers, zip(before, reconfigured)) {
                        let up = await NetnsFabric.eventually(20) { established(protocols(fabric, speaker)).contains(routerName) }
                        let after = protocols(fabric, speaker)
                        #expect(up, "\(speaker.host.name): no session to the router: \(after)\n\(speaker.confd.output)")
                        #expect(speaker.confd.output.components(separatedBy: "BIRD reconfigured").count > count, "\(speaker.confd.output)")
                        #expect(after.count == rows.count + 1, "\(after)")
                        for (name, row) in rows {
                            #expect(after[name]?.since == row.since && after[name]?.info == "Established", "\(speaker.host.name) \(name): \(row) → \(String(describing: after[name]))")
                        }
                    }
                    // The router learns every block over eBGP and reaches every workload.
                    for block in blocks {
                        let learned = await NetnsFabric.eventually(20) { Hosts.route(fabric, router, to: block.description)?.contains("proto bird") == true }
                        #expect(learned, "the router did not learn \(block): \(Hosts.routes(fabric, router))\n\(routerBird.output)")
                    }
                    for workload in workloads {
                        let answered = (try? fabric.run(on: router, ["ping", "-n", "-q", "-c3", "-i", "0.3", "-W", "2", workload.ipv4]))?.status == 0
                        #expect(answered, "router → \(workload.ipv4)")
                    }
                    for speaker in speakers {
                        speaker.confd.stop()
                        #expect(speaker.confd.exitStatus == 0, "\(speaker.confd.output)")
                        speaker.bird?.stop()
                    }
                    routerBird.stop()
                }
            }
        }
    }
}
