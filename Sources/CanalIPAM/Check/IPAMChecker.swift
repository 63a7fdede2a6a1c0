public import CanalDatastore
public import CanalModel

/// calicoctl's `ipam check` as a pure function of an ``IPAMSnapshot``: every allocation compared
/// with the addresses the WorkloadEndpoints and the Nodes' tunnels use.
///
/// It finds what calicoctl finds — addresses allocated but not in use (with their handle and
/// attributes), addresses in use but not allocated (inside an active pool, or outside every one),
/// handles with no address and addresses whose handle record is missing — and what calicoctl does
/// not: blocks and affinities of hosts with no Node, addresses allocated twice (overlapping
/// blocks, an ordinal both allocated and free) or used by two owners, and stored values that do
/// not parse (key and reason).
public struct IPAMChecker: Sendable {
    /// The snapshot checked.
    public let snapshot: IPAMSnapshot

    /// A checker over `snapshot`.
    public init(snapshot: IPAMSnapshot) { self.snapshot = snapshot }

    /// The attribute `type` values Calico gives tunnel addresses (`ipam.AttributeType…`).
    public static let tunnelTypes: Set<String> = [
        "ipipTunnelAddress", "vxlanTunnelAddress", "vxlanV6TunnelAddress", "wireguardTunnelAddress", "wireguardV6TunnelAddress",
    ]
    /// The handle prefixes of tunnel addresses (`ipip-tunnel-addr-<node>`, …), longest first.
    public static let tunnelHandlePrefixes = [
        "vxlan-v6-tunnel-addr-", "wireguard-v6-tunnel-addr-", "wireguard-tunnel-addr-", "vxlan-tunnel-addr-", "ipip-tunnel-addr-",
    ]
    /// Calico's handle of the addresses Windows hosts reserve in each block.
    public static let windowsReservedHandle = "windows-reserved-ipam-handle"

    /// Checks the snapshot.
    public func report() -> IPAMLeakReport {
        var report = IPAMLeakReport(snapshot: snapshot)
        var owners: [IPAddress: [String]] = [:]
        for user in snapshot.endpoints + snapshot.nodes.values.sorted(by: { $0.name < $1.name }) {
            for address in user.addresses { owners[address, default: []].append(user.name) }
        }
        var allocatedIn: [IPAddress: [CIDR]] = [:]
        var handlesInBlocks = Set<String>()
        for stored in snapshot.blocks {
            let block = stored.block
            let free = Set(block.unallocated)
            if free.count != block.unallocated.count {
                report.duplicates.append("block \(block.cidr): an ordinal is listed twice as free")
            }
            for (ordinal, index) in block.allocations.enumerated() {
                guard let index else { continue }
                let ip = block.address(ordinal: ordinal)
                if free.contains(ordinal) { report.duplicates.append("\(ip) in block \(block.cidr) is both allocated and free") }
                allocatedIn[ip, default: []].append(block.cidr)
                let attribute = index < block.attributes.count ? block.attributes[index] : AllocationAttribute(handleID: nil)
                var allocation = IPAMLeakReport.Allocation(
                    address: ip, block: block.cidr, blockKey: stored.key, blockRevision: stored.modRevision, ordinal: ordinal,
                    handle: attribute.sanitizedHandleID, sequenceNumber: block.sequenceNumberForAllocation[ordinal] ?? 0,
                    attributes: attribute.attributes, affinity: block.affinity, releasedAt: attribute.releasedAt)
                allocation.kind = Self.kind(of: attribute)
                if allocation.kind == .windowsReserved { allocation.owners = ["Reserved for Windows"] }
                allocation.owners += owners[ip] ?? []
                if let handle = allocation.handle, allocation.kind != .coolingDown { handlesInBlocks.insert(handle) }
                report.allocations.append(allocation)
            }
        }
        for (ip, blocks) in allocatedIn where blocks.count > 1 {
            report.duplicates.append("\(ip) is allocated in blocks \(blocks.map(\.description).joined(separator: " and "))")
        }
        for (ip, names) in owners where names.count > 1 {
            report.duplicates.append("\(ip) is used by \(names.count) owners: \(names.joined(separator: ", "))")
        }
        let active = snapshot.pools.filter { !$0.disabled }
        for (ip, names) in owners.sorted(by: { $0.key < $1.key }) where allocatedIn[ip] == nil {
            let use = IPAMLeakReport.InUseAddress(address: ip, owners: names)
            if active.contains(where: { $0.cidr.contains(ip) }) {
                report.inUseNotAllocated.append(use)
            } else {
                report.inUseOutsidePools.append(use)
            }
        }
        for (id, handle) in snapshot.handles.sorted(by: { $0.key < $1.key }) where !handlesInBlocks.contains(id) {
            report.leakedHandles.append(IPAMLeakReport.LeakedHandle(id: id, revision: handle.modRevision))
        }
        report.missingHandles = handlesInBlocks.filter { snapshot.handles[$0] == nil }.sorted()
        for stored in snapshot.blocks {
            guard let host = stored.block.host, snapshot.nodes[host] == nil else { continue }
            report.blocksOfMissingNodes.append(
                IPAMLeakReport.OrphanBlock(cidr: stored.block.cidr, host: host, allocated: stored.block.allocatedOrdinals.count))
        }
        for affinity in snapshot.affinities where snapshot.nodes[affinity.host] == nil {
            report.affinitiesOfMissingNodes.append(IPAMLeakReport.OrphanAffinity(host: affinity.host, cidr: affinity.cidr))
        }
        report.duplicates.sort()
        return report
    }

    /// What an allocation's attribute says it is.
    static func kind(of attribute: AllocationAttribute) -> IPAMLeakReport.Allocation.Kind {
        if attribute.releasedAt != nil, attribute.handleID == nil { return .coolingDown }
        let handle = attribute.sanitizedHandleID ?? ""
        if handle.lowercased() == windowsReservedHandle { return .windowsReserved }
        if tunnelTypes.contains(attribute.attributes["type"] ?? "") || tunnelHandlePrefixes.contains(where: handle.hasPrefix) {
            return .tunnel
        }
        if !(attribute.attributes["pod"] ?? "").isEmpty, !(attribute.attributes["namespace"] ?? "").isEmpty { return .workload }
        return .other
    }
}

/// What ``IPAMChecker`` found; also the report file `canalctl ipam check --output` writes and
/// `canalctl ipam release --from-report` reads (calicoctl's report fields, plus the store
/// revision and each address's block).
public struct IPAMLeakReport: Sendable {
    /// One allocated address.
    public struct Allocation: Sendable, Hashable {
        /// What the allocation is for, as its attributes say.
        public enum Kind: String, Sendable, Hashable {
            /// A pod's (`pod` and `namespace` attributes).
            case workload
            /// A node's tunnel address (a tunnel `type` attribute or handle).
            case tunnel
            /// One of the addresses Windows hosts reserve.
            case windowsReserved
            /// Released, in Calico's cooldown (`releasedAt`, no handle).
            case coolingDown
            /// Anything else (no owner named).
            case other
        }
        /// The address.
        public var address: IPAddress
        /// Its block.
        public var block: CIDR
        /// The block's key.
        public var blockKey: String
        /// The block's mod revision when read.
        public var blockRevision: Revision
        /// The address's ordinal in the block.
        public var ordinal: Int
        /// The handle (sanitised), if any.
        public var handle: String?
        /// The allocation's sequence number (the guard of a release).
        public var sequenceNumber: UInt64
        /// The attributes (`node`, `pod`, `namespace`, `type`, `timestamp`, …).
        public var attributes: [String: String]
        /// The block's affinity.
        public var affinity: String?
        /// Calico's `releasedAt`, for an address in cooldown.
        public var releasedAt: String?
        /// What it is for.
        public var kind: Kind = .other
        /// Who uses it (`Workload(ns/name)`, `Node(name)`, `Reserved for Windows`).
        public var owners: [String] = []

        /// Whether anything uses it.
        public var inUse: Bool { !owners.isEmpty || kind == .coolingDown }
        /// The node: the `node` attribute, else the block's host.
        public var node: String? {
            if let n = attributes["node"], !n.isEmpty { return n }
            guard let affinity, affinity.hasPrefix("host:") else { return nil }
            return String(affinity.dropFirst(5))
        }
        /// Whether the block is not the node's (a borrowed address).
        public var borrowed: Bool { node.map { affinity != "host:\($0)" } ?? false }
        /// calicoctl's attribute text: `Main:<handle> Extra:k=v,…`.
        public var attributeText: String {
            "Main:\(handle ?? "<none>") Extra:" + attributes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        }
    }
    /// An address a WorkloadEndpoint or Node uses that no block allocates.
    public struct InUseAddress: Sendable, Hashable {
        /// The address.
        public var address: IPAddress
        /// Who uses it.
        public var owners: [String]
    }
    /// A handle record and the revision it was read at.
    public struct LeakedHandle: Sendable, Hashable {
        /// The handle's id.
        public var id: String
        /// Its mod revision.
        public var revision: Revision
    }
    /// A block affine to a host that has no Node.
    public struct OrphanBlock: Sendable, Hashable {
        /// The block.
        public var cidr: CIDR
        /// The host of its affinity.
        public var host: String
        /// Addresses allocated in it.
        public var allocated: Int
    }
    /// An affinity of a host that has no Node.
    public struct OrphanAffinity: Sendable, Hashable {
        /// The host.
        public var host: String
        /// The block.
        public var cidr: CIDR
    }

    /// The version of the tool that wrote the report (a report file's `version`).
    public var version: String = ""
    /// The store revision the data was read at.
    public var revision: Revision
    /// `ClusterInformation`'s `clusterGUID`.
    public var clusterGUID: String
    /// `ClusterInformation`'s `clusterType`.
    public var clusterType: String
    /// `ClusterInformation`'s resource version.
    public var clusterInformationRevision: String
    /// Whether `datastoreReady` was false.
    public var datastoreLocked: Bool
    /// Every allocated address, by block and ordinal.
    public var allocations: [Allocation] = []
    /// Addresses in use in an active pool with no allocation.
    public var inUseNotAllocated: [InUseAddress] = []
    /// Addresses in use outside every active pool.
    public var inUseOutsidePools: [InUseAddress] = []
    /// Handles no block refers to.
    public var leakedHandles: [LeakedHandle] = []
    /// Handles blocks refer to that have no record.
    public var missingHandles: [String] = []
    /// Blocks affine to hosts with no Node.
    public var blocksOfMissingNodes: [OrphanBlock] = []
    /// Affinities of hosts with no Node.
    public var affinitiesOfMissingNodes: [OrphanAffinity] = []
    /// Addresses allocated twice or used twice, and inconsistent free lists.
    public var duplicates: [String] = []
    /// Stored values that do not parse.
    public var corrupt: [IPAMSnapshot.CorruptValue]

    init(snapshot: IPAMSnapshot) {
        revision = snapshot.revision
        clusterGUID = snapshot.clusterGUID
        clusterType = snapshot.clusterType
        clusterInformationRevision = snapshot.clusterInformationRevision
        datastoreLocked = snapshot.datastoreLocked
        corrupt = snapshot.corrupt
    }

    /// Creates an empty report (for reading a file).
    public init(revision: Revision, clusterGUID: String) {
        self.revision = revision
        self.clusterGUID = clusterGUID
        clusterType = ""
        clusterInformationRevision = ""
        datastoreLocked = false
        corrupt = []
    }

    /// Allocated addresses nothing uses (calicoctl's "allocated in IPAM but not actually in use").
    public var notInUse: [Allocation] { allocations.filter { !$0.inUse } }

    /// calicoctl's problem count, plus Canal's extra findings.
    public var problemCount: Int {
        notInUse.count + inUseNotAllocated.count + inUseOutsidePools.count + leakedHandles.count + missingHandles.count
            + blocksOfMissingNodes.count + affinitiesOfMissingNodes.count + duplicates.count + corrupt.count
    }
}
