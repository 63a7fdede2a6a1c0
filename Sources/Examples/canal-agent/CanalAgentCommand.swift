import ArgumentParser
import CanalAgent
import CanalDatastore
import CanalToolSupport
import Dispatch
import Foundation
import Logging

/// `canal-agent`: the per-host policy agent.
@main
struct CanalAgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "canal-agent",
        abstract: "Enforce Calico policy on this host: follow the datastore, keep iptables/ipset or nftables in step.",
        discussion: """
            The datastore is configured as for calicoctl: DATASTORE_TYPE=etcdv3 and ETCD_ENDPOINTS, \
            ETCD_USERNAME, ETCD_PASSWORD, ETCD_KEY_FILE, ETCD_CERT_FILE, ETCD_CA_CERT_FILE (flags override them). \
            The agent runs until SIGTERM or SIGINT and leaves its rules in force when it stops; \
            --cleanup removes them.
            """)

    @Option(help: "This node's name (the spec.node of its endpoints).")
    var node: String?

    @Option(help: "The dataplane to program: iptables or nft.")
    var dataplane: String = "iptables"

    @Flag(help: "Sync once, apply the policy and exit.")
    var once = false

    @Flag(help: "Remove every chain, hook and IP set Canal owns (both dataplanes) and exit.")
    var cleanup = false

    @Option(help: "Write the health status (JSON with \"inSync\") to this file.")
    var healthFile: String?

    @Option(help: "Seconds between read-backs of the kernel state that repair drift.")
    var refreshInterval: Double = 90

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    @OptionGroup var etcdFlags: EtcdFlags

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel.lowercased()) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: "canal-agent")
        logger.logLevel = level
        if cleanup {
            try await Agent<EtcdKeyValueStore>.cleanup(tools: ShellKernelTools(), logger: logger)
            logger.info("removed Canal's chains, hooks and IP sets")
            return
        }
        guard let node, !node.isEmpty else { throw ValidationError("--node is required") }
        guard let kind = DataplaneKind(rawValue: dataplane) else {
            throw ValidationError("--dataplane must be iptables or nft")
        }
        let datastore: DatastoreConfiguration
        do {
            datastore = try DatastoreConfiguration(environment: etcdFlags.environment())
        } catch {
            throw ValidationError("invalid datastore configuration: \(error)")
        }
        guard let etcd = datastore.etcd else {
            throw ValidationError("canal-agent needs a shared datastore: set DATASTORE_TYPE=etcdv3 and ETCD_ENDPOINTS (or --etcd-endpoints)")
        }
        let configuration = AgentConfiguration(
            node: node, dataplane: kind, tools: ShellKernelTools(), once: once, refreshInterval: .milliseconds(Int(max(0.1, refreshInterval) * 1000)),
            healthFile: healthFile)
        let agent = Agent(store: EtcdKeyValueStore(configuration: etcd), configuration: configuration, logger: logger)
        logger.info("canal-agent starting: node \(node), dataplane \(kind.rawValue), etcd \(etcd.endpoints.joined(separator: ","))")
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await agent.run() }
            group.addTask { [logger] in
                let signal = await Signals.next([SIGTERM, SIGINT])
                logger.info("received signal \(signal): shutting down, rules stay in force")
            }
            try await group.next()
            group.cancelAll()
        }
    }
}
