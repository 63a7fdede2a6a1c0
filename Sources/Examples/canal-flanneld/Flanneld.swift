import CanalToolSupport
import CanalDatastore
import CanalIPAM
import CanalModel
import Foundation
import Synchronization

/// Everything canal-flanneld was told.
struct FlanneldSettings: Sendable {
    var etcd: EtcdConfiguration
    var prefix: String
    var iface: String?
    var publicIP: IPAddress?
    var subnetFile: String
    var ttl: Duration
    var renewMargin: Duration
    var retryInterval: Duration
    var resyncInterval: Duration
    var ipMasquerade: Bool
    var forwardRules: Bool
}

/// An error that ends canal-flanneld with status 1 and one clear line.
struct Fatal: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// flanneld's main sequence: config, interface, backend device, lease, subnet.env, then renewing
/// the lease and following the other hosts' leases until cancelled (SIGTERM).
struct Flanneld: Sendable {
    let settings: FlanneldSettings

    func run() async throws {
        let store = EtcdKeyValueStore(configuration: settings.etcd)
        let manager = FlannelSubnetManager(store: store, prefix: settings.prefix, ttl: settings.ttl)
        let config = try await waitForConfig(manager)
        guard let network = config.network else { throw Fatal("the network config has no Network") }
        let backendType = config.backendType
        guard backendType == "host-gw" || backendType == "vxlan" else {
            throw Fatal("backend type \"\(backendType)\" is not supported by canal-flanneld (use host-gw or vxlan)")
        }
        let external: ExternalInterface
        do {
            external = try await ExternalInterface.find(iface: settings.iface, publicIP: settings.publicIP)
        } catch {
            throw Fatal("cannot choose the external interface: \(error)")
        }
        let publicIP = settings.publicIP ?? external.address
        Log.info("using interface \(external.name) (\(external.address), MTU \(external.mtu)), public IP \(publicIP), backend \(backendType)")

        var attributes = FlannelLeaseAttributes(publicIP: publicIP, backendType: backendType)
        var mtu = external.mtu
        var vxlanDevice: String?
        if backendType == "host-gw" {
            guard publicIP == external.address else {
                throw Fatal("host-gw needs the public IP (\(publicIP)) to be the address of \(external.name) (\(external.address)); it cannot work across NAT")
            }
        } else {
            let (vni, port) = Self.vxlanOptions(config.backend)
            let device = "flannel.\(vni)"
            mtu = external.mtu - 50
            let mac: String
            do {
                mac = try await VXLANDataplane.ensureDevice(
                    name: device, vni: vni, port: port, localIP: publicIP, interface: external.name, mtu: mtu)
            } catch {
                throw Fatal("cannot create the vxlan device \(device): \(error)")
            }
            attributes.backendData = FlannelVXLANData(vni: vni, vtepMAC: mac).json
            vxlanDevice = device
        }

        let previous = (try? String(contentsOfFile: settings.subnetFile, encoding: .utf8))
            .flatMap { try? FlannelSubnetEnvironment(parsing: $0).subnet }
        let lease = try await acquire(manager, attributes: attributes, previous: previous, config: config)
        try await serve(
            Serving(
                store: store, manager: manager, config: config, network: network, lease: lease, attributes: attributes,
                publicIP: publicIP, interface: external.name, mtu: mtu, vxlanDevice: vxlanDevice, backendType: backendType))
    }

    /// What the daemon runs with once it holds a lease (a class, so the async frames stay small).
    final class Serving: Sendable {
        let store: EtcdKeyValueStore
        let manager: FlannelSubnetManager<EtcdKeyValueStore>
        let config: FlannelNetworkConfig
        let network: CIDR
        let lease: FlannelLease
        let attributes: FlannelLeaseAttributes
        let publicIP: IPAddress
        let interface: String
        let mtu: Int
        let vxlanDevice: String?
        let backendType: String

        init(
            store: EtcdKeyValueStore, manager: FlannelSubnetManager<EtcdKeyValueStore>, config: FlannelNetworkConfig, network: CIDR,
            lease: FlannelLease, attributes: FlannelLeaseAttributes, publicIP: IPAddress, interface: String, mtu: Int,
            vxlanDevice: String?, backendType: String
        ) {
            self.store = store
            self.manager = manager
            self.config = config
            self.network = network
            self.lease = lease
            self.attributes = attributes
            self.publicIP = publicIP
            self.interface = interface
            self.mtu = mtu
            self.vxlanDevice = vxlanDevice
            self.backendType = backendType
        }
    }

    /// Device address, subnet.env, then renewing and following leases until cancelled.
    private func serve(_ s: Serving) async throws {
        let store = s.store, manager = s.manager, config = s.config, network = s.network, lease = s.lease
        let attributes = s.attributes, publicIP = s.publicIP, mtu = s.mtu, vxlanDevice = s.vxlanDevice, backendType = s.backendType
        Log.info("acquired lease \(lease.subnet) for \(publicIP) (TTL \(settings.ttl))")
        if let vxlanDevice {
            try await VXLANDataplane.configureAddress(device: vxlanDevice, subnet: lease.subnet.description, network: network.description)
        }
        let environment = FlannelSubnetEnvironment(network: network, subnet: lease.subnet, mtu: mtu, ipMasquerade: settings.ipMasquerade)
        do {
            try environment.write(to: settings.subnetFile)
        } catch {
            throw Fatal("cannot write \(settings.subnetFile): \(error.message)")
        }
        Log.info("wrote \(settings.subnetFile): FLANNEL_SUBNET=\(lease.subnet.network.firstAddress.advanced(by: 1)!)/\(lease.subnet.prefixLength)")

        let ipv6Network = config.enableIPv6 ? config.ipv6Network : nil
        if settings.ipMasquerade, let ipv6Network {
            Log.warning("ip-masq: \(ipv6Network) is not masqueraded (Canal leases no IPv6 subnet; IPv4 only)")
        }
        let chains = IPTablesChains(chains: IPTablesChains.wanted(
            network: network, subnet: lease.subnet, ipv6Network: ipv6Network, masquerade: settings.ipMasquerade,
            forward: settings.forwardRules, randomFully: settings.ipMasquerade ? await IPTablesChains.iptablesHasRandomFully() : false))
        IPTablesChains.kept.withLock { $0 = chains.chains }
        if config.enableNFTables, !chains.chains.isEmpty {
            Log.warning("the network config sets EnableNFTables: canal-flanneld writes its rules with iptables (no nftables mode)")
        }
        if !chains.chains.isEmpty {
            do {
                _ = try await chains.ensure()
            } catch {
                Log.error("cannot install the iptables rules: \(error); retrying at the next resync")
            }
            for chain in chains.chains {
                let what = chain.chain == FlannelIPTablesChain.masqueradeChain
                    ? "ip-masq: traffic from \(network) leaving it is masqueraded"
                    : "forward rules: traffic from and to \(chain.network) is accepted"
                Log.info("\(what) (\(chain.command) \(chain.table) \(chain.chain))")
            }
        }
        let dataplane: any Dataplane = vxlanDevice.map { VXLANDataplane(device: $0, network: network, ownSubnet: lease.subnet) }
            ?? HostGatewayDataplane(interface: s.interface, network: network, ownSubnet: lease.subnet)
        let keeper = RouteKeeper(dataplane: dataplane, backendType: backendType, publicIP: publicIP, ownSubnet: lease.subnet)

        let leaseAttributes = attributes
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await renewForever(manager, lease: lease, attributes: leaseAttributes, config: config) }
                group.addTask { try await followLeases(store: store, keeper: keeper) }
                group.addTask {
                    while true {
                        try await Task.sleep(for: settings.resyncInterval)
                        await keeper.reconcile()
                        if chains.chains.isEmpty { continue }
                        do {
                            for chain in try await chains.ensure() {
                                Log.info("rewrote \(chain.command) \(chain.table) \(chain.chain) (it differed)")
                            }
                        } catch {
                            Log.error("cannot install the iptables rules: \(error); retrying at the next resync")
                        }
                    }
                }
                try await group.next()
                group.cancelAll()
            }
        } catch is CancellationError {
        } catch {
            IPTablesChains.remove(chains.chains)
            throw error
        }
        if !chains.chains.isEmpty {
            IPTablesChains.remove(chains.chains)
            Log.info("removed the iptables rules (\(chains.chains.map { "\($0.command) \($0.chain)" }.joined(separator: ", ")))")
        }
        Log.info("stopping; the lease \(lease.subnet) is kept until it expires, routes are left in place")
    }

    /// The vxlan backend's `VNI` (default 1) and `Port` (0 or absent: the kernel's 8472).
    static func vxlanOptions(_ backend: JSONValue?) -> (vni: Int, port: Int) {
        guard case .object(let object)? = backend else { return (1, 8472) }
        var vni = 1, port = 8472
        for (key, value) in object {
            guard case .number(let text) = value, let n = Int(text) else { continue }
            switch key.lowercased() {
            case "vni": vni = n
            case "port": port = n == 0 ? 8472 : n
            default: break
            }
        }
        return (vni, port)
    }

    /// The network config; waits (retrying) while it is missing or etcd is down, as flanneld does.
    private func waitForConfig(_ manager: FlannelSubnetManager<EtcdKeyValueStore>) async throws -> FlannelNetworkConfig {
        var reported = ""
        while true {
            do {
                return try await manager.config()
            } catch {
                let line: String
                switch error.code {
                case .notFound:
                    line = "no network config at \(manager.configKey): waiting for it (write it with `canalctl flannel config` or etcdctl put)"
                case .datastore where error.datastoreError?.code == .unavailable || error.datastoreError?.code == .timeout:
                    line = "cannot reach etcd at \(settings.etcd.endpoints.joined(separator: ",")): retrying"
                case .invalidArgument, .corruptData:
                    throw Fatal("invalid network config at \(manager.configKey): \(error.message)")
                default:
                    line = "cannot read the network config: \(error.message)"
                }
                if line != reported { Log.error(line); reported = line }
                try await Task.sleep(for: settings.retryInterval)
            }
        }
    }

    /// A lease, retrying while etcd is down; a full network is fatal.
    private func acquire(
        _ manager: FlannelSubnetManager<EtcdKeyValueStore>, attributes: FlannelLeaseAttributes, previous: CIDR?,
        config: FlannelNetworkConfig
    ) async throws -> FlannelLease {
        while true {
            do {
                return try await manager.acquire(attributes, previous: previous)
            } catch where error.code == .outOfSubnets {
                let held = (try? await manager.leases().count).map { " (\($0) leases held)" } ?? ""
                throw Fatal(
                    "network exhausted: no free /\(config.subnetLength) subnet in \(config.network!) between "
                        + "\(config.subnetMin!) and \(config.subnetMax!)\(held)")
            } catch where error.code == .datastore && error.datastoreError.map({ $0.code == .unavailable || $0.code == .timeout }) == true {
                Log.error("cannot reach etcd to acquire a lease: retrying in \(settings.retryInterval)")
                try await Task.sleep(for: settings.retryInterval)
            } catch {
                throw Fatal("cannot acquire a lease: \(error.message)")
            }
        }
    }

    /// Renews at expiry minus the margin (at most half the TTL); while etcd is down, keeps the
    /// routes and retries. A lease that vanished (expired during an outage, or deleted) is acquired
    /// again for the same subnet; if that subnet is gone to another host, canal-flanneld stops.
    private func renewForever(
        _ manager: FlannelSubnetManager<EtcdKeyValueStore>, lease: FlannelLease, attributes: FlannelLeaseAttributes,
        config: FlannelNetworkConfig
    ) async throws {
        var lease = lease
        var expiry = ContinuousClock.now + settings.ttl
        let margin = min(settings.renewMargin, settings.ttl / 2)
        while true {
            try await Task.sleep(until: expiry - margin)
            while true {
                do {
                    let renewed = try await manager.renew(lease, attributes: attributes)
                    lease = renewed
                    expiry = .now + settings.ttl
                    break
                } catch where error.datastoreError?.code == .conflict || error.datastoreError?.code == .notFound {
                    Log.error("the lease \(lease.subnet) was lost (expired or deleted): acquiring it again")
                    let again = try await acquire(manager, attributes: attributes, previous: lease.subnet, config: config)
                    guard again.subnet == lease.subnet else {
                        throw Fatal("the lease \(lease.subnet) was lost and the host now got \(again.subnet): restart canal-flanneld to use it")
                    }
                    lease = again
                    expiry = .now + settings.ttl
                    break
                } catch {
                    Log.error("cannot renew the lease \(lease.subnet): \(error.message); keeping current routes, retrying in \(settings.retryInterval)")
                    try await Task.sleep(for: settings.retryInterval)
                }
            }
        }
    }

    /// Lists and watches `<prefix>/subnets/` (the Syncer resyncs after an outage) and reconciles
    /// after every batch once in sync.
    private func followLeases(store: EtcdKeyValueStore, keeper: RouteKeeper) async throws {
        let syncer = Syncer(
            store: store, prefixes: [settings.prefix + "/subnets/"],
            configuration: Syncer<EtcdKeyValueStore>.Configuration(retryInterval: settings.retryInterval))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await syncer.run() }
            group.addTask {
                for try await batch in syncer.updates {
                    await keeper.apply(batch)
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }
}

/// The other hosts' leases as last seen, and the reconciliation of the kernel against them
/// (one pass at a time; a request during a pass runs one more pass after it).
actor RouteKeeper {
    private let dataplane: any Dataplane
    private let backendType: String
    private let publicIP: IPAddress
    private let ownSubnet: CIDR
    private var leases: [String: FlannelLease] = [:]
    private var synced = false
    private var running = false
    private var again = false

    init(dataplane: any Dataplane, backendType: String, publicIP: IPAddress, ownSubnet: CIDR) {
        self.dataplane = dataplane
        self.backendType = backendType
        self.publicIP = publicIP
        self.ownSubnet = ownSubnet
    }

    func apply(_ batch: SyncBatch) async {
        for update in batch.updates {
            if update.kind == .delete {
                if let gone = leases.removeValue(forKey: update.key), gone.attributes.publicIP != publicIP {
                    Log.info("lease \(gone.subnet) of \(gone.attributes.publicIP) is gone")
                }
            } else if let kv = update.value {
                do {
                    if let lease = try FlannelLease(kv) {
                        if leases[update.key] == nil, lease.attributes.publicIP != publicIP {
                            Log.info("lease \(lease.subnet) of \(lease.attributes.publicIP) (\(lease.attributes.backendType))")
                        }
                        leases[update.key] = lease
                    }
                } catch {
                    Log.warning("ignoring \(update.key): \(error.message)")
                }
            }
        }
        if batch.status == .inSync { synced = true }
        if synced { await reconcile() }
    }

    func reconcile() async {
        guard synced else { return }
        if running {
            again = true
            return
        }
        running = true
        defer { running = false }
        repeat {
            again = false
            let peers = FlannelPeer.peers(of: Array(leases.values), backendType: backendType, publicIP: publicIP, ownSubnet: ownSubnet)
            do {
                _ = try await dataplane.reconcile(peers)
            } catch {
                Log.error("programming routes failed: \(error); retrying at the next resync")
            }
        } while again
    }
}
