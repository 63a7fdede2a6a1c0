public import CanalModel
import CanalDatastore

/// Usage of the IPAM data, per pool and per block (`canalctl ipam show`).
public struct IPAMUsage: Sendable {
    /// One pool's usage.
    public struct PoolUsage: Sendable {
        /// The pool's name.
        public var name: String
        /// The pool's CIDR.
        public var cidr: CIDR
        /// Whether it is disabled.
        public var disabled: Bool
        /// Addresses in the pool.
        public var size: UInt128
        /// Addresses allocated.
        public var used: Int
        /// `size - used`.
        public var free: UInt128 { size - UInt128(used) }
    }
    /// One block's usage.
    public struct BlockUsage: Sendable {
        /// The block.
        public var cidr: CIDR
        /// The owning host (`host:<node>` affinity), if any.
        public var host: String?
        /// Addresses in the block.
        public var size: Int
        /// Addresses allocated.
        public var used: Int
    }
    /// Every pool, by name.
    public var pools: [PoolUsage]
    /// Every block, by address.
    public var blocks: [BlockUsage]
}

/// What ``IPAMClient/check()`` finds wrong.
public struct IPAMCheckReport: Sendable {
    /// An address allocated twice (in two overlapping blocks), or an ordinal both allocated and free.
    public var duplicates: [String]
    /// Allocations no handle accounts for (no handle, or a handle counting fewer in that block).
    public var leaked: [String]
    /// Records pointing at nothing: handle counts above the block's allocations, affinities whose
    /// block is missing or another host's, allocations referring to missing attributes.
    public var orphaned: [String]
    /// Allocations in blocks that lie outside every IPPool (any state), as a pool deletion leaves
    /// the addresses still assigned in its blocks: one entry per address, with its block, the
    /// block's affinity and the allocation's handle.
    public var outsidePools: [String]
    /// Allocated addresses seen.
    public var allocatedCount: Int
    /// Stored blocks, handles and affinities whose value does not parse (`key: reason`): left
    /// out of the other checks, never rewritten.
    public var corrupt: [String] = []

    /// Whether nothing is wrong.
    public var isClean: Bool { duplicates.isEmpty && leaked.isEmpty && orphaned.isEmpty && outsidePools.isEmpty && corrupt.isEmpty }
}

extension IPAMClient {
    /// Pool and block usage. Round trips: 3 (pools, IPv4 blocks, IPv6 blocks).
    public func usage() async throws(IPAMError) -> IPAMUsage {
        try await ipam {
            let (pools, _) = try await loadPoolsAndReservations()
            var blocks: [AllocationBlock] = []
            for family in [IPAddress.Family.v4, .v6] {
                for kv in try await listBlocks(family).values { blocks.append(try self.block(kv)) }
            }
            blocks.sort { $0.cidr.address < $1.cidr.address }
            let poolUsage = pools.map { pool in
                IPAMUsage.PoolUsage(
                    name: pool.name, cidr: pool.cidr, disabled: pool.disabled, size: pool.cidr.size,
                    used: blocks.filter { pool.cidr.contains($0.cidr) }.reduce(0) { $0 + $1.allocatedOrdinals.count })
            }
            return IPAMUsage(
                pools: poolUsage,
                blocks: blocks.map { IPAMUsage.BlockUsage(cidr: $0.cidr, host: $0.host, size: $0.size, used: $0.allocatedOrdinals.count) })
        }
    }

    /// Checks the IPAM data for duplicate, leaked and orphaned allocations, and allocations outside
    /// every IPPool (`canalctl ipam check`). Reads every pool, block, handle and affinity (5 lists).
    public func check() async throws(IPAMError) -> IPAMCheckReport {
        try await ipam {
            var report = IPAMCheckReport(duplicates: [], leaked: [], orphaned: [], outsidePools: [], allocatedCount: 0)
            let (pools, _) = try await loadPoolsAndReservations()
            var blocks: [CIDR: AllocationBlock] = [:]
            for family in [IPAddress.Family.v4, .v6] {
                for (cidr, kv) in try await listBlocks(family) {
                    do {
                        blocks[cidr] = try self.block(kv)
                    } catch {
                        report.corrupt.append("\(kv.keyString): \(IPAMError.wrap(error).message)")
                    }
                }
            }
            var owners: [IPAddress: CIDR] = [:]
            var byHandle: [String: [String: Int]] = [:]
            for (cidr, block) in blocks.sorted(by: { $0.key.address < $1.key.address }) {
                let free = Set(block.unallocated)
                if free.count != block.unallocated.count {
                    report.duplicates.append("block \(cidr): an ordinal is listed twice as free")
                }
                for (o, index) in block.allocations.enumerated() {
                    guard let index else {
                        if !free.contains(o) { report.orphaned.append("block \(cidr): \(block.address(ordinal: o)) is neither allocated nor free") }
                        continue
                    }
                    let ip = block.address(ordinal: o)
                    report.allocatedCount += 1
                    if free.contains(o) { report.duplicates.append("\(ip) in block \(cidr) is both allocated and free") }
                    if let other = owners[ip] { report.duplicates.append("\(ip) is allocated in blocks \(other) and \(cidr)") }
                    owners[ip] = cidr
                    if Self.pool(containing: ip, in: pools) == nil {
                        let handle = index < block.attributes.count ? block.attributes[index].sanitizedHandleID : nil
                        report.outsidePools.append(
                            "\(ip) in block \(cidr) (affinity \(block.affinity ?? "none"), handle \(handle ?? "none")) is not in any IP pool")
                    }
                    guard index < block.attributes.count else {
                        report.orphaned.append("\(ip) in block \(cidr) refers to a missing attribute entry")
                        continue
                    }
                    if let handle = block.attributes[index].sanitizedHandleID {
                        byHandle[handle, default: [:]][cidr.description, default: 0] += 1
                    } else if block.attributes[index].releasedAt == nil {  // one in cooldown has none
                        report.leaked.append("\(ip) in block \(cidr) has no handle")
                    }
                }
            }
            var handles: [String: IPAMHandle] = [:]
            for kv in try await store.list(prefix: IPAMKeys.handlePrefix.bytes).items {
                do {
                    handles[String(kv.keyString.dropFirst(IPAMKeys.handlePrefix.count))] = try IPAMHandle(json: kv.value)
                } catch {
                    report.corrupt.append("\(kv.keyString): \(IPAMError.wrap(error).message)")
                }
            }
            for (id, counts) in byHandle.sorted(by: { $0.key < $1.key }) {
                for (block, n) in counts.sorted(by: { $0.key < $1.key }) {
                    let recorded = handles[id]?.blocks[block] ?? 0
                    if recorded < n { report.leaked.append("handle \(id): \(n) addresses in block \(block), the handle records \(recorded)") }
                }
            }
            for (id, handle) in handles.sorted(by: { $0.key < $1.key }) {
                for (block, n) in handle.blocks.sorted(by: { $0.key < $1.key }) {
                    let actual = byHandle[id]?[block] ?? 0
                    if n > actual { report.orphaned.append("handle \(id) records \(n) addresses in block \(block), which holds \(actual)") }
                }
            }
            for kv in try await store.list(prefix: IPAMKeys.hostAffinityRoot.bytes).items {
                guard let (host, cidr) = IPAMKeys.parseAffinity(kv.keyString) else { continue }
                guard let block = blocks[cidr] else {
                    if report.corrupt.contains(where: { $0.hasPrefix(IPAMKeys.block(cidr) + ":") }) { continue }
                    report.orphaned.append("host \(host) has an affinity to the missing block \(cidr)")
                    continue
                }
                let state = (try? BlockAffinity(json: kv.value).state) ?? .confirmed
                if state == .confirmed, block.affinity != "host:\(host)" {
                    report.orphaned.append("host \(host) has an affinity to block \(cidr), which is \(block.affinity ?? "un-owned")")
                }
            }
            return report
        }
    }
}

extension IPAMClient {
    /// `host`'s block affinities, both families, by block: what confd's BGP syncer reads for the node
    /// (`/calico/ipam/v2/host/<host>/ipv4|ipv6/block/…`). An empty value reads as confirmed; a key
    /// that is not an affinity is skipped; a value that does not parse is `corruptData`.
    public func blockAffinities(host: String) async throws(IPAMError) -> [CIDR: BlockAffinity] {
        try await ipam {
            guard !host.isEmpty, !host.contains("/") else { throw IPAMError(.invalidArgument, "a host name is required") }
            var out: [CIDR: BlockAffinity] = [:]
            for kv in try await store.list(prefix: (IPAMKeys.hostAffinityRoot + host + "/").bytes).items {
                guard let (owner, cidr) = IPAMKeys.parseAffinity(kv.keyString), owner == host else { continue }
                out[cidr] = try BlockAffinity(json: kv.value)
            }
            return out
        }
    }
}
