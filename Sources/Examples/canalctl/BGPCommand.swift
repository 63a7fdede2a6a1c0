import ArgumentParser
import CanalBGP
import CanalDatastore
import CanalIPAM
import CanalModel
import Foundation

/// `canalctl bgp config --node NAME`: the BIRD 2 configuration Canal renders for a node.
struct BGPCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bgp", abstract: "BGP: the BIRD configuration of a node.",
        subcommands: [BGPConfigCommand.self])
}

struct BGPConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Print the BIRD 2 configuration of a node, rendered from the datastore as Calico's confd renders it.",
        discussion: """
            Reads the BGPConfigurations, Nodes, BGPPeers and IPPools, and the node's IPAM block affinities \
            (/calico/ipam/v2/host/<node>/ipv4|ipv6/block/...; a value that does not parse is an error). Passwords live in Kubernetes secrets, which \
            canalctl does not read: give them with --password SECRET/KEY=VALUE. Check the output with \
            `bird -p -c FILE`.
            """)

    @Option(name: .customLong("node"), help: "The node to render for (its Node resource name).")
    var node: String

    @Option(name: .customLong("router-id"), help: "The router id: an IPv4 address, or 'hash' (default: CALICO_ROUTER_ID, else the node's IPv4 address).")
    var routerID: String?

    @Option(name: .customLong("password"), help: "A BGP password: SECRET/KEY=VALUE (repeatable).")
    var passwords: [String] = []

    @OptionGroup var datastore: DatastoreOptions

    func run() async throws {
        var secrets: [BGPSecretKey: String] = [:]
        for entry in passwords {
            guard let (key, value) = BGPSecretKey.assignment(entry) else {
                IO.error("--password \(entry): expected SECRET/KEY=VALUE")
                throw ExitCode(1)
            }
            secrets[key] = value
        }
        let source = routerID ?? ProcessInfo.processInfo.environment["CALICO_ROUTER_ID"] ?? ""
        guard let routerID = BGPRouterID(calicoRouterID: source) else {
            IO.error("router id \"\(source)\" is neither an IPv4 address nor 'hash'")
            throw ExitCode(1)
        }
        try await runReporting(Runner(node: node, routerID: routerID, passwords: secrets), datastore: datastore)
    }

    struct Runner: DatastoreCommand {
        var node: String
        var routerID: BGPRouterID
        var passwords: [BGPSecretKey: String]

        func execute<Store: KeyValueStore>(_ client: ResourceClient<Store>) async throws {
            var input = BGPRenderInput(nodeName: node, passwords: passwords, routerID: routerID)
            input.configurations = try await client.list(BGPConfiguration.self).items
            input.nodes = try await client.list(Node.self).items
            input.peers = try await client.list(BGPPeer.self).items
            input.pools = try await client.list(IPPool.self).items
            do {
                input.blocks = try await Self.blockAffinities(of: node, in: client.store)
            } catch {
                throw CommandError("cannot read the block affinities of \(node): \(error.message)")
            }
            do {
                let text = try BIRDRenderer.render(input)
                FileHandle.standardOutput.write(Data(text.utf8))
            } catch {
                throw CommandError(error.message)
            }
        }

        /// The node's block affinities, read by Calico IPAM's reader (`IPAMClient.blockAffinities`),
        /// deleted ones left out, in address order.
        static func blockAffinities<Store: KeyValueStore>(of node: String, in store: Store) async throws(IPAMError) -> [BGPBlockAffinity] {
            try await IPAMClient(store: store).blockAffinities(host: node)
                .filter { !$0.value.deleted }
                .sorted { $0.key.address < $1.key.address }
                .map { BGPBlockAffinity(cidr: $0.key, state: BGPBlockAffinity.State($0.value.state)) }
        }
    }
}

extension BGPBlockAffinity.State {
    /// The renderer's state of an IPAM affinity state (the same three, by name).
    init(_ state: BlockAffinity.State) {
        switch state {
        case .confirmed: self = .confirmed
        case .pending: self = .pending
        case .pendingDeletion: self = .pendingDeletion
        }
    }
}
