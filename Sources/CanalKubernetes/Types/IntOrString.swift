/// Kubernetes' `intstr.IntOrString`: a port given as a number or as a name.
public enum IntOrString: Sendable, Hashable, CustomStringConvertible {
    case int(Int)
    case string(String)

    public var description: String {
        switch self {
        case .int(let n): String(n)
        case .string(let s): s
        }
    }
}

extension IntOrString: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let s = try? c.decode(String.self) {
            self = .string(s)
            return
        }
        do {
            self = .int(try c.decode(Int.self))
        } catch {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "expected a port number or a port name")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .int(let n): try c.encode(n)
        case .string(let s): try c.encode(s)
        }
    }
}
