/// A named port of a host endpoint, which policy rules can refer to by name.
///
/// All three members are always written, as Calico writes them.
public struct EndpointPort: Sendable, Hashable {
    /// The port name (required): a Kubernetes port name.
    public var name: String
    /// The protocol: TCP, UDP or SCTP.
    public var `protocol`: ProtocolValue
    /// The port number, 1–65535.
    public var port: UInt16

    /// A named port.
    public init(name: String, protocol: ProtocolValue, port: UInt16) {
        self.name = name
        self.protocol = `protocol`
        self.port = port
    }
}

extension EndpointPort: Codable {
    private enum CodingKeys: String, CodingKey { case name, `protocol`, port }

    public init(from decoder: any Decoder) throws {
        // Missing members take Go's zero values; validation then names them.
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? ""
        `protocol` = try c.decodeIfPresent(ProtocolValue.self, forKey: .protocol) ?? .number(0)
        port = try c.decodeIfPresent(UInt16.self, forKey: .port) ?? 0
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(`protocol`, forKey: .protocol)
        try c.encode(port, forKey: .port)
    }
}

/// Checks shared by endpoint ports.
enum EndpointPortRules {
    /// The protocol must be valid and have ports (TCP, UDP, SCTP or 6, 17, 132).
    static func portProtocol(_ p: ProtocolValue, at path: FieldPath, into v: inout Validator) {
        if case .number(0) = p {
            v.report(path, "protocol number 0 is not valid: use TCP, UDP or SCTP")
        } else if !p.supportsPorts {
            v.report(path, "protocol \(p) does not support ports: use TCP, UDP or SCTP")
        }
    }
}
