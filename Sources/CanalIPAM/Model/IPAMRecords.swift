public import CanalModel

/// A host's affinity to a block: the value at `/calico/ipam/v2/host/<node>/ipv4/block/<cidr>`
/// (libcalico-go `model.BlockAffinity`), `{"state":"confirmed","deleted":false}`.
public struct BlockAffinity: Sendable, Hashable {
    /// The affinity's state.
    public enum State: String, Sendable, Hashable {
        /// Being claimed; counts as absent for ownership.
        case pending
        /// The host owns the block.
        case confirmed
        /// Being released.
        case pendingDeletion
    }
    /// The state; an empty value (old data) reads as `confirmed`.
    public var state: State
    /// The soft-delete flag (Kubernetes datastore only).
    public var deleted: Bool

    /// Creates an affinity value.
    public init(state: State, deleted: Bool = false) {
        self.state = state
        self.deleted = deleted
    }

    /// `{"state":"…","deleted":false}`.
    public var jsonBytes: [UInt8] {
        var w = JSONWriter(capacity: 40)
        w.raw("{\"state\":")
        w.string(state.rawValue)
        w.raw(",\"deleted\":")
        w.bool(deleted)
        w.raw("}")
        return w.bytes
    }

    /// Parses an affinity value; an empty value or `{}` is confirmed, as in Calico.
    public init(json bytes: [UInt8]) throws(IPAMError) {
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A }) {
            self.init(state: .confirmed)
            return
        }
        guard let object = (try? JSONValue(parsing: bytes))?.objectValue else {
            throw IPAMError(.corruptData, "invalid block affinity")
        }
        let text = object["state"]?.stringValue ?? ""
        guard let state = text.isEmpty ? .confirmed : State(rawValue: text) else {
            throw IPAMError(.corruptData, "invalid block affinity state \"\(text)\"")
        }
        self.init(state: state, deleted: object["deleted"]?.boolValue ?? false)
    }
}

/// A handle: the value at `/calico/ipam/v2/handle/<id>` (libcalico-go `model.IPAMHandle`), the
/// number of addresses the handle holds in each block: `{"block":{"10.0.0.0/26":2},"deleted":false}`.
public struct IPAMHandle: Sendable, Hashable {
    /// Addresses held per block CIDR (as Calico writes the CIDR).
    public var blocks: [String: Int]
    /// The soft-delete flag (Kubernetes datastore only).
    public var deleted: Bool

    /// Creates a handle value.
    public init(blocks: [String: Int] = [:], deleted: Bool = false) {
        self.blocks = blocks
        self.deleted = deleted
    }

    /// The JSON, block CIDRs sorted as Go sorts map keys.
    public var jsonBytes: [UInt8] {
        var w = JSONWriter(capacity: 64)
        w.raw("{\"block\":{")
        for (i, key) in blocks.keys.sorted().enumerated() {
            if i > 0 { w.raw(",") }
            w.string(key)
            w.raw(":")
            w.int(blocks[key]!)
        }
        w.raw("},\"deleted\":")
        w.bool(deleted)
        w.raw("}")
        return w.bytes
    }

    /// The JSON of a handle holding `count` addresses in each of `blocks` (distinct CIDRs), as
    /// ``jsonBytes`` writes it, without building the dictionary.
    static func jsonBytes(blocks: [(cidr: String, count: Int)]) -> [UInt8] {
        var w = JSONWriter(capacity: 64)
        w.raw("{\"block\":{")
        let sorted = blocks.count < 2 ? blocks : blocks.sorted { $0.cidr < $1.cidr }
        for i in sorted.indices {
            if i > 0 { w.raw(",") }
            w.string(sorted[i].cidr)
            w.raw(":")
            w.int(sorted[i].count)
        }
        w.raw("},\"deleted\":false}")
        return w.bytes
    }

    /// Parses a handle value.
    public init(json bytes: [UInt8]) throws(IPAMError) {
        guard let object = (try? JSONValue(parsing: bytes))?.objectValue else {
            throw IPAMError(.corruptData, "invalid handle")
        }
        var blocks: [String: Int] = [:]
        if let map = object["block"]?.objectValue {
            for (k, v) in map {
                guard let n = v.intValue else { throw IPAMError(.corruptData, "invalid handle count for \(k)") }
                blocks[k] = n
            }
        }
        self.init(blocks: blocks, deleted: object["deleted"]?.boolValue ?? false)
    }
}

/// The cluster-wide IPAM settings at `/calico/ipam/v2/config` (libcalico-go `ipam.IPAMConfig`).
///
/// When the key is absent Calico uses strict affinity off, automatic block allocation on, and no
/// per-host block limit (``MaxBlocksPerHost`` 0, meaning the built-in cap of 20).
public struct IPAMConfig: Sendable, Hashable {
    /// Only use blocks affine to the host: never borrow from other hosts' blocks.
    public var strictAffinity: Bool
    /// Claim new blocks when the host's blocks are full.
    public var autoAllocateBlocks: Bool
    /// The most blocks a host may own; 0 means no configured limit (the built-in cap of 20 applies).
    public var maxBlocksPerHost: Int
    /// `kubeVirtVMAddressPersistence`, kept as read.
    public var kubeVirtVMAddressPersistence: String?
    /// `ipCooldownSeconds` (Calico v3.34): a released address stays allocated, marked `releasedAt`,
    /// for this many seconds before it can be assigned again; 0 (the default) releases at once, as
    /// Calico ≤ v3.32 does. Released addresses whose cooldown is over are returned to the free list
    /// by the next release in their block and by ``IPAMGarbageCollector`` (assignment does not fold
    /// it in, as Calico's read-time collection does).
    public var ipCooldownSeconds: Int

    /// Creates a configuration; the defaults are Calico's when no config is stored.
    public init(
        strictAffinity: Bool = false, autoAllocateBlocks: Bool = true, maxBlocksPerHost: Int = 0,
        kubeVirtVMAddressPersistence: String? = nil, ipCooldownSeconds: Int = 0
    ) {
        self.strictAffinity = strictAffinity
        self.autoAllocateBlocks = autoAllocateBlocks
        self.maxBlocksPerHost = maxBlocksPerHost
        self.kubeVirtVMAddressPersistence = kubeVirtVMAddressPersistence
        self.ipCooldownSeconds = ipCooldownSeconds
    }

    /// Calico's `SetIPAMConfig` rules: strict affinity and automatic allocation cannot both be off,
    /// and a block limit needs strict affinity. Throws ``IPAMError/Code/invalidArgument``.
    public func validate() throws(IPAMError) {
        if !strictAffinity && !autoAllocateBlocks {
            throw IPAMError(.invalidArgument, "Cannot disable 'StrictAffinity' and 'AutoAllocateBlocks' at the same time")
        }
        if maxBlocksPerHost > 0 && !strictAffinity {
            throw IPAMError(.invalidArgument, "MaxBlocksPerHost requires StrictAffinity to be enabled")
        }
        if maxBlocksPerHost < 0 { throw IPAMError(.invalidArgument, "MaxBlocksPerHost must not be negative") }
        if ipCooldownSeconds < 0 || ipCooldownSeconds > 1200 {
            throw IPAMError(.invalidArgument, "IPCooldownSeconds must be between 0 and 1200 (Calico's cap), not \(ipCooldownSeconds)")
        }
    }

    /// The JSON Calico writes (every field omitempty, mixed snake and camel case as Calico's).
    public var jsonBytes: [UInt8] {
        var w = JSONWriter(capacity: 96)
        var first = true
        func sep(_ w: inout JSONWriter) { if !first { w.raw(",") }; first = false }
        w.raw("{")
        if strictAffinity { sep(&w); w.raw("\"strict_affinity\":true") }
        if autoAllocateBlocks { sep(&w); w.raw("\"auto_allocate_blocks\":true") }
        if maxBlocksPerHost != 0 { sep(&w); w.raw("\"maxBlocksPerHost\":"); w.int(maxBlocksPerHost) }
        if let k = kubeVirtVMAddressPersistence { sep(&w); w.raw("\"kubeVirtVMAddressPersistence\":"); w.string(k) }
        if ipCooldownSeconds != 0 { sep(&w); w.raw("\"ipCooldownSeconds\":"); w.int(ipCooldownSeconds) }
        w.raw("}")
        return w.bytes
    }

    /// Parses the stored config (absent fields are false/0, as Go decodes them).
    public init(json bytes: [UInt8]) throws(IPAMError) {
        guard let object = (try? JSONValue(parsing: bytes))?.objectValue else {
            throw IPAMError(.corruptData, "invalid IPAM config")
        }
        self.init(
            strictAffinity: object["strict_affinity"]?.boolValue ?? false,
            autoAllocateBlocks: object["auto_allocate_blocks"]?.boolValue ?? false,
            maxBlocksPerHost: object["maxBlocksPerHost"]?.intValue ?? 0,
            kubeVirtVMAddressPersistence: object["kubeVirtVMAddressPersistence"]?.stringValue,
            ipCooldownSeconds: object["ipCooldownSeconds"]?.intValue ?? 0)
    }
}

/// The addresses IPReservations hold back (Calico's `addrFilter`).
struct ReservationFilter: Sendable {
    var networks: [CIDR]

    var isEmpty: Bool { networks.isEmpty }
    func contains(_ ip: IPAddress) -> Bool { networks.contains { $0.contains(ip) } }
    func coversWhole(_ cidr: CIDR) -> Bool { networks.contains { $0.network.contains(cidr) } }
    func overlaps(_ cidr: CIDR) -> Bool { networks.contains { $0.network.overlaps(cidr) } }
}
