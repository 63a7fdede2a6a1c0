public import CanalModel

/// What an IP pool may be used for (Calico's `IntendedUse`).
public typealias IPPoolUse = IPPoolSpec.AllowedUse

/// A request to assign addresses automatically (libcalico-go `AutoAssignArgs`).
public struct AutoAssignRequest: Sendable, Hashable {
    /// The node the addresses are for: its blocks are used first and new blocks are claimed for it.
    public var host: String
    /// How many IPv4 addresses.
    public var ipv4: Int
    /// How many IPv6 addresses.
    public var ipv6: Int
    /// The handle the addresses are recorded under (CNI uses `<network>.<containerID>`), if any.
    public var handle: String?
    /// Attributes stored with the addresses (`secondary`: `node`, `pod`, `namespace`, ...).
    public var attributes: [String: String]
    /// Restrict to these IPv4 pools (by CIDR); empty means every pool that selects the node.
    public var ipv4Pools: [CIDR]
    /// Restrict to these IPv6 pools (by CIDR).
    public var ipv6Pools: [CIDR]
    /// A per-request block limit; the stricter of this and the configured limit applies (0: none).
    public var maxBlocksPerHost: Int
    /// The intended use; only pools allowing it are used.
    public var use: IPPoolUse
    /// The namespace's labels, for pools' `namespaceSelector`; nil: read from the namespace's
    /// profile `kns.<namespace>` (see ``namespace``) when some pool has a namespace selector.
    public var namespaceLabels: [String: String]?
    /// The workload's namespace (default: the `namespace` attribute).
    public var namespace: String?

    /// Creates a request.
    public init(
        host: String, ipv4: Int = 1, ipv6: Int = 0, handle: String? = nil, attributes: [String: String] = [:],
        ipv4Pools: [CIDR] = [], ipv6Pools: [CIDR] = [], maxBlocksPerHost: Int = 0, use: IPPoolUse = .workload,
        namespace: String? = nil, namespaceLabels: [String: String]? = nil
    ) {
        self.namespace = namespace
        self.namespaceLabels = namespaceLabels
        self.host = host
        self.ipv4 = ipv4
        self.ipv6 = ipv6
        self.handle = handle
        self.attributes = attributes
        self.ipv4Pools = ipv4Pools
        self.ipv6Pools = ipv6Pools
        self.maxBlocksPerHost = maxBlocksPerHost
        self.use = use
    }
}

/// The addresses one family of an ``AutoAssignRequest`` obtained (libcalico-go `IPAMAssignments`).
public struct FamilyAssignment: Sendable, Hashable {
    /// The addresses, each with its block's prefix length (`10.0.0.5/26`), as Calico returns them.
    public var addresses: [CIDR]
    /// How many were asked for.
    public var requested: Int
    /// Why fewer were obtained, when they were (Calico's `Msgs`).
    public var messages: [String]

    /// Whether every requested address was obtained.
    public var isComplete: Bool { addresses.count >= requested }
}

/// The outcome of ``IPAMClient/autoAssign(_:)``: running out of addresses is not an error, it is a
/// short result here, and ``partialFulfillmentError`` says so explicitly.
public struct AutoAssignResult: Sendable, Hashable {
    /// The IPv4 part.
    public var ipv4: FamilyAssignment
    /// The IPv6 part.
    public var ipv6: FamilyAssignment

    /// Both families' addresses, IPv4 first.
    public var addresses: [CIDR] { ipv4.addresses + ipv6.addresses }

    /// Whether both families got every address requested.
    public var isComplete: Bool { ipv4.isComplete && ipv6.isComplete }

    /// An error describing a short result (Calico's `PartialFulfillmentError`), nil when complete.
    public var partialFulfillmentError: IPAMError? {
        var parts: [String] = []
        for (name, part) in [("IPv4", ipv4), ("IPv6", ipv6)] where !part.isComplete {
            var text = "assigned \(part.addresses.count) of \(part.requested) requested \(name) addresses"
            if !part.messages.isEmpty { text += " (\(part.messages.joined(separator: "; ")))" }
            parts.append(text)
        }
        return parts.isEmpty ? nil : IPAMError(.noFreeBlocks, parts.joined(separator: "; "))
    }
}

/// One address to release (libcalico-go `ReleaseOptions`).
public struct ReleaseRequest: Sendable, Hashable {
    /// The address.
    public var address: IPAddress
    /// When set, the address is released only if it is held under this handle.
    public var handle: String?
    /// When set, the address is released only if its allocation has this sequence number.
    public var sequenceNumber: UInt64?

    /// Creates a release request.
    public init(address: IPAddress, handle: String? = nil, sequenceNumber: UInt64? = nil) {
        self.address = address
        self.handle = handle
        self.sequenceNumber = sequenceNumber
    }
}

/// The outcome of ``IPAMClient/releaseIPs(_:)``.
public struct ReleaseResult: Sendable {
    /// Addresses that were allocated and are now free.
    public var released: [IPAddress]
    /// Addresses that were not allocated (no error, as in Calico).
    public var unallocated: [IPAddress]
    /// Blocks whose release failed (a wrong handle or sequence number fails its whole block).
    public var errors: [IPAMError]
}

/// Where an allocated address is and who holds it.
public struct AddressAllocation: Sendable, Hashable {
    /// The address.
    public var address: IPAddress
    /// Its block.
    public var block: CIDR
    /// The block's affinity (`host:<node>`), if any.
    public var blockAffinity: String?
    /// The owner: handle and attributes.
    public var attribute: AllocationAttribute
    /// The block's sequence number when the address was allocated.
    public var sequenceNumber: UInt64?
}
