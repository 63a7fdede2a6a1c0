import CanalBGP
import CanalManifest
import CanalModel

/// A cluster described as a calicoctl manifest, plus each node's block affinities.
struct Scenario: Sendable, CustomStringConvertible {
    var name: String
    var manifest: String
    var blocks: [String: [BGPBlockAffinity]] = [:]
    var passwords: [BGPSecretKey: String] = [:]
    /// The node whose rendering is kept as golden text.
    var goldenNode: String

    var description: String { name }

    /// The input for one node.
    func input(for node: String) throws -> BGPRenderInput {
        var input = BGPRenderInput(nodeName: node, blocks: blocks[node] ?? [], passwords: passwords)
        for entry in try Manifest.read(manifest, applyDefaults: true, validate: true) {
            let resource = try entry.result.get()
            switch resource {
            case let r as BGPConfiguration: input.configurations.append(r)
            case let r as Node: input.nodes.append(r)
            case let r as BGPPeer: input.peers.append(r)
            case let r as IPPool: input.pools.append(r)
            default: break
            }
        }
        return input
    }

    /// The names of the scenario's nodes.
    func nodeNames() throws -> [String] {
        try input(for: goldenNode).nodes.compactMap(\.metadata.name)
    }
}

func block(_ cidr: String, _ state: BGPBlockAffinity.State = .confirmed) -> BGPBlockAffinity {
    BGPBlockAffinity(cidr: CIDR(cidr)!, state: state)
}

/// `kind: Node` documents.
func nodes(_ specs: [(name: String, bgp: String, labels: String)]) -> String {
    specs.map { n in
        """
        apiVersion: projectcalico.org/v3
        kind: Node
        metadata:
          name: \(n.name)
        \(n.labels.isEmpty ? "" : "  labels: {\(n.labels)}")
        spec:
          bgp: {\(n.bgp)}
        ---

        """
    }.joined()
}

let defaultPools = """
    apiVersion: projectcalico.org/v3
    kind: IPPool
    metadata: {name: default-ipv4}
    spec: {cidr: 10.244.0.0/16}
    ---
    apiVersion: projectcalico.org/v3
    kind: IPPool
    metadata: {name: private}
    spec: {cidr: 10.245.0.0/16, disableBGPExport: true}
    ---

    """

enum Scenarios {
    /// Three nodes in the default full mesh; node3's address sorts before node2's as a string.
    static let mesh = Scenario(
        name: "mesh",
        manifest: nodes([
            ("node1", "ipv4Address: 10.0.0.1/24", ""), ("node2", "ipv4Address: 10.0.0.2/24", ""),
            ("node3", "ipv4Address: 10.0.0.10/24", ""),
        ]) + defaultPools,
        blocks: [
            "node1": [block("10.244.1.0/26"), block("10.245.1.0/26"), block("10.244.1.64/26", .pending)],
            "node2": [block("10.244.2.0/26"), block("10.244.2.64/26", .pendingDeletion)],
            "node3": [block("10.244.3.0/26"), block("10.244.3.64/32")],
        ],
        goldenNode: "node1")

    /// Mesh off; one global eBGP peer on a non-standard port with a password and timers.
    static let meshOffGlobalPeer = Scenario(
        name: "mesh-off-global-peer",
        manifest: nodes([("node1", "ipv4Address: 10.0.0.1/24", ""), ("node2", "ipv4Address: 10.0.0.2/24", "")])
            + defaultPools + """
            apiVersion: projectcalico.org/v3
            kind: BGPConfiguration
            metadata: {name: default}
            spec: {nodeToNodeMeshEnabled: false, asNumber: 64512}
            ---
            apiVersion: projectcalico.org/v3
            kind: BGPPeer
            metadata: {name: upstream}
            spec:
              peerIP: 192.0.2.1:1790
              asNumber: 65000
              password: {secretKeyRef: {name: bgp-secrets, key: upstream}}
              keepaliveTime: 20s
              maxRestartTime: 2m
              keepOriginalNextHop: true
            """,
        blocks: ["node1": [block("10.244.1.0/26")], "node2": [block("10.244.2.0/26")]],
        passwords: [BGPSecretKey(name: "bgp-secrets", key: "upstream"): "s3cret"],
        goldenNode: "node1")

    /// Two route reflectors (one cluster id) and two clients, mesh off, Calico's selector pair.
    static let routeReflectors = Scenario(
        name: "route-reflectors",
        manifest: nodes([
            ("rr1", "ipv4Address: 10.0.0.3/24, routeReflectorClusterID: 244.0.0.1", "route-reflector: \"true\""),
            ("rr2", "ipv4Address: 10.0.0.4/24, routeReflectorClusterID: 244.0.0.1", "route-reflector: \"true\""),
            ("node1", "ipv4Address: 10.0.0.1/24", ""), ("node2", "ipv4Address: 10.0.0.2/24", ""),
        ]) + defaultPools + """
            apiVersion: projectcalico.org/v3
            kind: BGPConfiguration
            metadata: {name: default}
            spec: {nodeToNodeMeshEnabled: false}
            ---
            apiVersion: projectcalico.org/v3
            kind: BGPPeer
            metadata: {name: peer-with-route-reflectors}
            spec:
              nodeSelector: all()
              peerSelector: route-reflector == 'true'
            """,
        blocks: ["node1": [block("10.244.1.0/26")], "node2": [block("10.244.2.0/26")]],
        goldenNode: "rr1")

    /// Each node has its own AS: the mesh becomes eBGP.
    static let perNodeAS = Scenario(
        name: "per-node-as",
        manifest: nodes([
            ("node1", "ipv4Address: 10.0.0.1/24, asNumber: 65001", ""),
            ("node2", "ipv4Address: 10.0.0.2/24, asNumber: 65002", ""),
            ("node3", "ipv4Address: 10.0.0.3/24", ""),
        ]) + defaultPools + """
            apiVersion: projectcalico.org/v3
            kind: BGPConfiguration
            metadata: {name: default}
            spec: {asNumber: 64600}
            """,
        blocks: ["node1": [block("10.244.1.0/26")]],
        goldenNode: "node1")

    /// Top-of-rack peers: one for a node, one for a label selector, with the per-peer options.
    static let nodePeers = Scenario(
        name: "node-peers",
        manifest: nodes([
            ("node1", "ipv4Address: 10.0.0.1/24", "rack: a"), ("node2", "ipv4Address: 10.0.1.2/24", "rack: b"),
        ]) + defaultPools + """
            apiVersion: projectcalico.org/v3
            kind: BGPConfiguration
            metadata: {name: default}
            spec: {nodeToNodeMeshEnabled: false}
            ---
            apiVersion: projectcalico.org/v3
            kind: BGPPeer
            metadata: {name: tor-node1}
            spec:
              node: node1
              peerIP: 10.0.0.254
              asNumber: 65100
              localASNumber: 65010
              nextHopMode: Self
              ttlSecurity: 1
              numAllowedLocalASNumbers: 2
            ---
            apiVersion: projectcalico.org/v3
            kind: BGPPeer
            metadata: {name: rack-a-spine}
            spec:
              nodeSelector: rack == 'a'
              peerIP: 198.51.100.7
              asNumber: 65200
              reachableBy: 10.0.0.254
              sourceAddress: None
              nextHopMode: Keep
            ---
            apiVersion: projectcalico.org/v3
            kind: BGPPeer
            metadata: {name: rack-b-tor}
            spec:
              nodeSelector: rack == 'b'
              peerIP: 10.0.1.254
              asNumber: 65100
            """,
        blocks: ["node1": [block("10.244.1.0/26")], "node2": [block("10.244.2.0/26")]],
        goldenNode: "node1")

    /// Dual stack: IPv4 and IPv6 mesh, listen ports (cluster and per node), debug logs, bind to the node IP.
    static let dualStack = Scenario(
        name: "dual-stack",
        manifest: nodes([
            ("node1", "ipv4Address: 10.0.0.1/24, ipv6Address: 'fd00:10::1/64'", ""),
            ("node2", "ipv4Address: 10.0.0.2/24, ipv6Address: 'fd00:10::2/64'", ""),
            ("node3", "ipv4Address: 10.0.0.3/24", ""),
        ]) + defaultPools + """
            apiVersion: projectcalico.org/v3
            kind: IPPool
            metadata: {name: default-ipv6}
            spec: {cidr: 'fd00:244::/48'}
            ---
            apiVersion: projectcalico.org/v3
            kind: BGPConfiguration
            metadata: {name: default}
            spec: {listenPort: 1790, logSeverityScreen: Debug, bindMode: NodeIP}
            ---
            apiVersion: projectcalico.org/v3
            kind: BGPConfiguration
            metadata: {name: node.node2}
            spec: {listenPort: 1791}
            """,
        blocks: [
            "node1": [block("10.244.1.0/26"), block("fd00:244:0:1::/122")],
            "node2": [block("10.244.2.0/26"), block("fd00:244:0:2::/122"), block("fd00:244:0:2::40/128")],
        ],
        goldenNode: "node1")

    /// An IPv6-only cluster: the router id is hashed from the node name.
    static let ipv6Only = Scenario(
        name: "ipv6-only",
        manifest: nodes([
            ("node1", "ipv6Address: 'fd00:10::1/64'", ""), ("node2", "ipv6Address: 'fd00:10::2/64'", ""),
        ]) + """
            apiVersion: projectcalico.org/v3
            kind: IPPool
            metadata: {name: default-ipv6}
            spec: {cidr: 'fd00:244::/48', vxlanMode: Always}
            """,
        blocks: ["node1": [block("fd00:244:0:1::/122")]],
        goldenNode: "node2")

    /// A node without blocks; quiet logs; encapsulated pools; communities; WireGuard; ignored interfaces.
    static let extras = Scenario(
        name: "extras",
        manifest: """
            apiVersion: projectcalico.org/v3
            kind: Node
            metadata: {name: node1}
            spec:
              bgp: {ipv4Address: 10.0.0.1/24}
              wireguard: {interfaceIPv4Address: 10.250.0.1}
            ---
            apiVersion: projectcalico.org/v3
            kind: Node
            metadata: {name: node2}
            spec:
              bgp: {ipv4Address: 10.0.0.2/24}
              wireguard: {interfaceIPv4Address: 10.250.0.2}
            ---

            """
            + """
            apiVersion: projectcalico.org/v3
            kind: IPPool
            metadata: {name: ipip}
            spec: {cidr: 10.96.0.0/16, ipipMode: Always}
            ---
            apiVersion: projectcalico.org/v3
            kind: IPPool
            metadata: {name: vxlan}
            spec: {cidr: 10.97.0.0/16, vxlanMode: CrossSubnet}
            ---
            apiVersion: projectcalico.org/v3
            kind: IPPool
            metadata: {name: plain}
            spec: {cidr: 10.98.0.0/16}
            ---
            apiVersion: projectcalico.org/v3
            kind: BGPConfiguration
            metadata: {name: default}
            spec:
              logSeverityScreen: Warning
              ignoredInterfaces: [docker0, "veth*"]
              communities: [{name: gold, value: "65000:100"}]
              prefixAdvertisements:
              - {cidr: 10.98.0.0/16, communities: [gold, "64512:1:2"]}
              programClusterRoutes: Disabled
              nodeMeshMaxRestartTime: 90s
              nodeMeshPassword: {secretKeyRef: {name: mesh, key: password}}
            """,
        passwords: [BGPSecretKey(name: "mesh", key: "password"): "mesh-pass"],
        goldenNode: "node1")

    static let all = [mesh, meshOffGlobalPeer, routeReflectors, perNodeAS, nodePeers, dualStack, ipv6Only, extras]
}
