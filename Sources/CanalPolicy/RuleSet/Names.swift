public import CanalModel
import CanalSelector

/// Felix's chain names and the 28-character limit.
public enum ChainName {
    /// iptables' longest chain name (the kernel's 29 includes the NUL).
    public static let maxLength = 28

    /// Felix's top-level chains.
    public static let forward = "cali-FORWARD"
    public static let input = "cali-INPUT"
    public static let output = "cali-OUTPUT"
    public static let workloadToHost = "cali-wl-to-host"
    public static let fromWorkloadDispatch = "cali-from-wl-dispatch"
    public static let toWorkloadDispatch = "cali-to-wl-dispatch"
    public static let fromHostEndpoint = "cali-from-host-endpoint"
    public static let toHostEndpoint = "cali-to-host-endpoint"
    public static let fromHostEndpointForward = "cali-from-hep-forward"
    public static let toHostEndpointForward = "cali-to-hep-forward"
    public static let cidrBlock = "cali-cidr-block"
    /// Host ports always allowed into host endpoints.
    public static let failsafeIn = "cali-failsafe-in"
    /// Host ports always allowed out of host endpoints.
    public static let failsafeOut = "cali-failsafe-out"

    /// `prefix + suffix` when it fits in `maxLength`; otherwise `prefix + "_" +` the start of
    /// base64url(SHA-256(suffix)) (libcalico-go's `GetLengthLimitedID`). An empty suffix is `_`;
    /// a suffix starting with `_` that exactly fills the limit is hashed too, so a hashed name
    /// can never collide with a plain one.
    public static func lengthLimited(prefix: String, suffix: String, maxLength: Int = ChainName.maxLength) -> String {
        let suffix = suffix.isEmpty ? "_" : suffix
        let total = prefix.utf8.count + suffix.utf8.count
        if total > maxLength || (total == maxLength && suffix.hasPrefix("_")) {
            let hash = Base64URL.encodeNoPadding(SHA2.sha256(suffix.utf8))
            return prefix + "_" + hash.prefix(max(0, maxLength - 1 - prefix.utf8.count))
        }
        return prefix + suffix
    }

    /// `cali-pi-<id>` (ingress) or `cali-po-<id>` (egress) for a policy.
    public static func policy(_ id: PolicyChainID, _ direction: PolicyDirection) -> String {
        lengthLimited(prefix: direction == .ingress ? "cali-pi-" : "cali-po-", suffix: id.description)
    }

    /// `cali-pri-<name>` (ingress) or `cali-pro-<name>` (egress) for a profile.
    public static func profile(_ name: String, _ direction: PolicyDirection) -> String {
        lengthLimited(prefix: direction == .ingress ? "cali-pri-" : "cali-pro-", suffix: name)
    }

    /// `cali-tw-<iface>` (to the workload: its ingress) or `cali-fw-<iface>` (from it: egress).
    public static func workloadEndpoint(_ interface: String, _ direction: PolicyDirection) -> String {
        lengthLimited(prefix: direction == .ingress ? "cali-tw-" : "cali-fw-", suffix: interface)
    }

    /// Host endpoint chains: `cali-fh-` (from host endpoint, host ingress), `cali-th-` (to it),
    /// `cali-fhfw-`/`cali-thfw-` for forwarded traffic.
    public static func hostEndpoint(_ interface: String, _ direction: PolicyDirection, forward: Bool = false) -> String {
        let prefix = switch (direction, forward) {
        case (.ingress, false): "cali-fh-"
        case (.egress, false): "cali-th-"
        case (.ingress, true): "cali-fhfw-"
        case (.egress, true): "cali-thfw-"
        }
        return lengthLimited(prefix: prefix, suffix: interface)
    }
}

/// Ingress or egress, from the endpoint's point of view.
public enum PolicyDirection: String, Sendable, Hashable, CaseIterable {
    case ingress, egress
}

/// The identity of a policy in chain names: `gnp/<name>` or `np/<namespace>/<name>`
/// (Felix's `PolicyID.ID()`).
public struct PolicyChainID: Sendable, Hashable, CustomStringConvertible {
    /// The kind abbreviations Felix uses.
    public enum Kind: String, Sendable, Hashable {
        case globalNetworkPolicy = "gnp"
        case networkPolicy = "np"
        case kubernetesNetworkPolicy = "knp"
        case kubernetesClusterNetworkPolicy = "kcnp"
        case stagedNetworkPolicy = "snp"
        case stagedGlobalNetworkPolicy = "sgnp"
        case stagedKubernetesNetworkPolicy = "sknp"
    }

    /// The kind.
    public var kind: Kind
    /// The namespace; nil for global kinds.
    public var namespace: String?
    /// The name.
    public var name: String

    /// An ID.
    public init(kind: Kind, namespace: String? = nil, name: String) {
        self.kind = kind
        self.namespace = namespace
        self.name = name
    }

    /// `kind/name` or `kind/namespace/name`.
    public var description: String {
        if let namespace { "\(kind.rawValue)/\(namespace)/\(name)" } else { "\(kind.rawValue)/\(name)" }
    }
}

/// Felix's IP set IDs and kernel names.
public enum IPSetName {
    /// The kernel's longest set name.
    public static let maxLength = 31

    /// `prefix + ":" + base64url(SHA-224(prefix + ":" + content))` (libcalico-go `MakeUniqueID`).
    public static func uniqueID(prefix: String, content: String) -> String {
        Selector.uniqueID(prefix: prefix, content: content)
    }

    /// The ID of a selector's set, from the selector's canonical text (`s:…`).
    public static func selectorID(canonicalSelector: String) -> String {
        uniqueID(prefix: "s", content: canonicalSelector)
    }

    /// The ID of a named-port set (`n:…`): the selector's ID, the protocol (`tcp`, `udp`,
    /// `sctp` or `any`) and the port name.
    public static func namedPortID(selectorID: String, protocol proto: String, portName: String) -> String {
        uniqueID(prefix: "n", content: "\(selectorID),\(proto),\(portName)")
    }

    /// The kernel name of a set: `cali40<id>` / `cali60<id>`, cut to 31 characters.
    public static func main(id: String, family: IPAddress.Family) -> String {
        Selector.ipSetName(uniqueID: id, ipVersion: family == .v4 ? 4 : 6)
    }

    /// A temporary set used to swap contents in (`cali4t<n>` / `cali6t<n>`).
    public static func temporary(_ index: Int, family: IPAddress.Family) -> String {
        "cali\(family == .v4 ? "4" : "6")t\(index)"
    }

    /// The nftables spelling of a set name (`:` is not allowed there and becomes `-`).
    public static func nftables(_ name: String) -> String {
        String(name.map { $0 == ":" ? "-" : $0 })
    }
}
