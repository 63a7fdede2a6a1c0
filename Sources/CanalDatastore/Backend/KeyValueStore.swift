/// The datastore seam: a revisioned, watchable key/value store over bytes (etcd v3's model).
///
/// Keys and values are `[UInt8]`; keys sort bytewise. Every write moves the store to a new
/// cluster-wide ``Revision``. Backends implement the primitives (`get`, `list`, `transaction`,
/// leases, `watch`); the conditional writes Calico uses (create-if-absent, update- and
/// delete-if-revision, unconditional put) are built once on ``transaction(_:)`` in an extension,
/// so every backend has the same semantics.
///
/// Errors are ``DatastoreError``; each method lists the codes it raises beyond `unavailable`,
/// `timeout` and `unauthorized`, which any backend call may raise.
public protocol KeyValueStore: Sendable {
    /// The watch sequence type: throwing, backpressured, ending when the reading task is cancelled.
    associatedtype Watch: AsyncSequence<WatchEvent, any Error> & Sendable

    /// Reads `key`, at `revision` when given (a historical read) or else the latest.
    ///
    /// Returns `nil` when the key does not exist. Throws `compacted` when `revision` is compacted,
    /// `invalidArgument` when it is in the future.
    func get(_ key: [UInt8], at revision: Revision?) async throws -> KeyValue?

    /// Lists the keys starting with `prefix` (all keys for an empty prefix), ascending, at
    /// `revision` when given. Throws `compacted` / `invalidArgument` as ``get(_:at:)``.
    func list(prefix: [UInt8], at revision: Revision?) async throws -> ListResult

    /// Runs a transaction atomically. Throws `invalidArgument` when two writes name one key,
    /// `notFound` when a put names a lease that does not exist.
    func transaction(_ transaction: Transaction) async throws -> TransactionResult

    /// Grants a lease with the given time to live (rounded up to whole seconds).
    func grantLease(ttl: Duration) async throws -> Lease

    /// Renews a lease to its full TTL and returns that TTL. Throws `notFound` when it has expired or was revoked.
    func keepAlive(_ lease: LeaseID) async throws -> Duration

    /// Revokes a lease, deleting every key attached to it. Throws `notFound` when it does not exist.
    func revokeLease(_ lease: LeaseID) async throws

    /// Discards the history before `revision`: reads and watches at older revisions then fail with
    /// `compacted`. Throws `compacted` when already compacted past it, `invalidArgument` for a future revision.
    func compact(to revision: Revision) async throws

    /// Watches every key starting with `prefix`.
    ///
    /// With `fromRevision`, the sequence first yields the stored history from that revision (inclusive)
    /// and then live changes; without it, only changes after the call. Events come in revision order,
    /// with the previous value when the store had it. The sequence throws `compacted` (with the
    /// compaction revision in ``DatastoreError/revision``) when `fromRevision` — or, for a watcher
    /// that fell behind, its next revision — has been compacted; it finishes when the reading task
    /// is cancelled. It applies backpressure: a slow reader never makes the store buffer without bound.
    func watch(prefix: [UInt8], fromRevision: Revision?) -> Watch
}

extension KeyValueStore {
    /// Reads the latest value of `key`, or `nil`.
    public func get(_ key: [UInt8]) async throws -> KeyValue? { try await get(key, at: nil) }

    /// Lists the latest keys under `prefix`.
    public func list(prefix: [UInt8]) async throws -> ListResult { try await list(prefix: prefix, at: nil) }

    /// Watches `prefix` for changes after the call.
    public func watch(prefix: [UInt8]) -> Watch { watch(prefix: prefix, fromRevision: nil) }

    /// Creates `key` if it does not exist; returns the revision of the write.
    ///
    /// Throws `alreadyExists` with the existing value in ``DatastoreError/current``.
    @discardableResult
    public func create(_ key: [UInt8], value: [UInt8], lease: LeaseID? = nil) async throws -> Revision {
        var request = Transaction(
            if: [.absent(key)], then: [.put(key: key, value: value, lease: lease)], else: [.get(key: key)])
        request.returnsPreviousValues = false
        let result = try await transaction(request)
        guard result.succeeded else {
            let current = result.results.first ?? nil
            throw DatastoreError(
                .alreadyExists, "the key already exists", key: key, current: current, revision: current?.modRevision)
        }
        return result.revision
    }

    /// Replaces `key`'s value if its mod revision is still `revision`; returns the revision of the write.
    ///
    /// Throws `notFound` when the key does not exist, `conflict` (with the current value) when it changed.
    @discardableResult
    public func update(
        _ key: [UInt8], value: [UInt8], ifRevision revision: Revision, lease: LeaseID? = nil
    ) async throws -> Revision {
        guard revision > .zero else {
            throw DatastoreError(.invalidArgument, "an update needs the revision the caller read", key: key)
        }
        var request = Transaction(
            if: [.modRevision(key, is: revision)], then: [.put(key: key, value: value, lease: lease)],
            else: [.get(key: key)])
        request.returnsPreviousValues = false
        let result = try await transaction(request)
        guard result.succeeded else { throw Self.compareFailure(key: key, expected: revision, current: result.results.first ?? nil) }
        return result.revision
    }

    /// Writes `key` unconditionally (Calico's Apply); returns the revision of the write.
    @discardableResult
    public func put(_ key: [UInt8], value: [UInt8], lease: LeaseID? = nil) async throws -> Revision {
        var request = Transaction(if: [], then: [.put(key: key, value: value, lease: lease)])
        request.returnsPreviousValues = false
        return try await transaction(request).revision
    }

    /// Deletes `key`, only if its mod revision is still `revision` when one is given; returns the deleted value.
    ///
    /// Throws `notFound` when the key does not exist, `conflict` (with the current value) when it changed.
    @discardableResult
    public func delete(_ key: [UInt8], ifRevision revision: Revision? = nil) async throws -> KeyValue {
        let comparisons: [Transaction.Comparison] =
            if let revision { [.modRevision(key, is: revision)] } else { [Transaction.Comparison(key: key, .createRevision(.zero), .greater)] }
        let result = try await transaction(
            Transaction(if: comparisons, then: [.delete(key: key)], else: [.get(key: key)]))
        guard result.succeeded, let deleted = result.results.first ?? nil else {
            throw Self.compareFailure(key: key, expected: revision, current: result.succeeded ? nil : (result.results.first ?? nil))
        }
        return deleted
    }

    private static func compareFailure(key: [UInt8], expected: Revision?, current: KeyValue?) -> DatastoreError {
        guard let current else { return DatastoreError(.notFound, "the key does not exist", key: key) }
        return DatastoreError(
            .conflict,
            "the key was modified at revision \(current.modRevision), expected \(expected.map(String.init(describing:)) ?? "any")",
            key: key, current: current, revision: current.modRevision)
    }
}
