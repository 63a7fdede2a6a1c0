import ArgumentParser
import CanalDatastore
import CanalIPAM
import CanalModel
import CanalToolSupport
import Dispatch
import Foundation

/// `canal-controllers`: Calico kube-controllers' IPAM controller in etcd mode — periodic scans that
/// release leaked addresses after a grace period, and clean up the empty blocks and affinities of
/// nodes that are gone (``IPAMGarbageCollector``).
@main
struct CanalControllers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "canal-controllers",
        abstract: "IPAM garbage collection: release leaked addresses, clean up dead nodes' blocks.",
        discussion: """
            The datastore is calicoctl's environment (DATASTORE_TYPE=etcdv3, ETCD_ENDPOINTS, ETCD_*) or the --etcd-* flags. \
            An address a WorkloadEndpoint (or, for a tunnel address, a Node) no longer uses is released once it has been \
            seen unused on two scans at least --leak-grace-period apart; a node is dead when it has no Node resource. \
            One line per scan on standard error. Stops on SIGTERM or SIGINT.
            """)

    @Option(name: .customLong("leak-grace-period"), help: "Seconds an address must stay unused before it is released (0: never; Calico: 900).")
    var gracePeriod: Double = 900

    @Option(name: .customLong("interval"), help: "Seconds between scans (default: half the grace period).")
    var interval: Double?

    @Option(name: .customLong("cni-network"), help: "A CNI network name whose handles (<network>.<container>) are pods' even without pod attributes (repeatable).")
    var networks: [String] = []

    @Option(name: .customLong("max-releases"), help: "The most addresses one scan releases.")
    var maxReleases = 5000

    @Flag(name: .customLong("no-node-cleanup"), help: "Leave the blocks and affinities of nodes without a Node resource alone.")
    var noNodeCleanup = false

    @Flag(name: .customLong("once"), help: "Scan once and exit.")
    var once = false

    @OptionGroup(title: "etcd") var etcdFlags: EtcdFlags

    func validate() throws {
        guard gracePeriod >= 0 else { throw ValidationError("--leak-grace-period must not be negative") }
        if let interval, interval <= 0 { throw ValidationError("--interval must be positive") }
        guard maxReleases > 0 else { throw ValidationError("--max-releases must be positive") }
    }

    func run() async throws {
        let datastore: DatastoreConfiguration
        do {
            (datastore, _) = try etcdFlags.datastore()
        } catch {
            Log.error(error.message)
            throw ExitCode(1)
        }
        guard var etcd = datastore.etcd else {
            Log.error("canal-controllers needs etcd: give --etcd-endpoints or DATASTORE_TYPE=etcdv3 with ETCD_ENDPOINTS")
            throw ExitCode(1)
        }
        etcd.requestTimeout = .seconds(10)
        etcd.connectTimeout = .seconds(3)
        let ipam = IPAMClient(store: EtcdKeyValueStore(configuration: etcd))
        let configuration = IPAMGarbageCollector<EtcdKeyValueStore, ContinuousClock>.Configuration(
            leakGracePeriod: .milliseconds(Int64(gracePeriod * 1000)), interval: interval.map { .milliseconds(Int64($0 * 1000)) },
            workloadHandlePrefixes: networks.map { "\($0)." }, maxReleasesPerScan: maxReleases, cleanUpMissingNodes: !noNodeCleanup)
        var collector = IPAMGarbageCollector(ipam: ipam, clock: ContinuousClock(), configuration: configuration)
        if once {
            do {
                Self.log(try await collector.scan())
            } catch {
                Log.error("scan failed: \(error)")
                throw ExitCode(1)
            }
            return
        }
        Log.info("IPAM garbage collection: grace period \(gracePeriod)s, a scan every \(configuration.interval)")
        let task = Task { try await collector.run { Self.log($0) } }
        let signals = [SIGTERM, SIGINT].map { (number: Int32) -> any DispatchSourceSignal in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number)
            source.setEventHandler {
                task.cancel()
                DispatchQueue.global().asyncAfter(deadline: .now() + 1.5) {
                    Log.info("stopping (signal)")
                    Foundation.exit(0)
                }
            }
            source.resume()
            return source
        }
        defer { signals.forEach { $0.cancel() } }
        try await task.value
        Log.info("stopping")
    }

    static func log(_ outcome: Result<IPAMGarbageCollector<EtcdKeyValueStore, ContinuousClock>.ScanReport, IPAMError>) {
        switch outcome {
        case .failure(let error):
            Log.error("scan failed: \(error)")
        case .success(let report):
            log(report)
        }
    }

    static func log(_ report: IPAMGarbageCollector<EtcdKeyValueStore, ContinuousClock>.ScanReport) {
        for c in report.corrupt { Log.error("corrupt value left alone: \(c.key): \(c.reason)") }
        if let skipped = report.skipped { Log.warning("leaks not judged: \(skipped)") }
        for a in report.candidates { Log.info("candidate leak \(a.address) handle \(a.handle ?? "none") (\(a.attributeText))") }
        for (a, revision) in report.released {
            Log.warning("released leaked address \(a.address) handle \(a.handle ?? "none") at revision \(revision) (\(a.attributeText))")
        }
        for a in report.keptInUse { Log.info("\(a.address) is in use again: kept") }
        for (host, cidr) in report.releasedBlocks { Log.info("released block \(cidr) of the missing node \(host)") }
        for (host, cidr) in report.staleAffinities { Log.info("deleted the stale affinity of \(host) to block \(cidr)") }
        for host in report.removedHosts { Log.info("removed the IPAM record of the missing node \(host)") }
        for cidr in report.cooledBlocks { Log.info("returned the cooled-down addresses of block \(cidr)") }
        Log.info(
            "scan at revision \(report.revision): \(report.candidates.count) candidates, \(report.released.count) released, "
                + "\(report.releasedBlocks.count) blocks released")
    }
}
