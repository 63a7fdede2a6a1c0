import CanalToolSupport
import ArgumentParser
import CanalDatastore
import CanalModel
import Dispatch
import Foundation
import Synchronization

/// `canal-flanneld`: flanneld's job with Canal's flannel leases. Reads the network config at
/// `<etcd-prefix>/config`, leases a subnet for the host (renewing it before it expires), writes
/// `subnet.env`, and keeps a route to every other host's subnet (host-gw), or a vxlan device with
/// per-peer route, neighbour and FDB entries (vxlan). Programs the kernel with iproute2.
@main
struct CanalFlanneld: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "canal-flanneld",
        abstract: "flanneld for Canal: subnet leases in etcd, host-gw and vxlan routes.",
        discussion: """
            Keys are flannel's: the network config at <prefix>/config (e.g. {"Network":"10.5.0.0/16","Backend":{"Type":"vxlan"}}), \
            one lease per host at <prefix>/subnets/<a.b.c.d-len> attached to an etcd lease. Stops on SIGTERM or SIGINT, \
            leaving its lease (it expires after the TTL) and its routes, and removing its --ip-masq and forward rules. \
            etcd is reached as by canalctl: the --etcd-* flags over calicoctl's ETCD_* variables (DATASTORE_TYPE, if set, must be etcdv3).
            """)

    @OptionGroup(title: "etcd") var etcdFlags: EtcdFlags

    @Option(name: .customLong("etcd-prefix"), help: "The etcd prefix of flannel's keys.")
    var etcdPrefix = "/coreos.com/network"

    @Option(name: .customLong("iface"), help: "The interface (name or IPv4 address) for host-to-host traffic (default: the one holding --public-ip, else the default route's).")
    var iface: String?

    @Option(name: .customLong("public-ip"), help: "The IP other hosts reach this host at (default: the interface's address).")
    var publicIP: String?

    @Option(name: .customLong("subnet-file"), help: "Where to write the subnet environment.")
    var subnetFile = "/run/flannel/subnet.env"

    @Option(name: .customLong("subnet-lease-renew-margin"), help: "Minutes before expiry to renew the lease (1-1439; at most half the TTL is used).")
    var renewMargin = 60

    @Option(name: .customLong("subnet-lease-ttl"), help: "Seconds a lease lives without renewal (flannel: 24 h).")
    var ttl = 86_400

    @Option(name: .customLong("retry-interval"), help: "Seconds between retries while etcd is down or the config is missing.")
    var retryInterval = 5.0

    @Option(name: .customLong("route-resync"), help: "Seconds between re-checks of the programmed routes (flannel: 10).")
    var resync = 10.0

    @Flag(name: .customLong("ip-masq"), help: "Masquerade traffic from the flannel network leaving it (nat chain FLANNEL-POSTRTG, removed on exit) and record FLANNEL_IPMASQ=true in subnet.env.")
    var ipMasquerade = false

    @Option(
        name: .customLong("iptables-forward-rules"),
        help: ArgumentHelp(
            "Accept forwarded traffic from and to the flannel network (filter chain FLANNEL-FWD from FORWARD, also for IPv6Network with ip6tables; removed on exit), for hosts whose FORWARD policy is DROP.",
            valueName: "true|false"))
    var forwardRules = true

    func validate() throws {
        guard (1...1439).contains(renewMargin) else { throw ValidationError("--subnet-lease-renew-margin must be 1 to 1439 minutes") }
        guard ttl >= 2 else { throw ValidationError("--subnet-lease-ttl must be at least 2 seconds") }
        guard retryInterval > 0, resync > 0 else { throw ValidationError("intervals must be positive") }
        if let publicIP, IPAddress(publicIP)?.family != .v4 { throw ValidationError("--public-ip \(publicIP) is not an IPv4 address") }
    }

    func run() async throws {
        var etcd: EtcdConfiguration
        do {
            etcd = try etcdFlags.etcdOnly(tool: "canal-flanneld")
        } catch {
            Log.error(error.message)
            throw ExitCode(1)
        }
        etcd.requestTimeout = .seconds(5)
        etcd.connectTimeout = .seconds(2)
        etcd.watchReconnectTimeout = .seconds(10)
        let settings = FlanneldSettings(
            etcd: etcd,
            prefix: etcdPrefix.hasSuffix("/") ? String(etcdPrefix.dropLast()) : etcdPrefix,
            iface: iface, publicIP: publicIP.flatMap { IPAddress($0) }, subnetFile: subnetFile,
            ttl: .seconds(ttl), renewMargin: .seconds(renewMargin * 60), retryInterval: .seconds(retryInterval),
            resyncInterval: .seconds(resync), ipMasquerade: ipMasquerade, forwardRules: forwardRules)
        let task = Task { try await Flanneld(settings: settings).run() }
        let signals = [SIGTERM, SIGINT].map { (number: Int32) -> any DispatchSourceSignal in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number)
            source.setEventHandler {
                task.cancel()
                // Requests to an unreachable etcd may take a while to give up: exit after a grace period.
                DispatchQueue.global().asyncAfter(deadline: .now() + 1.5) {
                    // The iptables rules go whatever the daemon was doing (removing twice is quiet).
                    IPTablesChains.remove(IPTablesChains.kept.withLock { $0 })
                    Log.info("stopping (signal)")
                    Foundation.exit(0)
                }
            }
            source.resume()
            return source
        }
        defer { signals.forEach { $0.cancel() } }
        do {
            try await task.value
        } catch let error as Fatal {
            Log.error(error.description)
            throw ExitCode(1)
        }
    }
}
