public import CanalDatastore
public import CanalModel

/// Calico kube-controllers' IPAM garbage collection, for a datastore without Kubernetes (etcd
/// mode: the WorkloadEndpoints and Nodes are the truth).
///
/// Each ``scan()`` reads an ``IPAMSnapshot`` and judges every allocation with ``IPAMChecker``:
/// - a pod's address (`pod` and `namespace` attributes, or a handle starting with one of
///   ``Configuration/workloadHandlePrefixes``) that no WorkloadEndpoint uses is a *candidate*
///   leak; a node's tunnel address is one only when no Node uses it **and** its node is gone;
///   anything else is valid (Calico's rule: valid until proven leaked);
/// - a candidate becomes a *confirmed* leak when a later scan still finds it unused and the
///   ``Configuration/leakGracePeriod`` has passed since it was first seen (so always on two scans
///   at least; a grace period of zero turns leak release off, as in Calico); seen in use again, it
///   is forgotten;
/// - a handle's addresses are released only all together, when every one is confirmed;
/// - confirmed leaks are released with ``IPAMClient/releaseUnused(_:)``: the handle and
///   sequence number must be unchanged and no WorkloadEndpoint or Node may have appeared since
///   the last look, in the same transaction — an address whose endpoint a concurrent CNI ADD is
///   creating is never released.
///
/// Hosts without a Node resource are dead (unless the datastore holds no Node at all: then nodes
/// are not registered there, and none is judged dead): an empty block of theirs, seen empty on two scans the
/// ``Configuration/emptyBlockGracePeriod`` apart, is deleted with its affinity (compare-and-swap
/// on both, and only while still empty); a block still holding addresses is kept; when a dead
/// host has no affinity left, its `/calico/ipam/v2/host/<node>` record goes too. A live host's
/// stale affinity — to a block another host owns (or none), or pending with no block — is deleted
/// after the same grace, only while it and the block are as seen. Addresses in
/// Calico's cooldown whose time is over are returned to their block's free list (Calico's
/// cold-IP backstop). A stored value that does not parse is reported and left alone; while any
/// WorkloadEndpoint or Node does not parse, nothing is judged unused.
///
/// The clock is injectable: grace periods are measured on it (tests use `ManualClock`).
public struct IPAMGarbageCollector<Store: KeyValueStore, C: Clock>: Sendable where C.Duration == Duration {
    /// What the collector does and how often.
    public struct Configuration: Sendable {
        /// Time between scans in ``IPAMGarbageCollector/run(onScan:)`` (Calico: half the grace period).
        public var interval: Duration
        /// How long an address must stay unused before it is released; zero: never release (Calico's default 15 min).
        public var leakGracePeriod: Duration
        /// How long a dead host's block must stay empty before it is deleted.
        public var emptyBlockGracePeriod: Duration
        /// Handle prefixes (`<network>.`) whose allocations are pods' even without pod attributes
        /// (canal-cni outside Kubernetes writes only `node` and `timestamp`).
        public var workloadHandlePrefixes: [String]
        /// The most addresses one scan releases (Calico's per-sync cap, a guard against a mass release).
        public var maxReleasesPerScan: Int
        /// Whether to clean up the blocks and affinities of hosts that have no Node.
        public var cleanUpMissingNodes: Bool

        /// Calico's defaults: a 15-minute grace period, scans every 7.5 minutes.
        public init(
            leakGracePeriod: Duration = .seconds(900), interval: Duration? = nil, emptyBlockGracePeriod: Duration? = nil,
            workloadHandlePrefixes: [String] = [], maxReleasesPerScan: Int = 5000, cleanUpMissingNodes: Bool = true
        ) {
            self.leakGracePeriod = leakGracePeriod
            self.interval = interval ?? max(leakGracePeriod / 2, .seconds(1))
            self.emptyBlockGracePeriod = emptyBlockGracePeriod ?? leakGracePeriod
            self.workloadHandlePrefixes = workloadHandlePrefixes
            self.maxReleasesPerScan = maxReleasesPerScan
            self.cleanUpMissingNodes = cleanUpMissingNodes
        }
    }

    /// What one scan saw and did.
    public struct ScanReport: Sendable {
        /// The revision the scan read.
        public var revision: Revision
        /// Allocations judged unused and waiting for their grace period (or for the rest of their handle).
        public var candidates: [IPAMLeakReport.Allocation] = []
        /// Allocations released, with the revision of the write.
        public var released: [(allocation: IPAMLeakReport.Allocation, revision: Revision)] = []
        /// Confirmed leaks found in use at the release (an endpoint appeared): kept.
        public var keptInUse: [IPAMLeakReport.Allocation] = []
        /// Confirmed leaks that changed before the release (released or allocated again): kept.
        public var changed: [IPAMLeakReport.Allocation] = []
        /// Dead hosts' empty blocks deleted (with their affinity), and affinities deleted.
        public var releasedBlocks: [(host: String, cidr: CIDR)] = []
        /// Live hosts' stale affinities deleted (to a block another host owns, or pending with no block).
        public var staleAffinities: [(host: String, cidr: CIDR)] = []
        /// Dead hosts whose IPAM record was removed.
        public var removedHosts: [String] = []
        /// Blocks whose cooled-down addresses were returned to the free list.
        public var cooledBlocks: [CIDR] = []
        /// Values that do not parse: reported, never rewritten.
        public var corrupt: [IPAMSnapshot.CorruptValue] = []
        /// Why leaks were not judged this scan, if they were not.
        public var skipped: String?
    }

    /// The IPAM client.
    public let ipam: IPAMClient<Store>
    /// The clock grace periods are measured on.
    public let clock: C
    /// The configuration.
    public let configuration: Configuration
    /// First sight of each candidate leak (by handle, address and sequence number).
    private var leakSeen: [String: C.Instant] = [:]
    /// First sight of each dead host's empty block (`host/cidr`).
    private var emptySeen: [String: C.Instant] = [:]

    /// A collector over `ipam`'s store.
    public init(ipam: IPAMClient<Store>, clock: C, configuration: Configuration = Configuration()) {
        self.ipam = ipam
        self.clock = clock
        self.configuration = configuration
    }

    /// Candidate leaks being timed (for tests and metrics).
    public var candidateCount: Int { leakSeen.count }

    /// Scans until the task is cancelled, every ``Configuration/interval`` on the clock; each
    /// scan's outcome (or error: the collector goes on) is passed to `onScan`.
    public func run(onScan: @Sendable (Result<ScanReport, IPAMError>) -> Void = { _ in }) async throws {
        var collector = self
        while !Task.isCancelled {
            do {
                onScan(.success(try await collector.scan()))
            } catch {
                onScan(.failure(error))
            }
            do {
                try await clock.sleep(for: configuration.interval)
            } catch {
                return
            }
        }
    }

    /// One scan: judge, release what is confirmed, clean dead hosts' empty blocks, collect cooled addresses.
    public mutating func scan() async throws(IPAMError) -> ScanReport {
        let snapshot = try await ipam.snapshot()
        let now = clock.now
        let report = IPAMChecker(snapshot: snapshot).report()
        var out = ScanReport(revision: snapshot.revision)
        out.corrupt = snapshot.corrupt
        if snapshot.hasUnreadableUsers {
            out.skipped = "a WorkloadEndpoint or Node does not parse: no address is judged unused"
        } else {
            try await collectLeaks(report, snapshot: snapshot, now: now, into: &out)
        }
        // A datastore with no Node at all does not register nodes: none of its hosts is judged dead.
        if configuration.cleanUpMissingNodes, !snapshot.hasUnreadableUsers, !snapshot.nodes.isEmpty {
            try await cleanUpMissingNodes(snapshot, now: now, into: &out)
        }
        try await collectCooled(snapshot, into: &out)
        return out
    }

    private func id(_ a: IPAMLeakReport.Allocation) -> String { "\(a.handle ?? "")/\(a.address)/\(a.sequenceNumber)" }

    /// Whether the allocation may be judged unused.
    private func eligible(_ a: IPAMLeakReport.Allocation, _ snapshot: IPAMSnapshot) -> Bool {
        guard !a.inUse else { return false }
        switch a.kind {
        case .workload:
            return true
        case .tunnel:
            return snapshot.nodes[a.node ?? ""] == nil
        case .other:
            guard let handle = a.handle else { return false }
            return configuration.workloadHandlePrefixes.contains { !$0.isEmpty && handle.hasPrefix($0) }
        case .windowsReserved, .coolingDown:
            return false
        }
    }

    private mutating func collectLeaks(
        _ report: IPAMLeakReport, snapshot: IPAMSnapshot, now: C.Instant, into out: inout ScanReport
    ) async throws(IPAMError) {
        var present = Set<String>()
        var confirmed = Set<String>()
        var byHandle: [String: [IPAMLeakReport.Allocation]] = [:]
        for a in report.allocations {
            let key = id(a)
            present.insert(key)
            if let h = a.handle { byHandle[h, default: []].append(a) }
            guard eligible(a, snapshot) else {
                leakSeen[key] = nil
                continue
            }
            guard let first = leakSeen[key] else {
                leakSeen[key] = now
                out.candidates.append(a)
                continue
            }
            if configuration.leakGracePeriod > .zero, first.duration(to: now) >= configuration.leakGracePeriod {
                confirmed.insert(key)
            } else {
                out.candidates.append(a)
            }
        }
        leakSeen = leakSeen.filter { present.contains($0.key) }
        // All or none per handle.
        var releasing: [IPAMLeakReport.Allocation] = []
        for a in report.allocations where confirmed.contains(id(a)) {
            if let h = a.handle, !(byHandle[h] ?? []).allSatisfy({ confirmed.contains(id($0)) }) {
                out.candidates.append(a)
                continue
            }
            releasing.append(a)
        }
        if releasing.count > configuration.maxReleasesPerScan {
            out.candidates += releasing[configuration.maxReleasesPerScan...]
            releasing = Array(releasing.prefix(configuration.maxReleasesPerScan))
        }
        guard !releasing.isEmpty else { return }
        let result = try await ipam.releaseUnused(releasing)
        out.released = result.released
        out.keptInUse = result.inUse
        out.changed = result.changed
        out.corrupt += result.corrupt.filter { !out.corrupt.contains($0) }
        for a in result.released.map(\.allocation) + result.inUse + result.changed { leakSeen[id(a)] = nil }
    }

    private mutating func cleanUpMissingNodes(_ snapshot: IPAMSnapshot, now: C.Instant, into out: inout ScanReport) async throws(IPAMError) {
        let blocks = Dictionary(snapshot.blocks.map { ($0.block.cidr, $0.block) }, uniquingKeysWith: { a, _ in a })
        var seen = Set<String>()
        var deadHosts = Set<String>()
        var hostsKeepingAffinities = Set<String>()
        for affinity in snapshot.affinities where snapshot.nodes[affinity.host] == nil {
            deadHosts.insert(affinity.host)
            let key = "\(affinity.host)/\(affinity.cidr)"
            if let block = blocks[affinity.cidr], block.affinity == "host:\(affinity.host)", !block.isEmpty {
                hostsKeepingAffinities.insert(affinity.host)
                continue  // in use: kept
            }
            seen.insert(key)
            guard let first = emptySeen[key] else {
                emptySeen[key] = now
                hostsKeepingAffinities.insert(affinity.host)
                continue
            }
            guard configuration.emptyBlockGracePeriod > .zero, first.duration(to: now) >= configuration.emptyBlockGracePeriod else {
                hostsKeepingAffinities.insert(affinity.host)
                continue
            }
            let released = try await ipam.releaseAffinityIfEmpty(host: affinity.host, cidr: affinity.cidr)
            if released {
                out.releasedBlocks.append((affinity.host, affinity.cidr))
                emptySeen[key] = nil
            } else {
                hostsKeepingAffinities.insert(affinity.host)
            }
        }
        // Live hosts' stale affinities: to a block another host owns (or none), or pending with no
        // block (a claim that crashed half way); deleted after the grace period if still so at the write.
        for affinity in snapshot.affinities where snapshot.nodes[affinity.host] != nil {
            let block = snapshot.blocks.first { $0.block.cidr == affinity.cidr }
            let stale: Bool
            if let block {
                stale = block.block.affinity != "host:\(affinity.host)"
            } else {
                stale = affinity.state == .pending
            }
            guard stale else { continue }
            let key = "stale:\(affinity.host)/\(affinity.cidr)/\(affinity.modRevision)"
            seen.insert(key)
            guard let first = emptySeen[key] else {
                emptySeen[key] = now
                continue
            }
            guard configuration.emptyBlockGracePeriod > .zero, first.duration(to: now) >= configuration.emptyBlockGracePeriod else { continue }
            if try await ipam.deleteStaleAffinity(affinity, block: block) {
                out.staleAffinities.append((affinity.host, affinity.cidr))
                emptySeen[key] = nil
            }
        }
        emptySeen = emptySeen.filter { seen.contains($0.key) }
        for host in deadHosts.subtracting(hostsKeepingAffinities).sorted() {
            if try await ipam.removeHostRecordIfBare(host) { out.removedHosts.append(host) }
        }
    }

    private func collectCooled(_ snapshot: IPAMSnapshot, into out: inout ScanReport) async throws(IPAMError) {
        let cooling = snapshot.blocks.filter { $0.block.hasCoolingAddresses }
        guard !cooling.isEmpty else { return }
        let cooldown = try await ipam.config().ipCooldownSeconds
        let now = IPAMClient<Store>.nowSeconds()
        for stored in cooling {
            guard let earliest = stored.block.earliestRelease, earliest + cooldown <= now else { continue }
            if try await ipam.collectCooledAddresses(block: stored.block.cidr, cooldownSeconds: cooldown) {
                out.cooledBlocks.append(stored.block.cidr)
            }
        }
    }
}

extension IPAMClient {
    /// Deletes `host`'s affinity to `cidr` and the block with it, only while the block is empty
    /// (compare-and-swap on both); a block the host does not own loses only the affinity. Returns
    /// whether the affinity was deleted.
    func releaseAffinityIfEmpty(host: String, cidr: CIDR) async throws(IPAMError) -> Bool {
        try await ipam {
            guard let kv = try await store.get(IPAMKeys.affinity(host: host, cidr: cidr).bytes) else { return false }
            return try await releaseAffinity(kv, host: host, block: cidr, requireEmpty: true)
        }
    }

    /// Deletes a stale affinity, only while it and its block (or the block's absence) are as the
    /// snapshot read them. Returns whether it was deleted.
    func deleteStaleAffinity(_ affinity: IPAMSnapshot.Affinity, block: IPAMSnapshot.Block?) async throws(IPAMError) -> Bool {
        let key = IPAMKeys.affinity(host: affinity.host, cidr: affinity.cidr).bytes
        let blockKey = IPAMKeys.block(affinity.cidr).bytes
        let blockCompare: Transaction.Comparison = block.map { .modRevision(blockKey, is: $0.modRevision) } ?? .absent(blockKey)
        let result = try await run(Transaction(
            if: [.modRevision(key, is: affinity.modRevision), blockCompare], then: [.delete(key: key)], returnsPreviousValues: false))
        return result.succeeded
    }

    /// Deletes `/calico/ipam/v2/host/<host>` when the host has no affinity left (one transaction:
    /// nothing under `<record>/` and the record as read). Returns whether it was deleted.
    func removeHostRecordIfBare(_ host: String) async throws(IPAMError) -> Bool {
        try await ipam {
            let recordKey = IPAMKeys.host(host).bytes
            let list = try await store.list(prefix: recordKey)
            let affinityPrefix = (IPAMKeys.host(host) + "/").bytes
            guard !list.items.contains(where: { $0.key.starts(with: affinityPrefix) }),
                  let record = list.items.first(where: { $0.key == recordKey })
            else { return false }
            let result = try await run(Transaction(
                if: [.modRevision(recordKey, is: record.modRevision),
                     .unmodified(prefix: affinityPrefix, since: list.revision.next)],
                then: [.delete(key: recordKey)], returnsPreviousValues: false))
            return result.succeeded
        }
    }

    /// Returns the block's addresses whose cooldown is over to its free list (compare-and-swap,
    /// retried on conflict). Returns whether the block changed; a block that does not parse is left alone.
    func collectCooledAddresses(block cidr: CIDR, cooldownSeconds: Int) async throws(IPAMError) -> Bool {
        try await ipam {
            var budget = RetryBudget(limit: options.maxAttempts)
            let key = IPAMKeys.block(cidr).bytes
            while true {
                guard let kv = try await store.get(key), var block = try? AllocationBlock(json: kv.value) else { return false }
                guard block.collectCooledAddresses(cooldownSeconds: cooldownSeconds, now: Self.nowSeconds()) else { return false }
                block.sequenceNumber &+= 1
                let delete = block.isEmpty && block.affinity == nil
                let outcome = try await commit([KeyWrite(key: key, expected: kv, value: delete ? nil : block.jsonBytes)])
                if outcome.succeeded { return true }
                try await budget.conflict()
            }
        }
    }
}
