/// An IPv4 or IPv6 address.
///
/// Parsing and printing follow Go's `net` package, which Calico uses: dotted-quad IPv4 without leading
/// zeros, IPv6 in any RFC 4291 form (printed per RFC 5952), and an IPv4-mapped IPv6 address
/// (`::ffff:a.b.c.d`) is an IPv4 address, as Calico treats it.
public struct IPAddress: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The address family.
    public enum Family: Int, Sendable, Hashable, Codable, CustomStringConvertible {
        case v4 = 4
        case v6 = 6

        /// The number of bits in an address of this family.
        public var bitCount: Int { self == .v4 ? 32 : 128 }

        public var description: String { self == .v4 ? "IPv4" : "IPv6" }
    }

    /// The family.
    public let family: Family
    /// The address as an unsigned integer (IPv4 in the low 32 bits).
    public let value: UInt128

    /// An address from its integer value; the value is truncated to the family's width.
    public init(family: Family, value: UInt128) {
        self.family = family
        self.value = family == .v4 ? value & 0xFFFF_FFFF : value
    }

    /// An address from its bytes (4 or 16, network order); IPv4-mapped 16-byte forms become IPv4.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        var v: UInt128 = 0
        for b in bytes { v = v << 8 | UInt128(b) }
        if bytes.count == 4 {
            self.init(family: .v4, value: v)
        } else if v >> 32 == 0xFFFF {
            self.init(family: .v4, value: v & 0xFFFF_FFFF)
        } else {
            self.init(family: .v6, value: v)
        }
    }

    /// Parses an address; nil when the text is not one.
    public init?(_ text: some StringProtocol) {
        self.init(utf8: Array(text.utf8)[...])
    }

    /// Parses an address from its UTF-8 bytes.
    init?(utf8: ArraySlice<UInt8>) {
        if utf8.contains(UInt8(ascii: ":")) {
            guard let v = IPAddress.parseV6(utf8) else { return nil }
            if v >> 32 == 0xFFFF {
                self.init(family: .v4, value: v & 0xFFFF_FFFF)
            } else {
                self.init(family: .v6, value: v)
            }
        } else {
            guard let v = IPAddress.parseV4(utf8) else { return nil }
            self.init(family: .v4, value: UInt128(v))
        }
    }

    /// The bytes in network order: 4 for IPv4, 16 for IPv6.
    public var bytes: [UInt8] {
        let n = family == .v4 ? 4 : 16
        return (0..<n).map { UInt8(truncatingIfNeeded: value >> UInt128(8 * (n - 1 - $0))) }
    }

    public var description: String {
        family == .v4 ? IPAddress.formatV4(UInt32(truncatingIfNeeded: value)) : IPAddress.formatV6(value)
    }

    /// IPv4 addresses sort before IPv6 ones; within a family, by value.
    public static func < (lhs: IPAddress, rhs: IPAddress) -> Bool {
        if lhs.family != rhs.family { return lhs.family == .v4 }
        return lhs.value < rhs.value
    }

    /// The address `offset` places after this one, or nil past the end of the family's space.
    public func advanced(by offset: UInt128) -> IPAddress? {
        let (sum, overflow) = value.addingReportingOverflow(offset)
        if overflow || (family == .v4 && sum > 0xFFFF_FFFF) { return nil }
        return IPAddress(family: family, value: sum)
    }

    // MARK: parsing

    static func parseV4(_ s: ArraySlice<UInt8>) -> UInt32? {
        var result: UInt32 = 0
        var parts = 0
        var i = s.startIndex
        while parts < 4 {
            let start = i
            var octet: UInt32 = 0
            while i < s.endIndex, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(s[i]) {
                octet = octet * 10 + UInt32(s[i] - UInt8(ascii: "0"))
                if octet > 255 || i - start >= 3 { return nil }
                i += 1
            }
            let len = i - start
            if len == 0 || (len > 1 && s[start] == UInt8(ascii: "0")) { return nil }
            result = result << 8 | octet
            parts += 1
            if parts < 4 {
                guard i < s.endIndex, s[i] == UInt8(ascii: ".") else { return nil }
                i += 1
            }
        }
        return i == s.endIndex ? result : nil
    }

    static func parseV6(_ s: ArraySlice<UInt8>) -> UInt128? {
        var groups: [UInt16] = []
        var ellipsis: Int? = nil
        var i = s.startIndex
        if s.count >= 2, s[i] == UInt8(ascii: ":"), s[i + 1] == UInt8(ascii: ":") {
            ellipsis = 0
            i += 2
            if i == s.endIndex { return 0 }
        }
        while i < s.endIndex {
            // An embedded IPv4 address in the last 32 bits.
            if let dot = s[i...].firstIndex(of: UInt8(ascii: ".")),
               !s[i..<dot].contains(UInt8(ascii: ":"))
            {
                guard groups.count <= 6, let v4 = parseV4(s[i...]) else { return nil }
                groups.append(UInt16(v4 >> 16))
                groups.append(UInt16(v4 & 0xFFFF))
                i = s.endIndex
                break
            }
            var g: UInt32 = 0
            let start = i
            while i < s.endIndex, let d = hexDigit(s[i]) {
                g = g << 4 | d
                i += 1
                if i - start > 4 { return nil }
            }
            if i == start { return nil }
            groups.append(UInt16(g))
            if groups.count > 8 { return nil }
            if i == s.endIndex { break }
            guard s[i] == UInt8(ascii: ":") else { return nil }
            i += 1
            if i < s.endIndex, s[i] == UInt8(ascii: ":") {
                if ellipsis != nil { return nil }
                ellipsis = groups.count
                i += 1
                if i == s.endIndex { break }
            } else if i == s.endIndex {
                return nil  // trailing single colon
            }
        }
        if let e = ellipsis {
            guard groups.count < 8 else { return nil }
            let fill = [UInt16](repeating: 0, count: 8 - groups.count)
            groups.insert(contentsOf: fill, at: e)
        }
        guard groups.count == 8 else { return nil }
        return groups.reduce(UInt128(0)) { $0 << 16 | UInt128($1) }
    }

    private static func hexDigit(_ b: UInt8) -> UInt32? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(b - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(b - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(b - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    // MARK: printing

    static func formatV4(_ v: UInt32) -> String {
        "\(v >> 24).\(v >> 16 & 0xFF).\(v >> 8 & 0xFF).\(v & 0xFF)"
    }

    static func formatV6(_ v: UInt128) -> String {
        let groups = (0..<8).map { UInt16(truncatingIfNeeded: v >> UInt128(16 * (7 - $0))) }
        // The longest run of two or more zero groups becomes "::" (the first one on a tie).
        var bestStart = -1, bestLen = 0, runStart = -1
        for k in 0...8 {
            if k < 8, groups[k] == 0 {
                if runStart < 0 { runStart = k }
            } else if runStart >= 0 {
                if k - runStart > bestLen { bestStart = runStart; bestLen = k - runStart }
                runStart = -1
            }
        }
        if bestLen < 2 { bestStart = -1 }
        var out = ""
        var k = 0
        while k < 8 {
            if k == bestStart {
                out += "::"
                k += bestLen
                continue
            }
            if !out.isEmpty, !out.hasSuffix(":") { out += ":" }
            out += String(groups[k], radix: 16)
            k += 1
        }
        return out
    }
}

extension IPAddress: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let s = try c.decode(String.self)
        guard let ip = IPAddress(s) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "\"\(s)\" is not a valid IP address")
        }
        self = ip
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
