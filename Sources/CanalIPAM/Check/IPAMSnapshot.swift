public import CanalDatastore
public import CanalModel

/// Everything the IPAM checks and the garbage collector decide on, read at one store revision:
/// every block, handle and affinity, the IP pools, the WorkloadEndpoints' addresses, the Nodes'
/// tunnel addresses and ClusterInformation. Values that do not parse are kept aside in
/// ``corrupt`` (key and reason), never guessed at.
public struct IPAMSnapshot: Sendable {
    /// A block and the revision it was read at.
    public struct Block: Sendable, Hashable {
        /// The block's key (`/calico/ipam/v2/assignment/ipv4/block/…`).
        public var key: String
        /// The key's mod revision.
        public var modRevision: Revision
        /// The decoded block.
        public var block: AllocationBlock
    }
    /// A handle and the revision it was read at.
    public struct Handle: Sendable, Hashable {
        /// The handle's id.
        public var id: String
        /// The key's mod revision.
        public var modRevision: Revision
        /// Its per-block counts.
        public var handle: IPAMHandle
    }
    /// A host's affinity to a block.
    public struct Affinity: Sendable, Hashable {
        /// The host.
        public var host: String
        /// The block.
        public var cidr: CIDR
        /// The affinity's state.
        public var state: BlockAffinity.State
        /// The key's mod revision.
        public var modRevision: Revision
    }
    /// A stored value that is not what its key says it is.
    public struct CorruptValue: Sendable, Hashable, CustomStringConvertible {
        /// The key.
        public var key: String
        /// Why it was rejected.
        public var reason: String
        /// `key: reason`.
        public var description: String { "\(key): \(reason)" }
    }
    /// An IP pool, as far as the checks need it.
    public struct PoolInfo: Sendable, Hashable {
        /// The pool's name.
        public var name: String
        /// The pool's CIDR.
        public var cidr: CIDR
        /// Whether it is disabled.
        public var disabled: Bool
    }
    /// A user of addresses outside IPAM: a WorkloadEndpoint or a Node (its tunnel addresses).
    public struct AddressUser: Sendable, Hashable {
        /// `Workload(<namespace>/<name>)` or `Node(<name>)`, as calicoctl names them.
        public var name: String
        /// The node it is on (the endpoint's `spec.node`, or the Node itself).
        public var node: String?
        /// The addresses it uses.
        public var addresses: [IPAddress]
    }

    /// The store revision everything was read at.
    public var revision: Revision
    /// Every block that parses, by key order.
    public var blocks: [Block]
    /// Every handle that parses, by id.
    public var handles: [String: Handle]
    /// Every affinity that parses.
    public var affinities: [Affinity]
    /// Every value that does not parse (blocks, handles, affinities, endpoints, nodes).
    public var corrupt: [CorruptValue]
    /// The IP pools.
    public var pools: [PoolInfo]
    /// The WorkloadEndpoints' addresses.
    public var endpoints: [AddressUser]
    /// The Nodes (by name) and their tunnel addresses.
    public var nodes: [String: AddressUser]
    /// `ClusterInformation default`'s `clusterGUID` ("" when absent).
    public var clusterGUID: String
    /// `ClusterInformation default`'s `clusterType`.
    public var clusterType: String
    /// `ClusterInformation default`'s resource version ("" when absent).
    public var clusterInformationRevision: String
    /// Whether `datastoreReady` is false (calicoctl's "locked").
    public var datastoreLocked: Bool

    /// Creates a snapshot from its parts (tests build them by hand).
    public init(
        revision: Revision, blocks: [Block] = [], handles: [String: Handle] = [:], affinities: [Affinity] = [],
        corrupt: [CorruptValue] = [], pools: [PoolInfo] = [], endpoints: [AddressUser] = [], nodes: [String: AddressUser] = [:],
        clusterGUID: String = "", clusterType: String = "", clusterInformationRevision: String = "", datastoreLocked: Bool = false
    ) {
        self.revision = revision
        self.blocks = blocks
        self.handles = handles
        self.affinities = affinities
        self.corrupt = corrupt
        self.pools = pools
        self.endpoints = endpoints
        self.nodes = nodes
        self.clusterGUID = clusterGUID
        self.clusterType = clusterType
        self.clusterInformationRevision = clusterInformationRevision
        self.datastoreLocked = datastoreLocked
    }

    /// Whether a WorkloadEndpoint or Node value failed to parse: its addresses are unknown, so
    /// nothing may be judged unused.
    public var hasUnreadableUsers: Bool {
        corrupt.contains { $0.key.hasPrefix(IPAMSnapshot.endpointPrefix) || $0.key.hasPrefix(IPAMSnapshot.nodePrefix) }
    }

    static let ipamPrefix = "/calico/ipam/v2/"
    static let endpointPrefix = "/calico/resources/v3/projectcalico.org/workloadendpoints/"
    static let nodePrefix = "/calico/resources/v3/projectcalico.org/nodes/"
    static let clusterInformationKey = "/calico/resources/v3/projectcalico.org/clusterinformations/default"
}

extension IPAMClient {
    /// Reads an ``IPAMSnapshot``: one list of `/calico/ipam/v2/`, then — at that list's revision —
    /// the WorkloadEndpoints, Nodes, IP pools and ClusterInformation (concurrently), so every part
    /// is as of one revision. Round trips: 5 (1, then 4 concurrently).
    public func snapshot() async throws(IPAMError) -> IPAMSnapshot {
        try await ipam { try await snapshotUntyped() }
    }

    private func snapshotUntyped() async throws -> IPAMSnapshot {
        let ipamList = try await store.list(prefix: IPAMSnapshot.ipamPrefix.bytes)
        let revision = ipamList.revision
        async let endpointList = store.list(prefix: IPAMSnapshot.endpointPrefix.bytes, at: revision)
        async let nodeList = store.list(prefix: IPAMSnapshot.nodePrefix.bytes, at: revision)
        async let poolList = store.list(prefix: Pool.poolPrefix.bytes, at: revision)
        async let info = store.get(IPAMSnapshot.clusterInformationKey.bytes, at: revision)
        var snapshot = IPAMSnapshot(revision: revision)
        Self.parseIPAM(ipamList.items, into: &snapshot)
        let resources = ResourceClient(store: store)
        for kv in try await endpointList.items {
            do {
                guard let endpoint = try resources.resource(from: kv) as? WorkloadEndpoint else { continue }
                let addresses = (endpoint.spec.ipNetworks ?? []).compactMap(Self.address(ipOrCIDR:))
                snapshot.endpoints.append(
                    IPAMSnapshot.AddressUser(
                        name: "Workload(\(endpoint.metadata.namespace ?? "")/\(endpoint.metadata.name ?? ""))",
                        node: endpoint.spec.node, addresses: addresses))
            } catch {
                snapshot.corrupt.append(IPAMSnapshot.CorruptValue(key: kv.keyString, reason: "\(error)"))
            }
        }
        for kv in try await nodeList.items {
            do {
                guard let node = try resources.resource(from: kv) as? Node, let name = node.metadata.name else { continue }
                snapshot.nodes[name] = IPAMSnapshot.AddressUser(name: "Node(\(name))", node: name, addresses: Self.tunnelAddresses(node))
            } catch {
                snapshot.corrupt.append(IPAMSnapshot.CorruptValue(key: kv.keyString, reason: "\(error)"))
            }
        }
        for kv in try await poolList.items {
            guard let pool = DecodeCache.parsePool(kv) else {
                snapshot.corrupt.append(IPAMSnapshot.CorruptValue(key: kv.keyString, reason: "not a usable IPPool"))
                continue
            }
            snapshot.pools.append(IPAMSnapshot.PoolInfo(name: pool.name, cidr: pool.cidr, disabled: pool.disabled))
        }
        if let kv = try await info, let value = try? JSONValue(parsing: kv.value) {
            snapshot.clusterGUID = value["spec"]?["clusterGUID"]?.stringValue ?? ""
            snapshot.clusterType = value["spec"]?["clusterType"]?.stringValue ?? ""
            snapshot.clusterInformationRevision = kv.modRevision.description
            snapshot.datastoreLocked = value["spec"]?["datastoreReady"]?.boolValue == false
        }
        return snapshot
    }

    /// Blocks, handles and affinities from a list of `/calico/ipam/v2/` (the config and host
    /// records are skipped).
    static func parseIPAM(_ items: [KeyValue], into snapshot: inout IPAMSnapshot) {
        for kv in items {
            let key = kv.keyString
            if let keyCIDR = IPAMKeys.blockCIDR(kv.key) {
                do {
                    let block = try AllocationBlock(json: kv.value)
                    guard block.cidr == keyCIDR else {
                        snapshot.corrupt.append(.init(key: key, reason: "the value is the block \(block.cidr), the key names \(keyCIDR)"))
                        continue
                    }
                    snapshot.blocks.append(IPAMSnapshot.Block(key: key, modRevision: kv.modRevision, block: block))
                } catch {
                    snapshot.corrupt.append(.init(key: key, reason: error.message))
                }
            } else if key.hasPrefix(IPAMKeys.handlePrefix) {
                let id = String(key.dropFirst(IPAMKeys.handlePrefix.count))
                do {
                    snapshot.handles[id] = IPAMSnapshot.Handle(id: id, modRevision: kv.modRevision, handle: try IPAMHandle(json: kv.value))
                } catch {
                    snapshot.corrupt.append(.init(key: key, reason: error.message))
                }
            } else if let (host, cidr) = IPAMKeys.parseAffinity(key) {
                do {
                    let affinity = try BlockAffinity(json: kv.value)
                    snapshot.affinities.append(IPAMSnapshot.Affinity(host: host, cidr: cidr, state: affinity.state, modRevision: kv.modRevision))
                } catch {
                    snapshot.corrupt.append(.init(key: key, reason: error.message))
                }
            }
        }
    }

    /// A Node's tunnel addresses: IPIP, VXLAN (v4 and v6), WireGuard (v4 and v6).
    static func tunnelAddresses(_ node: Node) -> [IPAddress] {
        let spec = node.spec
        let texts = [
            spec.bgp?.ipv4IPIPTunnelAddr, spec.ipv4VXLANTunnelAddr, spec.ipv6VXLANTunnelAddr,
            spec.wireguard?.interfaceIPv4Address, spec.wireguard?.interfaceIPv6Address,
        ]
        return texts.compactMap { $0.flatMap(Self.address(ipOrCIDR:)) }
    }
}
