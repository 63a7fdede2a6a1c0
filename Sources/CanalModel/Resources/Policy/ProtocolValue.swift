/// An IP protocol as Calico v3 writes it: one of the names `TCP`, `UDP`, `ICMP`, `ICMPv6`, `SCTP`,
/// `UDPLite` (case-sensitive), or a protocol number.
///
/// In JSON it is a string or a number. A string of digits (`"6"`) is read as the number, and a
/// number is written as a JSON number, as Calico's `numorstring.Protocol` does. Numbers 1–255 are
/// valid; 0 decodes (as in Calico) but fails validation.
public enum ProtocolValue: Sendable, Hashable, CustomStringConvertible {
    /// `TCP`.
    case tcp
    /// `UDP`.
    case udp
    /// `ICMP` (IPv4 only).
    case icmp
    /// `ICMPv6` (IPv6 only).
    case icmpv6
    /// `SCTP`.
    case sctp
    /// `UDPLite`.
    case udpLite
    /// A protocol given by its number.
    case number(UInt8)

    /// The named protocols, in Calico's order.
    public static let names: [ProtocolValue] = [.tcp, .udp, .icmp, .icmpv6, .sctp, .udpLite]

    /// Parses the text form: a name (case-sensitive) or a decimal number 0–255.
    public init?(_ text: String) {
        if !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            guard let n = UInt8(text) else { return nil }
            self = .number(n)
            return
        }
        guard let named = Self.names.first(where: { $0.description == text }) else { return nil }
        self = named
    }

    /// The name, or the number in decimal.
    public var description: String {
        switch self {
        case .tcp: "TCP"
        case .udp: "UDP"
        case .icmp: "ICMP"
        case .icmpv6: "ICMPv6"
        case .sctp: "SCTP"
        case .udpLite: "UDPLite"
        case .number(let n): String(n)
        }
    }

    /// The IANA protocol number (TCP 6, UDP 17, ICMP 1, ICMPv6 58, SCTP 132, UDPLite 136).
    public var protocolNumber: UInt8 {
        switch self {
        case .tcp: 6
        case .udp: 17
        case .icmp: 1
        case .icmpv6: 58
        case .sctp: 132
        case .udpLite: 136
        case .number(let n): n
        }
    }

    /// Whether the protocol has ports: TCP, UDP and SCTP, by name or number (6, 17, 132).
    public var supportsPorts: Bool {
        switch protocolNumber {
        case 6, 17, 132: true
        default: false
        }
    }

    /// Whether this is ICMP for IPv4, by name or number 1.
    var isICMPv4: Bool { protocolNumber == 1 }
    /// Whether this is ICMPv6, by name or number 58.
    var isICMPv6: Bool { protocolNumber == 58 }

    static let expectation = "one of TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite (case-sensitive) or a number 1-255"
}

extension ProtocolValue: ExpressibleByIntegerLiteral {
    /// A protocol number literal, for example `6`.
    public init(integerLiteral value: UInt8) { self = .number(value) }
}

extension ProtocolValue: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            guard let value = ProtocolValue(text) else {
                throw DecodingError.dataCorruptedError(
                    in: container, debugDescription: "protocol \"\(text)\" is not \(Self.expectation)")
            }
            self = value
            return
        }
        do {
            self = .number(try container.decode(UInt8.self))
        } catch {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "protocol must be a string or a number, \(Self.expectation)")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if case .number(let n) = self {
            try container.encode(n)
        } else {
            try container.encode(description)
        }
    }
}
