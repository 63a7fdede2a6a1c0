/// A `String`-backed enum whose JSON spelling is exactly its raw value, decoded strictly:
/// an unknown spelling is a decoding error that names the field and lists the allowed values.
///
/// Conforming types forward their `Codable` witnesses to ``decodeStrictly(from:)`` and
/// ``encodeRawValue(to:)`` (a witness of a public protocol must itself be public).
protocol ClosedStringEnum: RawRepresentable, CaseIterable where RawValue == String {}

extension ClosedStringEnum {
    /// The allowed spellings, for messages.
    static var allowedSpellings: String { allCases.map(\.rawValue).joined(separator: ", ") }

    static func decodeStrictly(from decoder: any Decoder) throws -> Self {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let value = Self(rawValue: text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "\"\(text)\" is not one of \(allowedSpellings) (case-sensitive)")
        }
        return value
    }

    func encodeRawValue(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
