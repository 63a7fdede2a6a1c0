/// The one error type of the datastore layer.
///
/// Callers switch on ``code``. On `alreadyExists` and `conflict` the error carries the key's
/// current value in ``current`` (as Calico returns the existing object), so a caller can retry
/// without another read. Backend failures (curl, etcd) keep their original error in ``cause``.
public struct DatastoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The category of a failure. New codes may be added; switch with a `default`.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case notFound, alreadyExists, conflict, compacted, unavailable, unauthorized, invalidArgument, timeout
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The key (or lease) does not exist.
        public static let notFound = Code(.notFound)
        /// A create found the key already present.
        public static let alreadyExists = Code(.alreadyExists)
        /// A conditional write's revision (or another compare) did not match.
        public static let conflict = Code(.conflict)
        /// The requested revision has been compacted away; list again and watch from the list's revision.
        public static let compacted = Code(.compacted)
        /// No endpoint could be reached, or the server could not serve the request.
        public static let unavailable = Code(.unavailable)
        /// Authentication failed or the user lacks permission.
        public static let unauthorized = Code(.unauthorized)
        /// The request was malformed (bad revision, future revision, bad lease TTL, ...).
        public static let invalidArgument = Code(.invalidArgument)
        /// The request did not complete within its timeout; a write may or may not have been applied.
        public static let timeout = Code(.timeout)

        /// The code's name, e.g. `conflict`.
        public var description: String { base.rawValue }
    }

    /// The category of the failure.
    public var code: Code
    /// A human-readable explanation.
    public var message: String
    /// The key the failure concerns, if any.
    public var key: [UInt8]?
    /// The key's current value on `alreadyExists` and `conflict`; the compaction revision is in ``revision``.
    public var current: KeyValue?
    /// A revision relevant to the failure: the compacted revision for `compacted`, the current mod
    /// revision for `conflict`.
    public var revision: Revision?
    /// The underlying error (a curl or etcd error), if any.
    public var cause: (any Error)?

    /// Creates an error.
    public init(
        _ code: Code, _ message: String, key: [UInt8]? = nil, current: KeyValue? = nil, revision: Revision? = nil,
        cause: (any Error)? = nil
    ) {
        self.code = code
        self.message = message
        self.key = key
        self.current = current
        self.revision = revision
        self.cause = cause
    }

    /// `code: message` with the key, when known, and the cause.
    public var description: String {
        var text = "\(code): \(message)"
        if let key { text += " (key \(String(decoding: key, as: UTF8.self)))" }
        if let cause { text += " [cause: \(cause)]" }
        return text
    }

    /// Equality ignores ``cause`` (errors are not Equatable in general).
    public static func == (lhs: DatastoreError, rhs: DatastoreError) -> Bool {
        lhs.code == rhs.code && lhs.message == rhs.message && lhs.key == rhs.key && lhs.current == rhs.current
            && lhs.revision == rhs.revision
    }

    /// Hashes everything but ``cause``.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(message)
        hasher.combine(key)
        hasher.combine(current)
        hasher.combine(revision)
    }
}
