import CanalModel
import CanalSelector

/// One peering of the rendered node, before it is split by address family: what confd keeps as
/// `/calico/bgp/v1/{global,host/<node>}/peer_v4|v6/<ip>[-<port>]` (`confd/pkg/backends/types.go BGPPeer`).
struct PeeringData: Sendable, Hashable {
    var ip: IPAddress
    /// 0 when the peering does not name a port.
    var port: UInt16 = 0
    var asNumber: ASNumber
    var localASNumber: ASNumber?
    var sourceAddress: BGPPeerSpec.SourceAddress = .useNodeIP
    /// The peer IP is the address of a Calico node (used by the passive rule).
    var isCalicoNode = false
    var ttlSecurity: UInt8 = 0
    var reachableBy: IPAddress?
    var keepNextHop = false
    var nextHopMode: BGPPeerSpec.NextHopMode?
    var rrClusterID = ""
    var password: String?
    var restartTime: Int?
    var keepaliveTime: Int?
    var numAllowLocalAS: Int32 = 0
}

/// Where a peering was defined: cluster-wide (every node has it, named `Global_…`) or for this node
/// (`Node_…`).
enum PeeringScope: Sendable, Hashable { case global, node }

struct PeeringKey: Sendable, Hashable {
    var scope: PeeringScope
    var ip: IPAddress
    var port: UInt16
}

/// The cluster as confd's client caches it, indexed for one node's rendering.
struct BGPCluster {
    let nodeName: String
    let node: Node
    let global: BGPConfigurationSpec?
    /// `node.<name>` configurations by node name.
    let perNode: [String: BGPConfigurationSpec]
    /// Nodes sorted by name (Go iterates maps; a fixed order keeps the output deterministic).
    let nodes: [Node]
    let peers: [BGPPeer]
    let passwords: [BGPSecretKey: String]

    init(_ input: BGPRenderInput) throws(BGPRenderError) {
        nodeName = input.nodeName
        var global: BGPConfigurationSpec?
        var perNode: [String: BGPConfigurationSpec] = [:]
        for config in input.configurations {
            let name = config.metadata.name ?? ""
            if name == "default" {
                global = config.spec
            } else if name.hasPrefix("node.") {
                perNode[String(name.dropFirst(5))] = config.spec
            }
        }
        self.global = global
        self.perNode = perNode
        nodes = input.nodes.sorted { ($0.metadata.name ?? "") < ($1.metadata.name ?? "") }
        guard let me = nodes.first(where: { $0.metadata.name == input.nodeName }) else {
            throw BGPRenderError(code: .nodeNotFound, message: "node \"\(input.nodeName)\" is not among the \(input.nodes.count) Calico nodes")
        }
        node = me
        peers = input.peers.sorted { ($0.metadata.name ?? "") < ($1.metadata.name ?? "") }
        passwords = input.passwords
    }

    // MARK: node facts

    var globalAS: ASNumber { global?.effectiveASNumber ?? BGPConfigurationSpec.defaultASNumber }

    /// The node's AS: its own, else the cluster's, else 64512.
    func asNumber(of node: Node) -> ASNumber { node.spec.bgp?.asNumber ?? globalAS }

    func address(of node: Node, _ family: IPAddress.Family) -> IPAddress? {
        (family == .v4 ? node.spec.ipv4Network : node.spec.ipv6Network)?.address
    }

    func clusterID(of node: Node) -> String { node.spec.bgp?.routeReflectorClusterID ?? "" }

    /// The listen port a node's peers dial: its `node.<name>` port, else the cluster's; nil when neither is set.
    func listenPort(ofNode name: String) -> UInt16? {
        if let port = perNode[name]?.listenPort, port != 0 { return port }
        if let port = global?.listenPort, port != 0 { return port }
        return nil
    }

    func nodesMatching(_ text: String) -> [Node] {
        guard let selector = try? Selector(text) else { return [] }
        return nodes.filter { selector.matches($0.metadata.labels ?? [:]) }
    }

    func password(_ ref: BGPPassword?) -> String? {
        BGPSecretKey(ref).flatMap { passwords[$0] }
    }

    // MARK: peerings (confd client.go updatePeersV1, for this node's keys only)

    /// The peerings of this node keyed as confd keys them: the global pass, then the node-specific pass
    /// (a node peering to an IP and port that has a global one is dropped), then the automatic reverse
    /// peerings (an explicit peering wins over a reverse one). Local-workload peers are not rendered.
    func peerings() -> [PeeringKey: PeeringData] {
        var emitted: [PeeringKey: PeeringData] = [:]
        func emit(_ key: PeeringKey, _ data: PeeringData) {
            if emitted[key] != nil { return }
            if key.scope == .node, emitted[PeeringKey(scope: .global, ip: key.ip, port: key.port)] != nil { return }
            emitted[key] = data
        }

        for globalPass in [true, false] {
            for peer in peers where peer.spec.localWorkloadSelector.isEmpty {
                let s = peer.spec
                let isGlobal = s.node.isEmpty && s.nodeSelector.isEmpty
                guard isGlobal == globalPass else { continue }
                if !isGlobal {
                    let local = !s.nodeSelector.isEmpty ? nodesMatching(s.nodeSelector).map { $0.metadata.name ?? "" } : [s.node]
                    guard local.contains(nodeName) else { continue }
                }
                let datas: [PeeringData]
                if !s.peerSelector.isEmpty {
                    datas = nodesMatching(s.peerSelector).flatMap { nodeAsPeerings($0, v4: true, v6: true, peer: peer) }
                } else {
                    guard let data = explicitPeering(peer) else { continue }
                    datas = [data]
                }
                for data in datas {
                    emit(PeeringKey(scope: isGlobal ? .global : .node, ip: data.ip, port: data.port), data)
                }
            }
        }

        for peer in peers where peer.spec.reversePeering != .manual && peer.spec.localWorkloadSelector.isEmpty {
            let s = peer.spec
            // The nodes at the remote end of the peering get the reverse peering...
            let local: [Node]
            var v4 = false
            var v6 = false
            if !s.peerSelector.isEmpty {
                local = nodesMatching(s.peerSelector)
                v4 = true
                v6 = true
            } else {
                guard let (ip, port) = s.peerAddress else { continue }
                local = nodes(withIP: ip, asNumber: s.asNumber, port: port ?? 0)
                if ip.family == .v4 { v4 = true } else { v6 = true }
            }
            guard local.contains(where: { $0.metadata.name == nodeName }) else { continue }
            // ...towards the nodes at the local end.
            let remote: [Node]
            if !s.nodeSelector.isEmpty {
                remote = nodesMatching(s.nodeSelector)
            } else if !s.node.isEmpty {
                remote = nodes.filter { $0.metadata.name == s.node }
            } else {
                remote = nodes
            }
            for data in remote.flatMap({ nodeAsPeerings($0, v4: v4, v6: v6, peer: peer) }) {
                emit(PeeringKey(scope: .node, ip: data.ip, port: data.port), data)
            }
        }
        return emitted
    }

    /// Fields every peering takes from its BGPPeer (`setPeerConfigFieldsFromV3Resource`).
    private func applyCommonFields(_ data: inout PeeringData, from peer: BGPPeer) {
        let s = peer.spec
        data.password = password(s.password)
        data.sourceAddress = s.sourceAddress ?? .useNodeIP
        data.restartTime = s.maxRestartTime.flatMap(Self.roundedSeconds)
        data.keepaliveTime = s.keepaliveTime.flatMap(Self.roundedSeconds)
        if let mode = s.nextHopMode {
            data.nextHopMode = mode
        } else {
            data.keepNextHop = s.keepOriginalNextHop
        }
    }

    /// A Calico node as the remote end of a peering (`nodeAsBGPPeers`): its address of each requested
    /// family, its AS, its listen port, its cluster id.
    private func nodeAsPeerings(_ node: Node, v4: Bool, v6: Bool, peer: BGPPeer) -> [PeeringData] {
        var result: [PeeringData] = []
        for family in [IPAddress.Family.v4, .v6] where family == .v4 ? v4 : v6 {
            guard let ip = address(of: node, family) else { continue }
            var data = PeeringData(ip: ip, asNumber: asNumber(of: node))
            data.ttlSecurity = peer.spec.ttlSecurity ?? 0
            data.reachableBy = IPAddress(peer.spec.reachableBy)
            data.port = listenPort(ofNode: node.metadata.name ?? "") ?? 0
            data.rrClusterID = clusterID(of: node)
            applyCommonFields(&data, from: peer)
            result.append(data)
        }
        return result
    }

    /// A peering to `peerIP`. Without a port, a peer that is a Calico node (same address and AS) is
    /// dialled on that node's listen port.
    private func explicitPeering(_ peer: BGPPeer) -> PeeringData? {
        let s = peer.spec
        guard let (ip, explicitPort) = s.peerAddress else { return nil }
        // A peerIP peering without an AS number is taken as iBGP (Calico would render `as 0`, which BIRD refuses).
        var data = PeeringData(ip: ip, asNumber: s.asNumber ?? globalAS)
        var port = explicitPort ?? 0
        if port == 0, let first = nodes(withIP: ip, asNumber: s.asNumber, port: 0).first {
            port = listenPort(ofNode: first.metadata.name ?? "") ?? 0
        }
        data.port = port
        data.localASNumber = s.localASNumber
        data.isCalicoNode = nodes.contains { address(of: $0, ip.family) == ip }
        data.numAllowLocalAS = s.numAllowedLocalASNumbers ?? 0
        data.ttlSecurity = s.ttlSecurity ?? 0
        if let gateway = IPAddress(s.reachableBy) {
            guard gateway.family == ip.family else { return nil }
            data.reachableBy = gateway
        }
        applyCommonFields(&data, from: peer)
        return data
    }

    /// Calico nodes with address `ip`, AS `asNumber` (nil: the cluster's) and, when `port` is not 0,
    /// that listen port (`nodesWithIPPortAndAS`).
    private func nodes(withIP ip: IPAddress, asNumber: ASNumber?, port: UInt16) -> [Node] {
        let wanted = asNumber ?? globalAS
        return nodes.filter { node in
            guard address(of: node, ip.family) == ip, self.asNumber(of: node) == wanted else { return false }
            if port != 0, let listening = listenPort(ofNode: node.metadata.name ?? ""), listening != port { return false }
            return true
        }
    }

    /// A Go duration in whole seconds, rounded half away from zero (`math.Round(d.Seconds())`).
    static func roundedSeconds(_ text: String) -> Int? {
        guard let ns = GoDuration.nanoseconds(text) else { return nil }
        return Int((Double(ns) / 1e9).rounded(.toNearestOrAwayFromZero))
    }
}
