public import CanalModel
import CanalDatastore
import CanalSelector

/// A tunnel device whose address Calico IPAM allocates for a node (calico/node's `allocateip`).
public enum TunnelAddressKind: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// `tunl0`'s address, `Node.spec.bgp.ipv4IPIPTunnelAddr`, from a pool with `ipipMode` on.
    case ipip = "ipipTunnelAddress"
    /// `vxlan.calico`'s address, `Node.spec.ipv4VXLANTunnelAddr`, from an IPv4 pool with `vxlanMode` on.
    case vxlan = "vxlanTunnelAddress"
    /// `vxlan-v6.calico`'s address, `Node.spec.ipv6VXLANTunnelAddr`, from an IPv6 pool with `vxlanMode` on.
    case vxlanV6 = "vxlanV6TunnelAddress"

    /// The attribute type, e.g. `ipipTunnelAddress`.
    public var description: String { rawValue }

    /// The IPAM handle of `node`'s address (`ipip-tunnel-addr-<node>`, `vxlan-tunnel-addr-<node>`,
    /// `vxlan-v6-tunnel-addr-<node>`).
    public func handle(node: String) -> String {
        switch self {
        case .ipip: "ipip-tunnel-addr-\(node)"
        case .vxlan: "vxlan-tunnel-addr-\(node)"
        case .vxlanV6: "vxlan-v6-tunnel-addr-\(node)"
        }
    }

    /// The allocation attributes Calico stores with the address (`node`, `type`).
    public func attributes(node: String) -> [String: String] { ["node": node, "type": rawValue] }

    /// The address family of the pools it is taken from.
    public var family: IPAddress.Family { self == .vxlanV6 ? .v6 : .v4 }

    /// Whether `pool` provides this kind of address: enabled, the right family, the mode on, and
    /// `allowedUses` including `Tunnel`. (The node selector is checked separately.)
    public func isProvided(by pool: IPPoolSpec) -> Bool {
        guard !pool.disabled, pool.network?.family == family, pool.effectiveAllowedUses.contains(.tunnel) else { return false }
        let mode = self == .ipip ? pool.ipipMode : pool.vxlanMode
        return mode == .always || mode == .crossSubnet
    }

    /// The address recorded on `spec` ("" when none).
    public func address(in spec: NodeSpec) -> String {
        switch self {
        case .ipip: spec.bgp?.ipv4IPIPTunnelAddr ?? ""
        case .vxlan: spec.ipv4VXLANTunnelAddr
        case .vxlanV6: spec.ipv6VXLANTunnelAddr
        }
    }

    /// `spec` with the address set to `address` ("" clears it, and an emptied `bgp` goes away, as
    /// Calico requires a present `bgp` to be non-empty). Setting a VXLAN address also sets the
    /// VTEP's MAC when none is recorded; clearing it clears the MAC.
    func setting(_ address: String, in spec: NodeSpec, node: String) -> NodeSpec {
        var spec = spec
        switch self {
        case .ipip:
            var bgp = spec.bgp ?? NodeSpec.BGP()
            bgp.ipv4IPIPTunnelAddr = address
            spec.bgp = bgp.isEmpty ? nil : bgp
        case .vxlan:
            spec.ipv4VXLANTunnelAddr = address
            spec.vxlanTunnelMACAddr = address.isEmpty ? "" : (spec.vxlanTunnelMACAddr.isEmpty ? Self.vtepMAC(node: node, .v4) : spec.vxlanTunnelMACAddr)
        case .vxlanV6:
            spec.ipv6VXLANTunnelAddr = address
            spec.vxlanTunnelMACAddrV6 = address.isEmpty ? "" : (spec.vxlanTunnelMACAddrV6.isEmpty ? Self.vtepMAC(node: node, .v6) : spec.vxlanTunnelMACAddrV6)
        }
        return spec
    }

    /// The VTEP MAC of `node` when its Node records none: locally administered, unicast, the rest
    /// from a SHA-224 of the node name (and family), so every host derives the same one.
    public static func vtepMAC(node: String, _ family: IPAddress.Family) -> String {
        let hash = SHA2.sha224(Array((family == .v4 ? node : node + "/v6").utf8))
        return ([0x66] + hash.prefix(5)).map { byte in
            let text = String(byte, radix: 16)
            return text.count == 1 ? "0" + text : text
        }.joined(separator: ":")
    }
}

/// What ``IPAMClient/reconcileTunnelAddresses(node:)`` changed.
public struct TunnelAddressChanges: Sendable, Hashable {
    /// Addresses newly assigned, by kind.
    public var assigned: [TunnelAddressKind: IPAddress] = [:]
    /// Kinds whose address was released (the mode went away, or the address left its pools).
    public var released: Set<TunnelAddressKind> = []
    /// Whether the Node was written.
    public var nodeUpdated = false

    /// Whether nothing changed.
    public var isEmpty: Bool { assigned.isEmpty && released.isEmpty && !nodeUpdated }
}

extension IPAMClient {
    /// Gives `node` the tunnel addresses its pools call for, as calico/node's `allocateip` does,
    /// and records them on its Node (`bgp.ipv4IPIPTunnelAddr`, `ipv4VXLANTunnelAddr` with
    /// `vxlanTunnelMACAddr`, `ipv6VXLANTunnelAddr` with `vxlanTunnelMACAddrV6`).
    ///
    /// For each ``TunnelAddressKind``, the pools that provide it (``TunnelAddressKind/isProvided(by:)``)
    /// and select the node are found. When there are some:
    /// - a recorded address that is allocated under this node's attributes (`type`, `node`) and
    ///   lies in one of them is kept;
    /// - otherwise the handle (`ipip-tunnel-addr-<node>`, …) is released (a stale allocation) and a
    ///   new address is auto-assigned from those pools with `allowedUses: Tunnel`, under the handle
    ///   and Calico's attributes. An address held by something else (a workload) is left alone.
    ///
    /// When there are none, the address is cleared from the Node and the handle released.
    ///
    /// The Node is written once, by compare-and-swap (retried on conflict). A failure after an
    /// assignment releases it again, so no address leaks.
    ///
    /// - Throws: `notFound` when the Node does not exist, `noPools`/`noFreeBlocks` when a pool
    ///   calls for an address and none can be had, or a datastore error.
    @discardableResult
    public func reconcileTunnelAddresses(node name: String) async throws -> TunnelAddressChanges {
        let resources = ResourceClient(store: store)
        var attempts = 0
        while true {
            attempts += 1
            let node: Node
            do {
                node = try await resources.get(Node.self, name: name)
            } catch let error as DatastoreError where error.code == .notFound {
                throw IPAMError(.notFound, "node \(name) does not exist: register it before its tunnel addresses", cause: error)
            }
            let pools = try await resources.list(IPPool.self).items
            let labels = node.metadata.labels ?? [:]
            var spec = node.spec
            var changes = TunnelAddressChanges()
            do {
                for kind in TunnelAddressKind.allCases {
                    let cidrs = pools.filter { pool in
                        kind.isProvided(by: pool.spec) && Self.poolSelects(pool.spec, labels: labels)
                    }.compactMap { $0.spec.network?.network }
                    if cidrs.isEmpty {
                        if try await removeTunnelAddress(kind, spec: spec, node: name) { changes.released.insert(kind) }
                        spec = kind.setting("", in: spec, node: name)
                    } else if let address = try await ensureTunnelAddress(kind, spec: spec, node: name, pools: cidrs, changes: &changes) {
                        spec = kind.setting(address.description, in: spec, node: name)
                    } else {
                        // Kept: fill in a missing VTEP MAC.
                        spec = kind.setting(kind.address(in: spec), in: spec, node: name)
                    }
                }
                guard spec != node.spec else { return changes }
                var updated = node
                updated.spec = spec
                do {
                    _ = try await resources.update(updated)
                } catch let error as DatastoreError where error.code == .conflict && attempts < options.maxAttempts {
                    // Someone else wrote the Node: give back what was assigned and start over.
                    try await releaseAssigned(changes, node: name)
                    continue
                }
                changes.nodeUpdated = true
                return changes
            } catch {
                try? await releaseAssigned(changes, node: name)
                throw error
            }
        }
    }

    private func releaseAssigned(_ changes: TunnelAddressChanges, node: String) async throws {
        for kind in changes.assigned.keys {
            try await releaseHandleIfPresent(kind.handle(node: node))
        }
    }

    /// The new address of `kind`, or nil when the recorded one is kept.
    private func ensureTunnelAddress(
        _ kind: TunnelAddressKind, spec: NodeSpec, node: String, pools: [CIDR], changes: inout TunnelAddressChanges
    ) async throws -> IPAddress? {
        let recorded = Self.address(ipOrCIDR: kind.address(in: spec))
        if let recorded {
            if let allocation = try await allocation(of: recorded),
               allocation.attribute.attributes["type"] == kind.rawValue, allocation.attribute.attributes["node"] == node {
                if pools.contains(where: { $0.contains(recorded) }) { return nil }
                // Ours, but no longer in a pool that calls for it.
                changes.released.insert(kind)
            }
            // Not allocated, or held by something else (then it is not ours to release).
        }
        try await releaseHandleIfPresent(kind.handle(node: node))
        let request = AutoAssignRequest(
            host: node, ipv4: kind.family == .v4 ? 1 : 0, ipv6: kind.family == .v6 ? 1 : 0, handle: kind.handle(node: node),
            attributes: kind.attributes(node: node), ipv4Pools: kind.family == .v4 ? pools : [], ipv6Pools: kind.family == .v6 ? pools : [],
            use: .tunnel)
        let result = try await autoAssign(request)
        if let error = result.partialFulfillmentError {
            throw IPAMError(error.code, "cannot assign the \(kind) of node \(node): \(error.message)")
        }
        guard let address = result.addresses.first?.address else {
            throw IPAMError(.noFreeBlocks, "cannot assign the \(kind) of node \(node)")
        }
        changes.assigned[kind] = address
        return address
    }

    /// Releases `kind`'s handle (and an old handle-less allocation of the recorded address, as
    /// Calico does); returns whether anything was recorded or released.
    private func removeTunnelAddress(_ kind: TunnelAddressKind, spec: NodeSpec, node: String) async throws -> Bool {
        let recorded = Self.address(ipOrCIDR: kind.address(in: spec))
        do {
            try await releaseByHandle(kind.handle(node: node))
            return true
        } catch where error.code == .notFound {
            guard let recorded else { return false }
            if let allocation = try await allocation(of: recorded), allocation.attribute.handleID == nil, allocation.attribute.attributes.isEmpty {
                _ = try await releaseIPs([ReleaseRequest(address: recorded)])
            }
            return true
        }
    }

    /// Releases `handle`; a handle that does not exist is not an error.
    private func releaseHandleIfPresent(_ handle: String) async throws {
        do {
            try await releaseByHandle(handle)
        } catch where error.code == .notFound {}
    }

    /// Whether a pool's `nodeSelector` selects a node with `labels` (an unparsable one selects none).
    static func poolSelects(_ pool: IPPoolSpec, labels: [String: String]) -> Bool {
        let text = pool.nodeSelector.isEmpty ? "all()" : pool.nodeSelector
        return (try? Selector(text))?.matches(labels) ?? false
    }
}
