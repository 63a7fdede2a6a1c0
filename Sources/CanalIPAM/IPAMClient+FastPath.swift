import CanalDatastore
import CanalModel
import Synchronization

/// What one host's last full ``IPAMClient/autoAssign(_:)`` read: the IPAM config, the node, the
/// pools and reservations, the host's affinities and blocks, with the keys' mod revisions.
///
/// A snapshot is never trusted: the write that uses it carries a compare on the mod revision of
/// every key it was built from, and "no key created or modified since" compares over the pool and
/// reservation prefix and the host's affinity prefix, so the write lands only if everything it
/// read is still current — at the revision of the write, not merely when it was read.
struct HostSnapshot: Sendable {
    struct Affinity: Sendable {
        var cidr: CIDR
        var kv: KeyValue
        var confirmed: Bool
    }

    var configKV: KeyValue?
    var config: IPAMConfig
    var nodeKey: [UInt8]
    var nodeKV: KeyValue?
    var labels: [String: String]
    /// Every key of the pool and reservation list.
    var poolItems: [KeyValue]
    var pools: [Pool]
    var reservations: ReservationFilter
    /// No key under ``Pool/listPrefix`` was written at this revision or later when last checked.
    var poolsSince: Revision
    var affinityPrefix: [UInt8]
    /// The end of ``affinityPrefix``'s range.
    var affinityPrefixEnd: [UInt8]
    /// The host's affinities (both families), in key order.
    var affinities: [Affinity]
    var affinitiesSince: Revision
    /// Affinity keys this client wrote at ``affinitiesSince`` or later (its own claims), sorted:
    /// the "nothing modified since" compare covers the prefix around them, and each of them has
    /// its own compare.
    var newerAffinityKeys: [[UInt8]]
    /// The host's blocks as last read or written.
    var blocks: [CIDR: HostBlock]
    /// The pools an autoAssign with no pools named, for workloads, may use, per family, once chosen
    /// from ``pools`` and ``labels``.
    var workloadPoolsV4: [Pool]? = nil
    var workloadPoolsV6: [Pool]? = nil
}

/// A block of a host snapshot: as read or written, and where the parts of its JSON are when this
/// client wrote it (see ``AllocationBlock/patchedJSON(from:layout:old:taken:)``).
///
/// A call that assigns from the block changes ``block`` in place (so its arrays are not copied)
/// while its write is in flight, marked by ``pending``; ``kv`` stays the block as stored until the
/// write lands, and a failed write is taken back with ``undo``.
struct HostBlock: Sendable {
    var kv: KeyValue
    var block: AllocationBlock
    var layout: BlockJSONLayout?
    /// The token of the call whose assignment ``block`` holds, not yet written; 0 when none.
    var pending: UInt64 = 0
    /// How to take that assignment back.
    var undo: AssignmentUndo?
    /// The block's CIDR as Calico writes it (a handle's key for it).
    let name: String

    init(kv: KeyValue, block: AllocationBlock, layout: BlockJSONLayout?) {
        self.kv = kv
        self.block = block
        self.layout = layout
        self.name = block.cidr.description
    }

    /// ``block`` as stored (``kv``), a copy without the pending assignment.
    var storedBlock: AllocationBlock {
        var copy = block
        if pending != 0, let undo { copy.undo(undo) }
        return copy
    }
}

/// The block one family of a validated autoAssign uses, and its value after the assignment.
struct FastChoice: Sendable {
    var family: IPAddress.Family
    var cidr: CIDR
    /// ``cidr`` as Calico writes it.
    var name: String
    /// The block's key.
    var key: [UInt8]
    /// The block as read; nil for a block this write creates (a claim).
    var kv: KeyValue?
    /// The block after the assignment when this call holds its own copy (a claim, or a block another
    /// call of this client is writing); nil when the snapshot's block was changed in place under ``token``.
    var block: AllocationBlock?
    var token: UInt64
    var ordinals: [Int]
    /// The block's JSON and its layout.
    var value: [UInt8]
    var layout: BlockJSONLayout
    /// For a claim: the host's affinity key, written `confirmed` with the block.
    var affinityKey: [UInt8]?
}

/// One attempt of a validated autoAssign: the choices and the write.
struct FastPlan: Sendable {
    var choices: [FastChoice]
    var transaction: Transaction
    var handleValue: [UInt8]
    /// The snapshot's ``HostSnapshot/poolsSince`` and ``HostSnapshot/affinitiesSince`` the write checked.
    var checkedPools: Revision
    var checkedAffinities: Revision
}

/// Per-host snapshots of one client, and the handles it last wrote (a guess at their current
/// value, checked by the write like everything else).
final class HostCache: Sendable {
    private let state = Mutex<[String: HostSnapshot]>([:])
    private let handles = Mutex<[ByteKey: KeyValue]>([:])
    private let written = Mutex<[String: [CIDR: KeyValue]]>([:])
    /// Tokens of in-place assignments (``HostBlock/pending``).
    private let tokens = Atomic<UInt64>(0)

    func newToken() -> UInt64 { tokens.add(1, ordering: .relaxed).newValue }

    /// Notes an affinity of `host` this client wrote during a full autoAssign.
    func noteAffinity(_ kv: KeyValue, cidr: CIDR, host: String) {
        written.withLock {
            if $0.count >= Self.capacity, $0[host] == nil { $0.removeAll(keepingCapacity: true) }
            $0[host, default: [:]][cidr] = kv
        }
    }

    /// The affinities noted for `host`, forgotten.
    func takeAffinities(_ host: String) -> [CIDR: KeyValue] { written.withLock { $0.removeValue(forKey: host) } ?? [:] }
    static let capacity = 256
    static let handleCapacity = 1024

    func handle(_ key: [UInt8]) -> KeyValue? { handles.withLock { $0[ByteKey(key)] } }

    func storeHandle(_ kv: KeyValue?, key: [UInt8]) {
        handles.withLock {
            let key = ByteKey(key)
            if $0.count >= Self.handleCapacity, $0[key] == nil { $0.removeAll(keepingCapacity: true) }
            $0[key] = kv
        }
    }

    /// The blocks of each family known to exist: those of this client's last list of the family's
    /// blocks, and those it created, deleted or found existing since.
    private let blockSets = Mutex<[IPAddress.Family: Set<CIDR>]>([:])

    func knownBlocks(_ family: IPAddress.Family) -> Set<CIDR>? { blockSets.withLock { $0[family] } }

    func setKnownBlocks(_ blocks: Set<CIDR>, family: IPAddress.Family) { blockSets.withLock { $0[family] = blocks } }

    /// Notes that `cidr` exists (or not); nothing when no list of its family was kept.
    func noteBlock(_ cidr: CIDR, exists: Bool) {
        blockSets.withLock {
            guard $0[cidr.family] != nil else { return }
            if exists { $0[cidr.family]!.insert(cidr) } else { $0[cidr.family]!.remove(cidr) }
        }
    }

    func store(_ snapshot: HostSnapshot, host: String) {
        state.withLock {
            if $0.count >= Self.capacity, $0[host] == nil { $0.removeAll(keepingCapacity: true) }
            $0[host] = snapshot
        }
    }

    func remove(_ host: String) { _ = state.withLock { $0.removeValue(forKey: host) } }

    /// Runs `body` on the host's snapshot in place (no copy), under the lock; nil when there is none.
    func withSnapshot<R: Sendable>(_ host: String, _ body: (inout HostSnapshot) -> R?) -> R? {
        state.withLock { snapshots -> R? in
            guard let index = snapshots.index(forKey: host) else { return nil }
            return body(&snapshots.values[index])
        }
    }
}

extension IPAMClient {
    /// The most compares one validated write may carry (etcd's default `--max-txn-ops` is 128).
    static var maxFastPathCompares: Int { 100 }
    /// The claims of one call that may find their block taken before the full path (and its list
    /// of the blocks) takes over.
    static var maxFastClaimMisses: Int { 3 }
    /// `{"state":"confirmed","deleted":false}`.
    static var confirmedAffinity: [UInt8] { confirmedAffinityBytes }

    /// The claim of a new block by a host whose affine blocks of `family` are all full, decided as
    /// the full path decides it (the block limit, automatic allocation, the first block in the
    /// host's order that does not exist and is not wholly reserved) but on the blocks this client
    /// knows to exist; nil when the full path must decide. The write checks the block and the
    /// affinity are absent, so a block created since is found by a failed write, never overwritten.
    /// A block deleted by another client since this client's last list may be passed over until the
    /// full path lists the blocks again.
    func fastClaim(
        family: IPAddress.Family, count: Int, pools: [Pool], owned: Int, snapshot: borrowing HostSnapshot, request: AutoAssignRequest
    ) -> FastChoice? {
        guard snapshot.config.autoAllocateBlocks else { return nil }
        var limits = [snapshot.config.maxBlocksPerHost, request.maxBlocksPerHost].filter { $0 > 0 }
        if limits.isEmpty { limits = [options.defaultMaxBlocksPerHost] }
        guard owned < limits.min()!, let known = hostCache.knownBlocks(family) else { return nil }
        var candidate: CIDR?
        search: for pool in pools {
            let n = pool.blockCount
            let start = options.blockOrder.start(host: request.host, pool: pool.cidr, count: n)
            var i: UInt128 = 0
            while i < n {
                let cidr = pool.block(at: (start + i) % n)
                i += 1
                if !known.contains(cidr), !snapshot.reservations.coversWhole(cidr) {
                    candidate = cidr
                    break search
                }
            }
        }
        guard let cidr = candidate else { return nil }
        var block = AllocationBlock(
            cidr: cidr, affinity: "host:\(request.host)", sequenceNumber: Self.nowNanos(), claimTime: Self.timestamp())
        let ordinals = block.autoAssign(
            count: count, handle: request.handle, attributes: request.attributes, reservations: snapshot.reservations)
        guard ordinals.count == count else { return nil }
        block.sequenceNumber &+= 1
        let (value, layout) = block.encodedJSON()
        return FastChoice(
            family: family, cidr: cidr, name: cidr.description, key: IPAMKeys.block(cidr).bytes, kv: nil, block: block, token: 0, ordinals: ordinals,
            value: value, layout: layout, affinityKey: IPAMKeys.affinity(host: request.host, cidr: cidr).bytes)
    }

    /// Assigns `count` addresses from `block` (stored as `kv`) in place and gives its JSON, patched
    /// from `kv`'s when this client wrote it (`layout`); nil, with the block unchanged, when fewer
    /// than `count` are free.
    func assignInPlace(
        _ block: inout AllocationBlock, kv: KeyValue, layout: BlockJSONLayout?, count: Int, request: AutoAssignRequest,
        reservations: ReservationFilter
    ) -> (undo: AssignmentUndo, value: [UInt8], layout: BlockJSONLayout)? {
        let undo = block.assignUndoably(
            count: count, handle: request.handle, attributes: request.attributes, reservations: reservations)
        guard undo.ordinals.count == count else { return nil }
        let encoded =
            (layout ?? cache.layout(kv)).flatMap {
                block.patchedJSON(
                    from: kv.value, layout: $0, oldUnallocated: undo.unallocated, oldAttributeCount: undo.attributeCount,
                    oldSequenceNumber: undo.sequenceNumber, taken: undo.ordinals)
            } ?? block.encodedJSON()
        return (undo, encoded.bytes, encoded.layout)
    }

    /// What one affine block offers a validated attempt.
    enum BlockOffer {
        /// Not usable by the fast path (not the host's, too little room): the full path decides.
        case unusable
        /// Full.
        case full
        /// Assigned from, in place (pending) or from a copy.
        case chosen(FastChoice)
    }

    /// The compare that a snapshot block is as stored (read in place).
    func fullCompare(_ entry: inout HostBlock) -> Transaction.Comparison { .modRevision(entry.kv.key, is: entry.kv.modRevision) }

    /// Assigns `count` addresses from one snapshot block of affinity `owner` (`host:<name>`): in
    /// place and marked pending when no other call of this client is writing it, else from a copy
    /// of the block as stored.
    func choose(
        from entry: inout HostBlock, cidr: CIDR, family: IPAddress.Family, owner: String, count: Int, request: AutoAssignRequest,
        reservations: ReservationFilter
    ) -> BlockOffer {
        guard entry.block.affinity == owner else { return .unusable }
        let free = entry.block.freeCount(reserved: reservations)
        if free == 0 { return .full }
        guard free >= count else { return .unusable }
        if entry.pending == 0 {
            // The snapshot's block changed in place, taken back if the write fails.
            guard let done = assignInPlace(
                &entry.block, kv: entry.kv, layout: entry.layout, count: count, request: request, reservations: reservations)
            else { return .unusable }
            let token = hostCache.newToken()
            entry.pending = token
            entry.undo = done.undo
            return .chosen(
                FastChoice(
                    family: family, cidr: cidr, name: entry.name, key: entry.kv.key, kv: entry.kv, block: nil, token: token,
                    ordinals: done.undo.ordinals, value: done.value, layout: done.layout))
        }
        // Another call of this client is writing the block: assign from a copy as stored.
        var block = entry.storedBlock
        guard let done = assignInPlace(
            &block, kv: entry.kv, layout: entry.layout, count: count, request: request, reservations: reservations)
        else { return .unusable }
        return .chosen(
            FastChoice(
                family: family, cidr: cidr, name: entry.name, key: entry.kv.key, kv: entry.kv, block: block, token: 0, ordinals: done.undo.ordinals,
                value: done.value, layout: done.layout))
    }

    /// The choice and the write of one validated attempt, decided on the host's snapshot in place
    /// (under the cache's lock): a block with room is assigned from where the snapshot holds it,
    /// marked pending (``HostBlock/pending``) until ``settle(_:host:revision:)`` or
    /// ``rollBack(_:host:)``. Nil, with the snapshot unchanged, when the full path must decide.
    func fastPlan(
        _ request: AutoAssignRequest, owner: String, snapshot: inout HostSnapshot, handleKey: [UInt8]?, handleKV: KeyValue?,
        handle: IPAMHandle?, claimMisses: Int
    ) -> FastPlan? {
        // Pools with a namespace selector are chosen per request, on the namespace's labels: the full path does.
        guard !snapshot.pools.contains(where: { $0.namespaceSelector != nil }) else { return nil }
        var choices: [FastChoice] = []
        choices.reserveCapacity(2)
        var compares: [Transaction.Comparison] = []
        compares.reserveCapacity(snapshot.poolItems.count + snapshot.newerAffinityKeys.count + 12)
        /// Takes back the in-place assignments made so far.
        func abandon(_ snapshot: inout HostSnapshot) -> FastPlan? {
            for choice in choices where choice.token != 0 {
                if let index = snapshot.blocks.index(forKey: choice.cidr), snapshot.blocks.values[index].pending == choice.token,
                   let undo = snapshot.blocks.values[index].undo {
                    snapshot.blocks.values[index].block.undo(undo)
                    snapshot.blocks.values[index].pending = 0
                    snapshot.blocks.values[index].undo = nil
                }
            }
            return nil
        }
        for family in [IPAddress.Family.v4, .v6] {
            let count = family == .v4 ? request.ipv4 : request.ipv6
            guard count > 0 else { continue }
            let requested = family == .v4 ? request.ipv4Pools : request.ipv6Pools
            let pools: [Pool]
            if requested.isEmpty, request.use == .workload, let selected = family == .v4 ? snapshot.workloadPoolsV4 : snapshot.workloadPoolsV6 {
                pools = selected
            } else {
                guard let selected = try? Self.selectPools(
                    snapshot.pools, family: family, requested: requested, labels: snapshot.labels, use: request.use)
                else { return abandon(&snapshot) }
                pools = selected
                // The usual selection (no pools named, workload use) is kept with the snapshot it came from.
                if requested.isEmpty, request.use == .workload {
                    if family == .v4 { snapshot.workloadPoolsV4 = selected } else { snapshot.workloadPoolsV6 = selected }
                }
            }
            guard !pools.isEmpty else { return abandon(&snapshot) }
            var chosen: FastChoice?
            var owned = 0
            for a in snapshot.affinities.indices where snapshot.affinities[a].cidr.family == family {
                let cidr = snapshot.affinities[a].cidr
                guard pools.contains(where: { $0.cidr.contains(cidr) && $0.blockSize == cidr.prefixLength }) else { continue }
                owned += 1
                if snapshot.reservations.coversWhole(cidr) { continue }
                guard snapshot.affinities[a].confirmed, let b = snapshot.blocks.index(forKey: cidr) else { return abandon(&snapshot) }
                // One in-place access to the entry (a read through the dictionary would copy it).
                switch choose(
                    from: &snapshot.blocks.values[b], cidr: cidr, family: family, owner: owner, count: count, request: request,
                    reservations: snapshot.reservations)
                {
                case .unusable: return abandon(&snapshot)
                case .full: continue
                case .chosen(let choice): chosen = choice
                }
                // An assignment depends on its block's affinity (a full block whose affinity goes is
                // not chosen either way, and a changed or new affinity fails the prefix compare) —
                // not on the full blocks before it (see ``IPAMClient``).
                compares.append(.modRevision(snapshot.affinities[a].kv.key, is: snapshot.affinities[a].kv.modRevision))
                break
            }
            if chosen == nil {
                // Every affine block is full: claim the next free block, as the full path would.
                guard claimMisses < Self.maxFastClaimMisses else { return abandon(&snapshot) }
                chosen = fastClaim(family: family, count: count, pools: pools, owned: owned, snapshot: snapshot, request: request)
                // A claim depends on every affinity of the family (their number) and on each of
                // their blocks staying full (no new block while the host has room).
                for a in snapshot.affinities.indices where snapshot.affinities[a].cidr.family == family {
                    let cidr = snapshot.affinities[a].cidr
                    guard pools.contains(where: { $0.cidr.contains(cidr) && $0.blockSize == cidr.prefixLength }) else { continue }
                    compares.append(.modRevision(snapshot.affinities[a].kv.key, is: snapshot.affinities[a].kv.modRevision))
                    if snapshot.reservations.coversWhole(cidr) { continue }
                    if let b = snapshot.blocks.index(forKey: cidr) {
                        compares.append(fullCompare(&snapshot.blocks.values[b]))
                    }
                }
            }
            guard let chosen else { return abandon(&snapshot) }
            choices.append(chosen)
        }
        guard !choices.isEmpty else { return abandon(&snapshot) }

        // What was read must be current.
        compares.append(snapshot.configKV.map { .modRevision($0.key, is: $0.modRevision) } ?? .absent(IPAMKeys.configBytes))
        compares.append(snapshot.nodeKV.map { .modRevision($0.key, is: $0.modRevision) } ?? .absent(snapshot.nodeKey))
        for kv in snapshot.poolItems { compares.append(.modRevision(kv.key, is: kv.modRevision)) }
        compares.append(.unmodified(prefix: Pool.listPrefixBytes, since: snapshot.poolsSince))
        var start = snapshot.affinityPrefix
        for key in snapshot.newerAffinityKeys {
            compares.append(Transaction.Comparison(key: start, .modRevision(snapshot.affinitiesSince), .less, rangeEnd: key))
            start = key + [0]
        }
        compares.append(
            Transaction.Comparison(
                key: start, .modRevision(snapshot.affinitiesSince), .less, rangeEnd: snapshot.affinityPrefixEnd))
        guard compares.count + 3 * choices.count + 1 <= Self.maxFastPathCompares else { return abandon(&snapshot) }

        // The write: each block and the handle, compare-and-swap.
        var success: [Transaction.Operation] = []
        var failure: [Transaction.Operation] = []
        success.reserveCapacity(2 * choices.count + 1)
        failure.reserveCapacity(choices.count + 1)
        for i in choices.indices {
            let key = choices[i].key
            success.append(.put(key: key, value: choices[i].value, lease: nil))
            failure.append(.get(key: key))
            if let revision = choices[i].kv?.modRevision {
                compares.append(.modRevision(key, is: revision))
            } else if let affinityKey = choices[i].affinityKey {
                // A claim: block and affinity absent ⇒ create the block, confirm the affinity.
                compares.append(.absent(key))
                compares.append(.absent(affinityKey))
                success.append(.put(key: affinityKey, value: Self.confirmedAffinity, lease: nil))
            }
        }
        var handleValue: [UInt8] = []
        if let handleKey {
            if var handle {
                for i in choices.indices { handle.blocks[choices[i].name, default: 0] += choices[i].ordinals.count }
                handle.deleted = false
                handleValue = handle.jsonBytes
            } else {
                handleValue = IPAMHandle.jsonBytes(blocks: choices.map { ($0.name, $0.ordinals.count) })
            }
            compares.append(handleKV.map { .modRevision(handleKey, is: $0.modRevision) } ?? .absent(handleKey))
            success.append(.put(key: handleKey, value: handleValue, lease: nil))
            failure.append(.get(key: handleKey))
        }
        return FastPlan(
            choices: choices, transaction: Transaction(if: compares, then: success, else: failure, returnsPreviousValues: false),
            handleValue: handleValue, checkedPools: snapshot.poolsSince, checkedAffinities: snapshot.affinitiesSince)
    }

    /// Takes back the in-place assignments of a plan whose write did not land (nothing for blocks
    /// the snapshot no longer holds as this plan left them).
    func rollBack(_ plan: FastPlan, host: String) {
        guard plan.choices.contains(where: { $0.token != 0 }) else { return }
        _ = hostCache.withSnapshot(host) { snapshot -> Bool? in
            for choice in plan.choices where choice.token != 0 {
                guard let b = snapshot.blocks.index(forKey: choice.cidr), snapshot.blocks.values[b].pending == choice.token,
                      let undo = snapshot.blocks.values[b].undo
                else { continue }
                snapshot.blocks.values[b].block.undo(undo)
                snapshot.blocks.values[b].pending = 0
                snapshot.blocks.values[b].undo = nil
            }
            return true
        }
    }

    /// Records a plan's write, landed at `revision`, in the host's snapshot.
    func settle(_ plan: FastPlan, host: String, revision: Revision) {
        var claimed: [HostSnapshot.Affinity] = []
        for i in plan.choices.indices {
            guard let affinityKey = plan.choices[i].affinityKey else { continue }
            let cidr = plan.choices[i].cidr
            hostCache.noteBlock(cidr, exists: true)
            let affinityKV = KeyValue(
                key: affinityKey, value: Self.confirmedAffinity, createRevision: revision, modRevision: revision, version: 1)
            hostCache.noteAffinity(affinityKV, cidr: cidr, host: host)
            claimed.append(HostSnapshot.Affinity(cidr: cidr, kv: affinityKV, confirmed: true))
        }
        _ = hostCache.withSnapshot(host) { current -> Bool? in
            for i in plan.choices.indices {
                let cidr = plan.choices[i].cidr
                let kv = KeyValue(
                    key: plan.choices[i].key, value: plan.choices[i].value,
                    createRevision: plan.choices[i].kv?.createRevision ?? revision, modRevision: revision,
                    version: (plan.choices[i].kv?.version ?? 0) + 1)
                let b = current.blocks.index(forKey: cidr)
                if plan.choices[i].token != 0 {
                    // In place: the block already holds the assignment; only when it is still this call's.
                    guard let b, current.blocks.values[b].pending == plan.choices[i].token else { continue }
                    current.blocks.values[b].kv = kv
                    current.blocks.values[b].layout = plan.choices[i].layout
                    current.blocks.values[b].pending = 0
                    current.blocks.values[b].undo = nil
                } else if let block = plan.choices[i].block {
                    if let b, current.blocks.values[b].kv.modRevision > revision { continue }
                    current.blocks[cidr] = HostBlock(kv: kv, block: block, layout: plan.choices[i].layout)
                }
            }
            for affinity in claimed where !current.affinities.contains(where: { $0.kv.key == affinity.kv.key }) {
                let at = current.affinities.firstIndex { [UInt8].byteLess(affinity.kv.key, $0.kv.key) } ?? current.affinities.count
                current.affinities.insert(affinity, at: at)
            }
            // Nothing under either prefix was written up to this revision but this write's own
            // affinities (each kept with its own compare from now on). Only a view at least as new
            // as the one this write checked moves forward.
            if current.poolsSince >= plan.checkedPools, current.poolsSince < revision.next { current.poolsSince = revision.next }
            if current.affinitiesSince >= plan.checkedAffinities, current.affinitiesSince < revision.next {
                current.affinitiesSince = revision.next
                current.newerAffinityKeys = []
            }
            return true
        }
    }

    /// autoAssign from the host's own blocks, or a block it claims, in one round trip, using the
    /// host's snapshot; nil when the full path must run: no snapshot, the first block with room
    /// lacks room for a family's whole count (a partial fill or borrowing may be needed), no claim
    /// is possible from what the client knows (the block limit, no list of the blocks, three
    /// claims found taken), a pending affinity, or the snapshot proved stale.
    ///
    /// Makes the choice the full path makes on the same data (the first affine block of each
    /// family, in key order, with room; else the first block in the host's order not known to
    /// exist), and the write's compares ensure that data is current.
    func fastAutoAssign(_ request: AutoAssignRequest) async throws -> AutoAssignResult? {
        let handleKey = request.handle.map { IPAMKeys.handle($0).bytes }
        var handleKV: KeyValue? = handleKey.flatMap(hostCache.handle)
        let owner = "host:" + request.host
        var budget = RetryBudget(limit: options.maxAttempts)
        var claimMisses = 0
        while true {
            let handle = try handleKV.map { kv throws(IPAMError) in try IPAMHandle(json: kv.value) }
            guard let plan = hostCache.withSnapshot(request.host, { snapshot in
                fastPlan(
                    request, owner: owner, snapshot: &snapshot, handleKey: handleKey, handleKV: handleKV, handle: handle,
                    claimMisses: claimMisses)
            }) else { return nil }
            let result: TransactionResult
            do {
                // (The caller maps errors to IPAMError.)
                result = try await store.transaction(plan.transaction)
            } catch {
                rollBack(plan, host: request.host)
                throw error
            }
            let choices = plan.choices

            if result.succeeded {
                let revision = result.revision
                settle(plan, host: request.host, revision: revision)
                if let handleKey {
                    hostCache.storeHandle(
                        KeyValue(key: handleKey, value: plan.handleValue, createRevision: handleKV?.createRevision ?? revision,
                                 modRevision: revision, version: (handleKV?.version ?? 0) + 1),
                        key: handleKey)
                }
                var out = AutoAssignResult(
                    ipv4: FamilyAssignment(addresses: [], requested: request.ipv4, messages: []),
                    ipv6: FamilyAssignment(addresses: [], requested: request.ipv6, messages: []))
                for i in choices.indices {
                    let cidr = choices[i].cidr
                    let addresses = choices[i].ordinals.map { CIDR(address: cidr.address(at: UInt128($0))!, prefixLength: cidr.prefixLength)! }
                    if choices[i].family == .v4 { out.ipv4.addresses = addresses } else { out.ipv6.addresses = addresses }
                }
                return out
            }
            rollBack(plan, host: request.host)

            // A block or the handle changed: take their current values and choose again. Otherwise
            // something else the snapshot holds changed: the full path re-reads it all.
            var moved = false
            var refreshed: [(CIDR, HostBlock?)] = []
            for (index, choice) in choices.enumerated() {
                let current = result.results[index]
                guard current?.modRevision != choice.kv?.modRevision else { continue }
                moved = true
                if choice.kv == nil {
                    // The block a claim chose exists after all: choose the next one.
                    claimMisses += 1
                    hostCache.noteBlock(choice.cidr, exists: true)
                    continue
                }
                refreshed.append((choice.cidr, try current.map { HostBlock(kv: $0, block: try block($0), layout: cache.layout($0)) }))
            }
            if handleKey != nil {
                let current = result.results[choices.count]
                if current?.modRevision != handleKV?.modRevision {
                    moved = true
                    handleKV = current
                    hostCache.storeHandle(current, key: handleKey!)
                }
            }
            guard moved else {
                hostCache.remove(request.host)
                return nil
            }
            if !refreshed.isEmpty {
                _ = hostCache.withSnapshot(request.host) { current -> Bool? in
                    for (cidr, entry) in refreshed {
                        if let newer = current.blocks[cidr], let entry, newer.kv.modRevision >= entry.kv.modRevision { continue }
                        current.blocks[cidr] = entry
                    }
                    return true
                }
            }
            try await budget.conflict()
        }
    }

    /// Keeps what a full autoAssign read (and the affinities it wrote) as the host's snapshot; when
    /// a block of the host's has no known affinity, the next call reads everything again.
    func rememberSnapshot(
        host: String, first: [KeyValue?], config: IPAMConfig, labels: [String: String], poolList: ListResult,
        pools: [Pool], reservations: ReservationFilter, affinityList: ListResult, known: [CIDR: KeyValue?]
    ) throws {
        // The affinities as listed, updated with those the call wrote (claims, confirmations).
        var byKey: [[UInt8]: (CIDR, KeyValue)] = [:]
        for kv in affinityList.items {
            guard let (_, cidr) = IPAMKeys.parseAffinity(kv.keyString) else { continue }
            byKey[kv.key] = (cidr, kv)
        }
        let since = affinityList.revision.next
        var newer: [[UInt8]] = []
        for (cidr, kv) in hostCache.takeAffinities(host) where kv.modRevision >= since {
            if let listed = byKey[kv.key]?.1, listed.modRevision >= kv.modRevision { continue }
            byKey[kv.key] = (cidr, kv)
            newer.append(kv.key)
        }
        var affinities: [HostSnapshot.Affinity] = []
        for (key, (cidr, kv)) in byKey.sorted(by: { [UInt8].byteLess($0.key, $1.key) }) {
            _ = key
            let state = (try? BlockAffinity(json: kv.value).state) ?? .pending
            affinities.append(HostSnapshot.Affinity(cidr: cidr, kv: kv, confirmed: state == .confirmed))
        }
        let owner = "host:\(host)"
        var blocks: [CIDR: HostBlock] = [:]
        for case let (cidr, kv?) in known {
            let block = try self.block(kv)
            if block.affinity == owner, !affinities.contains(where: { $0.cidr == cidr }) {
                hostCache.remove(host)  // claimed by another process during the call
                return
            }
            blocks[cidr] = HostBlock(kv: kv, block: block, layout: cache.layout(kv))
        }
        hostCache.store(
            HostSnapshot(
                configKV: first[0], config: config, nodeKey: (Pool.nodePrefix + host).bytes, nodeKV: first[1], labels: labels,
                poolItems: poolList.items, pools: pools, reservations: reservations, poolsSince: poolList.revision.next,
                affinityPrefix: (IPAMKeys.hostAffinityRoot + host + "/").bytes,
                affinityPrefixEnd: (IPAMKeys.hostAffinityRoot + host + "/").bytes.prefixRangeEnd, affinities: affinities,
                affinitiesSince: since, newerAffinityKeys: newer.sorted(by: [UInt8].byteLess), blocks: blocks),
            host: host)
    }
}

extension Pool {
    static let listPrefixBytes = listPrefix.bytes
}

extension IPAMKeys {
    static let configBytes = config.bytes
}

private let confirmedAffinityBytes = BlockAffinity(state: .confirmed).jsonBytes
