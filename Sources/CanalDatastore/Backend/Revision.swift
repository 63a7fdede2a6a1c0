/// A revision of the key/value store: etcd's cluster-wide, monotonically increasing `revision`.
///
/// Every successful write transaction moves the store to a new revision; each key records the
/// revision that created it (`createRevision`) and the one that last modified it (`modRevision`).
/// A resource's `metadata.resourceVersion` is its key's `modRevision` written as a decimal string.
public struct Revision: RawRepresentable, Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The revision number. Zero means "none" (a key that does not exist has create revision zero).
    public var rawValue: Int64

    /// Creates a revision from its number.
    public init(rawValue: Int64) { self.rawValue = rawValue }

    /// Creates a revision from its number.
    public init(_ value: Int64) { self.rawValue = value }

    /// Parses a decimal revision as written in `resourceVersion`; `nil` when `text` is not a non-negative integer.
    public init?(_ text: String) {
        guard let value = Int64(text), value >= 0 else { return nil }
        self.rawValue = value
    }

    /// The absent revision (zero).
    public static let zero = Revision(0)

    /// The revision after this one.
    public var next: Revision { Revision(rawValue + 1) }

    /// The decimal form, as used in `resourceVersion`.
    public var description: String { String(rawValue) }

    public static func < (lhs: Revision, rhs: Revision) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// The identifier of a lease: keys attached to a lease are deleted when it expires or is revoked.
public struct LeaseID: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    /// The lease number, as etcd assigns it.
    public var rawValue: Int64
    /// Creates a lease identifier from its number.
    public init(rawValue: Int64) { self.rawValue = rawValue }
    /// The decimal form.
    public var description: String { String(rawValue) }
}

/// A granted lease: its identifier and the time to live the store granted.
public struct Lease: Sendable, Hashable {
    /// The lease identifier, to pass to puts, keep-alives and revoke.
    public var id: LeaseID
    /// The granted time to live, in whole seconds as etcd grants it.
    public var ttl: Duration
    /// Creates a lease value.
    public init(id: LeaseID, ttl: Duration) {
        self.id = id
        self.ttl = ttl
    }
}
