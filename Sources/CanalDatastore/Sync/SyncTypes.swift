public import CanalModel

/// Where a ``Syncer`` stands (Calico's `api.SyncStatus`).
public struct SyncStatus: Sendable, Hashable, CustomStringConvertible {
    private enum Base: String, Sendable, Hashable { case waitingForDatastore, resyncing, inSync }
    private let base: Base
    private init(_ base: Base) { self.base = base }
    /// The first list has not succeeded yet.
    public static let waitingForDatastore = SyncStatus(.waitingForDatastore)
    /// A (re)list is being delivered; the consumer's view is not complete yet.
    public static let resyncing = SyncStatus(.resyncing)
    /// Everything up to the latest list has been delivered; updates follow as they happen.
    public static let inSync = SyncStatus(.inSync)
    /// The status name, e.g. `inSync`.
    public var description: String { base.rawValue }
}

/// One change a ``Syncer`` delivers: a key's new value, or its deletion.
public struct SyncUpdate: Sendable {
    /// Whether a key was set or deleted.
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable { case put, delete }
        private let base: Base
        private init(_ base: Base) { self.base = base }
        /// The key has a (new) value.
        public static let put = Kind(.put)
        /// The key is gone.
        public static let delete = Kind(.delete)
        /// `put` or `delete`.
        public var description: String { base.rawValue }
    }

    /// Put or delete.
    public var kind: Kind
    /// The key.
    public var key: String
    /// The key's value and revisions (puts).
    public var value: KeyValue?
    /// The revision of the change (for deletes found by a resync, the list's revision).
    public var revision: Revision
    /// The value decoded as a Calico v3 resource, when the key is a resource key and the value parses.
    public var resource: (any AnyResource)?
    /// Why a resource key's value did not parse (the update is still delivered, with ``value``).
    public var error: ModelError?
}

/// A batch of updates with the syncer's status after them. The first batches hold the snapshot
/// (status `resyncing`), then a batch with status `inSync`, then batches of live updates.
public struct SyncBatch: Sendable {
    /// The status once this batch is applied.
    public var status: SyncStatus
    /// The updates, in revision order.
    public var updates: [SyncUpdate]
}
