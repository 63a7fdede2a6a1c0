import CanalDatastore
import CanalIPAM
import CanalModel
import CanalTesting
import Foundation
import Testing

/// canal-confd and real BIRD 2 on namespace hosts: blocks claimed with CanalIPAM are announced,
/// learned by every host, and carry workload traffic; adding a node reconfigures BIRD without
/// dropping established sessions.
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
}
