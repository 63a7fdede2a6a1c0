import CanalToolSupport
import CanalModel

/// flanneld's `--ip-masq` rules (iptables mode, IPv4): in the nat table, a `FLANNEL-POSTRTG` chain
/// jumped to from `POSTROUTING`, that
/// 1. leaves traffic marked by kube-proxy (0x4000/0x4000) alone (it masquerades that itself),
/// 2. does not NAT traffic from the host's subnet to the network, nor from the network to the host's subnet,
/// 3. does not NAT traffic from outside the network to the host's subnet (a node forwarding to its pods),
/// 4. masquerades traffic from the network leaving it (multicast excepted),
/// 5. masquerades traffic from outside the network (the host itself) entering it,
/// every rule commented `flanneld masq`, `--random-fully` when iptables has it (≥ 1.6.2).
///
/// The chain is written in one `iptables-restore --noflush` transaction that declares (so empties)
/// it: rules of an earlier subnet or network go away, as flannel recycles them. Checked again at
/// every resync and rewritten when it differs; removed on exit, as flanneld does.
struct MasqueradeRules: Sendable {
    static let chain = "FLANNEL-POSTRTG"
    static let kubeProxyMark = "0x4000/0x4000"
    static let comment = #"-m comment --comment "flanneld masq""#
    /// The jump in POSTROUTING, as `iptables -S` prints it without `-A POSTROUTING`.
    static let jump = "\(comment) -j \(chain)"

    var network: CIDR
    var subnet: CIDR
    var randomFully: Bool

    /// The chain's rules as `iptables -t nat -S FLANNEL-POSTRTG` prints them.
    var rules: [String] {
        let n = network.network.description, s = subnet.network.description
        let masquerade = "-j MASQUERADE" + (randomFully ? " --random-fully" : "")
        return [
            "-m mark --mark \(Self.kubeProxyMark) \(Self.comment) -j RETURN",
            "-s \(s) -d \(n) \(Self.comment) -j RETURN",
            "-s \(n) -d \(s) \(Self.comment) -j RETURN",
            "! -s \(n) -d \(s) \(Self.comment) -j RETURN",
            "-s \(n) ! -d 224.0.0.0/4 \(Self.comment) \(masquerade)",
            "! -s \(n) -d \(n) \(Self.comment) \(masquerade)",
        ].map { "-A \(Self.chain) \($0)" }
    }

    /// `iptables-restore --noflush` input: the chain declared (created or emptied) and filled, and
    /// the jump appended when it is missing.
    func restoreInput(addJump: Bool) -> String {
        var lines = ["*nat", ":\(Self.chain) - [0:0]"] + rules
        if addJump { lines.append("-A POSTROUTING \(Self.jump)") }
        lines.append("COMMIT")
        return lines.joined(separator: "\n") + "\n"
    }

    /// Whether the kernel holds exactly these rules and the jump.
    func isInstalled() async -> Bool {
        let (status, output) = await Shell.run(["iptables", "-w", "-t", "nat", "-S", Self.chain])
        guard status == 0 else { return false }
        let present = output.split(separator: "\n").map(String.init).filter { $0.hasPrefix("-A ") }
        guard present == rules else { return false }
        return await hasJump()
    }

    /// Writes the chain and the jump in one transaction.
    func install() async throws {
        try await Shell.check(["sh", "-c", "printf '%s' \"$0\" | iptables-restore -w --noflush", restoreInput(addJump: !(await hasJump()))])
    }

    /// Installs the rules when they are not exactly in place; returns whether it wrote them.
    func ensure() async throws -> Bool {
        if await isInstalled() { return false }
        try await install()
        return true
    }

    private func hasJump() async -> Bool {
        await Shell.run(["iptables", "-w", "-t", "nat", "-C", "POSTROUTING"] + Self.jumpArguments).status == 0
    }

    static let jumpArguments = ["-m", "comment", "--comment", "flanneld masq", "-j", chain]

    /// Deletes every jump to the chain, then the chain; quiet when nothing is there. Synchronous:
    /// it also runs from the signal handler, just before the process exits.
    static func remove() {
        while Shell.spawnAndWait(["iptables", "-w", "-t", "nat", "-D", "POSTROUTING"] + jumpArguments).status == 0 {}
        _ = Shell.spawnAndWait(["iptables", "-w", "-t", "nat", "-F", chain])
        _ = Shell.spawnAndWait(["iptables", "-w", "-t", "nat", "-X", chain])
    }

    /// Whether this iptables has `--random-fully` (1.6.2 and later), from `iptables -V`.
    static func iptablesHasRandomFully() async -> Bool {
        let (status, output) = await Shell.run(["iptables", "-V"])
        guard status == 0, let word = output.split(separator: " ").first(where: { $0.hasPrefix("v") }) else { return false }
        let parts = word.dropFirst().split(separator: ".").map { Int($0) ?? 0 }
        return parts.lexicographicallyPrecedes([1, 6, 2]) == false
    }
}
