/// Byte-level helpers shared by the compiled selector program and `LabelSet`.
///
/// Everything in the selector language compares bytes, never Unicode-normalised text, so both
/// sides of every comparison work on UTF-8 bytes.
@usableFromInline
enum Bytes {
    /// A fast, deterministic 64-bit hash of `bytes` (never zero, so zero can mark an empty slot).
    ///
    /// Not cryptographic and not seeded: it only has to agree between parse time and label-set
    /// construction time within one process, and a collision costs one extra byte comparison.
    @usableFromInline
    static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        let count = bytes.count
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ (UInt64(truncatingIfNeeded: count) &* 0xFF51_AFD7_ED55_8CCD)
        var i = 0
        while i + 8 <= count {
            let k = bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            h = (h ^ k) &* 0xBF58_476D_1CE4_E5B9
            h ^= h >> 29
            i += 8
        }
        if i < count {
            var k: UInt64 = 0
            var shift: UInt64 = 0
            while i < count {
                k |= UInt64(bytes[i]) << shift
                shift += 8
                i += 1
            }
            h = (h ^ k) &* 0x94D0_49BB_1331_11EB
            h ^= h >> 31
        }
        // Final avalanche (splitmix64 finaliser).
        h ^= h >> 30
        h = h &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 27
        h = h &* 0x94D0_49BB_1331_11EB
        h ^= h >> 31
        return h == 0 ? 1 : h
    }

    /// Whether `count` bytes at `a` equal `count` bytes at `b`.
    @inlinable @inline(__always)
    static func equal(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, count: Int) -> Bool {
        var i = 0
        while i + 8 <= count {
            if a.loadUnaligned(fromByteOffset: i, as: UInt64.self) != b.loadUnaligned(fromByteOffset: i, as: UInt64.self) {
                return false
            }
            i += 8
        }
        while i < count {
            if a.load(fromByteOffset: i, as: UInt8.self) != b.load(fromByteOffset: i, as: UInt8.self) {
                return false
            }
            i += 1
        }
        return true
    }

    /// Whether the `needle` bytes occur anywhere in `haystack` (an empty needle always does).
    @usableFromInline
    static func contains(_ haystack: UnsafeRawBufferPointer, _ needle: UnsafeRawBufferPointer) -> Bool {
        let n = needle.count
        if n == 0 { return true }
        let h = haystack.count
        if n > h { return false }
        guard let hBase = haystack.baseAddress, let nBase = needle.baseAddress else { return false }
        let first = needle[0]
        var i = 0
        while i <= h - n {
            if haystack[i] == first && equal(hBase + i, nBase, count: n) { return true }
            i += 1
        }
        return false
    }

    /// Whether `value` starts with `prefix`.
    @inlinable @inline(__always)
    static func hasPrefix(_ value: UnsafeRawBufferPointer, _ prefix: UnsafeRawBufferPointer) -> Bool {
        if prefix.count == 0 { return true }
        guard prefix.count <= value.count, let v = value.baseAddress, let p = prefix.baseAddress else { return false }
        return equal(v, p, count: prefix.count)
    }

    /// Whether `value` ends with `suffix`.
    @inlinable @inline(__always)
    static func hasSuffix(_ value: UnsafeRawBufferPointer, _ suffix: UnsafeRawBufferPointer) -> Bool {
        if suffix.count == 0 { return true }
        guard suffix.count <= value.count, let v = value.baseAddress, let s = suffix.baseAddress else { return false }
        return equal(v + (value.count - suffix.count), s, count: suffix.count)
    }

    /// Bytewise (Go `<`) ordering of two strings' UTF-8.
    static func less(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    /// Bytewise equality of two strings' UTF-8 (Swift's `==` compares canonical equivalence instead).
    static func same(_ a: String, _ b: String) -> Bool {
        a.utf8.elementsEqual(b.utf8)
    }
}
