/// A set of labels prepared once for fast, repeated selector evaluation.
///
/// Build one per endpoint (or label map) and pass it to ``Selector/matches(_:)-(LabelSet)``: keys
/// and values are stored as UTF-8 bytes with hashes computed at construction, in one buffer that
/// holds a small open-addressing table, so evaluation does no `String` hashing and no allocation.
///
/// Keys and values compare as bytes, as in Calico: `"é"` written precomposed and decomposed are
/// different values.
public struct LabelSet: Sendable {
    /// One table slot; key and value offsets are byte offsets from the start of ``table``.
    @usableFromInline
    struct Slot {
        /// Zero marks an empty slot (``Bytes/hash(_:)`` is never zero).
        @usableFromInline var keyHash: UInt64 = 0
        @usableFromInline var valueHash: UInt64 = 0
        @usableFromInline var keyStart: UInt32 = 0
        @usableFromInline var keyLength: UInt32 = 0
        @usableFromInline var valueStart: UInt32 = 0
        @usableFromInline var valueLength: UInt32 = 0
    }

    /// `capacity` slots (a power of two, at least twice the label count), then the bytes.
    @usableFromInline let table: [UInt64]
    @usableFromInline let mask: Int
    /// The number of labels.
    public let count: Int

    /// Prepares `labels` for evaluation.
    public init(_ labels: [String: String]) {
        count = labels.count
        var capacity = 4
        while capacity < labels.count * 2 { capacity <<= 1 }
        mask = capacity - 1
        let slotBytes = capacity * MemoryLayout<Slot>.stride
        var total = 0
        for (key, value) in labels { total += key.utf8.count + value.utf8.count }
        var table = [UInt64](repeating: 0, count: (slotBytes + total + 7) / 8)
        table.withUnsafeMutableBytes { raw in
            let base = raw.baseAddress!
            var next = slotBytes
            func store(_ s: String) -> (start: Int, length: Int, hash: UInt64) {
                let start = next
                for byte in s.utf8 {
                    base.storeBytes(of: byte, toByteOffset: next, as: UInt8.self)
                    next += 1
                }
                let bytes = UnsafeRawBufferPointer(start: base + start, count: next - start)
                return (start, next - start, Bytes.hash(bytes))
            }
            let mask = capacity - 1
            for (key, value) in labels {
                let k = store(key)
                let v = store(value)
                var s = Int(truncatingIfNeeded: k.hash) & mask
                while base.load(fromByteOffset: s * MemoryLayout<Slot>.stride, as: UInt64.self) != 0 {
                    s = (s + 1) & mask
                }
                base.storeBytes(
                    of: Slot(
                        keyHash: k.hash, valueHash: v.hash,
                        keyStart: UInt32(k.start), keyLength: UInt32(k.length),
                        valueStart: UInt32(v.start), valueLength: UInt32(v.length)
                    ),
                    toByteOffset: s * MemoryLayout<Slot>.stride, as: Slot.self
                )
            }
        }
        self.table = table
    }

    /// Whether there are no labels.
    public var isEmpty: Bool { count == 0 }

    /// The value of the label `key` (compared bytewise), or `nil` when it is absent.
    public subscript(key: String) -> String? {
        var key = key
        return key.withUTF8 { k -> String? in
            let raw = UnsafeRawBufferPointer(k)
            return withTable { table, mask -> String? in
                let found = Self.lookup(
                    table, mask: mask, hash: Bytes.hash(raw), key: raw.baseAddress ?? table, length: raw.count
                )
                return found.map { String(decoding: $0.bytes, as: UTF8.self) }
            }
        }
    }

    @inlinable @inline(__always)
    func withTable<R>(_ body: (UnsafeRawPointer, Int) -> R) -> R {
        let mask = self.mask
        return table.withUnsafeBytes { body($0.baseAddress!, mask) }
    }

    /// Finds the value of the key whose bytes are `key[0..<length]` and whose hash is `hash`.
    @inlinable @inline(__always)
    static func lookup(
        _ table: UnsafeRawPointer, mask: Int, hash: UInt64, key: UnsafeRawPointer, length: Int
    ) -> (bytes: UnsafeRawBufferPointer, hash: UInt64)? {
        var s = Int(truncatingIfNeeded: hash) & mask
        while true {
            let slot = table.load(fromByteOffset: s * MemoryLayout<Slot>.stride, as: Slot.self)
            if slot.keyHash == hash {
                if Int(slot.keyLength) == length && Bytes.equal(table + Int(slot.keyStart), key, count: length) {
                    return (
                        UnsafeRawBufferPointer(start: table + Int(slot.valueStart), count: Int(slot.valueLength)),
                        slot.valueHash
                    )
                }
            } else if slot.keyHash == 0 {
                return nil
            }
            s = (s + 1) & mask
        }
    }
}
