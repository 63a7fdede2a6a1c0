/// A BGP autonomous system number: a 32-bit unsigned integer.
///
/// Manifests may give it as a JSON number (`64512`), as a decimal string (`"64512"`) or in dotted
/// "asdot" form (`"1.10"`, meaning 1 × 65536 + 10, each half at most 65535). Canal writes it as
/// a JSON number, as Calico does.
public struct ASNumber: RawRepresentable, Sendable, Hashable, Comparable, Codable,
    ExpressibleByIntegerLiteral, LosslessStringConvertible
{
    /// The number.
    public var rawValue: UInt32

    /// An AS number from its value.
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// An AS number from its value.
    public init(_ value: UInt32) { rawValue = value }

    /// An AS number from an integer literal.
    public init(integerLiteral value: UInt32) { rawValue = value }

    /// An AS number from text: a decimal number (`4200000000`) or the dotted form `hi.lo`
    /// (each part a decimal number at most 65535); nil for anything else.
    public init?(_ text: String) {
        if let v = Self.decimal(text, max: UInt64(UInt32.max)) {
            rawValue = UInt32(v)
            return
        }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2,
            let hi = Self.decimal(parts[0], max: 0xFFFF),
            let lo = Self.decimal(parts[1], max: 0xFFFF)
        else { return nil }
        rawValue = UInt32(hi << 16 | lo)
    }

    /// The decimal form, `64512`.
    public var description: String { String(rawValue) }

    /// The dotted "asdot" form, `hi.lo` (for example `0.64512` or `1.10`).
    public var dotted: String { "\(rawValue >> 16).\(rawValue & 0xFFFF)" }

    public static func < (lhs: ASNumber, rhs: ASNumber) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Decodes a JSON number or a string in decimal or dotted form.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let text = try? c.decode(String.self) {
            guard let v = ASNumber(text) else {
                throw DecodingError.dataCorruptedError(
                    in: c, debugDescription: "invalid AS number \"\(text)\": expected a number up to 4294967295 or the dotted form hi.lo")
            }
            self = v
            return
        }
        do {
            rawValue = try c.decode(UInt32.self)
        } catch {
            throw DecodingError.dataCorruptedError(
                in: c, debugDescription: "invalid AS number: expected a number from 0 to 4294967295 or a string in the form hi.lo")
        }
    }

    /// Encodes the number as a JSON number.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }

    /// The value of an all-digits decimal string, if it is at most `max`.
    private static func decimal(_ text: some StringProtocol, max: UInt64) -> UInt64? {
        guard !text.isEmpty, text.utf8.count <= 20, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        guard let v = UInt64(text), v <= max else { return nil }
        return v
    }
}
