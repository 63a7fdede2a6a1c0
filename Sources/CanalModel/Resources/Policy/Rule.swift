/// A policy or profile rule: match criteria and the action for matching traffic.
///
/// Every positive criterion has a negated twin (`notProtocol`, `notICMP`, `notNets`, …); all the
/// criteria given must match. Members are written in Calico's order, and an empty `source` or
/// `destination` is omitted, as Calico omits it.
public struct Rule: Sendable, Hashable {
    /// What to do with matching traffic (required).
    public var action: Action
    /// Restrict the rule to IPv4 (4) or IPv6 (6).
    public var ipVersion: Int?
    /// Match this IP protocol.
    public var `protocol`: ProtocolValue?
    /// Match this ICMP type and code; requires protocol ICMP or ICMPv6.
    public var icmp: ICMPFields?
    /// Match any protocol but this one.
    public var notProtocol: ProtocolValue?
    /// Match any ICMP type and code but these.
    public var notICMP: ICMPFields?
    /// Criteria for the source.
    public var source: EntityRule
    /// Criteria for the destination.
    public var destination: EntityRule
    /// Criteria for HTTP requests (application layer policy).
    public var http: HTTPMatch?
    /// Annotations passed through to the dataplane.
    public var metadata: RuleMetadata?

    /// A rule from its parts.
    public init(
        action: Action, ipVersion: Int? = nil, protocol: ProtocolValue? = nil, icmp: ICMPFields? = nil,
        notProtocol: ProtocolValue? = nil, notICMP: ICMPFields? = nil,
        source: EntityRule = EntityRule(), destination: EntityRule = EntityRule(),
        http: HTTPMatch? = nil, metadata: RuleMetadata? = nil
    ) {
        self.action = action
        self.ipVersion = ipVersion
        self.protocol = `protocol`
        self.icmp = icmp
        self.notProtocol = notProtocol
        self.notICMP = notICMP
        self.source = source
        self.destination = destination
        self.http = http
        self.metadata = metadata
    }
}

extension Rule: Codable {
    private enum CodingKeys: String, CodingKey {
        case action, ipVersion, `protocol`, icmp, notProtocol, notICMP, source, destination, http, metadata
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        action = try c.decode(Action.self, forKey: .action)
        ipVersion = try c.decodeIfPresent(Int.self, forKey: .ipVersion)
        `protocol` = try c.decodeIfPresent(ProtocolValue.self, forKey: .protocol)
        icmp = try c.decodeIfPresent(ICMPFields.self, forKey: .icmp)
        notProtocol = try c.decodeIfPresent(ProtocolValue.self, forKey: .notProtocol)
        notICMP = try c.decodeIfPresent(ICMPFields.self, forKey: .notICMP)
        source = try c.decodeIfPresent(EntityRule.self, forKey: .source) ?? EntityRule()
        destination = try c.decodeIfPresent(EntityRule.self, forKey: .destination) ?? EntityRule()
        http = try c.decodeIfPresent(HTTPMatch.self, forKey: .http)
        metadata = try c.decodeIfPresent(RuleMetadata.self, forKey: .metadata)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(action, forKey: .action)
        try c.encodeIfPresent(ipVersion, forKey: .ipVersion)
        try c.encodeIfPresent(`protocol`, forKey: .protocol)
        try c.encodeIfPresent(icmp, forKey: .icmp)
        try c.encodeIfPresent(notProtocol, forKey: .notProtocol)
        try c.encodeIfPresent(notICMP, forKey: .notICMP)
        if !source.isEmpty { try c.encode(source, forKey: .source) }
        if !destination.isEmpty { try c.encode(destination, forKey: .destination) }
        try c.encodeIfPresent(http, forKey: .http)
        try c.encodeIfPresent(metadata, forKey: .metadata)
    }
}

/// An ICMP type and code to match.
public struct ICMPFields: Codable, Sendable, Hashable {
    /// The ICMP type, 0–254 (for example 8, echo request).
    public var type: Int?
    /// The ICMP code, 0–255; requires `type`.
    public var code: Int?

    /// ICMP match fields.
    public init(type: Int? = nil, code: Int? = nil) {
        self.type = type
        self.code = code
    }
}

/// HTTP request criteria; methods and paths are ANDed, the entries of each are ORed.
public struct HTTPMatch: Codable, Sendable, Hashable {
    /// HTTP methods (`GET`, `PUT`, …), at most 20, no duplicates.
    public var methods: [String]?
    /// Paths, at most 20, each exact or a prefix.
    public var paths: [HTTPPath]?

    /// An HTTP match.
    public init(methods: [String]? = nil, paths: [HTTPPath]? = nil) {
        self.methods = methods
        self.paths = paths
    }
}

/// One HTTP path to match: exactly one of `exact` or `prefix`.
public struct HTTPPath: Codable, Sendable, Hashable {
    /// Match this path exactly.
    public var exact: String?
    /// Match paths starting with this prefix.
    public var prefix: String?

    /// An HTTP path match.
    public init(exact: String? = nil, prefix: String? = nil) {
        self.exact = exact
        self.prefix = prefix
    }
}

/// Extra information attached to a rule.
public struct RuleMetadata: Codable, Sendable, Hashable {
    /// Free-form annotations, passed to the dataplane.
    public var annotations: [String: String]?

    /// Rule metadata.
    public init(annotations: [String: String]? = nil) { self.annotations = annotations }
}
