import CanalModel
import CanalPolicy
import Logging

/// Which kernel interface the agent programs.
public enum DataplaneKind: String, Sendable, Hashable, CaseIterable {
    /// `ipset` + `iptables-restore` / `ip6tables-restore` (Felix's chains in the kernel's tables).
    case iptables
    /// `nft -f`: tables `ip canal` and `ip6 canal`.
    case nft
}

/// What one dataplane sync did.
public struct ApplyReport: Sendable, Hashable {
    /// Whether anything was written.
    public var changed: Bool
    /// Bytes written to the kernel tools (restore input and scripts).
    public var bytesWritten: Int
    /// Bytes a full, from-scratch apply of the same state would write.
    public var fullBytes: Int
    /// Whether the kernel differed from what the agent last wrote (someone changed Canal's state).
    public var repairedDrift: Bool
    /// Whether the kernel was read back (rather than planned against what the agent last wrote).
    public var readBack: Bool = false
    /// Time from the start of the read-back (if any) to the end of the writes.
    public var duration: Duration
    /// Time the compilation before this sync took (zero when nothing was recompiled).
    public var compileDuration: Duration = .zero
}

/// Keeps one node's kernel state equal to a desired pair of rule sets: reads the kernel back,
/// plans the smallest writes, applies them in a fail-closed order (IP sets first, then one rule
/// transaction per table and family, IP sets nobody references last).
struct Dataplane: Sendable {
    let kind: DataplaneKind
    let commands: KernelCommands
    let logger: Logger
    /// Whether reports carry ``ApplyReport/fullBytes`` (a full render per apply).
    let reportsFullSize: Bool
    private var planner = IptablesPlanner()
    /// The last state written.
    private var written: (v4: RuleSet, v6: RuleSet)?
    /// (iptables) The kernel as the agent believes it is: the last read-back with the agent's
    /// writes since applied to it; nil when unknown (then the next sync reads the kernel).
    private var model: (v4: IptablesSnapshot, v6: IptablesSnapshot, sets: IPSetSnapshot)?
    /// (nft) The kernel's listing of Canal's tables as verified after the last write; nil until
    /// the first read-back after a write captures it.
    private var nftBaseline: String?

    init(kind: DataplaneKind, commands: KernelCommands, logger: Logger, reportsFullSize: Bool = false) {
        self.kind = kind
        self.commands = commands
        self.logger = logger
        self.reportsFullSize = reportsFullSize
    }

    /// Whether the kernel holds any of Canal's state (the agent ran here before).
    func hasCanalState() async throws -> Bool {
        switch kind {
        case .iptables:
            let snapshot = IptablesSnapshot(parsing: try await commands.run(["iptables-save", "-t", "filter"]))
            return snapshot.tables["filter"]?.rules[ChainName.forward] != nil
        case .nft:
            return try await commands.run(["nft", "list", "tables"]).split(separator: "\n").contains("table ip \(Self.nftTable)")
        }
    }

    /// Makes the kernel hold `desired`, writing only what differs: from a fresh read of the
    /// kernel when `readBack` is set (or the kernel's state is unknown), else from what the agent
    /// last wrote. A failed write leaves the state unknown, so the next sync reads the kernel.
    mutating func sync(v4: RuleSet, v6: RuleSet, readBack: Bool) async throws -> ApplyReport {
        let start = ContinuousClock.now
        var report = switch kind {
        case .iptables: try await syncIptables(v4: v4, v6: v6, readBack: readBack)
        case .nft: try await syncNft(v4: v4, v6: v6, readBack: readBack)
        }
        report.duration = ContinuousClock.now - start
        written = (v4, v6)
        return report
    }

    private func wasWritten(_ v4: RuleSet, _ v6: RuleSet) -> Bool {
        guard let written else { return false }
        return written.v4 == v4 && written.v6 == v6
    }

    private mutating func syncIptables(v4: RuleSet, v6: RuleSet, readBack: Bool) async throws -> ApplyReport {
        let reading = readBack || model == nil
        if reading {
            async let save4 = commands.run(["iptables-save"])
            async let save6 = commands.run(["ip6tables-save"])
            async let saveSets = commands.run(["ipset", "save"])
            model = (IptablesSnapshot(parsing: try await save4), IptablesSnapshot(parsing: try await save6),
                     IPSetSnapshot(parsing: try await saveSets))
        }
        let (actual4, actual6, actualSets) = model!
        model = nil  // unknown until the writes succeed
        let sets = planner.ipSetScripts(desired: v4.ipSets + v6.ipSets, actual: actualSets)
        let input4 = planner.restoreInput(desired: v4, actual: actual4)
        let input6 = planner.restoreInput(desired: v6, actual: actual6)
        let changed = !(sets.before.isEmpty && sets.destroy.isEmpty && input4.isEmpty && input6.isEmpty)
        let drift = reading && changed && wasWritten(v4, v6)
        if drift { logger.warning("kernel state differs from what the agent wrote; restoring it") }
        if !sets.before.isEmpty { _ = try await commands.run(["ipset", "restore"], input: sets.before) }
        if !input4.isEmpty { _ = try await commands.run(["iptables-restore", "--noflush", "--wait", "10"], input: input4) }
        if !input6.isEmpty { _ = try await commands.run(["ip6tables-restore", "--noflush", "--wait", "10"], input: input6) }
        var remaining = IPSetSnapshot(v4.ipSets + v6.ipSets)
        for name in sets.destroy {
            do {
                _ = try await commands.run(["ipset", "destroy", name])
            } catch {
                logger.warning("cannot destroy IP set \(name) (still referenced?): \(error)")
                remaining.sets[name] = actualSets.sets[name]
            }
        }
        model = (actual4.applying(input4), actual6.applying(input6), remaining)
        var full = 0
        if changed && reportsFullSize {
            let iptables = IptablesRenderer(), ipsets = IPSetRenderer()
            full = iptables.restoreInput(v4).utf8.count + iptables.restoreInput(v6).utf8.count
                + ipsets.restoreInput(v4).utf8.count + ipsets.restoreInput(v6).utf8.count
        }
        let bytes = sets.before.utf8.count + input4.utf8.count + input6.utf8.count
            + sets.destroy.reduce(0) { $0 + $1.utf8.count + 8 }
        return ApplyReport(changed: changed, bytesWritten: bytes, fullBytes: full, repairedDrift: drift, readBack: reading,
                           duration: .zero)
    }

    static let nftTable = "canal"

    private func nftList() async throws -> String {
        let tables = try await commands.run(["nft", "list", "tables"])
        var out = ""
        let lines = Set(tables.split(separator: "\n").map(String.init))
        for family in ["ip", "ip6"] where lines.contains("table \(family) \(Self.nftTable)") {
            out += try await commands.run(["nft", "list", "table", family, Self.nftTable])
        }
        return out
    }

    private mutating func syncNft(v4: RuleSet, v6: RuleSet, readBack: Bool) async throws -> ApplyReport {
        let renderer = NftablesRenderer(tableName: Self.nftTable)
        var replace = written == nil
        var drift = false
        if readBack, written != nil {
            let listing = try await nftList()
            if let nftBaseline {
                drift = listing != nftBaseline
                replace = drift
                if drift { logger.warning("nftables table \(Self.nftTable) differs from what the agent wrote; replacing it") }
            } else {
                nftBaseline = listing  // the first check after a write: the kernel's spelling of it
            }
        }
        let script = if replace {
            renderer.script(v4) + renderer.script(v6)
        } else {
            renderer.script(RuleSetDiff(from: written!.v4, to: v4)) + renderer.script(RuleSetDiff(from: written!.v6, to: v6))
        }
        if !script.isEmpty {
            nftBaseline = nil
            do {
                _ = try await commands.run(["nft", "-f", "-"], input: script)
            } catch {
                written = nil  // unknown state: the next sync replaces the tables whole
                throw error
            }
        }
        let full = script.isEmpty || !reportsFullSize ? 0 : renderer.script(v4).utf8.count + renderer.script(v6).utf8.count
        return ApplyReport(changed: !script.isEmpty, bytesWritten: script.utf8.count, fullBytes: full,
                           repairedDrift: drift, readBack: readBack, duration: .zero)
    }

    /// Removes every chain, hook and IP set Canal owns (both dataplanes), leaving other rules alone.
    static func cleanup(commands: KernelCommands, logger: Logger) async throws {
        var planner = IptablesPlanner()
        for (family, save, restore) in [(IPAddress.Family.v4, "iptables-save", "iptables-restore"),
                                        (.v6, "ip6tables-save", "ip6tables-restore")] {
            let actual = IptablesSnapshot(parsing: try await commands.run([save]))
            let input = planner.restoreInput(desired: RuleSet(family: family), actual: actual)
            if !input.isEmpty {
                logger.info("removing Canal's \(family) chains and hooks")
                _ = try await commands.run([restore, "--noflush", "--wait", "10"], input: input)
            }
        }
        let sets = IPSetSnapshot(parsing: try await commands.run(["ipset", "save"]))
        for name in sets.sets.keys.sorted() {
            _ = try await commands.run(["ipset", "destroy", name])
        }
        let tables = try await commands.run(["nft", "list", "tables"])
        for family in ["ip", "ip6"] where tables.split(separator: "\n").contains("table \(family) \(nftTable)") {
            logger.info("deleting nftables table \(family) \(nftTable)")
            _ = try await commands.run(["nft", "delete", "table", family, nftTable])
        }
    }
}
