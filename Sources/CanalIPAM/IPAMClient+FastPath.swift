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
    /// The host's affinities (both families), in key order.
    var affinities: [Affinity]
    var affinitiesSince: Revision
    /// Affinity keys this client wrote at ``affinitiesSince`` or later (its own claims), sorted:
    /// the "nothing modified since" compare covers the prefix around them, and each of them has
    /// its own compare.
    var newerAffinityKeys: [[UInt8]]
    /// The host's blocks as last read or written.
    var blocks: [CIDR: HostBlock]
}

/// A block of a host snapshot: as read or written, and where the parts of its JSON are when this
/// client wrote it (see ``AllocationBlock/patchedJSON(from:layout:old:taken:)``).
struct HostBlock: Sendable {
    var kv: KeyValue
    var block: AllocationBlock
    var layout: BlockJSONLayout?
}

/// The block one family of a validated autoAssign uses, and its value after the assignment.
struct FastChoice {
    var family: IPAddress.Family
    var cidr: CIDR
    /// The block's key.
    var key: [UInt8]
    /// The block as read; nil for a block this write creates (a claim).
    var kv: KeyValue?
    var block: AllocationBlock
    var ordinals: [Int]
    /// The block's JSON and its layout.
    var value: [UInt8]
    var layout: BlockJSONLayout
    /// For a claim: the host's affinity key, written `confirmed` with the block.
    var affinityKey: [UInt8]?
}

/// Per-host snapshots of one client, and the handles it last wrote (a guess at their current
/// value, checked by the write like everything else).
final class HostCache: Sendable {
    private let state = Mutex<[String: HostSnapshot]>([:])
    private let handles = Mutex<[ByteKey: KeyValue]>([:])
    private let written = Mutex<[String: [CIDR: KeyValue]]>([:])

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

    func snapshot(_ host: String) -> HostSnapshot? { state.withLock { $0[host] } }

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

    /// Applies `change` to the host's snapshot, when there is one.
    func update(_ host: String, _ change: (inout HostSnapshot) -> Void) {
        state.withLock { snapshots in
            guard var snapshot = snapshots[host] else { return }
            snapshots[host] = nil  // keep the value uniquely referenced while it changes
            change(&snapshot)
            snapshots[host] = snapshot
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
        family: IPAddress.Family, count: Int, pools: [Pool], owned: Int, snapshot: HostSnapshot, request: AutoAssignRequest
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
            family: family, cidr: cidr, key: IPAMKeys.block(cidr).bytes, kv: nil, block: block, ordinals: ordinals,
            value: value, layout: layout, affinityKey: IPAMKeys.affinity(host: request.host, cidr: cidr).bytes)
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
        guard var snapshot = hostCache.snapshot(request.host) else { return nil }
        let owner = "host:\(request.host)"
        let handleKey = request.handle.map { IPAMKeys.handle($0).bytes }
        var handleKV: KeyValue? = handleKey.flatMap(hostCache.handle)
        var budget = RetryBudget(limit: options.maxAttempts)
        var claimMisses = 0
        while true {
            var choices: [FastChoice] = []
            var compares: [Transaction.Comparison] = []
            for (family, count, requested) in [(IPAddress.Family.v4, request.ipv4, request.ipv4Pools), (.v6, request.ipv6, request.ipv6Pools)]
            where count > 0 {
                guard let pools = try? Self.selectPools(snapshot.pools, family: family, requested: requested, labels: snapshot.labels, use: request.use),
                      !pools.isEmpty
                else { return nil }
                var chosen: FastChoice?
                var owned = 0
                // The affinities visited: a claim depends on all of them (their number), an assignment
                // on its block's own (a full block whose affinity goes is not chosen either way, and a
                // changed or new affinity fails the prefix compare).
                var visited: [Transaction.Comparison] = []
                for a in snapshot.affinities.indices where snapshot.affinities[a].cidr.family == family {
                    let cidr = snapshot.affinities[a].cidr
                    guard pools.contains(where: { $0.cidr.contains(cidr) && $0.blockSize == cidr.prefixLength }) else { continue }
                    owned += 1
                    visited.append(.modRevision(snapshot.affinities[a].kv.key, is: snapshot.affinities[a].kv.modRevision))
                    if snapshot.reservations.coversWhole(cidr) { continue }
                    guard snapshot.affinities[a].confirmed, let entry = snapshot.blocks[cidr], entry.block.affinity == owner else { return nil }
                    let (kv, block) = (entry.kv, entry.block)
                    let free = block.freeCount(reserved: snapshot.reservations)
                    if free == 0 {
                        compares.append(.modRevision(kv.key, is: kv.modRevision))  // still full
                        continue
                    }
                    guard free >= count else { return nil }
                    var next = block
                    let ordinals = next.autoAssign(
                        count: count, handle: request.handle, attributes: request.attributes,
                        reservations: snapshot.reservations)
                    guard ordinals.count == count else { return nil }
                    next.sequenceNumber &+= 1
                    // Our own last write of the block: patch its JSON rather than write it all again.
                    let (value, layout) =
                        (entry.layout ?? cache.layout(kv)).flatMap { next.patchedJSON(from: kv.value, layout: $0, old: block, taken: ordinals) }
                        ?? next.encodedJSON()
                    chosen = FastChoice(
                        family: family, cidr: cidr, key: kv.key, kv: kv, block: next, ordinals: ordinals, value: value, layout: layout)
                    compares.append(visited[visited.count - 1])
                    break
                }
                if chosen == nil {
                    // Every affine block is full: claim the next free block, as the full path would.
                    guard claimMisses < Self.maxFastClaimMisses else { return nil }
                    chosen = fastClaim(family: family, count: count, pools: pools, owned: owned, snapshot: snapshot, request: request)
                    compares += visited
                }
                guard let chosen else { return nil }
                choices.append(chosen)
            }
            guard !choices.isEmpty else { return nil }

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
                    key: start, .modRevision(snapshot.affinitiesSince), .less, rangeEnd: snapshot.affinityPrefix.prefixRangeEnd))
            guard compares.count + 3 * choices.count + 1 <= Self.maxFastPathCompares else { return nil }

            // The write: each block and the handle, compare-and-swap.
            var success: [Transaction.Operation] = []
            var failure: [Transaction.Operation] = []
            var values: [[UInt8]] = []
            var handleValue: [UInt8] = []
            // (Choices are read in place: each holds a block and its JSON.)
            for i in choices.indices {
                let value = choices[i].value
                values.append(value)
                success.append(.put(key: choices[i].key, value: value, lease: nil))
                failure.append(.get(key: choices[i].key))
                if let revision = choices[i].kv?.modRevision {
                    compares.append(.modRevision(choices[i].key, is: revision))
                } else if let affinityKey = choices[i].affinityKey {
                    // A claim: block and affinity absent ⇒ create the block, confirm the affinity.
                    compares.append(.absent(choices[i].key))
                    compares.append(.absent(affinityKey))
                    success.append(.put(key: affinityKey, value: Self.confirmedAffinity, lease: nil))
                }
            }
            if let handleKey {
                var handle = try handleKV.map { kv throws(IPAMError) in try IPAMHandle(json: kv.value) } ?? IPAMHandle()
                for i in choices.indices { handle.blocks[choices[i].cidr.description, default: 0] += choices[i].ordinals.count }
                handle.deleted = false
                compares.append(handleKV.map { .modRevision(handleKey, is: $0.modRevision) } ?? .absent(handleKey))
                handleValue = handle.jsonBytes
                success.append(.put(key: handleKey, value: handleValue, lease: nil))
                failure.append(.get(key: handleKey))
            }
            let result = try await run(Transaction(if: compares, then: success, else: failure, returnsPreviousValues: false))

            if result.succeeded {
                let revision = result.revision
                var out = AutoAssignResult(
                    ipv4: FamilyAssignment(addresses: [], requested: request.ipv4, messages: []),
                    ipv6: FamilyAssignment(addresses: [], requested: request.ipv6, messages: []))
                var written: [HostBlock] = []
                var claimed: [HostSnapshot.Affinity] = []
                for i in choices.indices {
                    let cidr = choices[i].cidr
                    let kv = KeyValue(
                        key: choices[i].key, value: values[i], createRevision: choices[i].kv?.createRevision ?? revision,
                        modRevision: revision, version: (choices[i].kv?.version ?? 0) + 1)
                    written.append(HostBlock(kv: kv, block: choices[i].block, layout: choices[i].layout))
                    cache.store(choices[i].block, for: kv, layout: choices[i].layout)
                    if let affinityKey = choices[i].affinityKey {
                        hostCache.noteBlock(cidr, exists: true)
                        let affinityKV = KeyValue(
                            key: affinityKey, value: Self.confirmedAffinity, createRevision: revision, modRevision: revision, version: 1)
                        hostCache.noteAffinity(affinityKV, cidr: cidr, host: request.host)
                        claimed.append(HostSnapshot.Affinity(cidr: cidr, kv: affinityKV, confirmed: true))
                    }
                    let addresses = choices[i].ordinals.map { CIDR(address: cidr.address(at: UInt128($0))!, prefixLength: cidr.prefixLength)! }
                    if choices[i].family == .v4 { out.ipv4.addresses = addresses } else { out.ipv6.addresses = addresses }
                }
                if let handleKey {
                    hostCache.storeHandle(
                        KeyValue(key: handleKey, value: handleValue, createRevision: handleKV?.createRevision ?? revision,
                                 modRevision: revision, version: (handleKV?.version ?? 0) + 1),
                        key: handleKey)
                }
                // Nothing under either prefix was written up to this revision but this write's own
                // affinities (each kept with its own compare from now on).
                let (checkedPools, checkedAffinities) = (snapshot.poolsSince, snapshot.affinitiesSince)
                snapshot.blocks = [:]  // this call's copy let go: the cached snapshot changes in place
                snapshot.affinities = []
                hostCache.update(request.host) { current in
                    for entry in written {
                        let cidr = entry.block.cidr
                        if let newer = current.blocks[cidr], newer.kv.modRevision > revision { continue }
                        current.blocks[cidr] = entry
                    }
                    for affinity in claimed where !current.affinities.contains(where: { $0.kv.key == affinity.kv.key }) {
                        let at = current.affinities.firstIndex { [UInt8].byteLess(affinity.kv.key, $0.kv.key) } ?? current.affinities.count
                        current.affinities.insert(affinity, at: at)
                    }
                    // Only a view at least as new as the one this write checked moves forward.
                    if current.poolsSince >= checkedPools, current.poolsSince < revision.next { current.poolsSince = revision.next }
                    if current.affinitiesSince >= checkedAffinities, current.affinitiesSince < revision.next {
                        current.affinitiesSince = revision.next
                        current.newerAffinityKeys = []
                    }
                }
                return out
            }

            // A block or the handle changed: take their current values and choose again. Otherwise
            // something else the snapshot holds changed: the full path re-reads it all.
            var moved = false
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
                if let current {
                    snapshot.blocks[choice.cidr] = HostBlock(kv: current, block: try block(current), layout: cache.layout(current))
                } else {
                    snapshot.blocks[choice.cidr] = nil
                }
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
            let refreshed = snapshot
            hostCache.update(request.host) { current in
                for choice in choices where choice.kv != nil {
                    if let newer = current.blocks[choice.cidr], let mine = refreshed.blocks[choice.cidr],
                       newer.kv.modRevision >= mine.kv.modRevision { continue }
                    current.blocks[choice.cidr] = refreshed.blocks[choice.cidr]
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
                affinityPrefix: (IPAMKeys.hostAffinityRoot + host + "/").bytes, affinities: affinities,
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
