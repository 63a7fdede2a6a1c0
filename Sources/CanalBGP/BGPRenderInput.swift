public import CanalModel

/// Everything the BIRD renderer reads: the cluster's BGP resources, the node to render for, and the
/// node's IPAM block affinities. A pure value: building it is the caller's I/O, rendering it is not.
///
/// This is what Calico's confd gets from its BGP syncer (IPPools, BGPConfigurations, Nodes, BGPPeers,
/// and this node's block affinities), plus the passwords it reads from Kubernetes secrets.
public struct BGPRenderInput: Sendable, Hashable {
    /// The node whose configuration is rendered (`metadata.name` of one of ``nodes``).
    public var nodeName: String
    /// BGP configurations: `default` (cluster-wide) and any `node.<name>` overrides; others are ignored.
    public var configurations: [BGPConfiguration]
    /// All Calico nodes.
    public var nodes: [Node]
    /// All BGP peers.
    public var peers: [BGPPeer]
    /// All IP pools.
    public var pools: [IPPool]
    /// This node's block affinities (IPv4 and IPv6).
    public var blocks: [BGPBlockAffinity]
    /// Resolved passwords of the secrets that `BGPPeer.spec.password` and
    /// `BGPConfiguration.spec.nodeMeshPassword` refer to; a reference without an entry renders no password.
    public var passwords: [BGPSecretKey: String]
    /// Where the router id comes from (Calico's `CALICO_ROUTER_ID`).
    public var routerID: BGPRouterID

    /// An input; everything but the node name may be empty.
    public init(
        nodeName: String, configurations: [BGPConfiguration] = [], nodes: [Node] = [], peers: [BGPPeer] = [],
        pools: [IPPool] = [], blocks: [BGPBlockAffinity] = [], passwords: [BGPSecretKey: String] = [:],
        routerID: BGPRouterID = .nodeIPv4
    ) {
        self.nodeName = nodeName
        self.configurations = configurations
        self.nodes = nodes
        self.peers = peers
        self.pools = pools
        self.blocks = blocks
        self.passwords = passwords
        self.routerID = routerID
    }
}

/// One block affinity of the rendered node: the block's CIDR and the affinity's state, as stored at
/// `/calico/ipam/v2/host/<node>/ipv4/block/<a.b.c.d-len>` (`{"state": …, "deleted": …}`).
public struct BGPBlockAffinity: Sendable, Hashable {
    /// The state of an affinity.
    public enum State: String, Sendable, Hashable, CaseIterable {
        /// The node owns the block: blackholed and announced as one route.
        case confirmed
        /// The claim is not complete: ignored, as confd ignores it.
        case pending
        /// The block is being released: still blackholed, no longer aggregated.
        case pendingDeletion
    }

    /// The block.
    public var cidr: CIDR
    /// The affinity's state; an affinity stored without one counts as confirmed.
    public var state: State

    /// An affinity.
    public init(cidr: CIDR, state: State = .confirmed) {
        self.cidr = cidr
        self.state = state
    }
}

/// A key of a secret holding a BGP password (`secretKeyRef.name` and `.key`).
public struct BGPSecretKey: Sendable, Hashable {
    /// The secret's name ("" when the reference names none).
    public var name: String
    /// The key within the secret.
    public var key: String

    /// A secret key.
    public init(name: String, key: String) {
        self.name = name
        self.key = key
    }

    /// The key a password reference points at, if it points at one.
    public init?(_ password: BGPPassword?) {
        guard let ref = password?.secretKeyRef else { return nil }
        self.init(name: ref.name ?? "", key: ref.key)
    }

    /// A secret value given on a command line as `SECRET/KEY=VALUE` (the tools' `--password`), or
    /// nil when the text has another form.
    package static func assignment(_ text: String) -> (key: BGPSecretKey, value: String)? {
        guard let eq = text.firstIndex(of: "="), let slash = text[..<eq].firstIndex(of: "/") else { return nil }
        return (BGPSecretKey(name: String(text[..<slash]), key: String(text[text.index(after: slash)..<eq])), String(text[text.index(after: eq)...]))
    }
}

/// How the BIRD router id is chosen, as Calico's `CALICO_ROUTER_ID` does.
public enum BGPRouterID: Sendable, Hashable {
    /// The node's IPv4 address (Calico's default). A node without one uses ``hash`` instead, since a
    /// router id must be four octets and BIRD refuses a configuration without one.
    case nodeIPv4
    /// Four bytes of SHA-256 of the node name (`CALICO_ROUTER_ID=hash`).
    case hash
    /// A literal IPv4 address.
    case literal(IPAddress)

    /// The choice a `CALICO_ROUTER_ID` value makes: empty → ``nodeIPv4``, `hash` → ``hash``, an IPv4
    /// address → ``literal(_:)``; nil for anything else.
    package init?(calicoRouterID text: String) {
        switch text {
        case "": self = .nodeIPv4
        case "hash": self = .hash
        default:
            guard let ip = IPAddress(text), ip.family == .v4 else { return nil }
            self = .literal(ip)
        }
    }
}

/// Why a configuration cannot be rendered.
public struct BGPRenderError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Value: Sendable, Hashable { case nodeNotFound, invalidValue }
        private let value: Value
        /// The rendered node is not among the input's nodes.
        public static let nodeNotFound = Code(value: .nodeNotFound)
        /// A value cannot be written in BIRD's configuration language (a password with a double quote,
        /// a literal router id that is not IPv4).
        public static let invalidValue = Code(value: .invalidValue)
        /// The code's name.
        public var description: String {
            switch value {
            case .nodeNotFound: "nodeNotFound"
            case .invalidValue: "invalidValue"
            }
        }
    }

    /// The kind of failure.
    public var code: Code
    /// What went wrong, for a person.
    public var message: String

    /// An error.
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    /// The message.
    public var description: String { message }
}
