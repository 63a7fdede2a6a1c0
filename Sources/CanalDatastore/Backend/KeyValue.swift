/// One key with its value and metadata, as a store returns it.
///
/// Keys and values are bytes: the store is agnostic of what they encode. Canal's typed layers
/// use UTF-8 paths (`/calico/resources/v3/...`) and JSON values.
public struct KeyValue: Sendable, Hashable {
    /// The key bytes.
    public var key: [UInt8]
    /// The value bytes.
    public var value: [UInt8]
    /// The revision that created the key (since its last deletion).
    public var createRevision: Revision
    /// The revision that last modified the key.
    public var modRevision: Revision
    /// The number of writes since the key was created (1 after the create).
    public var version: Int64
    /// The lease the key is attached to, if any.
    public var lease: LeaseID?

    /// Creates a key/value record.
    public init(
        key: [UInt8], value: [UInt8], createRevision: Revision, modRevision: Revision, version: Int64,
        lease: LeaseID? = nil
    ) {
        self.key = key
        self.value = value
        self.createRevision = createRevision
        self.modRevision = modRevision
        self.version = version
        self.lease = lease
    }

    /// The key decoded as UTF-8 (invalid sequences replaced), for messages and typed layers.
    public var keyString: String { String(decoding: key, as: UTF8.self) }
}

/// The result of a list: the matching keys in ascending key order, and the store revision the list was read at.
public struct ListResult: Sendable, Hashable {
    /// The matching keys, ascending by key bytes.
    public var items: [KeyValue]
    /// The store revision the list reflects; watch from `revision.next` to follow changes without gaps.
    public var revision: Revision
    /// Creates a list result.
    public init(items: [KeyValue], revision: Revision) {
        self.items = items
        self.revision = revision
    }
}

extension Array where Element == UInt8 {
    /// The end of the key range covering every key that starts with this prefix (etcd's `range_end`):
    /// the prefix with its last byte below 0xff incremented and what follows dropped; `[0]` (meaning
    /// "to the end of the keyspace") when the prefix is empty or all 0xff.
    package var prefixRangeEnd: [UInt8] {
        var end = self
        while let last = end.last {
            if last < 0xff {
                end[end.count - 1] = last + 1
                return end
            }
            end.removeLast()
        }
        return [0]
    }

    /// Whether `self` starts with `prefix`.
    package func hasBytePrefix(_ prefix: [UInt8]) -> Bool {
        count >= prefix.count && self[..<prefix.count].elementsEqual(prefix)
    }

    /// Lexicographic byte order, as etcd sorts keys.
    package static func byteLess(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.lexicographicallyPrecedes(b)
    }
}
