/// A reference to a BGP password kept in a Kubernetes secret.
public struct BGPPassword: Codable, Sendable, Hashable {
    /// A key of a secret in calico/node's namespace (Kubernetes `SecretKeySelector`).
    public struct SecretKeyRef: Codable, Sendable, Hashable {
        /// The secret's name.
        public var name: String?
        /// The key within the secret; required.
        public var key: String
        /// Whether the secret or key may be missing.
        public var optional: Bool?

        /// A reference to `key` of secret `name`.
        public init(name: String? = nil, key: String, optional: Bool? = nil) {
            self.name = name
            self.key = key
            self.optional = optional
        }

        private enum CodingKeys: String, CodingKey { case name, key, optional }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decodeNonEmpty(String.self, forKey: .name)
            key = try c.decode(String.self, forKey: .key)
            optional = try c.decodeIfPresent(Bool.self, forKey: .optional)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encodeUnlessZero(name, forKey: .name)
            try c.encode(key, forKey: .key)
            try c.encodeIfPresent(optional, forKey: .optional)
        }
    }

    /// The secret key holding the password.
    public var secretKeyRef: SecretKeyRef?

    /// A password reference.
    public init(secretKeyRef: SecretKeyRef? = nil) { self.secretKeyRef = secretKeyRef }

    func validate(at path: FieldPath, into v: inout Validator) {
        guard let ref = secretKeyRef else { return }
        v.check(!ref.key.isEmpty, path["secretKeyRef"]["key"], "the secret key must not be empty")
    }
}

/// Which "cluster routes" (routes to other nodes' workloads) a component programs;
/// shared by BGPConfiguration (BIRD's side) and FelixConfiguration (Felix's side).
public enum ProgramClusterRoutes: String, CalicoEnum {
    /// Routes for both unencapsulated and IP-in-IP pools.
    case enabled = "Enabled"
    /// No cluster routes.
    case disabled = "Disabled"
    /// Routes for IP-in-IP pools only.
    case enabledIPIPOnly = "EnabledIPIPOnly"
    /// Routes for unencapsulated pools only.
    case enabledNoEncapOnly = "EnabledNoEncapOnly"
}

/// A BGP community value: standard `aa:nn` (two 16-bit numbers) or large `aa:nn:mm` (three 32-bit numbers).
public struct BGPCommunity: Sendable, Hashable, CustomStringConvertible {
    /// The numbers, two for a standard community and three for a large one.
    public let parts: [UInt32]

    /// Parses `aa:nn` or `aa:nn:mm`; nil when the text has another shape or a part is too large.
    public init?(_ text: String) {
        let fields = text.split(separator: ":", omittingEmptySubsequences: false)
        guard fields.count == 2 || fields.count == 3 else { return nil }
        let limit: UInt64 = fields.count == 2 ? 0xFFFF : 0xFFFF_FFFF
        var parts: [UInt32] = []
        for f in fields {
            guard !f.isEmpty, f.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
            guard f.utf8.count <= 20, let n = UInt64(f), n <= limit else { return nil }
            parts.append(UInt32(n))
        }
        self.parts = parts
    }

    /// Whether this is a large community (three parts).
    public var isLarge: Bool { parts.count == 3 }

    /// `aa:nn` or `aa:nn:mm`.
    public var description: String { parts.map(String.init).joined(separator: ":") }

    /// Whether `text` has the shape of a community (digits separated by one or two colons), whatever the sizes.
    static func hasCommunityShape(_ text: String) -> Bool {
        let fields = text.split(separator: ":", omittingEmptySubsequences: false)
        return (fields.count == 2 || fields.count == 3)
            && fields.allSatisfy { !$0.isEmpty && $0.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }
    }
}
