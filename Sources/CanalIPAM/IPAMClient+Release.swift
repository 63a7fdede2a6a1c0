public import CanalModel
import CanalDatastore

extension IPAMClient {
    /// Releases addresses (Calico's `ReleaseIPs`): each goes to the tail of its block's free list.
    ///
    /// Addresses not allocated are returned in ``ReleaseResult/unallocated`` without error. A request
    /// whose handle or sequence number does not match fails its whole block (`badHandle`,
    /// `badSequenceNumber`, in ``ReleaseResult/errors``; not retried), other blocks are released.
    /// Every block and handle changed is written in one transaction; a block left empty with no
    /// affinity is deleted. Round trips: see ``IPAMClient``.
    public func releaseIPs(_ requests: [ReleaseRequest]) async throws(IPAMError) -> ReleaseResult {
        try await ipam { try await releaseUntyped(requests) }
    }

    private func releaseUntyped(_ requests: [ReleaseRequest]) async throws -> ReleaseResult {
        var result = ReleaseResult(released: [], unallocated: [], errors: [])
        guard !requests.isEmpty else { return result }
        let (pools, _) = try await loadPoolsAndReservations()
        // Group by block: through the pool, else by scanning the family's blocks.
        var byBlock: [CIDR: [IPAddress: ReleaseRequest]] = [:]
        var scanned: [IPAddress.Family: [CIDR: KeyValue]] = [:]
        for request in requests {
            let ip = request.address
            var cidr: CIDR?
            if let pool = Self.pool(containing: ip, in: pools) {
                cidr = pool.block(containing: ip)
            } else {
                if scanned[ip.family] == nil { scanned[ip.family] = try await listBlocks(ip.family) }
                cidr = scanned[ip.family]!.keys.first { $0.contains(ip) }
            }
            guard let cidr else {
                result.unallocated.append(ip)
                continue
            }
            byBlock[cidr, default: [:]][ip] = request
        }
        let cidrs = byBlock.keys.sorted { $0.address < $1.address }
        // The blocks, and the config (its cooldown), in one read.
        var blockKVs = try await getMany(cidrs.map { IPAMKeys.block($0).bytes } + [IPAMKeys.config.bytes])
        let cooldown = try blockKVs.removeLast().map { kv throws(IPAMError) in try IPAMConfig(json: kv.value) }?.ipCooldownSeconds ?? 0
        var handleKVs: [String: KeyValue?] = [:]
        var budget = RetryBudget(limit: options.maxAttempts)
        while true {
            var writes: [KeyWrite] = []
            var released: [IPAddress] = []
            var unallocated: [IPAddress] = []
            var errors: [IPAMError] = []
            var counts: [String: [String: Int]] = [:]  // handle → block → released
            for (cidr, kv) in zip(cidrs, blockKVs) {
                let wanted = byBlock[cidr]!
                guard let kv else {
                    unallocated += wanted.keys
                    continue
                }
                var block = try self.block(kv)
                var ordinals: [Int] = []
                var blockCounts: [String: Int] = [:]
                var failure: IPAMError?
                for (ip, request) in wanted.sorted(by: { $0.key < $1.key }) {
                    let o = block.ordinal(of: ip)!
                    if let seq = request.sequenceNumber, seq != block.sequenceNumberForAllocation[o] ?? 0 {
                        failure = IPAMError(.badSequenceNumber, "release of \(ip): sequence number \(seq) is not the allocation's (\(block.sequenceNumberForAllocation[o] ?? 0))")
                        break
                    }
                    guard let index = block.allocations[o] else {
                        unallocated.append(ip)
                        continue
                    }
                    let handle = block.attributes[index].sanitizedHandleID ?? ""
                    if let expected = request.handle, !expected.isEmpty, expected != handle {
                        failure = IPAMError(.badHandle, "release of \(ip): it is held by handle \"\(handle)\", not \"\(expected)\"")
                        break
                    }
                    ordinals.append(o)
                    if !handle.isEmpty { blockCounts[handle, default: 0] += 1 }
                }
                if let failure {
                    errors.append(failure)
                    unallocated.removeAll { cidr.contains($0) }
                    continue
                }
                guard !ordinals.isEmpty else { continue }
                block.releaseAddresses(ordinals: ordinals, cooldownSeconds: cooldown, now: Self.nowSeconds())
                block.sequenceNumber &+= 1
                released += ordinals.map { block.address(ordinal: $0) }
                let delete = block.isEmpty && block.affinity == nil
                writes.append(KeyWrite(key: kv.key, expected: kv, value: delete ? nil : block.jsonBytes))
                for (h, n) in blockCounts { counts[h, default: [:]][cidr.description, default: 0] += n }
            }
            // The handles' current values (read once; refreshed on conflict).
            let missing = counts.keys.filter { handleKVs[$0] == nil }.sorted()
            if !missing.isEmpty {
                for (id, kv) in zip(missing, try await getMany(missing.map { IPAMKeys.handle($0).bytes })) { handleKVs[id] = kv }
            }
            let handleOrder = counts.keys.sorted()
            for id in handleOrder {
                guard let kv = handleKVs[id] ?? nil else { continue }  // no handle record: nothing to decrement
                var state = try HandleState(id: id, kv: kv)
                for (block, n) in counts[id]! {
                    let left = (state.handle.blocks[block] ?? 0) - n
                    state.handle.blocks[block] = left > 0 ? left : nil
                }
                writes.append(KeyWrite(key: kv.key, expected: kv, value: state.handle.blocks.isEmpty ? nil : state.handle.jsonBytes))
            }
            if writes.isEmpty {
                result.unallocated += unallocated
                result.errors = errors
                return result
            }
            let outcome = try await commit(writes)
            if outcome.succeeded {
                result.released = released
                result.unallocated += unallocated
                result.errors = errors
                return result
            }
            // Refresh what changed and recompute.
            for (write, current) in zip(writes, outcome.current) {
                if let i = cidrs.firstIndex(where: { IPAMKeys.block($0).bytes == write.key }) {
                    blockKVs[i] = current
                } else if let id = handleOrder.first(where: { IPAMKeys.handle($0).bytes == write.key }) {
                    handleKVs[id] = .some(current)
                }
            }
            try await budget.conflict()
        }
    }

    /// Releases every address held under `handle` (Calico's `ReleaseByHandle`) and deletes the
    /// handle, all in one transaction. Throws `notFound` when the handle does not exist (CNI treats
    /// that as success). Round trips: 3 (handle, blocks, write), + 1 write per conflict.
    public func releaseByHandle(_ handleID: String) async throws(IPAMError) {
        try await ipam { try await releaseByHandleUntyped(handleID) }
    }

    private func releaseByHandleUntyped(_ handleID: String) async throws {
        let key = IPAMKeys.handle(handleID).bytes
        guard var handleKV = try await store.get(key) else {
            throw IPAMError(.notFound, "the handle \(handleID) does not exist")
        }
        var budget = RetryBudget(limit: options.maxAttempts)
        var cidrs: [CIDR] = []
        var blockKVs: [KeyValue?] = []
        var cooldown = 0
        var readBlocks = true
        while true {
            let handle = try IPAMHandle(json: handleKV.value)
            if readBlocks {
                cidrs = handle.blocks.keys.compactMap { CIDR($0)?.network }.sorted { $0.address < $1.address }
                blockKVs = try await getMany(cidrs.map { IPAMKeys.block($0).bytes } + [IPAMKeys.config.bytes])
                cooldown = try blockKVs.removeLast().map { kv throws(IPAMError) in try IPAMConfig(json: kv.value) }?.ipCooldownSeconds ?? 0
                readBlocks = false
            }
            var writes: [KeyWrite] = []
            for kv in blockKVs {
                guard let kv else { continue }
                var block = try self.block(kv)
                let ordinals = block.ordinals(handle: handleID)
                guard !ordinals.isEmpty else { continue }
                if cooldown > 0 {
                    block.releaseAddresses(ordinals: ordinals, cooldownSeconds: cooldown, now: Self.nowSeconds())
                } else {
                    block.release(ordinals: ordinals, clearSequenceNumbers: false)
                }
                block.sequenceNumber &+= 1
                let delete = block.isEmpty && block.affinity == nil
                writes.append(KeyWrite(key: kv.key, expected: kv, value: delete ? nil : block.jsonBytes))
            }
            writes.append(KeyWrite(key: key, expected: handleKV, value: nil))
            let outcome = try await commit(writes)
            if outcome.succeeded { return }
            guard let current = outcome.current.last ?? nil else {
                throw IPAMError(.notFound, "the handle \(handleID) does not exist")
            }
            if current.modRevision != handleKV.modRevision {
                handleKV = current
                readBlocks = true
            } else {
                for (write, value) in zip(writes.dropLast(), outcome.current) {
                    if let i = blockKVs.firstIndex(where: { $0?.key == write.key }) { blockKVs[i] = value }
                }
            }
            try await budget.conflict()
        }
    }

    /// The addresses held under `handle` (Calico's `IPsByHandle`); throws `notFound` for an unknown
    /// handle. Round trips: 2.
    public func ipsByHandle(_ handleID: String) async throws(IPAMError) -> [IPAddress] {
        try await ipam {
            guard let kv = try await store.get(IPAMKeys.handle(handleID).bytes) else {
                throw IPAMError(.notFound, "the handle \(handleID) does not exist")
            }
            let cidrs = try IPAMHandle(json: kv.value).blocks.keys.compactMap { CIDR($0)?.network }.sorted { $0.address < $1.address }
            var out: [IPAddress] = []
            for case let blockKV? in try await getMany(cidrs.map { IPAMKeys.block($0).bytes }) {
                let block = try self.block(blockKV)
                out += block.ordinals(handle: handleID).map { block.address(ordinal: $0) }
            }
            return out
        }
    }

    /// Who holds `address`: its block, the block's affinity, handle and attributes; nil when it is
    /// not allocated. Round trips: 2 (pools, block), or 2 + a list when no pool contains it.
    public func allocation(of address: IPAddress) async throws(IPAMError) -> AddressAllocation? {
        try await ipam {
            let (pools, _) = try await loadPoolsAndReservations()
            var kv: KeyValue?
            if let pool = Self.pool(containing: address, in: pools) {
                kv = try await store.get(IPAMKeys.block(pool.block(containing: address)).bytes)
            } else {
                kv = try await listBlocks(address.family).first { $0.key.contains(address) }?.value
            }
            guard let kv else { return nil }
            let block = try self.block(kv)
            guard let o = block.ordinal(of: address), let index = block.allocations[o] else { return nil }
            return AddressAllocation(
                address: address, block: block.cidr, blockAffinity: block.affinity, attribute: block.attributes[index],
                sequenceNumber: block.sequenceNumberForAllocation[o])
        }
    }

    /// Releases `host`'s block affinities (Calico's `ReleaseHostAffinities`): an empty block is
    /// deleted, a block still in use stays without an affinity (unless `requireEmpty`, which leaves
    /// it and its affinity alone), and the affinity is deleted — each block in one transaction.
    /// Returns the blocks released.
    @discardableResult
    public func releaseHostAffinities(host: String, requireEmpty: Bool = false) async throws(IPAMError) -> [CIDR] {
        try await ipam {
            guard !host.isEmpty, !host.contains("/") else { throw IPAMError(.invalidArgument, "a host name is required") }
            let affinities = try await store.list(prefix: (IPAMKeys.hostAffinityRoot + host + "/").bytes).items
            var released: [CIDR] = []
            for affinityKV in affinities {
                guard let (_, cidr) = IPAMKeys.parseAffinity(affinityKV.keyString) else { continue }
                if try await releaseAffinity(affinityKV, host: host, block: cidr, requireEmpty: requireEmpty) {
                    released.append(cidr)
                }
            }
            return released
        }
    }

    /// Releases every host's affinity to the blocks inside `pool` (Calico's `ReleasePoolAffinities`,
    /// a step of deleting a pool): as ``releaseHostAffinities(host:requireEmpty:)`` does for one
    /// host, empty blocks are deleted and blocks in use stay, without an affinity, until their last
    /// address is released. Returns the blocks released.
    @discardableResult
    public func releasePoolAffinities(pool: CIDR) async throws(IPAMError) -> [CIDR] {
        try await ipam {
            let affinities = try await store.list(prefix: IPAMKeys.hostAffinityRoot.bytes).items
            var released: [CIDR] = []
            for affinityKV in affinities {
                guard let (host, cidr) = IPAMKeys.parseAffinity(affinityKV.keyString), pool.contains(cidr) else { continue }
                if try await releaseAffinity(affinityKV, host: host, block: cidr, requireEmpty: false) {
                    released.append(cidr)
                }
            }
            return released
        }
    }

    /// Deletes the IPPool `name` as Calico's client does: disables it first (compare-and-swap on
    /// `resourceVersion` when given; a stale one fails with `conflict`), so no
    /// new address or block comes from it, then releases the block affinities inside it
    /// (``releasePoolAffinities(pool:)``), then deletes it. Addresses still assigned stay valid in
    /// their blocks. A failure after the first step leaves the pool disabled, so the delete can be
    /// run again. Returns the deleted pool.
    @discardableResult
    public func deletePool(named name: String, resourceVersion: String? = nil) async throws -> IPPool {
        let resources = ResourceClient(store: store)
        var pool = try await resources.get(IPPool.self, name: name)
        if let resourceVersion, !resourceVersion.isEmpty { pool.metadata.resourceVersion = resourceVersion }
        if !pool.spec.disabled {
            pool.spec.disabled = true
            pool = try await resources.update(pool)
        }
        guard let cidr = CIDR(pool.spec.cidr) else {
            throw IPAMError(.corruptData, "IPPool \(name) has an invalid CIDR \(pool.spec.cidr)")
        }
        try await releasePoolAffinities(pool: cidr)
        return try await resources.delete(IPPool.self, name: name, resourceVersion: pool.metadata.resourceVersion)
    }

    /// Releases one affinity of `host` to `block` (the block deleted when empty, else left without
    /// an affinity), compare-and-swap on both, re-reading and retrying on conflict. Returns whether
    /// it was released (false: `requireEmpty` and the block is in use).
    func releaseAffinity(_ affinityKV: KeyValue, host: String, block cidr: CIDR, requireEmpty: Bool) async throws -> Bool {
        var budget = RetryBudget(limit: options.maxAttempts)
        var affinity: KeyValue? = affinityKV
        var blockKV = try await store.get(IPAMKeys.block(cidr).bytes)
        while let currentAffinity = affinity {
            var writes: [KeyWrite] = []
            if let kv = blockKV {
                var block = try self.block(kv)
                if block.affinity == "host:\(host)" {
                    if requireEmpty && !block.isEmpty { return false }
                    if block.isEmpty {
                        writes.append(KeyWrite(key: kv.key, expected: kv, value: nil))
                    } else {
                        block.affinity = nil
                        block.affinityClaimTime = nil
                        block.sequenceNumber &+= 1
                        writes.append(KeyWrite(key: kv.key, expected: kv, value: block.jsonBytes))
                    }
                }
            }
            writes.append(KeyWrite(key: currentAffinity.key, expected: currentAffinity, value: nil))
            let outcome = try await commit(writes)
            if outcome.succeeded { return true }
            if writes.count == 2 {
                blockKV = outcome.current[0]
                affinity = outcome.current[1]
            } else {
                affinity = outcome.current[0]
                blockKV = try await store.get(IPAMKeys.block(cidr).bytes)
            }
            try await budget.conflict()
        }
        return false  // the affinity went away meanwhile: nothing left to release
    }
}
