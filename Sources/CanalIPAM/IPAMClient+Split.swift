public import CanalModel
import CanalDatastore
import Foundation

extension IPAMClient {
    /// Splits an IP pool into `parts` equal pools (calicoctl's `ipam split`): the children are
    /// named `split-<name>-<i>`, carry the pool's spec with their CIDR (enabled), and the pool is
    /// deleted. Blocks, affinities and handles are untouched: every block of the pool lies in one
    /// child, so every allocation stays valid.
    ///
    /// calicoctl disables the pool, creates the children and deletes the pool in separate writes
    /// and so wants the datastore locked; Canal does all of it in one transaction (the pool
    /// unchanged, no other pool written since the list, the children's names free), so no client
    /// ever sees a moment with both or neither, and no lock is needed.
    ///
    /// The pool is named by `name` or by `cidr`. Throws `invalidArgument` when `parts` is not a
    /// power of two of at least 2, when the pool is too small to split so (each child must still
    /// hold whole blocks), `notFound` when no pool matches, and `tooManyRetries` when the pools
    /// keep changing.
    public func splitPool(named name: String? = nil, cidr: CIDR? = nil, into parts: Int) async throws -> [IPPool] {
        guard parts >= 2, parts & (parts - 1) == 0 else {
            throw IPAMError(.invalidArgument, "the number to split the pool into is not a power of 2: \(parts)")
        }
        guard name != nil || cidr != nil else {
            throw IPAMError(.invalidArgument, "no name or CIDR given: name the IP pool to split")
        }
        let bits = parts.trailingZeroBitCount
        let resources = ResourceClient(store: store)
        var budget = RetryBudget(limit: options.maxAttempts)
        while true {
            let list = try await store.list(prefix: Pool.poolPrefix.bytes)
            var found: (IPPool, KeyValue)?
            for kv in list.items {
                guard let pool = try? resources.resource(from: kv) as? IPPool else { continue }
                if let name, pool.metadata.name == name { found = (pool, kv) }
                if name == nil, let cidr, pool.spec.network?.network == cidr.network { found = (pool, kv) }
            }
            guard let (old, oldKV) = found else {
                throw IPAMError(.notFound, "no IP pool \(name.map { "named \($0)" } ?? "with CIDR \(cidr!)")")
            }
            guard let network = old.spec.network?.network, let blockSize = old.spec.effectiveBlockSize else {
                throw IPAMError(.corruptData, "IPPool \(old.metadata.name ?? "") has an invalid CIDR \(old.spec.cidr)")
            }
            let childLength = network.prefixLength + bits
            guard childLength <= blockSize else {
                throw IPAMError(
                    .invalidArgument,
                    "the pool \(network) is not large enough to be split into \(parts) parts of whole /\(blockSize) blocks")
            }
            let oldName = old.metadata.name ?? ""
            var children: [IPPool] = []
            var operations: [Transaction.Operation] = [.delete(key: oldKV.key)]
            var compares: [Transaction.Comparison] = [
                .modRevision(oldKV.key, is: oldKV.modRevision), .unmodified(prefix: Pool.poolPrefix.bytes, since: list.revision.next),
            ]
            for (i, child) in network.subnets(prefixLength: childLength).enumerated() {
                var pool = old
                let base = oldName.count > 245 ? String(oldName.prefix(245)) : oldName
                pool.metadata = ObjectMeta(
                    name: "split-\(base)-\(i)", labels: old.metadata.labels, annotations: old.metadata.annotations)
                pool.metadata.uid = UUID().uuidString.lowercased()
                pool.metadata.creationTimestamp = Self.timestamp()
                pool.spec.cidr = child.description
                pool.spec.disabled = false
                pool.applyDefaults()
                try pool.validate()
                let key = (Pool.poolPrefix + (pool.metadata.name ?? "")).bytes
                if list.items.contains(where: { $0.key == key }) {
                    throw IPAMError(.invalidArgument, "an IP pool named \(pool.metadata.name ?? "") already exists")
                }
                compares.append(.absent(key))
                operations.append(.put(key: key, value: Array(try pool.jsonValue().jsonText.utf8), lease: nil))
                children.append(pool)
            }
            let result = try await run(Transaction(if: compares, then: operations, returnsPreviousValues: false))
            if result.succeeded {
                return children.map { var c = $0; c.metadata.resourceVersion = result.revision.description; return c }
            }
            try await budget.conflict()
        }
    }
}
