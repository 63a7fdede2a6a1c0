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

/// The chains and IP sets an incremental compile touched: what an incremental apply plans.
struct ChangeScope: Sendable, Hashable {
    /// Chains (Canal's, and kernel chains whose hooks changed) per family.
    var v4Chains: Set<String> = []
    var v6Chains: Set<String> = []
    /// IP sets (of both families: their names differ).
    var sets: Set<String> = []

    init() {}

    /// What the two updates touch.
    init(_ v4: RuleSetDiff, _ v6: RuleSetDiff) {
        v4Chains = Self.chains(v4)
        v6Chains = Self.chains(v6)
        for diff in [v4.ipSets, v6.ipSets] {
            sets.formUnion(diff.created.map(\.name))
            sets.formUnion(diff.destroyed.map(\.name))
            sets.formUnion(diff.redefined.map(\.name))
            sets.formUnion(diff.memberChanges.map(\.name))
        }
    }

    private static func chains(_ diff: RuleSetDiff) -> Set<String> {
        var names = Set<String>()
        for table in diff.tables {
            names.formUnion(table.added.map(\.name))
            names.formUnion(table.removed.map(\.name))
            names.formUnion(table.changed.map(\.name))
            names.formUnion(table.changedHooks.map(\.new.chain))
            names.formUnion(table.changedHooks.map(\.old.chain))
        }
        return names
    }

    mutating func formUnion(_ other: ChangeScope) {
        v4Chains.formUnion(other.v4Chains)
        v6Chains.formUnion(other.v6Chains)
        sets.formUnion(other.sets)
    }
}

/// What a read-back of the kernel found (the iptables/ipset part or the nft listing).
struct KernelReading: Sendable {
    var iptables: (v4: IptablesSnapshot, v6: IptablesSnapshot, sets: IPSetSnapshot)?
    var nftListing: String?
}

/// Reads the kernel's Canal state; runs beside the writer, which adopts a reading only if no
/// write happened while it was taken.
struct KernelReader: Sendable {
    let kind: DataplaneKind
    let tools: any KernelTools

    func read() async throws -> KernelReading {
        switch kind {
        case .iptables:
            async let save4 = tools.run(["iptables-save"])
            async let save6 = tools.run(["ip6tables-save"])
            async let saveSets = tools.run(["ipset", "save"])
            return KernelReading(iptables: (IptablesSnapshot(parsing: try await save4), IptablesSnapshot(parsing: try await save6),
                                            IPSetSnapshot(parsing: try await saveSets)))
        case .nft:
            let tables = try await tools.run(["nft", "list", "tables"])
            var out = ""
            let lines = Set(tables.split(separator: "\n").map(String.init))
            for family in ["ip", "ip6"] where lines.contains("table \(family) \(Dataplane.nftTable)") {
                out += try await tools.run(["nft", "list", "table", family, Dataplane.nftTable])
            }
            return KernelReading(nftListing: out)
        }
    }
}

/// Keeps one node's kernel state equal to a desired pair of rule sets: reads the kernel back,
/// plans the smallest writes, applies them in a fail-closed order (IP sets first, then one rule
/// transaction per table and family, IP sets nobody references last).
struct Dataplane: Sendable {
    let kind: DataplaneKind
    let tools: any KernelTools
    let logger: Logger
    /// Whether reports carry ``ApplyReport/fullBytes`` (a full render per apply).
    let reportsFullSize: Bool
    private var planner = IptablesPlanner()
    /// The last state written.
    private var written: (v4: RuleSet, v6: RuleSet)?
    /// (iptables) The kernel as the agent believes it is: the last read-back with the agent's
    /// writes since applied to it; nil when unknown (then the next sync reads the kernel).
    private var model: (v4: IptablesSnapshot, v6: IptablesSnapshot, sets: IPSetSnapshot)?
    /// (nft) The kernel's listing of Canal's tables, taken right after the last write.
    private var nftBaseline: String?
    /// (nft) A read-back found the tables changed: the next sync replaces them whole.
    private var nftReplace = false
    /// A reading was adopted since the last sync (a non-empty plan then means drift).
    private var adopted = false
    /// Writes attempted so far; a reading taken across a write is stale.
    private(set) var writes = 0

    /// The reader for this dataplane.
    var reader: KernelReader { KernelReader(kind: kind, tools: tools) }

    /// Takes a read-back (taken after the last write) as the kernel's state.
    mutating func adopt(_ reading: KernelReading) {
        adopted = true
        if let iptables = reading.iptables { model = iptables }
        if let listing = reading.nftListing, written != nil {
            if let nftBaseline {
                if listing != nftBaseline {
                    logger.warning("nftables table \(Self.nftTable) differs from what the agent wrote; replacing it")
                    nftReplace = true
                }
            } else {
                nftBaseline = listing
            }
        }
    }

    init(kind: DataplaneKind, tools: any KernelTools, logger: Logger, reportsFullSize: Bool = false) {
        self.kind = kind
        self.tools = tools
        self.logger = logger
        self.reportsFullSize = reportsFullSize
    }

    /// Whether the kernel holds any of Canal's state (the agent ran here before).
    func hasCanalState() async throws -> Bool {
        switch kind {
        case .iptables:
            let snapshot = IptablesSnapshot(parsing: try await tools.run(["iptables-save", "-t", "filter"]))
            return snapshot.tables["filter"]?.rules[ChainName.forward] != nil
        case .nft:
            return try await tools.run(["nft", "list", "tables"]).split(separator: "\n").contains("table ip \(Self.nftTable)")
        }
    }

    /// Makes the kernel hold `desired`, writing only what differs from the agent's model of the
    /// kernel (the last adopted reading plus the writes since); with no model (at start, after a
    /// failed write) or with `readBack`, the kernel is read first. A failed write leaves the
    /// state unknown, so the next sync reads the kernel.
    ///
    /// With `scope` (the chains and sets changed since the state last passed to a successful
    /// sync), only those are planned (iptables) — unless a reading was adopted since, which may
    /// show drift anywhere: then everything is planned.
    mutating func sync(v4: RuleSet, v6: RuleSet, readBack: Bool = false, scope: ChangeScope? = nil) async throws -> ApplyReport {
        let start = ContinuousClock.now
        if readBack || (kind == .iptables && model == nil) {
            adopt(try await reader.read())
        }
        var report = switch kind {
        case .iptables: try await syncIptables(v4: v4, v6: v6, scope: scope)
        case .nft: try await syncNft(v4: v4, v6: v6)
        }
        adopted = false
        report.duration = ContinuousClock.now - start
        written = (v4, v6)
        return report
    }

    private func wasWritten(_ v4: RuleSet, _ v6: RuleSet) -> Bool {
        guard let written else { return false }
        return written.v4 == v4 && written.v6 == v6
    }

    private mutating func syncIptables(v4: RuleSet, v6: RuleSet, scope: ChangeScope?) async throws -> ApplyReport {
        let reading = adopted
        // Taken out (unknown until the writes succeed), so that it is updated in place below.
        var (actual4, actual6, actualSets) = model.take()!
        let scope = reading || written == nil ? nil : scope
        let planStart = ContinuousClock.now
        let desiredSets = scope == nil ? v4.ipSets + v6.ipSets : (v4.ipSets + v6.ipSets).filter { scope!.sets.contains($0.name) }
        let sets = planner.ipSetScripts(desired: desiredSets, actual: actualSets, only: scope?.sets)
        let input4 = planner.restoreInput(desired: v4, actual: actual4, only: scope?.v4Chains)
        let input6 = planner.restoreInput(desired: v6, actual: actual6, only: scope?.v6Chains)
        let changed = !(sets.before.isEmpty && sets.destroy.isEmpty && input4.isEmpty && input6.isEmpty)
        let drift = reading && changed && wasWritten(v4, v6)
        if drift { logger.warning("kernel state differs from what the agent wrote; restoring it") }
        let writeStart = ContinuousClock.now
        if changed { writes += 1 }
        if !sets.before.isEmpty { _ = try await tools.run(["ipset", "restore"], input: sets.before) }
        // The two families are independent: their transactions run side by side.
        async let restored4: String? = input4.isEmpty ? nil : tools.run(["iptables-restore", "--noflush", "--wait", "10"], input: input4)
        async let restored6: String? = input6.isEmpty ? nil : tools.run(["ip6tables-restore", "--noflush", "--wait", "10"], input: input6)
        _ = try await (restored4, restored6)
        var undestroyed = Set<String>()
        for name in sets.destroy {
            do {
                _ = try await tools.run(["ipset", "destroy", name])
            } catch {
                logger.warning("cannot destroy IP set \(name) (still referenced?): \(error)")
                undestroyed.insert(name)
            }
        }
        if scope == nil {
            var remaining = IPSetSnapshot(v4.ipSets + v6.ipSets)
            for name in undestroyed { remaining.sets[name] = actualSets.sets[name] }
            actualSets = remaining
        } else {
            for set in desiredSets { actualSets.sets[set.name] = IPSetSnapshot.entry(set) }
            for name in sets.destroy where !undestroyed.contains(name) { actualSets.sets[name] = nil }
        }
        actual4.apply(input4)
        actual6.apply(input6)
        model = (actual4, actual6, actualSets)
        logger.debug("iptables sync: read back \(reading), scoped \(scope != nil), planned in \(writeStart - planStart), wrote in \(ContinuousClock.now - writeStart)")
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

    private mutating func syncNft(v4: RuleSet, v6: RuleSet) async throws -> ApplyReport {
        let renderer = NftablesRenderer(tableName: Self.nftTable)
        let drift = nftReplace && written != nil
        let replace = written == nil || nftReplace
        nftReplace = false
        let script = if replace {
            renderer.script(v4) + renderer.script(v6)
        } else {
            renderer.script(RuleSetDiff(from: written!.v4, to: v4)) + renderer.script(RuleSetDiff(from: written!.v6, to: v6))
        }
        if !script.isEmpty {
            nftBaseline = nil
            writes += 1
            do {
                _ = try await tools.run(["nft", "-f", "-"], input: script)
            } catch {
                written = nil  // unknown state: the next sync replaces the tables whole
                throw error
            }
            // The kernel's own spelling of what was just written: later read-backs compare with it.
            nftBaseline = try await reader.read().nftListing
        }
        let full = script.isEmpty || !reportsFullSize ? 0 : renderer.script(v4).utf8.count + renderer.script(v6).utf8.count
        return ApplyReport(changed: !script.isEmpty, bytesWritten: script.utf8.count, fullBytes: full,
                           repairedDrift: drift, readBack: adopted, duration: .zero)
    }

    /// Removes every chain, hook and IP set Canal owns (both dataplanes), leaving other rules alone.
    static func cleanup(tools: any KernelTools, logger: Logger) async throws {
        var planner = IptablesPlanner()
        for (family, save, restore) in [(IPAddress.Family.v4, "iptables-save", "iptables-restore"),
                                        (.v6, "ip6tables-save", "ip6tables-restore")] {
            let actual = IptablesSnapshot(parsing: try await tools.run([save]))
            let input = planner.restoreInput(desired: RuleSet(family: family), actual: actual)
            if !input.isEmpty {
                logger.info("removing Canal's \(family) chains and hooks")
                _ = try await tools.run([restore, "--noflush", "--wait", "10"], input: input)
            }
        }
        let sets = IPSetSnapshot(parsing: try await tools.run(["ipset", "save"]))
        for name in sets.sets.keys.sorted() {
            _ = try await tools.run(["ipset", "destroy", name])
        }
        let tables = try await tools.run(["nft", "list", "tables"])
        for family in ["ip", "ip6"] where tables.split(separator: "\n").contains("table \(family) \(nftTable)") {
            logger.info("deleting nftables table \(family) \(nftTable)")
            _ = try await tools.run(["nft", "delete", "table", family, nftTable])
        }
    }
}
