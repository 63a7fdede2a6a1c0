package import CanalModel

/// One of flanneld's iptables chains (flannel `pkg/trafficmngr/iptables`), for one address family:
/// the chain's rules as `iptables -S CHAIN` prints them, and the jump to it from a built-in chain.
/// Pure: canal-flanneld runs `iptables`/`ip6tables` (``command``) with what this renders.
///
/// - ``masquerade(network:subnet:randomFully:)``: `--ip-masq`, nat `FLANNEL-POSTRTG` from `POSTROUTING`.
/// - ``forward(network:)``: `--iptables-forward-rules`, filter `FLANNEL-FWD` from `FORWARD`, so a host
///   whose FORWARD policy is DROP (Docker sets it) still forwards the network's traffic.
///
/// Written as one `iptables-restore --noflush` transaction that declares (so empties) the chain:
/// rules of an earlier subnet or network go away, as flannel recycles them.
package struct FlannelIPTablesChain: Sendable, Hashable {
    /// `nat` or `filter`.
    package let table: String
    /// `FLANNEL-POSTRTG` or `FLANNEL-FWD`.
    package let chain: String
    /// The built-in chain that jumps to ``chain``: `POSTROUTING` or `FORWARD`.
    package let parent: String
    /// The comment on every rule and on the jump: `flanneld masq` or `flanneld forward`.
    package let comment: String
    /// The flannel network the chain is for; its family picks `iptables` or `ip6tables`.
    package let network: CIDR
    /// The chain's rules, each as `iptables -S` prints it (`-A CHAIN …`).
    package let rules: [String]

    package static let masqueradeChain = "FLANNEL-POSTRTG"
    package static let forwardChain = "FLANNEL-FWD"
    /// The mark kube-proxy sets on traffic it masquerades itself.
    package static let kubeProxyMark = "0x4000/0x4000"

    /// `iptables` or `ip6tables`, by the network's family (`-restore` appended: its restore tool).
    package var command: String { network.family == .v4 ? "iptables" : "ip6tables" }

    /// The jump's arguments after `-A`/`-C`/`-D <parent>`.
    package var jumpArguments: [String] { ["-m", "comment", "--comment", comment, "-j", chain] }

    /// The jump as `iptables -S` prints it.
    package var jump: String { "-A \(parent) -m comment --comment \"\(comment)\" -j \(chain)" }

    /// flanneld's `--ip-masq` chain for `network` (v4 or v6) and the host's `subnet` in it:
    /// 1. leaves traffic marked by kube-proxy alone (it masquerades that itself),
    /// 2. does not NAT traffic from the host's subnet to the network, nor from the network to the host's subnet,
    /// 3. does not NAT traffic from outside the network to the host's subnet (a node forwarding to its pods),
    /// 4. masquerades traffic from the network leaving it (multicast excepted: 224.0.0.0/4, ff00::/8),
    /// 5. masquerades traffic from outside the network (the host itself) entering it;
    /// `--random-fully` when the iptables has it (≥ 1.6.2).
    package static func masquerade(network: CIDR, subnet: CIDR, randomFully: Bool) -> FlannelIPTablesChain {
        let n = network.network.description, s = subnet.network.description
        let c = quoted("flanneld masq")
        let masquerade = "-j MASQUERADE" + (randomFully ? " --random-fully" : "")
        let multicast = network.family == .v4 ? "224.0.0.0/4" : "ff00::/8"
        let rules = [
            "-m mark --mark \(kubeProxyMark) \(c) -j RETURN",
            "-s \(s) -d \(n) \(c) -j RETURN",
            "-s \(n) -d \(s) \(c) -j RETURN",
            "! -s \(n) -d \(s) \(c) -j RETURN",
            "-s \(n) ! -d \(multicast) \(c) \(masquerade)",
            "! -s \(n) -d \(n) \(c) \(masquerade)",
        ]
        return FlannelIPTablesChain(
            table: "nat", chain: masqueradeChain, parent: "POSTROUTING", comment: "flanneld masq", network: network.network,
            rules: rules.map { "-A \(masqueradeChain) \($0)" })
    }

    /// flanneld's forward chain for `network` (v4 or v6): accept what comes from it and what goes to it.
    package static func forward(network: CIDR) -> FlannelIPTablesChain {
        let n = network.network.description, c = quoted("flanneld forward")
        return FlannelIPTablesChain(
            table: "filter", chain: forwardChain, parent: "FORWARD", comment: "flanneld forward", network: network.network,
            rules: ["-s \(n) \(c) -j ACCEPT", "-d \(n) \(c) -j ACCEPT"].map { "-A \(forwardChain) \($0)" })
    }

    /// `iptables-restore --noflush` input: the chain declared (created or emptied) and filled, and the
    /// jump appended when `addJump` (it is missing).
    package func restoreInput(addJump: Bool) -> String {
        var lines = ["*\(table)", ":\(chain) - [0:0]"] + rules
        if addJump { lines.append(jump) }
        lines.append("COMMIT")
        return lines.joined(separator: "\n") + "\n"
    }

    /// Whether `listing` (the output of `iptables -t TABLE -S CHAIN`) holds exactly ``rules``, in order.
    package func matches(listing: String) -> Bool {
        listing.split(separator: "\n").filter { $0.hasPrefix("-A ") }.map(String.init) == rules
    }

    private static func quoted(_ comment: String) -> String { "-m comment --comment \"\(comment)\"" }
}
