/// A small multi-key transaction: if every comparison holds, run ``success``, else ``failure``,
/// atomically at one new store revision (etcd's `Txn`).
///
/// A transaction may not touch the same key twice among its writes (etcd rejects it with
/// `invalidArgument`; the in-memory store does the same).
public struct Transaction: Sendable, Hashable {
    /// One guard of a transaction.
    public struct Comparison: Sendable, Hashable {
        /// What part of the key a comparison looks at.
        public enum Target: Sendable, Hashable {
            /// The key's mod revision (0 when absent).
            case modRevision(Revision)
            /// The key's create revision (0 when absent: `createRevision == 0` means "does not exist").
            case createRevision(Revision)
            /// The key's version (0 when absent).
            case version(Int64)
            /// The key's value (an absent key never compares equal, as in etcd).
            case value([UInt8])
        }
        /// How the stored field relates to the given one.
        public enum Relation: Sendable, Hashable {
            /// Equal.
            case equal
            /// Not equal.
            case notEqual
            /// Stored < given.
            case less
            /// Stored > given.
            case greater
        }
        /// The key compared (the start of the range when ``rangeEnd`` is set).
        public var key: [UInt8]
        /// The field and the value compared against.
        public var target: Target
        /// The relation required.
        public var relation: Relation
        /// When set, the comparison covers every key in `[key, rangeEnd)` (etcd's `range_end`; `[0]`
        /// means to the end of the keyspace) and holds when it holds for each of them; over an empty
        /// range it is evaluated against an absent key (a `value` comparison then fails), as in etcd.
        public var rangeEnd: [UInt8]?

        /// Creates a comparison.
        public init(key: [UInt8], _ target: Target, _ relation: Relation = .equal, rangeEnd: [UInt8]? = nil) {
            self.key = key
            self.target = target
            self.relation = relation
            self.rangeEnd = rangeEnd
        }

        /// The key does not exist.
        public static func absent(_ key: [UInt8]) -> Comparison { Comparison(key: key, .createRevision(.zero)) }
        /// The key was last modified at `revision`.
        public static func modRevision(_ key: [UInt8], is revision: Revision) -> Comparison {
            Comparison(key: key, .modRevision(revision))
        }
        /// No key starting with `prefix` was created or modified at `revision` or later (every key
        /// under the prefix has a mod revision below it). Deletions are not seen: compare the keys
        /// that were read one by one to catch those.
        public static func unmodified(prefix: [UInt8], since revision: Revision) -> Comparison {
            Comparison(key: prefix.isEmpty ? [0] : prefix, .modRevision(revision), .less, rangeEnd: prefix.prefixRangeEnd)
        }
    }

    /// One operation of a transaction branch.
    public enum Operation: Sendable, Hashable {
        /// Write `value` to `key`, attached to `lease` when given.
        case put(key: [UInt8], value: [UInt8], lease: LeaseID?)
        /// Delete `key` (a no-op when absent).
        case delete(key: [UInt8])
        /// Read `key` as of the transaction.
        case get(key: [UInt8])
    }

    /// The guards; all must hold for ``success`` to run.
    public var comparisons: [Comparison]
    /// Operations when every comparison holds.
    public var success: [Operation]
    /// Operations otherwise.
    public var failure: [Operation]
    /// Whether `put` and `delete` results carry the key's previous value (etcd's `prev_kv`). Writers
    /// that don't need them save etcd from sending them back (a large value costs its size twice).
    public var returnsPreviousValues: Bool

    /// Creates a transaction.
    public init(
        if comparisons: [Comparison], then success: [Operation], else failure: [Operation] = [],
        returnsPreviousValues: Bool = true
    ) {
        self.comparisons = comparisons
        self.success = success
        self.failure = failure
        self.returnsPreviousValues = returnsPreviousValues
    }
}

/// The outcome of a ``Transaction``.
public struct TransactionResult: Sendable, Hashable {
    /// Whether every comparison held (and so ``Transaction/success`` ran).
    public var succeeded: Bool
    /// The store revision after the transaction (unchanged when it wrote nothing).
    public var revision: Revision
    /// One entry per operation of the branch that ran, in order: for `get` the key if present;
    /// for `put` and `delete` the key's previous value if it existed (nil when the transaction did
    /// not ask for previous values).
    public var results: [KeyValue?]

    /// Creates a transaction result.
    public init(succeeded: Bool, revision: Revision, results: [KeyValue?]) {
        self.succeeded = succeeded
        self.revision = revision
        self.results = results
    }
}
