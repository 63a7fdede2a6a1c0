/// One change seen by a watch.
public struct WatchEvent: Sendable, Hashable {
    /// What kind of change an event is.
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        private enum Base: Sendable, Hashable { case put, delete }
        private let base: Base
        private init(_ base: Base) { self.base = base }
        /// The key was created or modified; `current` holds the new value.
        public static let put = Kind(.put)
        /// The key was deleted (explicitly or by lease expiry).
        public static let delete = Kind(.delete)
        /// `put` or `delete`.
        public var description: String { base == .put ? "put" : "delete" }
    }

    /// Put or delete.
    public var kind: Kind
    /// The key that changed.
    public var key: [UInt8]
    /// The key after a put; `nil` for a delete.
    public var current: KeyValue?
    /// The key before the change, when it existed and the store still had it (etcd's `prev_kv`).
    public var previous: KeyValue?
    /// The store revision of the change (the event's mod revision).
    public var revision: Revision

    /// Creates a watch event.
    public init(kind: Kind, key: [UInt8], current: KeyValue?, previous: KeyValue?, revision: Revision) {
        self.kind = kind
        self.key = key
        self.current = current
        self.previous = previous
        self.revision = revision
    }

    /// Whether this put created the key (its version is 1).
    public var isCreate: Bool { kind == .put && current?.version == 1 }
}
