import CanalToolSupport
import CanalIPAM
import CanalModel
import Synchronization

/// Keeps flanneld's iptables chains (``FlannelIPTablesChain``: `--ip-masq` and
/// `--iptables-forward-rules`, IPv4 with `iptables`, IPv6 with `ip6tables`) in the kernel: each is
/// checked at every resync and rewritten when it differs, and removed on exit.
struct IPTablesChains: Sendable {
    let chains: [FlannelIPTablesChain]

    /// The chains this process keeps, for the signal handler to remove on exit.
    static let kept = Mutex<[FlannelIPTablesChain]>([])

    /// The chains canal-flanneld keeps for `network` (and `ipv6Network`) and its `subnet`.
    /// IPv6 masquerading needs an IPv6 subnet lease, which Canal does not hold: only IPv6 forward
    /// rules are written.
    static func wanted(
        network: CIDR, subnet: CIDR, ipv6Network: CIDR?, masquerade: Bool, forward: Bool, randomFully: Bool
    ) -> [FlannelIPTablesChain] {
        var chains: [FlannelIPTablesChain] = []
        if masquerade { chains.append(.masquerade(network: network, subnet: subnet, randomFully: randomFully)) }
        if forward {
            chains.append(.forward(network: network))
            if let ipv6Network { chains.append(.forward(network: ipv6Network)) }
        }
        return chains
    }

    /// Installs every chain that is not exactly in place; returns the ones it wrote. Tries them all
    /// and then throws the first failure.
    func ensure() async throws -> [FlannelIPTablesChain] {
        var written: [FlannelIPTablesChain] = []
        var failure: (any Error)?
        for chain in chains {
            do {
                if try await Self.ensure(chain) { written.append(chain) }
            } catch {
                failure = failure ?? error
            }
        }
        if let failure { throw failure }
        return written
    }

    /// Rewrites `chain` (and adds its jump) unless it holds exactly its rules with one jump.
    static func ensure(_ chain: FlannelIPTablesChain) async throws -> Bool {
        let (status, output) = await Shell.run([chain.command, "-w", "-t", chain.table, "-S", chain.chain])
        let hasJump = await Shell.run([chain.command, "-w", "-t", chain.table, "-C", chain.parent] + chain.jumpArguments).status == 0
        if status == 0, hasJump, chain.matches(listing: output) { return false }
        _ = try await Shell.output([chain.command + "-restore", "-w", "--noflush"], input: chain.restoreInput(addJump: !hasJump))
        return true
    }

    /// Deletes every jump to each chain, then the chain; quiet when nothing is there. Synchronous:
    /// it also runs from the signal handler, just before the process exits.
    static func remove(_ chains: [FlannelIPTablesChain]) {
        for chain in chains {
            let base = [chain.command, "-w", "-t", chain.table]
            while Shell.spawnAndWait(base + ["-D", chain.parent] + chain.jumpArguments).status == 0 {}
            _ = Shell.spawnAndWait(base + ["-F", chain.chain])
            _ = Shell.spawnAndWait(base + ["-X", chain.chain])
        }
    }

    /// Whether this iptables has `--random-fully` (1.6.2 and later), from `iptables -V`.
    static func iptablesHasRandomFully() async -> Bool {
        let (status, output) = await Shell.run(["iptables", "-V"])
        guard status == 0, let word = output.split(separator: " ").first(where: { $0.hasPrefix("v") }) else { return false }
        let parts = word.dropFirst().split(separator: ".").map { Int($0) ?? 0 }
        return parts.lexicographicallyPrecedes([1, 6, 2]) == false
    }
}
