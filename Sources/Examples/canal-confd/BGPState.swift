import CanalBGP
import CanalDatastore
import CanalIPAM
import CanalModel

/// What confd's BGP syncer delivers, kept by key: BGP configurations, nodes, peers, pools, and this
/// node's block affinities; turned into the renderer's input on demand.
struct BGPState: Sendable {
    var node: String
    var configurations: [String: BGPConfiguration] = [:]
    var nodes: [String: Node] = [:]
    var peers: [String: BGPPeer] = [:]
    var pools: [String: IPPool] = [:]
    var affinities: [String: BGPBlockAffinity] = [:]

    /// The prefixes to list and watch: four resource kinds and the node's affinities.
    static func prefixes(node: String) -> [String] {
        [ResourceKind.bgpConfiguration, .node, .bgpPeer, .ipPool].map { ResourceKey.prefix(kind: $0) }
            + [IPAMKeys.affinityPrefix(host: node, family: .v4), IPAMKeys.affinityPrefix(host: node, family: .v6)]
    }

    /// Applies one update; returns a warning for a value that cannot be read.
    mutating func apply(_ update: SyncUpdate) -> String? {
        let key = update.key
        if update.kind == .delete {
            configurations[key] = nil
            nodes[key] = nil
            peers[key] = nil
            pools[key] = nil
            affinities[key] = nil
            return nil
        }
        if let (_, cidr) = IPAMKeys.parseAffinity(key) {
            do {
                let value = try BlockAffinity(json: update.value?.value ?? [])
                affinities[key] = value.deleted ? nil : BGPBlockAffinity(cidr: cidr, state: Self.state(value.state))
            } catch {
                affinities[key] = nil
                return "ignoring \(key): \(error.message)"
            }
            return nil
        }
        if let error = update.error { return "ignoring \(key): \(error.message)" }
        switch update.resource {
        case let resource as BGPConfiguration: configurations[key] = resource
        case let resource as Node: nodes[key] = resource
        case let resource as BGPPeer: peers[key] = resource
        case let resource as IPPool: pools[key] = resource
        default: break
        }
        return nil
    }

    /// The renderer's input.
    func input(passwords: [BGPSecretKey: String], routerID: BGPRouterID) -> BGPRenderInput {
        BGPRenderInput(
            nodeName: node, configurations: configurations.keys.sorted().map { configurations[$0]! },
            nodes: nodes.keys.sorted().map { nodes[$0]! }, peers: peers.keys.sorted().map { peers[$0]! },
            pools: pools.keys.sorted().map { pools[$0]! }, blocks: affinities.keys.sorted().map { affinities[$0]! },
            passwords: passwords, routerID: routerID)
    }

    static func state(_ state: BlockAffinity.State) -> BGPBlockAffinity.State {
        switch state {
        case .confirmed: .confirmed
        case .pending: .pending
        case .pendingDeletion: .pendingDeletion
        }
    }
}
