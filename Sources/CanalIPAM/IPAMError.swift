public import CanalDatastore

/// The one error type of Canal's IPAM and flannel subnet code.
///
/// Callers switch on ``code``; new codes may be added, so switch with a `default`. Datastore
/// failures keep the ``DatastoreError`` in ``cause`` (code ``Code/datastore``).
public struct IPAMError: Error, Sendable, CustomStringConvertible {
    /// The category of a failure.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case invalidArgument, notFound, alreadyAssigned, noPools, poolDisabled, blockLimit, noFreeBlocks
            case strictAffinity, badHandle, badSequenceNumber, tooManyRetries, corruptData, datastore, outOfSubnets
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The request is malformed (bad address, bad configuration, count out of range).
        public static let invalidArgument = Code(.invalidArgument)
        /// What the request names (a handle, an address's block, a pool, a lease) does not exist.
        public static let notFound = Code(.notFound)
        /// ``IPAMClient/assignIP(_:)`` found the address already allocated (Calico's `ErrorResourceAlreadyExists`).
        public static let alreadyAssigned = Code(.alreadyAssigned)
        /// No pool is usable for the request (none exists, none selects the node, a named one is missing).
        public static let noPools = Code(.noPools)
        /// The address or a requested pool is in a disabled pool.
        public static let poolDisabled = Code(.poolDisabled)
        /// The host already owns as many blocks as allowed (Calico's `ErrBlockLimit`); partial results are kept.
        public static let blockLimit = Code(.blockLimit)
        /// No block could be found or claimed and automatic block allocation is off.
        public static let noFreeBlocks = Code(.noFreeBlocks)
        /// Strict affinity forbids using the block (it belongs to another host, or to none).
        public static let strictAffinity = Code(.strictAffinity)
        /// A release named a handle that does not own the address (Calico's `ErrorBadHandle`).
        public static let badHandle = Code(.badHandle)
        /// A release named a sequence number that is not the allocation's (Calico's `ErrorBadSequenceNumber`).
        public static let badSequenceNumber = Code(.badSequenceNumber)
        /// Every compare-and-swap attempt met a concurrent change ("Max retries hit").
        public static let tooManyRetries = Code(.tooManyRetries)
        /// A stored value is not valid Calico (or flannel) JSON.
        public static let corruptData = Code(.corruptData)
        /// The datastore failed (``IPAMError/cause`` is the ``DatastoreError``).
        public static let datastore = Code(.datastore)
        /// flannel: every subnet between SubnetMin and SubnetMax is leased.
        public static let outOfSubnets = Code(.outOfSubnets)

        /// The code's name, e.g. `blockLimit`.
        public var description: String { base.rawValue }
    }

    /// The category of the failure.
    public var code: Code
    /// A human-readable explanation.
    public var message: String
    /// The underlying error, if any.
    public var cause: (any Error)?

    /// Creates an error.
    public init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    /// `code: message`, with the cause when there is one.
    public var description: String {
        var text = "\(code): \(message)"
        if let cause { text += " [cause: \(cause)]" }
        return text
    }

    /// The datastore error behind a ``Code/datastore`` failure.
    public var datastoreError: DatastoreError? { cause as? DatastoreError }

    /// Wraps anything thrown below IPAM as an ``IPAMError`` (an ``IPAMError`` is returned unchanged).
    static func wrap(_ error: any Error) -> IPAMError {
        if let error = error as? IPAMError { return error }
        if let error = error as? DatastoreError { return IPAMError(.datastore, error.message, cause: error) }
        return IPAMError(.datastore, "\(error)", cause: error)
    }
}

/// Runs `body`, converting whatever it throws into an ``IPAMError``.
func ipam<T>(_ body: () async throws -> T) async throws(IPAMError) -> T {
    do {
        return try await body()
    } catch {
        throw IPAMError.wrap(error)
    }
}
