/// The spec of a WorkloadEndpoint: one interface of a pod, container or VM.
///
/// The resource's name is derived from the spec (see ``derivedName()``).
public struct WorkloadEndpointSpec: ResourceSpec {
    public static var kind: ResourceKind { .workloadEndpoint }

    /// The orchestrator (`k8s`, `cni`, `libnetwork`, or another).
    public var orchestrator: String?
    /// The workload's name (orchestrators other than k8s, cni and libnetwork).
    public var workload: String?
    /// The node the workload runs on.
    public var node: String?
    /// The container's id (cni).
    public var containerID: String?
    /// The pod's name (k8s).
    public var pod: String?
    /// The endpoint's name within the workload (for example `eth0`).
    public var endpoint: String?
    /// The pod's service account.
    public var serviceAccountName: String?
    /// The endpoint's addresses, each a single address (`/32`, `/128` or a bare address).
    public var ipNetworks: [String]?
    /// One-to-one NAT mappings to the endpoint's addresses.
    public var ipNATs: [IPNAT]?
    /// The IPv4 gateway of the endpoint.
    public var ipv4Gateway: String?
    /// The IPv6 gateway of the endpoint.
    public var ipv6Gateway: String?
    /// Profiles applied after policy, in order.
    public var profiles: [String]?
    /// The host-side interface name (required): `*` or 1–15 of `[a-zA-Z0-9_.-]`.
    public var interfaceName: String?
    /// The interface's MAC address.
    public var mac: String?
    /// Named ports and host ports.
    public var ports: [WorkloadEndpointPort]?
    /// Source prefixes the endpoint may send from besides its own addresses.
    public var allowSpoofedSourcePrefixes: [String]?
    /// Bandwidth, packet rate, connection and DSCP controls.
    public var qosControls: QoSControls?

    /// A workload endpoint spec from its parts.
    public init(
        orchestrator: String? = nil, workload: String? = nil, node: String? = nil, containerID: String? = nil,
        pod: String? = nil, endpoint: String? = nil, serviceAccountName: String? = nil,
        ipNetworks: [String]? = nil, ipNATs: [IPNAT]? = nil, ipv4Gateway: String? = nil,
        ipv6Gateway: String? = nil, profiles: [String]? = nil, interfaceName: String? = nil,
        mac: String? = nil, ports: [WorkloadEndpointPort]? = nil, allowSpoofedSourcePrefixes: [String]? = nil,
        qosControls: QoSControls? = nil
    ) {
        self.orchestrator = orchestrator
        self.workload = workload
        self.node = node
        self.containerID = containerID
        self.pod = pod
        self.endpoint = endpoint
        self.serviceAccountName = serviceAccountName
        self.ipNetworks = ipNetworks
        self.ipNATs = ipNATs
        self.ipv4Gateway = ipv4Gateway
        self.ipv6Gateway = ipv6Gateway
        self.profiles = profiles
        self.interfaceName = interfaceName
        self.mac = mac
        self.ports = ports
        self.allowSpoofedSourcePrefixes = allowSpoofedSourcePrefixes
        self.qosControls = qosControls
    }

    /// Fills an empty name with ``derivedName()`` (when the spec has the fields it needs) and sets
    /// the labels Calico's client stores with every workload endpoint (see
    /// ``Resource/setWorkloadEndpointLabels()``).
    public static func applyDefaults(to resource: inout Resource<Self>) {
        if resource.metadata.name?.isEmpty ?? true, case .success(let name) = resource.spec.nameDerivation() {
            resource.metadata.name = name
        }
        resource.setWorkloadEndpointLabels()
    }

    /// Every field rule of Calico's validator, and the rule that a set name equals ``derivedName()``.
    public static func validate(_ resource: Resource<Self>, into v: inout Validator) {
        let spec = resource.spec
        let s: FieldPath = "spec"
        for (key, value) in [
            ("orchestrator", spec.orchestrator), ("workload", spec.workload), ("node", spec.node),
            ("pod", spec.pod), ("endpoint", spec.endpoint), ("serviceAccountName", spec.serviceAccountName),
        ] {
            if let value, !value.isEmpty { v.name(value, at: s[key]) }
        }
        if let id = spec.containerID, !id.isEmpty, !isContainerID(id) {
            v.report(s["containerID"], "\"\(id)\" is not a valid container id: letters, digits and '-', starting and ending with a letter or digit")
        }

        var networks: [CIDR] = []
        for (i, text) in (spec.ipNetworks ?? []).enumerated() {
            let path = s["ipNetworks"][i]
            guard let cidr = CIDR(ipOrCIDR: text) else {
                v.report(path, "\"\(text)\" is not a valid IP address or CIDR")
                continue
            }
            if cidr.prefixLength != cidr.family.bitCount {
                v.report(path, "IP network \(text) contains multiple addresses: use a /\(cidr.family.bitCount) or a bare address")
            }
            networks.append(cidr)
        }
        for (i, nat) in (spec.ipNATs ?? []).enumerated() {
            let path = s["ipNATs"][i]
            let internalIP = v.ip(nat.internalIP, at: path["internalIP"])
            let externalIP = v.ip(nat.externalIP, at: path["externalIP"])
            if let internalIP, let externalIP, internalIP.family != externalIP.family {
                v.report(path["externalIP"], "mismatched IP versions: internalIP is \(internalIP.family), externalIP is \(externalIP.family)")
            }
            if let internalIP, !networks.contains(where: { $0.contains(internalIP) }) {
                v.report(path["internalIP"], "NAT internal IP \(internalIP) is not in the endpoint's ipNetworks")
            }
        }
        gateway(spec.ipv4Gateway, family: .v4, at: s["ipv4Gateway"], into: &v)
        gateway(spec.ipv6Gateway, family: .v6, at: s["ipv6Gateway"], into: &v)
        for (i, p) in (spec.profiles ?? []).enumerated() { v.name(p, at: s["profiles"][i]) }
        if let name = spec.interfaceName, !name.isEmpty {
            v.interfaceName(name, at: s["interfaceName"])
        } else {
            v.report(s["interfaceName"], "interfaceName is required")
        }
        if let mac = spec.mac, !mac.isEmpty, !isMAC(mac) {
            v.report(s["mac"], "\"\(mac)\" is not a valid MAC address")
        }
        for (i, port) in (spec.ports ?? []).enumerated() {
            port.validate(at: s["ports"][i], into: &v)
        }
        for (i, text) in (spec.allowSpoofedSourcePrefixes ?? []).enumerated() {
            v.ipOrCIDR(text, at: s["allowSpoofedSourcePrefixes"][i])
        }
        if let dscp = spec.qosControls?.dscp { dscp.validate(at: s["qosControls"]["dscp"], into: &v) }

        switch spec.nameDerivation() {
        case .success(let expected):
            if let name = resource.metadata.name, !name.isEmpty, name != expected {
                v.report("metadata.name", "the WorkloadEndpoint name does not match the primary identifiers assigned in the spec: expected name \(expected)")
            }
        case .failure(let problems):
            for problem in problems.errors { v.report(problem.path, problem.message) }
        }
    }

    private static func gateway(_ text: String?, family: IPAddress.Family, at path: FieldPath, into v: inout Validator) {
        guard let text, !text.isEmpty, let ip = v.ip(text, at: path) else { return }
        if ip.family != family { v.report(path, "invalid \(family) gateway address \(text)") }
    }

    /// `[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?`.
    static func isContainerID(_ s: String) -> Bool {
        let u = Array(s.utf8)
        func alnum(_ c: UInt8) -> Bool { (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) }
        guard let first = u.first, let last = u.last, alnum(first), alnum(last) else { return false }
        return u.allSatisfy { alnum($0) || $0 == 0x2D }
    }

    /// A MAC address as Go's `net.ParseMAC` reads it: 6, 8 or 20 octets written as hex pairs
    /// separated by `:` or `-`, or as groups of four hex digits separated by `.`.
    static func isMAC(_ s: String) -> Bool {
        func hex(_ part: Substring, length: Int) -> Bool {
            part.count == length && part.allSatisfy(\.isHexDigit)
        }
        let validCounts: Set<Int> = [6, 8, 20]
        for sep: Character in [":", "-"] where s.contains(sep) {
            let parts = s.split(separator: sep, omittingEmptySubsequences: false)
            return validCounts.contains(parts.count) && parts.allSatisfy { hex($0, length: 2) }
        }
        let groups = s.split(separator: ".", omittingEmptySubsequences: false)
        return validCounts.contains(groups.count * 2) && groups.allSatisfy { hex($0, length: 4) }
    }
}

extension WorkloadEndpointSpec {
    /// The name Calico requires for this endpoint: `<node>-<orchestrator>-<X>-<endpoint>`, where X
    /// is the pod (`k8s`), the container id (`cni`), the literal `libnetwork` (`libnetwork`) or the
    /// workload (any other orchestrator), and every `-` inside a part is doubled.
    ///
    /// - Throws: ``ModelError`` (``ModelError/Code/invalid``) naming each missing part, or a part
    ///   that starts or ends with `-`.
    public func derivedName() throws(ModelError) -> String {
        switch nameDerivation() {
        case .success(let name): return name
        case .failure(let problems):
            throw ModelError(.invalid, "cannot derive the WorkloadEndpoint name", fieldErrors: problems.errors)
        }
    }

    struct NameProblems: Error {
        var errors: [FieldError]
    }

    func nameDerivation() -> Result<String, NameProblems> {
        let node = ("node", self.node ?? "")
        let orch = ("orchestrator", orchestrator ?? "")
        if node.1.isEmpty {
            return .failure(NameProblems(errors: [FieldError(FieldPath("spec.node"), "node must be set to derive the WorkloadEndpoint name")]))
        }
        let third: (String, String) = switch orch.1 {
        case "k8s": ("pod", pod ?? "")
        case "cni": ("containerID", containerID ?? "")
        case "libnetwork": orch
        default: ("workload", workload ?? "")
        }
        var parts: [String] = []
        var errors: [FieldError] = []
        for (field, value) in [node, orch, third, ("endpoint", endpoint ?? "")] {
            let path = FieldPath("spec")[field]
            if value.isEmpty {
                errors.append(FieldError(path, "\(field) must be set to derive the WorkloadEndpoint name"))
            } else if value.hasPrefix("-") {
                errors.append(FieldError(path, "\(field) must not begin with a '-'"))
            } else if value.hasSuffix("-") {
                errors.append(FieldError(path, "\(field) must not end with a '-'"))
            } else {
                parts.append(value.replacingDashes())
            }
        }
        // The third part repeats the orchestrator for libnetwork: report its problem once.
        var seen = Set<FieldPath>()
        errors = errors.filter { seen.insert($0.path).inserted }
        return errors.isEmpty ? .success(parts.joined(separator: "-")) : .failure(NameProblems(errors: errors))
    }
}

extension String {
    fileprivate func replacingDashes() -> String {
        var out = ""
        for c in self { out.append(c); if c == "-" { out.append("-") } }
        return out
    }
}

extension Resource where Spec == WorkloadEndpointSpec {
    /// Sets the labels Calico's client adds to every workload endpoint it writes, overriding any
    /// user value: `projectcalico.org/namespace` = the namespace and
    /// `projectcalico.org/orchestrator` = the spec's orchestrator.
    public mutating func setWorkloadEndpointLabels() {
        var labels = metadata.labels ?? [:]
        labels[CalicoLabel.namespace] = metadata.namespace ?? ""
        labels[CalicoLabel.orchestrator] = spec.orchestrator ?? ""
        metadata.labels = labels
    }
}

/// A one-to-one NAT mapping of a workload endpoint address. Both members are always written.
public struct IPNAT: Sendable, Hashable {
    /// The endpoint's own address (one of its ipNetworks).
    public var internalIP: String
    /// The address it is reachable at from outside.
    public var externalIP: String

    /// A NAT mapping.
    public init(internalIP: String, externalIP: String) {
        self.internalIP = internalIP
        self.externalIP = externalIP
    }
}

extension IPNAT: Codable {
    private enum CodingKeys: String, CodingKey { case internalIP, externalIP }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        internalIP = try c.decodeIfPresent(String.self, forKey: .internalIP) ?? ""
        externalIP = try c.decodeIfPresent(String.self, forKey: .externalIP) ?? ""
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(internalIP, forKey: .internalIP)
        try c.encode(externalIP, forKey: .externalIP)
    }
}

/// A port of a workload endpoint: a named port for policy, a host port mapping, or both.
/// All members are always written, as Calico writes them.
public struct WorkloadEndpointPort: Sendable, Hashable {
    /// The port name; may be empty only when `hostPort` is set.
    public var name: String
    /// The protocol: TCP, UDP or SCTP.
    public var `protocol`: ProtocolValue
    /// The port number in the workload, 1–65535.
    public var port: UInt16
    /// The port on the host mapped to it, or 0.
    public var hostPort: UInt16
    /// The host address of the mapping, or empty.
    public var hostIP: String

    /// A workload endpoint port.
    public init(name: String = "", protocol: ProtocolValue, port: UInt16, hostPort: UInt16 = 0, hostIP: String = "") {
        self.name = name
        self.protocol = `protocol`
        self.port = port
        self.hostPort = hostPort
        self.hostIP = hostIP
    }

    func validate(at path: FieldPath, into v: inout Validator) {
        EndpointPortRules.portProtocol(`protocol`, at: path["protocol"], into: &v)
        if port == 0 { v.report(path["port"], "port must be 1-65535") }
        if name.isEmpty {
            if hostPort == 0 { v.report(path["name"], "name must not be empty if no hostPort is specified") }
        } else {
            v.portName(name, at: path["name"])
        }
        if !hostIP.isEmpty {
            if let cidr = CIDR(ipOrCIDR: hostIP) {
                if !cidr.isMasked { v.report(path["hostIP"], "\"\(hostIP)\" is not a masked CIDR") }
            } else {
                v.report(path["hostIP"], "\"\(hostIP)\" is not a valid IP address")
            }
        }
    }
}

extension WorkloadEndpointPort: Codable {
    private enum CodingKeys: String, CodingKey { case name, `protocol`, port, hostPort, hostIP }

    public init(from decoder: any Decoder) throws {
        // Missing members take Go's zero values; validation then names them.
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? ""
        `protocol` = try c.decodeIfPresent(ProtocolValue.self, forKey: .protocol) ?? .number(0)
        port = try c.decodeIfPresent(UInt16.self, forKey: .port) ?? 0
        hostPort = try c.decodeIfPresent(UInt16.self, forKey: .hostPort) ?? 0
        hostIP = try c.decodeIfPresent(String.self, forKey: .hostIP) ?? ""
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(`protocol`, forKey: .protocol)
        try c.encode(port, forKey: .port)
        try c.encode(hostPort, forKey: .hostPort)
        try c.encode(hostIP, forKey: .hostIP)
    }
}

/// Quality-of-service controls of a workload endpoint; zero or absent means no limit.
public struct QoSControls: Codable, Sendable, Hashable {
    /// Ingress bandwidth, bits per second.
    public var ingressBandwidth: Int64?
    /// Ingress burst, bits.
    public var ingressBurst: Int64?
    /// Ingress peak rate, bits per second.
    public var ingressPeakrate: Int64?
    /// Ingress minimum burst, bytes.
    public var ingressMinburst: Int64?
    /// Egress bandwidth, bits per second.
    public var egressBandwidth: Int64?
    /// Egress burst, bits.
    public var egressBurst: Int64?
    /// Egress peak rate, bits per second.
    public var egressPeakrate: Int64?
    /// Egress minimum burst, bytes.
    public var egressMinburst: Int64?
    /// Ingress packets per second.
    public var ingressPacketRate: Int64?
    /// Ingress packet burst.
    public var ingressPacketBurst: Int64?
    /// Egress packets per second.
    public var egressPacketRate: Int64?
    /// Egress packet burst.
    public var egressPacketBurst: Int64?
    /// Maximum ingress connections.
    public var ingressMaxConnections: Int64?
    /// Maximum egress connections.
    public var egressMaxConnections: Int64?
    /// The DSCP value to mark egress traffic with.
    public var dscp: DSCP?

    /// Empty controls; set the members you need.
    public init() {}
}

/// A DSCP value: a number 0–63 or a class name (`DF`, `EF`, `AF11`…`AF43`, `CS0`…`CS6`).
/// A string of digits is read as the number; a number is written as a JSON number.
public enum DSCP: Codable, Sendable, Hashable, CustomStringConvertible {
    /// A numeric DSCP value.
    case number(UInt8)
    /// A class name.
    case named(String)

    static let classValues: [String: UInt8] = [
        "DF": 0, "EF": 46, "AF11": 10, "AF12": 12, "AF13": 14, "AF21": 18, "AF22": 20, "AF23": 22,
        "AF31": 26, "AF32": 28, "AF33": 30, "AF41": 34, "AF42": 36, "AF43": 38,
        "CS0": 0, "CS1": 8, "CS2": 16, "CS3": 24, "CS4": 32, "CS5": 40, "CS6": 48,
    ]

    /// The numeric value, or nil for an unknown class name.
    public var value: UInt8? {
        switch self {
        case .number(let n): n
        case .named(let s):
            DSCP.classValues[s.trimmingSpaces().uppercased()]
        }
    }

    /// The number, or the name as written.
    public var description: String {
        switch self {
        case .number(let n): String(n)
        case .named(let s): s
        }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let text = try? c.decode(String.self) {
            if !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let n = UInt8(text) {
                self = .number(n)
            } else {
                self = .named(text)
            }
        } else {
            self = .number(try c.decode(UInt8.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .number(let n): try c.encode(n)
        case .named(let s): try c.encode(s)
        }
    }

    func validate(at path: FieldPath, into v: inout Validator) {
        switch self {
        case .number(let n) where n > 63:
            v.report(path, "DSCP must be between 0 and 63, found \(n)")
        case .named(let s) where value == nil:
            v.report(path, "\"\(s)\" is not a valid DSCP value: a number 0-63 or one of DF, EF, AF11-AF43, CS0-CS6")
        default:
            break
        }
    }
}

extension String {
    fileprivate func trimmingSpaces() -> String {
        let scalars = unicodeScalars
        guard let start = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let end = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[start...end])
    }
}
