import CanalToolSupport
import ArgumentParser
import CanalBGP
import CanalDatastore
import CanalIPAM
import CanalModel
import Dispatch
import Foundation

/// `canal-confd --node NAME`: confd's BIRD job. Watches the BGP resources and the node's block
/// affinities, renders the node's BIRD 2 configuration, and when the text changes checks it with
/// `bird -p -c`, writes it atomically and asks the running BIRD to reload (`birdc configure`).
@main
struct CanalConfd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "canal-confd",
        abstract: "Render BIRD 2 configuration from the datastore and keep BIRD reconfigured.",
        discussion: """
            The datastore is calicoctl's environment (DATASTORE_TYPE=etcdv3, ETCD_ENDPOINTS, ETCD_*) or the --etcd-* flags; \
            watching needs etcd, --once also works on the embedded datastore (CANAL_STATE_FILE). Stops on SIGTERM or SIGINT.
            """)

    @Option(name: .customLong("node"), help: "The node to render for (its Node resource name).")
    var node: String

    @Flag(name: .customLong("once"), help: "Render, check and write once, then exit (no reload).")
    var once = false

    @Option(name: .customLong("config-file"), help: "The BIRD configuration file to write.")
    var configFile = "/etc/calico/confd/config/bird.cfg"

    @Option(name: .customLong("bird"), help: "The bird binary used to check a configuration (bird -p -c).")
    var bird = "bird"

    @Option(name: .customLong("birdc"), help: "The birdc binary used to reload BIRD.")
    var birdc = "birdc"

    @Option(name: .customLong("bird-socket"), help: "BIRD's control socket.")
    var socket = "/var/run/calico/bird.ctl"

    @Flag(name: .customLong("no-check"), help: "Do not check configurations with bird -p before writing them.")
    var noCheck = false

    @Option(name: .customLong("router-id"), help: "The router id: an IPv4 address, or 'hash' (default: CALICO_ROUTER_ID, else the node's IPv4 address).")
    var routerID: String?

    @Option(name: .customLong("password"), help: "A BGP password: SECRET/KEY=VALUE (repeatable).")
    var passwords: [String] = []

    @OptionGroup(title: "etcd") var etcdFlags: EtcdFlags

    @Option(name: .customLong("state-file"), help: "The embedded datastore's file, with --once (overrides CANAL_STATE_FILE).")
    var stateFile: String?

    func run() async throws {
        var secrets: [BGPSecretKey: String] = [:]
        for entry in passwords {
            guard let (key, value) = BGPSecretKey.assignment(entry) else {
                throw ValidationError("--password \(entry): expected SECRET/KEY=VALUE")
            }
            secrets[key] = value
        }
        let routerSource = routerID ?? ProcessInfo.processInfo.environment["CALICO_ROUTER_ID"] ?? ""
        guard let router = BGPRouterID(calicoRouterID: routerSource) else {
            throw ValidationError("router id \"\(routerSource)\" is neither an IPv4 address nor 'hash'")
        }
        let datastore: DatastoreConfiguration, environment: [String: String]
        do {
            (datastore, environment) = try etcdFlags.datastore(overriding: [("CANAL_STATE_FILE", stateFile)])
        } catch {
            throw fail(error.message)
        }
        let writer = BIRDWriter(configFile: configFile, bird: bird, birdc: birdc, socket: socket, check: !noCheck)
        let confd = Confd(node: node, passwords: secrets, routerID: router, writer: writer)

        guard var etcd = datastore.etcd else {
            guard once else {
                let hint = (environment["ETCD_ENDPOINTS"] ?? "").isEmpty ? "" : " (ETCD_ENDPOINTS alone does not select etcd, as for canalctl)"
                throw fail("watching needs etcd: give --etcd-endpoints or DATASTORE_TYPE=etcdv3 with ETCD_ENDPOINTS\(hint); the embedded datastore works only with --once")
            }
            let path = StateFile.defaultPath(environment: environment)
            try await StateFile.withStore(at: path) { store in try await confd.once(store) }
            return
        }
        etcd.requestTimeout = .seconds(5)
        etcd.connectTimeout = .seconds(2)
        etcd.watchReconnectTimeout = .seconds(10)
        let store = EtcdKeyValueStore(configuration: etcd)
        if once {
            try await confd.once(store)
            return
        }
        let task = Task { try await confd.watch(store) }
        let signals = [SIGTERM, SIGINT].map { (number: Int32) -> any DispatchSourceSignal in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number)
            source.setEventHandler {
                task.cancel()
                // Requests to an unreachable etcd may take a while to give up: exit after a grace period.
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
    }

    private func fail(_ message: String) -> ExitCode {
        Log.error(message)
        return ExitCode(1)
    }
}

/// The rendering loop.
struct Confd: Sendable {
    var node: String
    var passwords: [BGPSecretKey: String]
    var routerID: BGPRouterID
    var writer: BIRDWriter

    /// Reads everything once, renders and writes (no reload).
    func once<Store: KeyValueStore>(_ store: Store) async throws {
        let client = ResourceClient(store: store)
        do {
            var input = BGPRenderInput(nodeName: node, passwords: passwords, routerID: routerID)
            input.configurations = try await client.list(BGPConfiguration.self).items
            input.nodes = try await client.list(Node.self).items
            input.peers = try await client.list(BGPPeer.self).items
            input.pools = try await client.list(IPPool.self).items
            input.blocks = try await IPAMClient(store: store).blockAffinities(host: node)
                .filter { !$0.value.deleted }
                .sorted { $0.key.address < $1.key.address }
                .map { BGPBlockAffinity(cidr: $0.key, state: BGPState.state($0.value.state)) }
            let text = try BIRDRenderer.render(input)
            switch try await writer.write(text, reload: false) {
            case .rejected: throw ExitCode(1)
            case .unchanged: Log.info("\(writer.configFile) is up to date")
            case .written: break
            }
        } catch let error as DatastoreError {
            Log.error("cannot read the datastore: \(error.message)")
            throw ExitCode(1)
        } catch let error as IPAMError {
            Log.error("cannot read the block affinities: \(error.message)")
            throw ExitCode(1)
        } catch let error as BGPRenderError {
            Log.error("cannot render the configuration of \(node): \(error.message)")
            throw ExitCode(1)
        }
    }

    /// Lists and watches (the Syncer resyncs after an outage); after each batch once in sync,
    /// renders and writes when the text changed. Returns when cancelled.
    func watch<Store: KeyValueStore>(_ store: Store) async throws {
        let syncer = Syncer(store: store, prefixes: BGPState.prefixes(node: node))
        Log.info("watching the datastore for node \(node)")
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await syncer.run() }
                group.addTask {
                    var state = BGPState(node: node)
                    var synced = false
                    var lastProblem = ""
                    for try await batch in syncer.updates {
                        for update in batch.updates {
                            if let warning = state.apply(update) { Log.warning(warning) }
                        }
                        if batch.status == .inSync { synced = true }
                        guard synced else { continue }
                        do {
                            let text = try BIRDRenderer.render(state.input(passwords: passwords, routerID: routerID))
                            lastProblem = ""
                            _ = try await writer.write(text, reload: true)
                        } catch let error as BGPRenderError {
                            let line = "cannot render the configuration of \(node): \(error.message)"
                            if line != lastProblem { Log.error(line); lastProblem = line }
                        } catch {
                            Log.error("\(error)")
                        }
                    }
                }
                try await group.next()
                group.cancelAll()
            }
        } catch is CancellationError {}
        Log.info("stopping")
    }
}
