/// A Calico enumeration spelled in JSON by its exact raw string (`CrossSubnet`, `LoadBalancer`, …).
///
/// Conforming enums decode with an error that names the field and lists every allowed spelling,
/// instead of the generic "cannot initialize" error of `RawRepresentable`.
public protocol CalicoEnum: RawRepresentable<String>, CaseIterable, Codable, Sendable, Hashable {}

extension CalicoEnum {
    /// Decodes the enum from its exact spelling.
    ///
    /// - Throws: `DecodingError.dataCorrupted` naming the allowed values when the spelling is unknown.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let value = Self(rawValue: text) else {
            throw DecodingError.dataCorruptedError(
                in: container,
                debugDescription: "\"\(text)\" is not one of \(Self.allowedSpellings) (case-sensitive)")
        }
        self = value
    }

    /// Encodes the enum as its raw string.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    /// The allowed spellings, comma-separated, for error messages.
    static var allowedSpellings: String { allCases.map(\.rawValue).joined(separator: ", ") }
}
