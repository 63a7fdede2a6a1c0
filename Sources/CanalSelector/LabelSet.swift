/// A set of labels prepared once for fast, repeated selector evaluation.
///
/// Build one per endpoint (or label map) and pass it to ``Selector/matches(_:)-(LabelSet)``: keys
/// and values are stored as UTF-8 bytes in one buffer with hashes computed at construction, in a
/// small open-addressing table, so evaluation does no `String` hashing and no allocation.
///
/// Keys and values compare as bytes, as in Calico: `"é"` written precomposed and decomposed are
/// different values.
public struct LabelSet: Sendable {
    struct Slot: Sendable {
        /// Zero marks an empty slot (``Bytes/hash(_:)`` is never zero).
        var keyHash: UInt64 = 0
        var valueHash: UInt64 = 0
        var keyStart: UInt32 = 0
        var keyLength: UInt32 = 0
        var valueStart: UInt32 = 0
        var valueLength: UInt32 = 0
    }

    private var slots: [Slot]
    private var bytes: [UInt8]
    /// The number of labels.
    public let count: Int

    /// Prepares `labels` for evaluation.
    public init(_ labels: [String: String]) {
        count = labels.count
        var capacity = 8
        while capacity < labels.count * 2 { capacity <<= 1 }
        var slots = [Slot](repeating: Slot(), count: capacity)
        var bytes: [UInt8] = []
        var total = 0
        for (key, value) in labels { total += key.utf8.count + value.utf8.count }
        bytes.reserveCapacity(total)
        let mask = capacity - 1
        for (key, value) in labels {
            let keyStart = bytes.count
            bytes.append(contentsOf: key.utf8)
            let valueStart = bytes.count
            bytes.append(contentsOf: value.utf8)
            let end = bytes.count
            let (keyHash, valueHash) = bytes.withUnsafeBytes { raw in
                (
                    Bytes.hash(UnsafeRawBufferPointer(rebasing: raw[keyStart..<valueStart])),
                    Bytes.hash(UnsafeRawBufferPointer(rebasing: raw[valueStart..<end]))
                )
            }
            var s = Int(truncatingIfNeeded: keyHash) & mask
            while slots[s].keyHash != 0 { s = (s + 1) & mask }
            slots[s] = Slot(
                keyHash: keyHash, valueHash: valueHash,
                keyStart: UInt32(keyStart), keyLength: UInt32(valueStart - keyStart),
                valueStart: UInt32(valueStart), valueLength: UInt32(end - valueStart)
            )
        }
        self.slots = slots
        self.bytes = bytes
    }

    /// Whether there are no labels.
    public var isEmpty: Bool { count == 0 }

    /// The value of the label `key` (compared bytewise), or `nil` when it is absent.
    public subscript(key: String) -> String? {
        var key = key
        return key.withUTF8 { k -> String? in
            let raw = UnsafeRawBufferPointer(k)
            let hash = Bytes.hash(raw)
            return withTable { slots, mask, labelBytes -> String? in
                var s = Int(truncatingIfNeeded: hash) & mask
                while slots[s].keyHash != 0 {
                    let slot = slots[s]
                    if slot.keyHash == hash && Int(slot.keyLength) == raw.count
                        && (raw.count == 0
                            || Bytes.equal(labelBytes.baseAddress! + Int(slot.keyStart), raw.baseAddress!, count: raw.count))
                    {
                        return String(
                            decoding: labelBytes[Int(slot.valueStart)..<Int(slot.valueStart + slot.valueLength)],
                            as: UTF8.self
                        )
                    }
                    s = (s + 1) & mask
                }
                return nil
            }
        }
    }

    @inline(__always)
    func withTable<R>(_ body: (UnsafeBufferPointer<Slot>, Int, UnsafeRawBufferPointer) -> R) -> R {
        slots.withUnsafeBufferPointer { s in
            bytes.withUnsafeBytes { b in body(s, s.count - 1, b) }
        }
    }
}
