import CanalModel

// The IPPool rules of Calico's client (`clientv3/ippool.go`) that need the datastore: a new pool may
// not overlap an existing one; an existing pool's CIDR, block size and LoadBalancer use are fixed;
// a pool is disabled before it is deleted.

extension ResourceClient {
    /// The key prefix of every IPPool.
    static var poolPrefix: [UInt8] { Array(ResourceKey.prefix(kind: .ipPool, namespace: nil).utf8) }

    /// Writes a new pool (prepared: defaulted and validated) if no pool of its name exists and its
    /// CIDR overlaps no other pool's. The check and the write are one step: the create also requires
    /// that no pool was written since the list it checked, and checks again when one was.
    ///
    /// Throws ``ModelError`` (`invalid`, at `spec.cidr`) naming both pools, or the store's
    /// `alreadyExists` (with the existing value).
    func createPool(_ pool: IPPool, key: ResourceKey, value: [UInt8]) async throws -> Revision {
        try await checkBlockSizes(pool)
        for _ in 0..<Self.applyAttempts {
            let existing = try await store.list(prefix: Self.poolPrefix)
            try checkNoOverlap(pool, with: existing.items)
            var request = Transaction(
                if: [.absent(key.bytes), .unmodified(prefix: Self.poolPrefix, since: existing.revision.next)],
                then: [.put(key: key.bytes, value: value, lease: nil)], else: [.get(key: key.bytes)])
            request.returnsPreviousValues = false
            let result = try await store.transaction(request)
            if result.succeeded { return result.revision }
            if let current = result.results.first ?? nil {
                throw DatastoreError(
                    .alreadyExists, "the key already exists", key: key.bytes, current: current, revision: current.modRevision)
            }
            // Another pool was written since the list: check against the new set.
        }
        throw DatastoreError(
            .conflict, "update conflict: \(key): the IP pools kept changing while the new pool was checked against them",
            key: key.bytes)
    }

    /// Throws when IPAM blocks inside the new pool's CIDR (left from an earlier pool) have another
    /// size than the pool's blocks, as Calico does: the blocks of a range must all be one size.
    func checkBlockSizes(_ pool: IPPool) async throws {
        guard let network = pool.spec.network, let size = pool.spec.effectiveBlockSize else { return }
        let prefix = "/calico/ipam/v2/assignment/ipv\(network.family == .v4 ? 4 : 6)/block/"
        let blocks = try await store.list(prefix: Array(prefix.utf8))
        for kv in blocks.items {
            // `<address>-<prefix length>`: the block's CIDR with `/` written as `-`.
            let name = String(decoding: kv.key.dropFirst(prefix.utf8.count), as: UTF8.self)
            guard let dash = name.lastIndex(of: "-"),
                let block = CIDR(name[..<dash] + "/" + name[name.index(after: dash)...]),
                block.prefixLength != size, block.overlaps(network)
            else { continue }
            throw ModelError(
                .invalid, "IPPool \"\(pool.metadata.name ?? "")\" is not valid: its block size conflicts with existing allocations",
                fieldErrors: [
                    FieldError(
                        "spec.blockSize",
                        "block size \(size) conflicts with the existing IPAM block \(block) inside \(pool.spec.cidr), allocated with another block size")
                ])
        }
    }

    /// Throws when `pool`'s CIDR overlaps the CIDR of a stored pool of another name. Stored values
    /// that do not parse, or whose CIDR does not, are passed over (as Calico does).
    func checkNoOverlap(_ pool: IPPool, with stored: [KeyValue]) throws {
        guard let network = pool.spec.network else { return }
        let name = pool.metadata.name ?? ""
        var errors: [FieldError] = []
        for kv in stored {
            guard let other = try? resource(from: kv) as? IPPool, let otherName = other.metadata.name, otherName != name,
                let otherNetwork = other.spec.network, otherNetwork.overlaps(network)
            else { continue }
            errors.append(
                FieldError(
                    "spec.cidr",
                    "\(pool.spec.cidr) of IPPool(\(name)) overlaps \(other.spec.cidr), the CIDR of IPPool(\(otherName))"))
        }
        guard errors.isEmpty else {
            let names = errors.count == 1 ? "another pool" : "\(errors.count) other pools"
            throw ModelError(.invalid, "IPPool \"\(name)\" is not valid: its CIDR overlaps \(names)", fieldErrors: errors)
        }
    }

    /// Checks an update of a pool (prepared) against the stored one, as Calico does: the CIDR cannot
    /// change (rewriting it in canonical form is allowed), nor the block size, nor can a LoadBalancer
    /// pool be given other uses. Throws ``ModelError`` (`invalid`) listing every broken rule.
    static func checkPoolUpdate(_ pool: IPPool, stored: IPPool) throws {
        var errors: [FieldError] = []
        if !cidrChangeAllowed(from: stored.spec.cidr, to: pool.spec.cidr) {
            errors.append(
                FieldError("spec.cidr", "the CIDR of an existing pool cannot be changed (it is \(stored.spec.cidr), the update has \(pool.spec.cidr))"))
        }
        if let old = stored.spec.effectiveBlockSize, let new = pool.spec.effectiveBlockSize, old != new {
            errors.append(
                FieldError("spec.blockSize", "the block size of an existing pool cannot be changed (it is \(old), the update has \(new))"))
        }
        if stored.spec.effectiveAllowedUses.contains(.loadBalancer),
            pool.spec.effectiveAllowedUses.contains(where: { $0 != .loadBalancer })
        {
            errors.append(
                FieldError("spec.allowedUses", "a LoadBalancer pool cannot be given the Workload or Tunnel use"))
        }
        guard errors.isEmpty else {
            throw ModelError(.invalid, "IPPool \"\(pool.metadata.name ?? "")\" cannot be updated this way", fieldErrors: errors)
        }
    }

    /// The same text, or the same network written in canonical form (a pool stored with a
    /// non-canonical CIDR by another writer may be normalised; no other change is allowed).
    static func cidrChangeAllowed(from old: String, to new: String) -> Bool {
        if old == new { return true }
        guard let oldNetwork = CIDR(old), let newNetwork = CIDR(new) else { return false }
        return oldNetwork.network == newNetwork.network && oldNetwork.prefixLength == newNetwork.prefixLength
            && new == newNetwork.network.description
    }

    /// Calico's first step of deleting a pool: disable it (so IPAM stops assigning from it) unless it
    /// is disabled already, compare-and-swapping on `resourceVersion` when given (a stale one fails
    /// with `conflict`). Returns whether the delete itself must still check `resourceVersion`
    /// (only when nothing was written here). Throws `notFound` when the pool does not exist.
    func disablePoolBeforeDelete(key: ResourceKey, resourceVersion: Revision?) async throws -> Bool {
        guard let kv = try await store.get(key.bytes) else {
            throw DatastoreError(.notFound, "resource does not exist: \(key)", key: key.bytes)
        }
        guard var pool = try resource(from: kv) as? IPPool, !pool.spec.disabled else { return true }
        pool.spec.disabled = true
        let prepared = try prepareForWrite(pool)
        do {
            try await store.update(key.bytes, value: try Self.storedValue(prepared), ifRevision: resourceVersion ?? kv.modRevision)
        } catch let error as DatastoreError {
            throw Self.resourceError(error, key: key)
        }
        return false
    }
}
