/// SHA-224 and SHA-256 (FIPS 180-4), written for Canal so that the selector module has no dependencies.
///
/// Felix names IP sets after a SHA-224 digest of the canonical selector, and names chains after
/// SHA-256 digests, so both live here at `package` level for the other Canal modules.
package enum SHA2 {
    /// The 28-byte SHA-224 digest of `bytes`.
    package static func sha224(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        SHA256Core.digest(bytes, initial: SHA256Core.initial224, words: 7)
    }

    /// The 32-byte SHA-256 digest of `bytes`.
    package static func sha256(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        SHA256Core.digest(bytes, initial: SHA256Core.initial256, words: 8)
    }
}

/// The SHA-256 compression function and Merkle–Damgård padding; SHA-224 differs only in its
/// initial hash value and in truncating the digest to seven words.
enum SHA256Core {
    static let initial224: [UInt32] = [
        0xc105_9ed8, 0x367c_d507, 0x3070_dd17, 0xf70e_5939, 0xffc0_0b31, 0x6858_1511, 0x64f9_8fa7, 0xbefa_4fa4,
    ]
    static let initial256: [UInt32] = [
        0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a, 0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19,
    ]

    static let roundConstants: [UInt32] = [
        0x428a_2f98, 0x7137_4491, 0xb5c0_fbcf, 0xe9b5_dba5, 0x3956_c25b, 0x59f1_11f1, 0x923f_82a4, 0xab1c_5ed5,
        0xd807_aa98, 0x1283_5b01, 0x2431_85be, 0x550c_7dc3, 0x72be_5d74, 0x80de_b1fe, 0x9bdc_06a7, 0xc19b_f174,
        0xe49b_69c1, 0xefbe_4786, 0x0fc1_9dc6, 0x240c_a1cc, 0x2de9_2c6f, 0x4a74_84aa, 0x5cb0_a9dc, 0x76f9_88da,
        0x983e_5152, 0xa831_c66d, 0xb003_27c8, 0xbf59_7fc7, 0xc6e0_0bf3, 0xd5a7_9147, 0x06ca_6351, 0x1429_2967,
        0x27b7_0a85, 0x2e1b_2138, 0x4d2c_6dfc, 0x5338_0d13, 0x650a_7354, 0x766a_0abb, 0x81c2_c92e, 0x9272_2c85,
        0xa2bf_e8a1, 0xa81a_664b, 0xc24b_8b70, 0xc76c_51a3, 0xd192_e819, 0xd699_0624, 0xf40e_3585, 0x106a_a070,
        0x19a4_c116, 0x1e37_6c08, 0x2748_774c, 0x34b0_bcb5, 0x391c_0cb3, 0x4ed8_aa4a, 0x5b9c_ca4f, 0x682e_6ff3,
        0x748f_82ee, 0x78a5_636f, 0x84c8_7814, 0x8cc7_0208, 0x90be_fffa, 0xa450_6ceb, 0xbef9_a3f7, 0xc671_78f2,
    ]

    /// Pads `bytes` and runs every block through the compression function.
    static func digest(_ bytes: some Sequence<UInt8>, initial: [UInt32], words: Int) -> [UInt8] {
        let message = Array(bytes)
        var digest = [UInt8](repeating: 0, count: words * 4)
        digest.withUnsafeMutableBytes { out in
            hash(length: message.count, initial: initial, words: words, into: out.baseAddress!) { buffer in
                message.withUnsafeBytes { raw in
                    if let base = raw.baseAddress { buffer.copyMemory(from: base, byteCount: raw.count) }
                }
            }
        }
        return digest
    }

    /// Hashes a `length`-byte message that `fill` writes, putting `words * 4` digest bytes at
    /// `output`. Allocation-free apart from a temporary (stack) buffer for the padded message.
    @inline(__always)
    static func hash(
        length: Int, initial: [UInt32], words: Int, into output: UnsafeMutableRawPointer,
        fill: (UnsafeMutableRawPointer) -> Void
    ) {
        let padded = (length + 9 + 63) & ~63
        withUnsafeTemporaryAllocation(byteCount: padded + 64 * 4 + 8 * 4, alignment: 8) { scratch in
            let message = scratch.baseAddress!
            fill(message)
            message.storeBytes(of: 0x80, toByteOffset: length, as: UInt8.self)
            (message + length + 1).initializeMemory(as: UInt8.self, repeating: 0, count: padded - length - 1)
            let bitLength = UInt64(length) &* 8
            message.storeBytes(of: bitLength.bigEndian, toByteOffset: padded - 8, as: UInt64.self)
            let w = UnsafeMutableBufferPointer(
                start: (message + padded).bindMemory(to: UInt32.self, capacity: 64), count: 64
            )
            let h = UnsafeMutableBufferPointer(
                start: (message + padded + 256).bindMemory(to: UInt32.self, capacity: 8), count: 8
            )
            for i in 0..<8 { h[i] = initial[i] }
            roundConstants.withUnsafeBufferPointer { k in
                for block in stride(from: 0, to: padded, by: 64) {
                    compress(h, k, w, UnsafeRawPointer(message + block))
                }
            }
            for i in 0..<words {
                output.storeBytes(of: h[i].bigEndian, toByteOffset: 4 * i, as: UInt32.self)
            }
        }
    }

    @inline(__always)
    private static func compress(
        _ state: UnsafeMutableBufferPointer<UInt32>, _ k: UnsafeBufferPointer<UInt32>,
        _ w: UnsafeMutableBufferPointer<UInt32>, _ block: UnsafeRawPointer
    ) {
        for i in 0..<16 {
            w[i] = UInt32(bigEndian: block.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))
        }
        for i in 16..<64 {
            let w15 = w[i - 15], w2 = w[i - 2]
            let s0 = rotr(w15, 7) ^ rotr(w15, 18) ^ (w15 >> 3)
            let s1 = rotr(w2, 17) ^ rotr(w2, 19) ^ (w2 >> 10)
            w[i] = w[i - 16] &+ s0 &+ w[i - 7] &+ s1
        }
        var a = state[0], b = state[1], c = state[2], d = state[3]
        var e = state[4], f = state[5], g = state[6], h = state[7]
        // Eight rounds per iteration with the variables rotated by naming rather than moves.
        @inline(__always)
        func round(
            _ a: UInt32, _ b: UInt32, _ c: UInt32, _ d: inout UInt32,
            _ e: UInt32, _ f: UInt32, _ g: UInt32, _ h: inout UInt32, _ i: Int
        ) {
            let t1 = h &+ (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) &+ ((e & f) ^ (~e & g)) &+ k[i] &+ w[i]
            let t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) &+ ((a & b) ^ (a & c) ^ (b & c))
            d = d &+ t1
            h = t1 &+ t2
        }
        var i = 0
        while i < 64 {
            round(a, b, c, &d, e, f, g, &h, i)
            round(h, a, b, &c, d, e, f, &g, i + 1)
            round(g, h, a, &b, c, d, e, &f, i + 2)
            round(f, g, h, &a, b, c, d, &e, i + 3)
            round(e, f, g, &h, a, b, c, &d, i + 4)
            round(d, e, f, &g, h, a, b, &c, i + 5)
            round(c, d, e, &f, g, h, a, &b, i + 6)
            round(b, c, d, &e, f, g, h, &a, i + 7)
            i += 8
        }
        state[0] &+= a
        state[1] &+= b
        state[2] &+= c
        state[3] &+= d
        state[4] &+= e
        state[5] &+= f
        state[6] &+= g
        state[7] &+= h
    }
}

@inline(__always)
private func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 &- n)) }

/// RFC 4648 §5 base64url without padding, as Go's `base64.RawURLEncoding`.
package enum Base64URL {
    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// The length of the encoding of `count` bytes.
    static func encodedLength(_ count: Int) -> Int { (count * 8 + 5) / 6 }

    /// Writes the encoding of `bytes` at `out` (``encodedLength(_:)`` bytes).
    static func encode(_ bytes: UnsafeRawBufferPointer, into out: UnsafeMutablePointer<UInt8>) {
        alphabet.withUnsafeBufferPointer { alphabet in
            var i = 0
            var o = 0
            let count = bytes.count
            while i + 3 <= count {
                let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
                out[o] = alphabet[Int(n >> 18 & 63)]
                out[o + 1] = alphabet[Int(n >> 12 & 63)]
                out[o + 2] = alphabet[Int(n >> 6 & 63)]
                out[o + 3] = alphabet[Int(n & 63)]
                i += 3
                o += 4
            }
            if count - i == 1 {
                let n = UInt32(bytes[i]) << 16
                out[o] = alphabet[Int(n >> 18 & 63)]
                out[o + 1] = alphabet[Int(n >> 12 & 63)]
            } else if count - i == 2 {
                let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
                out[o] = alphabet[Int(n >> 18 & 63)]
                out[o + 1] = alphabet[Int(n >> 12 & 63)]
                out[o + 2] = alphabet[Int(n >> 6 & 63)]
            }
        }
    }

    /// Encodes `bytes` with the URL-safe alphabet and no `=` padding.
    package static func encodeNoPadding(_ bytes: [UInt8]) -> String {
        let length = encodedLength(bytes.count)
        return bytes.withUnsafeBytes { raw in
            String(unsafeUninitializedCapacity: length) { out in
                if length > 0 { encode(raw, into: out.baseAddress!) }
                return length
            }
        }
    }
}
