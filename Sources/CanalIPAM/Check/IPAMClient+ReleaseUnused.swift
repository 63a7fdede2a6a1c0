public import CanalDatastore
import CanalModel

/// The outcome of ``IPAMClient/releaseUnused(_:)``.
public struct UnusedReleaseResult: Sendable {
    /// The allocations released, with the revision of the write that released each.
    public var released: [(allocation: IPAMLeakReport.Allocation, revision: Revision)] = []
    /// Allocations left alone because a WorkloadEndpoint or Node uses the address now.
    public var inUse: [IPAMLeakReport.Allocation] = []
    /// Allocations left alone because the address is no longer allocated as described (released,
    /// or allocated again: another handle or sequence number), or its block is gone.
    public var changed: [IPAMLeakReport.Allocation] = []
    /// Blocks whose value does not parse (key and reason): left alone, never rewritten.
    public var corrupt: [IPAMSnapshot.CorruptValue] = []
}

extension IPAMClient {
    /// Releases allocations judged unused (by ``IPAMChecker`` or the garbage collector), each only if
    /// it is still exactly as judged and still unused when the release is written.
    ///
    /// Per block: the WorkloadEndpoints and Nodes are listed (at one revision R) and the addresses
    /// any of them uses now are dropped; the block and the handles are read, and an address whose
    /// handle or sequence number differs from the allocation's (released and allocated again) is
    /// dropped; then one transaction writes the block and the handles' counts, guarded by their
    /// mod revisions **and** by "no WorkloadEndpoint or Node created or modified since R". So an
    /// endpoint created at any moment before the write — by a CNI ADD racing the release — fails
    /// the write, and the round starts again with it seen: an address whose endpoint appeared is
    /// never released. A block that does not parse is reported, not written.
    ///
    /// Throws `corruptData` when a WorkloadEndpoint or Node does not parse (what it uses is then
    /// unknown), `tooManyRetries` after ``Options/maxAttempts`` conflicting rounds of one block.
    public func releaseUnused(_ allocations: [IPAMLeakReport.Allocation]) async throws(IPAMError) -> UnusedReleaseResult {
        try await ipam { try await releaseUnusedUntyped(allocations) }
    }

    private func releaseUnusedUntyped(_ allocations: [IPAMLeakReport.Allocation]) async throws -> UnusedReleaseResult {
        var result = UnusedReleaseResult()
        var byBlock: [CIDR: [IPAMLeakReport.Allocation]] = [:]
        for a in allocations { byBlock[a.block, default: []].append(a) }
        let config = try await self.config()
        for cidr in byBlock.keys.sorted(by: { $0.address < $1.address }) {
            try await releaseUnused(in: cidr, byBlock[cidr]!, config: config, into: &result)
        }
        return result
    }

    /// The addresses WorkloadEndpoints and Nodes use, listed at one revision; throws when one does not parse.
    func addressesInUse() async throws -> (addresses: Set<IPAddress>, revision: Revision) {
        let endpoints = try await store.list(prefix: IPAMSnapshot.endpointPrefix.bytes)
        let nodes = try await store.list(prefix: IPAMSnapshot.nodePrefix.bytes, at: endpoints.revision)
        var snapshot = IPAMSnapshot(revision: endpoints.revision)
        let resources = ResourceClient(store: store)
        var used = Set<IPAddress>()
        for kv in endpoints.items + nodes.items {
            do {
                switch try resources.resource(from: kv) {
                case let endpoint as WorkloadEndpoint:
                    used.formUnion((endpoint.spec.ipNetworks ?? []).compactMap(Self.address(ipOrCIDR:)))
                case let node as Node:
                    used.formUnion(Self.tunnelAddresses(node))
                default:
                    break
                }
            } catch {
                snapshot.corrupt.append(IPAMSnapshot.CorruptValue(key: kv.keyString, reason: "\(error)"))
            }
        }
        if let bad = snapshot.corrupt.first {
            throw IPAMError(.corruptData, "cannot tell which addresses are in use: \(bad.key) does not parse: \(bad.reason)")
        }
        return (used, endpoints.revision)
    }

    private func releaseUnused(
        in cidr: CIDR, _ wanted: [IPAMLeakReport.Allocation], config: IPAMConfig, into result: inout UnusedReleaseResult
    ) async throws {
        var budget = RetryBudget(limit: options.maxAttempts)
        let blockKey = IPAMKeys.block(cidr).bytes
        while true {
            let (used, usersRevision) = try await addressesInUse()
            var candidates: [IPAMLeakReport.Allocation] = []
            var inUse: [IPAMLeakReport.Allocation] = []
            for a in wanted { if used.contains(a.address) { inUse.append(a) } else { candidates.append(a) } }
            guard !candidates.isEmpty else {
                result.inUse += inUse
                return
            }
            guard let kv = try await store.get(blockKey) else {
                result.inUse += inUse
                result.changed += candidates
                return
            }
            var block: AllocationBlock
            do {
                block = try AllocationBlock(json: kv.value)
            } catch {
                result.corrupt.append(IPAMSnapshot.CorruptValue(key: kv.keyString, reason: error.message))
                result.inUse += inUse
                result.changed += candidates
                return
            }
            var ordinals: [Int] = []
            var releasing: [IPAMLeakReport.Allocation] = []
            var changed: [IPAMLeakReport.Allocation] = []
            var counts: [String: Int] = [:]
            for a in candidates {
                guard let o = block.ordinal(of: a.address), let index = block.allocations[o], index < block.attributes.count,
                      block.attributes[index].sanitizedHandleID == a.handle,
                      (block.sequenceNumberForAllocation[o] ?? 0) == a.sequenceNumber,
                      !ordinals.contains(o)
                else {
                    changed.append(a)
                    continue
                }
                ordinals.append(o)
                releasing.append(a)
                if let h = a.handle, !h.isEmpty { counts[h, default: 0] += 1 }
            }
            guard !ordinals.isEmpty else {
                result.inUse += inUse
                result.changed += candidates
                return
            }
            block.releaseAddresses(ordinals: ordinals, cooldownSeconds: config.ipCooldownSeconds, now: Self.nowSeconds())
            block.sequenceNumber &+= 1
            let delete = block.isEmpty && block.affinity == nil && !block.hasCoolingAddresses
            var writes = [KeyWrite(key: kv.key, expected: kv, value: delete ? nil : block.jsonBytes)]
            let handleIDs = counts.keys.sorted()
            let handleKVs = try await getMany(handleIDs.map { IPAMKeys.handle($0).bytes })
            for (id, handleKV) in zip(handleIDs, handleKVs) {
                guard let handleKV else { continue }
                var handle = try IPAMHandle(json: handleKV.value)
                let left = (handle.blocks[cidr.description] ?? 0) - counts[id]!
                handle.blocks[cidr.description] = left > 0 ? left : nil
                writes.append(KeyWrite(key: handleKV.key, expected: handleKV, value: handle.blocks.isEmpty ? nil : handle.jsonBytes))
            }
            var compares: [Transaction.Comparison] = [
                .unmodified(prefix: IPAMSnapshot.endpointPrefix.bytes, since: usersRevision.next),
                .unmodified(prefix: IPAMSnapshot.nodePrefix.bytes, since: usersRevision.next),
            ]
            var operations: [Transaction.Operation] = []
            for w in writes {
                compares.append(w.expected.map { .modRevision(w.key, is: $0.modRevision) } ?? .absent(w.key))
                operations.append(w.value.map { .put(key: w.key, value: $0, lease: nil) } ?? .delete(key: w.key))
            }
            let outcome = try await run(Transaction(if: compares, then: operations, returnsPreviousValues: false))
            if outcome.succeeded {
                hostCache.noteBlock(cidr, exists: !delete)
                result.released += releasing.map { ($0, outcome.revision) }
                result.changed += changed
                result.inUse += inUse
                return
            }
            try await budget.conflict()
        }
    }

    /// Seconds since the epoch.
    static func nowSeconds() -> Int { Int(nowNanos() / 1_000_000_000) }
}
