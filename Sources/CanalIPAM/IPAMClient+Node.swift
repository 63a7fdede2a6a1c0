public import CanalModel
import CanalDatastore

extension IPAMKeys {
    /// `/calico/ipam/v2/host/<host>`: the host's IPAM record (libcalico-go `IPAMHostKey`, an empty
    /// JSON object; its affinities live under it, at `<this>/ipv4/block/…`).
    public static func host(_ host: String) -> String { hostAffinityRoot + host }
}

extension IPAMClient {
    /// Removes `host`'s IPAM state as Calico does when a node goes away (libcalico-go
    /// `RemoveIPAMHost`): every block affinity of the host is released as
    /// ``releaseHostAffinities(host:requireEmpty:)`` releases it (an empty block is deleted, a block
    /// still holding addresses keeps them and loses its affinity), then the host's record
    /// `/calico/ipam/v2/host/<host>` is deleted. Addresses are not released.
    ///
    /// The record is deleted by a compare-and-swap that also requires that no affinity of the host
    /// was created or modified since the affinities were listed: a block claimed for the host by a
    /// concurrent assignment meanwhile fails the write, and the round starts again (up to
    /// ``Options/maxAttempts``). So when this returns, the host had no affinity and no record at one
    /// revision; a stale record value is re-read, never overwritten. A missing record is not an
    /// error (etcd holds one only when an older Calico wrote it).
    ///
    /// Round trips: 1 list (record and affinities) + what releasing each affinity takes (2: the
    /// block, one write) + 1 write.
    @discardableResult
    public func removeHost(_ host: String) async throws(IPAMError) -> [CIDR] {
        try await ipam {
            guard !host.isEmpty, !host.contains("/") else { throw IPAMError(.invalidArgument, "a host name is required") }
            let recordKey = IPAMKeys.host(host).bytes
            let affinityPrefix = (IPAMKeys.host(host) + "/").bytes
            var budget = RetryBudget(limit: options.maxAttempts)
            var released: [CIDR] = []
            while true {
                // The record and the affinities in one list (the prefix also holds other hosts whose
                // name starts with this one: those are skipped).
                let list = try await store.list(prefix: recordKey)
                let record = list.items.first { $0.key == recordKey }
                for kv in list.items where kv.key.starts(with: affinityPrefix) {
                    guard let (owner, cidr) = IPAMKeys.parseAffinity(kv.keyString), owner == host else { continue }
                    if try await releaseAffinity(kv, host: host, block: cidr, requireEmpty: false) { released.append(cidr) }
                }
                var compares = [Transaction.Comparison.unmodified(prefix: affinityPrefix, since: Revision(list.revision.rawValue + 1))]
                var writes: [Transaction.Operation] = []
                if let record {
                    compares.append(.modRevision(recordKey, is: record.modRevision))
                    writes.append(.delete(key: recordKey))
                } else {
                    compares.append(.absent(recordKey))
                }
                let result = try await run(Transaction(if: compares, then: writes, returnsPreviousValues: false))
                if result.succeeded { return released }
                try await budget.conflict()
            }
        }
    }

    /// Deletes the Node `name` as Calico's client does (libcalico-go `nodes.Delete`, what
    /// `calicoctl delete node` runs), cleaning up what belongs to it:
    /// 1. the addresses of its workload endpoints (`spec.node == name`) and its tunnel addresses
    ///    (IPIP, VXLAN and WireGuard; Calico releases the IPv4 ones, Canal the IPv6 ones too) are
    ///    released (``releaseIPs(_:)``), and those workload endpoints deleted;
    /// 2. its IPAM state is removed (``removeHost(_:)``): affinities released, empty blocks
    ///    deleted, the host record deleted;
    /// 3. its BGPPeers (`spec.node == name`), its `node.<name>` FelixConfiguration and
    ///    BGPConfiguration and its HostEndpoints are deleted;
    /// 4. the Node is deleted (compare-and-swap on `resourceVersion` when given).
    ///
    /// A stale `resourceVersion` fails with `conflict` before anything is changed. When the Node
    /// does not exist, its leftovers are still cleaned up, as Calico does, and `notFound` is thrown
    /// at the end. A failure part way leaves the Node in place, so the delete can be run again.
    @discardableResult
    public func deleteNode(named name: String, resourceVersion: String? = nil) async throws -> Node {
        let resources = ResourceClient(store: store)
        var node: Node?
        do {
            node = try await resources.get(Node.self, name: name)
        } catch let error as DatastoreError where error.code == .notFound {
            node = nil
        }
        if let node, let resourceVersion, !resourceVersion.isEmpty, node.metadata.resourceVersion != resourceVersion {
            let key = ResourceKey(kind: .node, name: name)
            throw DatastoreError(
                .conflict, "update conflict: \(key) (latest resourceVersion \(node.metadata.resourceVersion ?? "unknown"))", key: key.bytes)
        }

        let endpoints = try await resources.list(WorkloadEndpoint.self).items.filter { $0.spec.node == name }
        var addresses: [IPAddress] = endpoints.flatMap { ($0.spec.ipNetworks ?? []).compactMap(Self.address(ipOrCIDR:)) }
        if let spec = node?.spec {
            let tunnels = [
                spec.bgp?.ipv4IPIPTunnelAddr, spec.ipv4VXLANTunnelAddr, spec.wireguard?.interfaceIPv4Address,
                spec.ipv6VXLANTunnelAddr, spec.wireguard?.interfaceIPv6Address,
            ]
            addresses += tunnels.compactMap { $0.flatMap(Self.address(ipOrCIDR:)) }
        }
        var seen = Set<IPAddress>()
        addresses = addresses.filter { seen.insert($0).inserted }
        if !addresses.isEmpty {
            let result = try await releaseIPs(addresses.map { ReleaseRequest(address: $0) })
            if let error = result.errors.first { throw error }
        }
        for endpoint in endpoints {
            try await Self.ignoringNotFound {
                try await resources.delete(WorkloadEndpoint.self, name: endpoint.metadata.name ?? "", namespace: endpoint.metadata.namespace)
            }
        }

        try await removeHost(name)

        for peer in try await resources.list(BGPPeer.self).items where peer.spec.node == name {
            try await Self.ignoringNotFound { try await resources.delete(BGPPeer.self, name: peer.metadata.name ?? "") }
        }
        try await Self.ignoringNotFound { try await resources.delete(FelixConfiguration.self, name: "node.\(name)") }
        try await Self.ignoringNotFound { try await resources.delete(BGPConfiguration.self, name: "node.\(name)") }
        for endpoint in try await resources.list(HostEndpoint.self).items where endpoint.spec.node == name {
            try await Self.ignoringNotFound { try await resources.delete(HostEndpoint.self, name: endpoint.metadata.name ?? "") }
        }

        let version = (resourceVersion?.isEmpty ?? true) ? nil : resourceVersion
        return try await resources.delete(Node.self, name: name, resourceVersion: version)
    }

    /// The address of `10.0.0.5` or `10.0.0.5/32`; nil for an empty or malformed value.
    static func address(ipOrCIDR text: String) -> IPAddress? {
        guard !text.isEmpty else { return nil }
        return IPAddress(text) ?? CIDR(ipOrCIDR: text)?.address
    }

    /// Runs `body`; a `notFound` from the datastore (deleted meanwhile) is not an error.
    private static func ignoringNotFound(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as DatastoreError where error.code == .notFound {}
    }
}
