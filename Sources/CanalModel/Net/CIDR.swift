/// An address with a prefix length, as written (`10.0.0.5/24`) — Go's `net.ParseCIDR` in one value.
///
/// ``address`` is kept as written; ``network`` is the masked form. Calico requires pools and rule nets
/// to be strictly masked (``isMasked``) but accepts unmasked forms elsewhere (a node's BGP address).
public struct CIDR: Sendable, Hashable, CustomStringConvertible {
    /// The address as written.
    public let address: IPAddress
    /// The prefix length (0…32 or 0…128).
    public let prefixLength: Int

    /// A CIDR from its parts; nil when the prefix is out of range for the family.
    public init?(address: IPAddress, prefixLength: Int) {
        guard prefixLength >= 0, prefixLength <= address.family.bitCount else { return nil }
        self.address = address
        self.prefixLength = prefixLength
    }

    /// Parses `address/prefix`; nil when the text is not one.
    public init?(_ text: some StringProtocol) {
        guard let (ip, len) = Self.parse(Array(text.utf8)) else { return nil }
        self.init(address: ip, prefixLength: len)
    }

    /// Parses a CIDR, or a bare address as a single-address CIDR (/32 or /128).
    public init?(ipOrCIDR text: some StringProtocol) {
        let utf8 = Array(text.utf8)
        if utf8.contains(UInt8(ascii: "/")) {
            guard let (ip, len) = Self.parse(utf8) else { return nil }
            self.init(address: ip, prefixLength: len)
        } else {
            guard let ip = IPAddress(utf8: utf8[...]) else { return nil }
            self.init(address: ip, prefixLength: ip.family.bitCount)
        }
    }

    /// `address/prefix` from UTF-8 bytes (a `/` or a digit never occurs inside a multi-byte
    /// character); the prefix is not range-checked yet.
    private static func parse(_ utf8: [UInt8]) -> (IPAddress, Int)? {
        guard let slash = utf8.firstIndex(of: UInt8(ascii: "/")) else { return nil }
        var len = 0, count = 0
        for byte in utf8[(slash + 1)...] {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), count < 3 else { return nil }
            len = len * 10 + Int(byte - UInt8(ascii: "0"))
            count += 1
        }
        guard count > 0, let ip = IPAddress(utf8: utf8[..<slash]) else { return nil }
        return (ip, len)
    }

    /// The family.
    public var family: IPAddress.Family { address.family }

    /// The netmask as an integer of the family's width.
    var mask: UInt128 {
        let bits = family.bitCount
        if prefixLength == 0 { return 0 }
        let all: UInt128 = bits == 32 ? 0xFFFF_FFFF : .max
        return (all << UInt128(bits - prefixLength)) & all
    }

    /// The masked form: `10.0.0.0/24` for `10.0.0.5/24`.
    public var network: CIDR {
        CIDR(masked: IPAddress(family: family, value: address.value & mask), prefixLength)
    }

    private init(masked: IPAddress, _ len: Int) {
        address = masked
        prefixLength = len
    }

    /// Whether the address has no bits set past the prefix.
    public var isMasked: Bool { address.value & ~mask == 0 }

    /// The first address of the network.
    public var firstAddress: IPAddress { network.address }

    /// The last address of the network.
    public var lastAddress: IPAddress {
        let hostMask = ~mask & (family == .v4 ? 0xFFFF_FFFF : .max)
        return IPAddress(family: family, value: network.address.value | hostMask)
    }

    /// How many addresses the network holds; saturates at `UInt128.max` for `::/0`.
    public var size: UInt128 {
        let hostBits = family.bitCount - prefixLength
        return hostBits >= 128 ? .max : UInt128(1) << UInt128(hostBits)
    }

    /// Whether the network contains the address.
    public func contains(_ ip: IPAddress) -> Bool {
        ip.family == family && ip.value & mask == address.value & mask
    }

    /// Whether the network contains the whole of another network.
    public func contains(_ other: CIDR) -> Bool {
        other.family == family && other.prefixLength >= prefixLength && contains(other.address)
    }

    /// Whether the two networks share any address.
    public func overlaps(_ other: CIDR) -> Bool {
        other.family == family && (contains(other.address) || other.contains(address))
    }

    /// The address at `offset` from the network's first address, or nil past its end.
    public func address(at offset: UInt128) -> IPAddress? {
        guard offset < size || size == .max else { return nil }
        return firstAddress.advanced(by: offset)
    }

    /// The offset of an address from the network's first address, or nil when outside.
    public func offset(of ip: IPAddress) -> UInt128? {
        contains(ip) ? ip.value - firstAddress.value : nil
    }

    /// The subnets of a longer prefix that make up this network, in order.
    ///
    /// Empty when `prefixLength` is shorter than this network's or longer than the family allows.
    public func subnets(prefixLength newLength: Int) -> Subnets {
        Subnets(parent: network, length: newLength)
    }

    /// The subnets of a network, lazily, in address order.
    public struct Subnets: Sequence, Sendable {
        let parent: CIDR
        let length: Int

        /// How many subnets there are, saturating at `UInt128.max`.
        public var count: UInt128 {
            guard length >= parent.prefixLength, length <= parent.family.bitCount else { return 0 }
            let bits = length - parent.prefixLength
            return bits >= 128 ? .max : UInt128(1) << UInt128(bits)
        }

        public func makeIterator() -> Iterator {
            Iterator(subnets: self, index: 0)
        }

        /// Iterates the subnets.
        public struct Iterator: IteratorProtocol, Sendable {
            let subnets: Subnets
            var index: UInt128
            var done = false

            public mutating func next() -> CIDR? {
                guard !done else { return nil }
                let total = subnets.count
                if total == 0 { done = true; return nil }
                let step = UInt128(1) << UInt128(subnets.parent.family.bitCount - subnets.length)
                let value = subnets.parent.address.value + index * step
                let (n, overflow) = index.addingReportingOverflow(1)
                if overflow || n == total { done = true }
                index = n
                return CIDR(masked: IPAddress(family: subnets.parent.family, value: value), subnets.length)
            }
        }
    }

    /// `address/prefix`, the address as written.
    public var description: String { "\(address)/\(prefixLength)" }
}

extension CIDR: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let s = try c.decode(String.self)
        guard let cidr = CIDR(s) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "\"\(s)\" is not a valid CIDR")
        }
        self = cidr
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
