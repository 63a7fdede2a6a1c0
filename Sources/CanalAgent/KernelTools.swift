/// The agent's only way to the kernel: running one of the dataplane tools.
///
/// CanalAgent plans what to write and reads what the tools print, but never starts a process
/// itself: the `canal-agent` tool supplies the implementation that runs them (and tests and
/// benchmarks supply their own, e.g. inside a network namespace, or a fake kernel). The
/// commands are `iptables-restore`/`ip6tables-restore --noflush --wait 10` with input,
/// `iptables-save`/`ip6tables-save` (optionally `-t filter`), `ipset restore` with input,
/// `ipset save`, `ipset destroy NAME`, `nft -f -` with input, `nft list tables`,
/// `nft list table FAMILY NAME` and `nft delete table FAMILY NAME`.
public protocol KernelTools: Sendable {
    /// Runs `arguments` (the first is the tool, found on `PATH`) with `input` on standard input
    /// (none when nil) and returns what it printed on standard output.
    ///
    /// - Throws: when the tool cannot be started or exits with a non-zero status; the error's
    ///   description should carry the tool's standard error (the agent logs it).
    func run(_ arguments: [String], input: String?) async throws -> String
}

extension KernelTools {
    /// Runs `arguments` without input.
    func run(_ arguments: [String]) async throws -> String { try await run(arguments, input: nil) }
}
