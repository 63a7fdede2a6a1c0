import CanalDatastore
import CanalIPAM
import CanalModel
import CanalTesting
import Foundation
import Testing

/// canal-flanneld on three namespace hosts on one bridge, etcd in the root namespace: leases,
/// subnet.env, cross-host workload traffic, an etcd outage, and lease expiry.
@Suite("canal-flanneld across hosts", .enabled(if: Hosts.kernelAndEtcd, "needs root and etcd (runs as root or when CI=true)"))
struct FlannelHostsTests {
    /// Three hosts each run canal-flanneld with `backend`; returns after checking traffic, an etcd
    /// outage and a lease expiry. `check` inspects backend-specific kernel state once routes are up.
    func crossHost(
        backend: String, test: String,
        check: (NetnsFabric, [NetnsFabric.Host], [CIDR], [String: String]) throws -> Void,
        checkGone: (NetnsFabric, NetnsFabric.Host, CIDR) throws -> Bool
    ) async throws {
        try await NetnsFabric.withFabric(test: test, hosts: 3) { fabric, hosts in
            try await EtcdServer.withEtcdServer(listeningAlsoOn: [fabric.rootAddress]) { etcd in
                try await Hosts.withTemporaryDirectory(test) { directory in
                    let store = EtcdKeyValueStore(configuration: etcd.configuration())
                    let manager = FlannelSubnetManager(store: store)
                    try await manager.setConfig(FlannelNetworkConfig(
                        network: CIDR("198.18.0.0/16")!, subnetLength: 24, backend: .object(JSONObject([("Type", .string(backend))]))))
                    var daemons: [SpawnedProcess] = []
                    for host in hosts {
                        daemons.append(try fabric.spawn(in: host, [
                            Hosts.tool("canal-flanneld"), "--etcd-endpoints", etcd.endpoint(on: fabric.rootAddress),
                            "--public-ip", host.address, "--iface", host.interface,
                            "--subnet-file", directory.appendingPathComponent("\(host.name)/subnet.env").path,
                            "--subnet-lease-ttl", "4", "--retry-interval", "0.5", "--route-resync", "1",
                        ], log: directory.appendingPathComponent("\(host.name).log")))
                    }
                    // subnet.env on every host.
                    var subnets: [CIDR] = []
                    for host in hosts {
                        let path = directory.appendingPathComponent("\(host.name)/subnet.env").path
                        let written = await NetnsFabric.eventually(15) { FileManager.default.fileExists(atPath: path) }
                        #expect(written, "no subnet.env for \(host.name): \(daemons.map(\.output).joined(separator: "\n---\n"))")
                        let env = try FlannelSubnetEnvironment(parsing: try String(contentsOfFile: path, encoding: .utf8))
                        #expect(env.network == CIDR("198.18.0.0/16")!)
                        #expect(env.mtu == (backend == "vxlan" ? 1450 : 1500))
                        subnets.append(env.subnet)
                    }
                    #expect(Set(subnets).count == 3)
                    // The leases in etcd carry each host's public IP and backend.
                    let leases = try await manager.leases()
                    #expect(Set(leases.map(\.subnet)) == Set(subnets))
                    for (host, subnet) in zip(hosts, subnets) {
                        let lease = try #require(leases.first { $0.subnet == subnet })
                        #expect(lease.attributes.publicIP.description == host.address)
                        #expect(lease.attributes.backendType == backend)
                        #expect(lease.lease != nil)
                    }
                    // One workload per host at .2 of its subnet, Calico-style.
                    var workloads: [Workload] = []
                    for (host, subnet) in zip(hosts, subnets) {
                        workloads.append(try fabric.addWorkload(on: host, name: "w", ipv4: subnet.address.advanced(by: 2)!.description))
                    }
                    // Every host routes to the two others' subnets.
                    for (i, host) in hosts.enumerated() {
                        for (j, subnet) in subnets.enumerated() where j != i {
                            let routed = await NetnsFabric.eventually(10) { Hosts.route(fabric, host, to: subnet.description) != nil }
                            #expect(routed, "\(host.name) has no route to \(subnet): \(Hosts.routes(fabric, host))\n\(daemons[i].output)")
                        }
                    }
                    var vteps: [String: String] = [:]
                    for lease in leases {
                        if case .object(let data)? = lease.attributes.backendData, let mac = data["VtepMAC"]?.stringValue {
                            vteps[lease.attributes.publicIP.description] = mac
                        }
                    }
                    try check(fabric, hosts, subnets, vteps)
                    // Workloads on different hosts reach each other.
                    for (i, source) in workloads.enumerated() {
                        for (j, target) in workloads.enumerated() where j != i {
                            #expect(fabric.ping(from: source, target.ipv4, seconds: 2), "\(source.ipv4) → \(target.ipv4)")
                        }
                    }

                    // etcd down: routes stay, traffic flows, the daemons keep running and recover.
                    etcd.stop()
                    try await Task.sleep(for: .seconds(2.5))
                    #expect(fabric.ping(from: workloads[0], workloads[1].ipv4, seconds: 2))
                    #expect(daemons.allSatisfy { $0.isRunning }, "a daemon exited while etcd was down")
                    #expect(Hosts.route(fabric, hosts[0], to: subnets[1].description) != nil)
                    try await etcd.start()
                    let renewed = await NetnsFabric.eventually(10) {
                        daemons[0].output.contains("cannot renew") || daemons[0].output.contains("cannot reach etcd")
                    }
                    #expect(renewed, "no retry reported while etcd was down:\n\(daemons[0].output)")

                    // Stop host c's daemon: its lease expires (TTL 4 s) and the others drop its routes.
                    daemons[2].stop()
                    #expect(daemons[2].exitStatus == 0, "\(daemons[2].output)")
                    for host in hosts.prefix(2) {
                        let gone = await NetnsFabric.eventually(15) {
                            try Hosts.route(fabric, host, to: subnets[2].description) == nil && checkGone(fabric, host, subnets[2])
                        }
                        #expect(gone, "\(host.name) still routes to \(subnets[2]): \(Hosts.routes(fabric, host))")
                    }
                    #expect(try await manager.leases().map(\.subnet).contains(subnets[2]) == false)
                    // a and b still reach each other (their leases were renewed through the outage).
                    #expect(fabric.ping(from: workloads[0], workloads[1].ipv4, seconds: 2))
                    #expect(daemons.prefix(2).allSatisfy { $0.isRunning })
                    for daemon in daemons.prefix(2) {
                        daemon.stop()
                        #expect(daemon.exitStatus == 0, "\(daemon.output)")
                    }
                }
            }
        }
    }

    @Test("host-gw: leases, routes via public IPs, traffic, etcd outage, expiry", .timeLimit(.minutes(3)))
    func hostGateway() async throws {
        try await crossHost(backend: "host-gw", test: "fl-hostgw") { fabric, hosts, subnets, _ in
            for (i, host) in hosts.enumerated() {
                for (j, subnet) in subnets.enumerated() where j != i {
                    let line = try #require(Hosts.route(fabric, host, to: subnet.description))
                    #expect(line.contains("via \(hosts[j].address) dev eth0"), "\(line)")
                }
                // Nothing to its own subnet through the fabric.
                #expect(Hosts.route(fabric, host, to: subnets[i].description) == nil)
            }
        } checkGone: { _, _, _ in true }
    }

    @Test("vxlan: flannel.1, on-link routes, neighbour and FDB entries, traffic, etcd outage, expiry", .timeLimit(.minutes(3)))
    func vxlan() async throws {
        try await crossHost(backend: "vxlan", test: "fl-vxlan") { fabric, hosts, subnets, vteps in
            for (i, host) in hosts.enumerated() {
                let link = try fabric.exec(on: host, ["ip", "-d", "link", "show", "flannel.1"])
                #expect(link.contains("vxlan id 1 local \(host.address) dev eth0"), "\(link)")
                #expect(link.contains("dstport 8472") && link.contains("nolearning") && link.contains("mtu 1450"), "\(link)")
                #expect(link.contains(vteps[host.address] ?? "?"), "device MAC is not the lease's VtepMAC")
                let address = try fabric.exec(on: host, ["ip", "-4", "addr", "show", "flannel.1"])
                #expect(address.contains("inet \(subnets[i].address)/32"), "\(address)")
                let neighbours = try fabric.exec(on: host, ["ip", "-4", "neigh", "show", "dev", "flannel.1"])
                let fdb = try fabric.exec(on: host, ["bridge", "fdb", "show", "dev", "flannel.1"])
                for (j, subnet) in subnets.enumerated() where j != i {
                    let line = try #require(Hosts.route(fabric, host, to: subnet.description))
                    #expect(line.contains("via \(subnet.address) dev flannel.1 onlink"), "\(line)")
                    let mac = try #require(vteps[hosts[j].address])
                    #expect(neighbours.contains("\(subnet.address) lladdr \(mac) PERMANENT"), "\(neighbours)")
                    #expect(fdb.contains("\(mac) dst \(hosts[j].address) self permanent"), "\(fdb)")
                }
            }
        } checkGone: { fabric, host, subnet in
            let neighbours = try fabric.exec(on: host, ["ip", "-4", "neigh", "show", "dev", "flannel.1"])
            return !neighbours.contains("\(subnet.address) ")
        }
    }

    /// flanneld's `--ip-masq` rules for `network` and `subnet` as `iptables -t nat -S FLANNEL-POSTRTG` prints them.
    static func masqueradeRules(network: String, subnet: String) -> [String] {
        let comment = #"-m comment --comment "flanneld masq""#
        return [
            "-m mark --mark 0x4000/0x4000 \(comment) -j RETURN",
            "-s \(subnet) -d \(network) \(comment) -j RETURN",
            "-s \(network) -d \(subnet) \(comment) -j RETURN",
            "! -s \(network) -d \(subnet) \(comment) -j RETURN",
            "-s \(network) ! -d 224.0.0.0/4 \(comment) -j MASQUERADE --random-fully",
            "! -s \(network) -d \(network) \(comment) -j MASQUERADE --random-fully",
        ].map { "-A FLANNEL-POSTRTG " + $0 }
    }

    /// The packet counts of the FLANNEL-POSTRTG rules, in order (`iptables -t nat -L … -v -x -n`).
    static func counters(_ fabric: NetnsFabric, _ host: NetnsFabric.Host) throws -> [Int] {
        let listing = try fabric.exec(on: host, ["iptables", "-w", "-t", "nat", "-L", "FLANNEL-POSTRTG", "-v", "-x", "-n"])
        return listing.split(separator: "\n").dropFirst(2).compactMap { line in
            line.split(separator: " ", omittingEmptySubsequences: true).first.flatMap { Int($0) }
        }
    }

    @Test("--ip-masq: flannel's FLANNEL-POSTRTG rules, traffic leaving the network masqueraded, kept at resync, removed on exit", .timeLimit(.minutes(2)))
    func ipMasquerade() async throws {
        try await NetnsFabric.withFabric(test: "fl-masq", hosts: 2) { fabric, hosts in
            try await EtcdServer.withEtcdServer(listeningAlsoOn: [fabric.rootAddress]) { etcd in
                try await Hosts.withTemporaryDirectory("fl-masq") { directory in
                    let manager = FlannelSubnetManager(store: EtcdKeyValueStore(configuration: etcd.configuration()))
                    try await manager.setConfig(FlannelNetworkConfig(
                        network: CIDR("198.18.0.0/16")!, subnetLength: 24, backend: .object(JSONObject([("Type", .string("host-gw"))]))))
                    var daemons: [SpawnedProcess] = []
                    var subnets: [CIDR] = []
                    for host in hosts {
                        let env = directory.appendingPathComponent("\(host.name)/subnet.env").path
                        daemons.append(try fabric.spawn(in: host, [
                            Hosts.tool("canal-flanneld"), "--etcd-endpoints", etcd.endpoint(on: fabric.rootAddress),
                            "--iface", host.interface, "--subnet-file", env, "--ip-masq",
                            "--subnet-lease-ttl", "30", "--retry-interval", "0.5", "--route-resync", "1",
                        ], log: directory.appendingPathComponent("\(host.name).log")))
                        let written = await NetnsFabric.eventually(15) { FileManager.default.fileExists(atPath: env) }
                        try #require(written, "no subnet.env for \(host.name): \(daemons.last?.output ?? "")")
                        let parsed = try FlannelSubnetEnvironment(parsing: try String(contentsOfFile: env, encoding: .utf8))
                        #expect(parsed.ipMasquerade)
                        subnets.append(parsed.subnet)
                    }
                    // The rules, in flannel's order, and one jump from POSTROUTING.
                    for (host, subnet) in zip(hosts, subnets) {
                        let wanted = Self.masqueradeRules(network: "198.18.0.0/16", subnet: subnet.network.description)
                        let installed = await NetnsFabric.eventually(10) {
                            try fabric.exec(on: host, ["iptables", "-w", "-t", "nat", "-S", "FLANNEL-POSTRTG"])
                                .split(separator: "\n").map(String.init).filter { $0.hasPrefix("-A ") } == wanted
                        }
                        let chain = (try? fabric.exec(on: host, ["iptables", "-w", "-t", "nat", "-S"])) ?? ""
                        #expect(installed, "\(host.name): \(chain)\n\(daemons[0].output)")
                        let jumps = chain.split(separator: "\n").filter { $0 == #"-A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG"# }
                        #expect(jumps.count == 1, "\(chain)")
                    }
                    let workloads = try zip(hosts, subnets).map { host, subnet in
                        try fabric.addWorkload(on: host, name: "w", ipv4: subnet.address.advanced(by: 2)!.description)
                    }
                    let routed = await NetnsFabric.eventually(10) { Hosts.route(fabric, hosts[0], to: subnets[1].description) != nil }
                    #expect(routed, "\(Hosts.routes(fabric, hosts[0]))")
                    // Inside the network: not translated (the MASQUERADE rules count nothing).
                    #expect(fabric.ping(from: workloads[0], workloads[1].ipv4, seconds: 2))
                    #expect(fabric.ping(from: workloads[1], workloads[0].ipv4, seconds: 2))
                    for host in hosts {
                        let counts = try Self.counters(fabric, host)
                        #expect(counts.count == 6 && counts[4] == 0 && counts[5] == 0, "\(host.name): \(counts)")
                    }
                    // Leaving the network: the root namespace has no route back to 198.18.0.0/16; the
                    // echo is answered only because host a masquerades it behind its own address.
                    #expect(fabric.ping(from: workloads[0], fabric.rootAddress, seconds: 2), "\(daemons[0].output)")
                    let counts = try Self.counters(fabric, hosts[0])
                    #expect(counts.count == 6 && counts[4] >= 1, "\(counts)")

                    // A rule removed behind its back is restored at the next resync.
                    try fabric.exec(on: hosts[0], ["iptables", "-w", "-t", "nat", "-D", "FLANNEL-POSTRTG", "5"])
                    let wanted = Self.masqueradeRules(network: "198.18.0.0/16", subnet: subnets[0].network.description)
                    let restored = await NetnsFabric.eventually(10) {
                        try fabric.exec(on: hosts[0], ["iptables", "-w", "-t", "nat", "-S", "FLANNEL-POSTRTG"])
                            .split(separator: "\n").map(String.init).filter { $0.hasPrefix("-A ") } == wanted
                    }
                    #expect(restored, "\(daemons[0].output)")

                    // On exit (SIGTERM) the jump and the chain are gone.
                    for (host, daemon) in zip(hosts, daemons) {
                        daemon.stop()
                        #expect(daemon.exitStatus == 0, "\(daemon.output)")
                        let chain = try fabric.exec(on: host, ["iptables", "-w", "-t", "nat", "-S"])
                        #expect(!chain.contains("FLANNEL-POSTRTG"), "\(host.name): \(chain)\n\(daemon.output)")
                    }
                    // Without the rules the echo leaves untranslated and its answer goes astray.
                    #expect(!fabric.ping(from: workloads[0], fabric.rootAddress, seconds: 1))
                }
            }
        }
    }

    /// The `-A` lines of `chain` in `table` on `host` (`iptables -S` or `ip6tables -S`; empty when the chain is absent).
    static func listing(_ fabric: NetnsFabric, _ host: NetnsFabric.Host, _ command: String, _ table: String, _ chain: String) -> [String] {
        guard let (status, output) = try? fabric.run(on: host, [command, "-w", "-t", table, "-S", chain]), status == 0 else { return [] }
        return output.split(separator: "\n").map(String.init).filter { $0.hasPrefix("-A ") }
    }

    @Test(
        "FLANNEL-FWD: with FORWARD policy DROP pods on different hosts reach each other only with the forward rules (v4; v6 rules from IPv6Network)",
        .timeLimit(.minutes(2)))
    func forwardRules() async throws {
        try await NetnsFabric.withFabric(test: "fl-fwd", hosts: 2) { fabric, hosts in
            try await EtcdServer.withEtcdServer(listeningAlsoOn: [fabric.rootAddress]) { etcd in
                try await Hosts.withTemporaryDirectory("fl-fwd") { directory in
                    let manager = FlannelSubnetManager(store: EtcdKeyValueStore(configuration: etcd.configuration()))
                    try await manager.setConfig(FlannelNetworkConfig(
                        network: CIDR("198.18.0.0/16")!, subnetLength: 24, backend: .object(JSONObject([("Type", .string("host-gw"))])),
                        enableIPv6: true, ipv6Network: CIDR("fd00:198:18::/48")!))
                    // Docker's setting: nothing is forwarded unless a rule accepts it.
                    for host in hosts {
                        try fabric.exec(on: host, ["iptables", "-w", "-P", "FORWARD", "DROP"])
                        try fabric.exec(on: host, ["ip6tables", "-w", "-P", "FORWARD", "DROP"])
                    }
                    func start(_ extra: [String], _ round: String) async throws -> [SpawnedProcess] {
                        var daemons: [SpawnedProcess] = []
                        for host in hosts {
                            let env = directory.appendingPathComponent("\(host.name)/subnet.env").path
                            try? FileManager.default.removeItem(atPath: env)
                            daemons.append(try fabric.spawn(in: host, [
                                Hosts.tool("canal-flanneld"), "--etcd-endpoints", etcd.endpoint(on: fabric.rootAddress),
                                "--iface", host.interface, "--subnet-file", env,
                                "--subnet-lease-ttl", "30", "--retry-interval", "0.5", "--route-resync", "1",
                            ] + extra, log: directory.appendingPathComponent("\(host.name)-\(round).log")))
                            let written = await NetnsFabric.eventually(15) { FileManager.default.fileExists(atPath: env) }
                            try #require(written, "no subnet.env for \(host.name): \(daemons.last?.output ?? "")")
                        }
                        return daemons
                    }
                    let comment = #"-m comment --comment "flanneld forward""#
                    let v4Rules = ["-A FLANNEL-FWD -s 198.18.0.0/16 \(comment) -j ACCEPT", "-A FLANNEL-FWD -d 198.18.0.0/16 \(comment) -j ACCEPT"]
                    let v6Rules = ["-A FLANNEL-FWD -s fd00:198:18::/48 \(comment) -j ACCEPT", "-A FLANNEL-FWD -d fd00:198:18::/48 \(comment) -j ACCEPT"]
                    let jump = "-A FORWARD \(comment) -j FLANNEL-FWD"

                    // The default: forward rules on, for IPv4 and (from IPv6Network) IPv6.
                    var daemons = try await start([], "on")
                    for (host, daemon) in zip(hosts, daemons) {
                        let installed = await NetnsFabric.eventually(10) {
                            Self.listing(fabric, host, "iptables", "filter", "FLANNEL-FWD") == v4Rules
                                && Self.listing(fabric, host, "ip6tables", "filter", "FLANNEL-FWD") == v6Rules
                        }
                        #expect(installed, "\(host.name): \(daemon.output)")
                        #expect(Self.listing(fabric, host, "iptables", "filter", "FORWARD").filter { $0 == jump }.count == 1)
                        let saved = try fabric.exec(on: host, ["ip6tables-save", "-t", "filter"])
                        #expect(saved.contains(":FORWARD DROP") && saved.contains(jump) && v6Rules.allSatisfy(saved.contains), "\(saved)")
                        // No masquerading without --ip-masq.
                        #expect(Self.listing(fabric, host, "iptables", "nat", "FLANNEL-POSTRTG").isEmpty)
                    }
                    let subnets = try hosts.map { host in
                        try FlannelSubnetEnvironment(parsing: try String(
                            contentsOfFile: directory.appendingPathComponent("\(host.name)/subnet.env").path, encoding: .utf8)).subnet
                    }
                    let workloads = try zip(hosts, subnets).map { host, subnet in
                        try fabric.addWorkload(on: host, name: "w", ipv4: subnet.address.advanced(by: 2)!.description)
                    }
                    for (i, host) in hosts.enumerated() {
                        let routed = await NetnsFabric.eventually(10) { Hosts.route(fabric, host, to: subnets[1 - i].description) != nil }
                        #expect(routed, "\(Hosts.routes(fabric, host))")
                    }
                    #expect(fabric.ping(from: workloads[0], workloads[1].ipv4, seconds: 2), "\(daemons[0].output)")
                    #expect(fabric.ping(from: workloads[1], workloads[0].ipv4, seconds: 2), "\(daemons[1].output)")

                    // A rule deleted behind its back (v4 and v6) is restored at the next resync.
                    try fabric.exec(on: hosts[0], ["iptables", "-w", "-t", "filter", "-D", "FLANNEL-FWD", "2"])
                    try fabric.exec(on: hosts[0], ["ip6tables", "-w", "-t", "filter", "-D", "FORWARD"] + ["-m", "comment", "--comment", "flanneld forward", "-j", "FLANNEL-FWD"])
                    let restored = await NetnsFabric.eventually(10) {
                        Self.listing(fabric, hosts[0], "iptables", "filter", "FLANNEL-FWD") == v4Rules
                            && Self.listing(fabric, hosts[0], "ip6tables", "filter", "FORWARD").contains(jump)
                    }
                    #expect(restored, "\(daemons[0].output)")

                    // On exit the chains and jumps are gone (v4 and v6); the routes stay, the traffic is dropped.
                    for (host, daemon) in zip(hosts, daemons) {
                        daemon.stop()
                        #expect(daemon.exitStatus == 0, "\(daemon.output)")
                        for command in ["iptables", "ip6tables"] {
                            let all = try fabric.exec(on: host, [command, "-w", "-t", "filter", "-S"])
                            #expect(!all.contains("FLANNEL-FWD"), "\(host.name) \(command): \(all)")
                        }
                    }
                    #expect(Hosts.route(fabric, hosts[0], to: subnets[1].description) != nil)
                    #expect(!fabric.ping(from: workloads[0], workloads[1].ipv4, seconds: 1))

                    // --iptables-forward-rules=false: running, routed, no chain, nothing forwarded.
                    daemons = try await start(["--iptables-forward-rules=false"], "off")
                    let routed = await NetnsFabric.eventually(10) { Hosts.route(fabric, hosts[0], to: subnets[1].description) != nil }
                    #expect(routed)
                    #expect(daemons.allSatisfy { $0.isRunning })
                    for host in hosts {
                        #expect(Self.listing(fabric, host, "iptables", "filter", "FLANNEL-FWD").isEmpty)
                        #expect(Self.listing(fabric, host, "ip6tables", "filter", "FLANNEL-FWD").isEmpty)
                    }
                    #expect(!fabric.ping(from: workloads[0], workloads[1].ipv4, seconds: 1))
                    #expect(!fabric.ping(from: workloads[1], workloads[0].ipv4, seconds: 1))
                    for daemon in daemons {
                        daemon.stop()
                        #expect(daemon.exitStatus == 0, "\(daemon.output)")
                    }
                }
            }
        }
    }

    @Test("clear errors: no network config (waits), network exhausted (exits 1)", .timeLimit(.minutes(3)))
    func errors() async throws {
        try await NetnsFabric.withFabric(test: "fl-errors", hosts: 1) { fabric, hosts in
            try await EtcdServer.withEtcdServer(listeningAlsoOn: [fabric.rootAddress]) { etcd in
                try await Hosts.withTemporaryDirectory("fl-errors") { directory in
                    let host = hosts[0]
                    let arguments = [
                        Hosts.tool("canal-flanneld"), "--etcd-endpoints", etcd.endpoint(on: fabric.rootAddress),
                        "--etcd-prefix", "/canal-test/network", "--iface", host.interface,
                        "--subnet-file", directory.appendingPathComponent("subnet.env").path,
                        "--subnet-lease-ttl", "30", "--retry-interval", "0.3",
                    ]
                    let waiting = try fabric.spawn(in: host, arguments, log: directory.appendingPathComponent("waiting.log"))
                    let reported = await NetnsFabric.eventually(10) {
                        waiting.output.contains("no network config at /canal-test/network/config: waiting for it")
                    }
                    #expect(reported, "\(waiting.output)")
                    #expect(waiting.isRunning)
                    waiting.stop()

                    // A /28 with /30 subnets holds three leases (the first subnet is never used).
                    let store = EtcdKeyValueStore(configuration: etcd.configuration())
                    let manager = FlannelSubnetManager(store: store, prefix: "/canal-test/network", ttl: .seconds(30))
                    try await manager.setConfig(FlannelNetworkConfig(
                        network: CIDR("198.18.250.0/28")!, backend: .object(JSONObject([("Type", .string("host-gw"))]))))
                    for i in 1...3 {
                        _ = try await manager.acquire(FlannelLeaseAttributes(publicIP: IPAddress("198.19.99.\(i)")!, backendType: "host-gw"))
                    }
                    let exhausted = try fabric.spawn(in: host, arguments, log: directory.appendingPathComponent("exhausted.log"))
                    #expect(await exhausted.waitForExit(seconds: 60), "\(exhausted.output)")
                    #expect(exhausted.exitStatus == 1)
                    #expect(exhausted.output.contains("network exhausted: no free /30 subnet in 198.18.250.0/28 between 198.18.250.4 and 198.18.250.12 (3 leases held)"), "\(exhausted.output)")
                    #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("subnet.env").path))
                }
            }
        }
    }
}
