/// A port match of a rule: a single port, a range `min:max`, or the name of an endpoint's named port.
///
/// In JSON it is a number or a string (`80`, `"80"`, `"1000:2000"`, `"http"`); it is written as a
/// number for a single port, `"min:max"` for a range and the name for a named port, as Calico's
/// `numorstring.Port` does.
public struct Port: Sendable, Hashable, CustomStringConvertible {
    /// The first port of the range (0 for a named port).
    public var minPort: UInt16
    /// The last port of the range (0 for a named port).
    public var maxPort: UInt16
    /// The port name, for a named port; empty otherwise.
    public var name: String

    /// A port from its parts, unchecked; ``validate(at:into:)`` reports inconsistent parts.
    public init(minPort: UInt16, maxPort: UInt16, name: String = "") {
        self.minPort = minPort
        self.maxPort = maxPort
        self.name = name
    }

    /// A single port.
    public static func single(_ port: UInt16) -> Port { Port(minPort: port, maxPort: port) }

    /// A range of ports, both ends included.
    public static func range(_ min: UInt16, _ max: UInt16) -> Port { Port(minPort: min, maxPort: max) }

    /// A named port.
    public static func named(_ name: String) -> Port { Port(minPort: 0, maxPort: 0, name: name) }

    /// Whether this is a named port.
    public var isNamed: Bool { !name.isEmpty }

    /// Parses the text form: digits (a single port), `digits:digits` (a range, min ≤ max), or a name
    /// of 1–128 characters from `[a-zA-Z0-9_.-]`.
    public init?(_ text: String) {
        guard case .success(let port) = Port.parse(text) else { return nil }
        self = port
    }

    /// Parses the text form, explaining a failure.
    static func parse(_ text: String) -> Result<Port, PortParseError> {
        func isDigits(_ s: Substring) -> Bool { !s.isEmpty && s.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }
        if isDigits(text[...]) {
            guard let n = UInt16(text) else { return .failure(PortParseError("invalid port format (\(text))")) }
            return .success(.single(n))
        }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        if parts.count == 2, isDigits(parts[0]), isDigits(parts[1]) {
            guard let lo = UInt16(parts[0]) else {
                return .failure(PortParseError("invalid minimum port number in range (\(text))"))
            }
            guard let hi = UInt16(parts[1]) else {
                return .failure(PortParseError("invalid maximum port number in range (\(text))"))
            }
            guard lo <= hi else {
                return .failure(PortParseError(
                    "minimum port number (\(lo)) is greater than maximum port number (\(hi)) in port range"))
            }
            return .success(.range(lo, hi))
        }
        guard Port.isValidNameSyntax(text) else {
            return .failure(PortParseError(
                "invalid port \"\(text)\": expected a number, a range \"min:max\" or a name of 1-128 characters from [a-zA-Z0-9_.-]"))
        }
        return .success(.named(text))
    }

    /// `^[a-zA-Z0-9_.-]{1,128}$`.
    static func isValidNameSyntax(_ s: String) -> Bool {
        let u = s.utf8
        guard (1...128).contains(u.count) else { return false }
        return u.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
                || c == 0x5F || c == 0x2E || c == 0x2D
        }
    }

    /// The text form: the name, the single port, or `min:max`.
    public var description: String {
        if isNamed { return name }
        if minPort == maxPort { return String(minPort) }
        return "\(minPort):\(maxPort)"
    }
}

/// Why a port's text did not parse.
struct PortParseError: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

extension Port: ExpressibleByIntegerLiteral {
    /// A single port literal, for example `80`.
    public init(integerLiteral value: UInt16) { self = .single(value) }
}

extension Port: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            switch Port.parse(text) {
            case .success(let port): self = port
            case .failure(let error):
                throw DecodingError.dataCorruptedError(in: container, debugDescription: error.message)
            }
            return
        }
        do {
            self = .single(try container.decode(UInt16.self))
        } catch {
            throw DecodingError.dataCorruptedError(
                in: container,
                debugDescription: "port must be a number 0-65535 or a string (\"80\", \"1000:2000\" or a port name)")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if !isNamed, minPort == maxPort {
            try container.encode(minPort)
        } else {
            try container.encode(description)
        }
    }
}
