public import CanalModel
import CanalDatastore

/// Counts compare-and-swap attempts of one operation and sleeps a jitter between repeated conflicts.
struct RetryBudget {
    let limit: Int
    var attempts = 0
    var consecutive = 0

    mutating func conflict() async throws {
        attempts += 1
        consecutive += 1
        guard attempts < limit else {
            throw IPAMError(.tooManyRetries, "Max retries hit - excessive concurrent IPAM requests")
        }
        guard consecutive >= 2 else { return }
        let ceilingMicros = min(1 << min(consecutive, 5), 20) * 1000
        try? await Task.sleep(for: .microseconds(Int.random(in: 0...ceilingMicros)))
    }

    mutating func success() { consecutive = 0 }
}

/// What one family of an autoAssign call works with.
struct FamilyPlan {
    var family: IPAddress.Family
    var count: Int
    var pools: [Pool]
    var affinities: [(cidr: CIDR, kv: KeyValue)]
}

extension IPAMClient {
    /// Assigns addresses as Calico's `AutoAssign` does: IPv4 then IPv6; per family, the host's own
    /// blocks first (in key order), then new blocks claimed for the host (up to the block limit),
    /// then — unless strict affinity is on — free addresses borrowed from other hosts' blocks.
    ///
    /// Running out of addresses is not an error: the result is short and says why
    /// (``AutoAssignResult/partialFulfillmentError``). Throws ``IPAMError`` for a bad request
    /// (`invalidArgument`), unusable named pools (`noPools`, `poolDisabled`), datastore failures
    /// (`datastore`) and endless conflicts (`tooManyRetries`). Round trips: see ``IPAMClient``.
    public func autoAssign(_ request: AutoAssignRequest) async throws(IPAMError) -> AutoAssignResult {
        try await ipam { try await autoAssignUntyped(request) }
    }

    private func autoAssignUntyped(_ request: AutoAssignRequest) async throws -> AutoAssignResult {
        guard request.ipv4 >= 0, request.ipv6 >= 0 else { throw IPAMError(.invalidArgument, "address counts must not be negative") }
        guard !request.host.isEmpty, !request.host.contains("/") else { throw IPAMError(.invalidArgument, "a host name is required") }
        var result = AutoAssignResult(
            ipv4: FamilyAssignment(addresses: [], requested: request.ipv4, messages: []),
            ipv6: FamilyAssignment(addresses: [], requested: request.ipv6, messages: []))
        guard request.ipv4 > 0 || request.ipv6 > 0 else { return result }
        if let fast = try await fastAutoAssign(request) { return fast }

        // Three independent reads, concurrently.
        var firstKeys = [IPAMKeys.config.bytes, (Pool.nodePrefix + request.host).bytes]
        if let handle = request.handle { firstKeys.append(IPAMKeys.handle(handle).bytes) }
        async let firstRead = getMany(firstKeys)
        async let poolsRead = loadPoolList()
        async let affinityRead = store.list(prefix: (IPAMKeys.hostAffinityRoot + request.host + "/").bytes)
        let first = try await firstRead
        let (allPools, reservations, poolList) = try await poolsRead
        let affinityList = try await affinityRead

        let config = try first[0].map { kv throws(IPAMError) in try IPAMConfig(json: kv.value) } ?? IPAMConfig()
        let labels = first[1].flatMap(Pool.nodeLabels) ?? [:]
        var handle = try request.handle.map { id throws(IPAMError) in try HandleState(id: id, kv: first[2]) }

        var limits = [config.maxBlocksPerHost, request.maxBlocksPerHost].filter { $0 > 0 }
        if limits.isEmpty { limits = [options.defaultMaxBlocksPerHost] }
        let cap = limits.min()!

        let namespaceLabels = try await namespaceLabels(for: request, pools: allPools)
        var plans: [FamilyPlan] = []
        for (family, count, requested) in [(IPAddress.Family.v4, request.ipv4, request.ipv4Pools), (.v6, request.ipv6, request.ipv6Pools)]
        where count > 0 {
            let pools = try Self.selectPools(
                allPools, family: family, requested: requested, labels: labels, use: request.use, namespaceLabels: namespaceLabels)
            var affinities: [(CIDR, KeyValue)] = []
            for kv in affinityList.items {
                guard let (_, cidr) = IPAMKeys.parseAffinity(kv.keyString), cidr.family == family,
                      pools.contains(where: { $0.cidr.contains(cidr) && $0.blockSize == cidr.prefixLength })
                else { continue }
                affinities.append((cidr, kv))
            }
            plans.append(FamilyPlan(family: family, count: count, pools: pools, affinities: affinities))
        }

        // The host's blocks of both families in one read.
        let affineCIDRs = plans.flatMap { $0.affinities.map(\.cidr) }
        let values = try await getMany(affineCIDRs.map { IPAMKeys.block($0).bytes })
        var known: [CIDR: KeyValue?] = [:]
        for (cidr, kv) in zip(affineCIDRs, values) { known[cidr] = kv }

        for plan in plans {
            let part = try await assignFamily(
                plan, request: request, config: config, cap: cap, reservations: reservations, handle: &handle, known: &known)
            if plan.family == .v4 { result.ipv4 = part } else { result.ipv6 = part }
        }
        if let handle, let kv = handle.kv { hostCache.storeHandle(kv, key: kv.key) }
        try rememberSnapshot(
            host: request.host, first: first, config: config, labels: labels, poolList: poolList, pools: allPools,
            reservations: reservations, affinityList: affinityList, known: known)
        return result
    }

    /// The pools a request may use (Calico's `determinePools` and `filterPoolsByUse`).
    static func selectPools(
        _ all: [Pool], family: IPAddress.Family, requested: [CIDR], labels: [String: String], use: IPPoolUse,
        namespaceLabels: [String: String] = [:]
    ) throws -> [Pool] {
        let ofFamily = all.filter { $0.family == family }
        if !requested.isEmpty {
            return try requested.map { cidr in
                guard let pool = ofFamily.first(where: { $0.cidr == cidr.network }) else {
                    throw IPAMError(.noPools, "the requested pool \(cidr) does not exist")
                }
                guard !pool.disabled else { throw IPAMError(.poolDisabled, "the requested pool \(cidr) is disabled") }
                return pool
            }.filter { $0.uses.contains(use) }
        }
        return ofFamily.filter {
            !$0.disabled && $0.automatic && $0.selects(labels) && $0.selectsNamespace(namespaceLabels) && $0.uses.contains(use)
        }
    }

    private func assignFamily(
        _ plan: FamilyPlan, request: AutoAssignRequest, config: IPAMConfig, cap: Int, reservations: ReservationFilter,
        handle: inout HandleState?, known: inout [CIDR: KeyValue?]
    ) async throws -> FamilyAssignment {
        var out = FamilyAssignment(addresses: [], requested: plan.count, messages: [])
        var budget = RetryBudget(limit: options.maxAttempts)
        let host = request.host
        let owner = "host:\(host)"
        var remaining: Int { plan.count - out.addresses.count }
        if plan.pools.isEmpty {
            out.messages.append("no \(plan.family) pool is usable for host \(host)")
            return out
        }

        // 1. The host's own blocks, in key order.
        var ownedCount = plan.affinities.count
        for (cidr, affinityKV) in plan.affinities where remaining > 0 {
            var affinity: KeyValue? = affinityKV
            if reservations.coversWhole(cidr) { continue }
            while remaining > 0 {
                guard let blockKV = known[cidr] ?? nil else {
                    // The affinity outlived its block (a crash mid-claim): claim the block again.
                    let claimed = try await claim(
                        cidr, affinity: affinity, count: remaining, request: request, reservations: reservations,
                        handle: &handle, known: &known, budget: &budget)
                    switch claimed {
                    case .assigned(let ips): out.addresses += ips
                    case .ours(let current): affinity = current
                    case .taken(let current):
                        affinity = current
                        try await deleteStaleAffinity(cidr: cidr, host: host, current: affinity)
                    }
                    if case .taken = claimed { break }
                    if case .assigned = claimed { break }
                    continue
                }
                let block = try self.block(blockKV)
                guard block.affinity == owner else {
                    try await deleteStaleAffinity(cidr: cidr, host: host, current: affinity)
                    break
                }
                guard block.freeCount(reserved: reservations) > 0 else { break }
                let state = try affinity.map { kv throws(IPAMError) in try BlockAffinity(json: kv.value).state } ?? .pending
                let confirm: KeyWrite? =
                    state == .confirmed
                    ? nil
                    : KeyWrite(key: IPAMKeys.affinity(host: host, cidr: cidr).bytes, expected: affinity,
                               value: BlockAffinity(state: .confirmed).jsonBytes)
                switch try await assign(from: blockKV, block, count: remaining, request: request, reservations: reservations,
                                        handle: &handle, known: &known, extra: confirm) {
                case .assigned(let ips, let revision):
                    out.addresses += ips
                    if let confirm, let value = confirm.value {
                        let written = KeyValue(key: confirm.key, value: value, createRevision: affinity?.createRevision ?? revision,
                                               modRevision: revision, version: (affinity?.version ?? 0) + 1)
                        affinity = written
                        hostCache.noteAffinity(written, cidr: cidr, host: host)
                    }
                    budget.success()
                case .conflict(let extraCurrent):
                    if confirm != nil { affinity = extraCurrent }
                    try await budget.conflict()
                }
            }
        }

        // 2. New blocks.
        var allBlocks: [CIDR: KeyValue]? = nil
        var blockLimitHit = false
        if remaining > 0 {
            if !config.autoAllocateBlocks {
                out.messages.append("failed to find or claim a block: automatic block allocation is disabled")
            } else {
                claiming: while remaining > 0 {
                    if ownedCount >= cap {
                        blockLimitHit = true
                        out.messages.append("host \(host) already owns \(ownedCount) blocks, the limit (\(cap)): ErrBlockLimit")
                        break
                    }
                    if allBlocks == nil { allBlocks = try await listBlocks(plan.family) }
                    var candidate: CIDR? = nil
                    search: for pool in plan.pools {
                        let n = pool.blockCount
                        let start = options.blockOrder.start(host: host, pool: pool.cidr, count: n)
                        var i: UInt128 = 0
                        while i < n {
                            let cidr = pool.block(at: (start + i) % n)
                            i += 1
                            if allBlocks![cidr] == nil, !reservations.coversWhole(cidr) {
                                candidate = cidr
                                break search
                            }
                        }
                    }
                    guard let cidr = candidate else {
                        if config.strictAffinity { out.messages.append("No more free affine blocks and strict affinity enabled") }
                        break claiming
                    }
                    let affinityKey = IPAMKeys.affinity(host: host, cidr: cidr).bytes
                    var affinity: KeyValue? = nil
                    // The affinity is normally absent; a claim conflict returns its current value.
                    var claimedOnce = false
                    while !claimedOnce {
                        let outcome = try await claim(
                            cidr, affinity: affinity, count: remaining, request: request, reservations: reservations,
                            handle: &handle, known: &known, budget: &budget)
                        switch outcome {
                        case .assigned(let ips):
                            out.addresses += ips
                            ownedCount += 1
                            allBlocks![cidr] = known[cidr] ?? nil
                            claimedOnce = true
                        case .ours(let current):
                            // Another process of this host claimed it at the same time: assign from it.
                            affinity = current
                            if let kv = known[cidr] ?? nil {
                                allBlocks![cidr] = kv
                                ownedCount += 1
                                var kvNow = kv
                                while remaining > 0 {
                                    let block = try self.block(kvNow)
                                    guard block.freeCount(reserved: reservations) > 0 else { break }
                                    switch try await assign(from: kvNow, block, count: remaining, request: request,
                                                            reservations: reservations, handle: &handle, known: &known, extra: nil) {
                                    case .assigned(let ips, _):
                                        out.addresses += ips
                                        budget.success()
                                    case .conflict:
                                        try await budget.conflict()
                                    }
                                    guard let next = known[cidr] ?? nil else { break }
                                    kvNow = next
                                }
                            }
                            claimedOnce = true
                        case .taken(let current):
                            if let kv = known[cidr] ?? nil { allBlocks![cidr] = kv }
                            if current != nil { try await deleteStaleAffinity(cidr: cidr, host: host, current: current) }
                            claimedOnce = true
                        }
                        _ = affinityKey
                    }
                }
            }
        }

        // 3. Borrow from other blocks, unless strict affinity (or the block limit) forbids it.
        if remaining > 0, !config.strictAffinity, !blockLimitHit {
            let blocks = try await listBlocks(plan.family)
            for pool in plan.pools where remaining > 0 {
                let n = pool.blockCount
                let start = options.blockOrder.start(host: host, pool: pool.cidr, count: n)
                let inPool = blocks.keys.filter { pool.cidr.contains($0) && $0.prefixLength == pool.blockSize && !reservations.coversWhole($0) }
                    .sorted { (pool.index(of: $0) + n - start) % n < (pool.index(of: $1) + n - start) % n }
                for cidr in inPool where remaining > 0 {
                    var kv = known[cidr].flatMap { $0 } ?? blocks[cidr]!
                    if let mine = known[cidr] ?? nil, mine.modRevision > kv.modRevision { kv = mine }
                    while remaining > 0 {
                        let block = try self.block(kv)
                        guard block.freeCount(reserved: reservations) > 0 else { break }
                        switch try await assign(from: kv, block, count: remaining, request: request, reservations: reservations,
                                                handle: &handle, known: &known, extra: nil) {
                        case .assigned(let ips, _):
                            out.addresses += ips
                            budget.success()
                        case .conflict:
                            try await budget.conflict()
                        }
                        guard let next = known[cidr] ?? nil else { break }
                        kv = next
                    }
                }
            }
            if remaining > 0 { out.messages.append("No IPs available in pools: \(plan.pools.map { $0.cidr.description })") }
        }
        return out
    }

    /// Every block of a family, by CIDR (one list).
    func listBlocks(_ family: IPAddress.Family) async throws -> [CIDR: KeyValue] {
        let list = try await store.list(prefix: IPAMKeys.blockPrefix(family).bytes)
        var out: [CIDR: KeyValue] = [:]
        for kv in list.items {
            guard let segment = kv.keyString.split(separator: "/").last, let cidr = IPAMKeys.parseCIDRSegment(segment) else { continue }
            out[cidr] = kv
        }
        hostCache.setKnownBlocks(Set(out.keys), family: family)
        return out
    }

    enum AssignOutcome {
        case assigned([CIDR], Revision)
        /// The compare failed; `known` and the handle were refreshed; the extra key's current value.
        case conflict(KeyValue?)
    }

    /// Assigns up to `count` addresses from one existing block in one write (block + handle [+ extra]).
    func assign(
        from blockKV: KeyValue, _ current: AllocationBlock, count: Int, request: AutoAssignRequest,
        reservations: ReservationFilter, handle: inout HandleState?, known: inout [CIDR: KeyValue?], extra: KeyWrite?
    ) async throws -> AssignOutcome {
        var block = current
        let ordinals = block.autoAssign(
            count: count, handle: request.handle, attributes: request.attributes, reservations: reservations)
        guard !ordinals.isEmpty else { return .assigned([], blockKV.modRevision) }
        block.sequenceNumber &+= 1
        let (value, layout) =
            cache.layout(blockKV).flatMap { block.patchedJSON(from: blockKV.value, layout: $0, old: current, taken: ordinals) }
            ?? block.encodedJSON()
        var writes = [KeyWrite(key: blockKV.key, expected: blockKV, value: value)]
        let handleWrite = handle?.adding(ordinals.count, block: block.cidr.description)
        if let handleWrite { writes.append(handleWrite) }
        if let extra { writes.append(extra) }
        let result = try await commit(writes)
        if result.succeeded {
            known[block.cidr] = remember(block, key: blockKV.key, value: value, layout: layout, revision: result.revision, previous: blockKV)
            if let handleWrite { try handle?.committed(handleWrite, revision: result.revision) }
            return .assigned(ordinals.map { CIDR(address: block.address(ordinal: $0), prefixLength: block.cidr.prefixLength)! }, result.revision)
        }
        known[block.cidr] = result.current[0]
        if handleWrite != nil { try handle?.refreshed(result.current[1]) }
        return .conflict(extra != nil ? result.current[writes.count - 1] : nil)
    }

    enum ClaimOutcome {
        /// The block was created for the host with the addresses.
        case assigned([CIDR])
        /// The block exists and is the host's (claimed concurrently): its value is in `known`; the affinity's current value.
        case ours(KeyValue?)
        /// Another host owns the block (or it is un-owned); the host's affinity's current value.
        case taken(KeyValue?)
    }

    /// Claims `cidr` for the host and assigns from it, in one transaction: block absent and the
    /// host's affinity as read ⇒ create the block (with the addresses), confirm the affinity, count the handle.
    func claim(
        _ cidr: CIDR, affinity: KeyValue?, count: Int, request: AutoAssignRequest, reservations: ReservationFilter,
        handle: inout HandleState?, known: inout [CIDR: KeyValue?], budget: inout RetryBudget,
        ordinal: Int? = nil
    ) async throws -> ClaimOutcome {
        var affinity = affinity
        let blockKey = IPAMKeys.block(cidr).bytes
        let affinityKey = IPAMKeys.affinity(host: request.host, cidr: cidr).bytes
        while true {
            var block = AllocationBlock(
                cidr: cidr, affinity: "host:\(request.host)", sequenceNumber: Self.nowNanos(), claimTime: Self.timestamp())
            let ordinals: [Int]
            if let ordinal {
                ordinals = block.assign(ordinal: ordinal, handle: request.handle, attributes: request.attributes) ? [ordinal] : []
            } else {
                ordinals = block.autoAssign(
                    count: count, handle: request.handle, attributes: request.attributes, reservations: reservations)
            }
            if !ordinals.isEmpty { block.sequenceNumber &+= 1 }
            let (value, layout) = block.encodedJSON()
            var writes = [
                KeyWrite(key: blockKey, expected: nil, value: value),
                KeyWrite(key: affinityKey, expected: affinity, value: BlockAffinity(state: .confirmed).jsonBytes),
            ]
            let handleWrite = handle?.adding(ordinals.count, block: cidr.description)
            if let handleWrite { writes.append(handleWrite) }
            let result = try await commit(writes)
            if result.succeeded {
                known[cidr] = remember(block, key: blockKey, value: value, layout: layout, revision: result.revision, previous: nil)
                hostCache.noteAffinity(
                    KeyValue(key: affinityKey, value: writes[1].value!, createRevision: affinity?.createRevision ?? result.revision,
                             modRevision: result.revision, version: (affinity?.version ?? 0) + 1),
                    cidr: cidr, host: request.host)
                if let handleWrite { try handle?.committed(handleWrite, revision: result.revision) }
                budget.success()
                return .assigned(ordinals.map { CIDR(address: block.address(ordinal: $0), prefixLength: cidr.prefixLength)! })
            }
            known[cidr] = result.current[0]
            affinity = result.current[1]
            if handleWrite != nil { try handle?.refreshed(result.current[2]) }
            if let existing = result.current[0] {
                let owner = try self.block(existing).affinity
                return owner == "host:\(request.host)" ? .ours(affinity) : .taken(affinity)
            }
            try await budget.conflict()  // only the affinity or the handle changed: claim again
        }
    }

    /// Deletes the host's affinity to a block another host owns (Calico's stale-affinity cleanup); a
    /// concurrent change to it is left alone.
    func deleteStaleAffinity(cidr: CIDR, host: String, current: KeyValue?) async throws {
        guard let current else { return }
        _ = try await commit([KeyWrite(key: IPAMKeys.affinity(host: host, cidr: cidr).bytes, expected: current, value: nil)])
    }

    // MARK: Assign one address

    /// Assigns a specific address (Calico's `AssignIP`): it must be in an enabled pool; its block is
    /// claimed for `host` when it does not exist; under strict affinity the block must be the host's.
    ///
    /// Throws `alreadyAssigned` when the address is taken, `notFound` when no pool contains it,
    /// `poolDisabled`, `strictAffinity`, `datastore`, `tooManyRetries`. Round trips: see ``IPAMClient``.
    public func assignIP(
        _ address: IPAddress, handle handleID: String? = nil, attributes: [String: String] = [:], host: String
    ) async throws(IPAMError) {
        try await ipam { try await assignIPUntyped(address, handleID: handleID, attributes: attributes, host: host) }
    }

    private func assignIPUntyped(_ address: IPAddress, handleID: String?, attributes: [String: String], host: String) async throws {
        guard !host.isEmpty, !host.contains("/") else { throw IPAMError(.invalidArgument, "a host name is required") }
        var keys = [IPAMKeys.config.bytes]
        if let handleID { keys.append(IPAMKeys.handle(handleID).bytes) }
        async let firstRead = getMany(keys)
        async let poolsRead = loadPoolsAndReservations()
        let first = try await firstRead
        let (pools, reservations) = try await poolsRead
        let config = try first[0].map { kv throws(IPAMError) in try IPAMConfig(json: kv.value) } ?? IPAMConfig()
        var handle = try handleID.map { id throws(IPAMError) in try HandleState(id: id, kv: first[1]) }
        guard let pool = Self.pool(containing: address, in: pools) else {
            throw IPAMError(.notFound, "the address \(address) is not in any configured pool")
        }
        guard !pool.disabled else { throw IPAMError(.poolDisabled, "the address \(address) is in the disabled pool \(pool.cidr)") }
        let cidr = pool.block(containing: address)
        let values = try await getMany([IPAMKeys.block(cidr).bytes, IPAMKeys.affinity(host: host, cidr: cidr).bytes])
        var known: [CIDR: KeyValue?] = [cidr: values[0]]
        var affinity = values[1]
        var budget = RetryBudget(limit: options.maxAttempts)
        let request = AutoAssignRequest(host: host, ipv4: 0, handle: handleID, attributes: attributes)
        let ordinal = Int(cidr.offset(of: address)!)
        while true {
            guard let kv = known[cidr] ?? nil else {
                switch try await claim(cidr, affinity: affinity, count: 1, request: request, reservations: reservations,
                                       handle: &handle, known: &known, budget: &budget, ordinal: ordinal) {
                case .assigned: return
                case .ours(let current), .taken(let current):
                    affinity = current
                    continue
                }
            }
            var block = try self.block(kv)
            if config.strictAffinity, block.affinity != "host:\(host)" {
                throw IPAMError(.strictAffinity, "the block \(cidr) of \(address) is not affine to \(host) and strict affinity is enabled")
            }
            guard block.assign(ordinal: ordinal, handle: handleID, attributes: attributes) else {
                throw IPAMError(.alreadyAssigned, "the address \(address) is already assigned")
            }
            block.sequenceNumber &+= 1
            let value = block.jsonBytes
            var writes = [KeyWrite(key: kv.key, expected: kv, value: value)]
            let handleWrite = handle?.adding(1, block: cidr.description)
            if let handleWrite { writes.append(handleWrite) }
            let result = try await commit(writes)
            if result.succeeded { return }
            known[cidr] = result.current[0]
            if handleWrite != nil { try handle?.refreshed(result.current[1]) }
            try await budget.conflict()
        }
    }
}

extension Pool {
    static let nodePrefix = "/calico/resources/v3/projectcalico.org/nodes/"

    /// A Node resource's labels.
    static func nodeLabels(_ kv: KeyValue) -> [String: String]? {
        guard let value = try? JSONValue(parsing: kv.value) else { return nil }
        return value["metadata"]?["labels"]?.stringMapValue
    }
}
