extension FelixConfigurationSpec {
    /// A protocol, port and optional network, as in `failsafeInboundHostPorts`.
    ///
    /// Felix also takes these lists as text (`tcp:22,udp:68,tcp:10.0.0.0/8:179,udp:[fd00::]/64:53`):
    /// see ``parseList(_:)`` and ``description``.
    public struct ProtoPort: Sendable, Hashable, Codable, CustomStringConvertible {
        /// `TCP`, `UDP` or `SCTP` (any case); "" means TCP.
        public var `protocol`: String
        /// The port; always written.
        public var port: UInt16
        /// A CIDR or address the rule is limited to; "" means any.
        public var net: String

        /// A protocol and port.
        public init(protocol: String = "", port: UInt16, net: String = "") {
            self.protocol = `protocol`
            self.port = port
            self.net = net
        }

        private enum CodingKeys: String, CodingKey { case `protocol`, port, net }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            `protocol` = try c.decodeOrZero(String.self, forKey: .protocol)
            port = try c.decode(UInt16.self, forKey: .port)
            net = try c.decodeOrZero(String.self, forKey: .net)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encodeUnlessZero(`protocol`, forKey: .protocol)
            try c.encode(port, forKey: .port)
            try c.encodeUnlessZero(net, forKey: .net)
        }

        /// Felix's text form: `tcp:22`, `udp:10.0.0.0/8:53`, `tcp:[fd00::]/64:179` (protocol lower-cased,
        /// TCP when unset).
        public var description: String {
            let proto = `protocol`.isEmpty ? "tcp" : `protocol`.lowercased()
            if net.isEmpty { return "\(proto):\(port)" }
            if let n = CIDR(ipOrCIDR: net), n.family == .v6 { return "\(proto):[\(net)]:\(port)" }
            return "\(proto):\(net):\(port)"
        }

        /// Parses Felix's comma-separated text form: each entry `<port>`, `<protocol>:<port>` or
        /// `<protocol>:<net>:<port>` (an IPv6 net in brackets); the protocol is `tcp` or `udp` in any
        /// case (Felix's parser takes no other), TCP when omitted.
        ///
        /// - Throws: ``ModelError`` (``ModelError/Code/invalid``) naming the bad entry.
        public static func parseList(_ text: String) throws(ModelError) -> [ProtoPort] {
            var result: [ProtoPort] = []
            for raw in text.split(separator: ",", omittingEmptySubsequences: false) {
                var entry = raw.trimmingSpaces
                if entry.isEmpty { continue }
                func fail(_ why: String) -> ModelError {
                    ModelError(.invalid, "invalid port list entry \"\(entry)\": \(why)")
                }
                var net = ""
                if let open = entry.firstIndex(of: "["), let close = entry.firstRange(of: "]:") {
                    net = String(entry[entry.index(after: open)..<close.lowerBound])
                    entry = entry[..<open] + entry[close.upperBound...]
                }
                let parts = entry.split(separator: ":", omittingEmptySubsequences: false)
                guard parts.count <= 3 else { throw fail("use <protocol>:<net>:<port>, <protocol>:<port> or <port>") }
                var proto = "tcp"
                var portText = Substring(entry)
                if parts.count == 3 {
                    proto = parts[0].lowercased()
                    net = String(parts[1])
                    portText = parts[2]
                } else if parts.count == 2 {
                    proto = parts[0].lowercased()
                    portText = parts[1]
                }
                guard proto == "tcp" || proto == "udp" else { throw fail("unknown protocol \"\(proto)\"") }
                guard let port = UInt16(portText) else { throw fail("the port must be a number from 0 to 65535") }
                if !net.isEmpty {
                    guard let n = CIDR(ipOrCIDR: net) else { throw fail("\"\(net)\" is not a CIDR or address") }
                    net = n.network.description
                }
                result.append(ProtoPort(protocol: proto, port: port, net: net))
            }
            return result
        }
    }

    /// A port, a port range or a named port (Calico's `numorstring.Port`): written as a number, as
    /// `"min:max"`, or as the name.
    public struct PortRange: Sendable, Hashable, Codable, CustomStringConvertible {
        /// The first port (0 for a named port).
        public var min: UInt16
        /// The last port (0 for a named port).
        public var max: UInt16
        /// The name of a named port; "" for numeric ports.
        public var name: String

        /// A single port.
        public init(_ port: UInt16) {
            min = port
            max = port
            name = ""
        }

        /// A range of ports; nil when `min > max`.
        public init?(min: UInt16, max: UInt16) {
            guard min <= max else { return nil }
            self.min = min
            self.max = max
            name = ""
        }

        /// Parses `"80"`, `"80:90"` or a name of 1–128 of `[a-zA-Z0-9_.-]`.
        public init?(_ text: String) {
            if !text.isEmpty, text.allSatisfy({ $0.isASCII && $0.isNumber }) {
                guard let n = UInt16(text) else { return nil }
                self.init(n)
                return
            }
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            if parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } }) {
                guard let lo = UInt16(parts[0]), let hi = UInt16(parts[1]) else { return nil }
                self.init(min: lo, max: hi)
                return
            }
            guard (1...128).contains(text.utf8.count),
                text.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "_.-".unicodeScalars.contains($0)) })
            else { return nil }
            self.init(named: text)
        }

        private init(named text: String) {
            min = 0
            max = 0
            name = text
        }

        /// `80`, `80:90` or the name.
        public var description: String {
            if !name.isEmpty { return name }
            return min == max ? String(min) : "\(min):\(max)"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let text = try? c.decode(String.self) {
                guard let v = PortRange(text) else {
                    throw DecodingError.dataCorruptedError(in: c, debugDescription: "invalid port \"\(text)\": use a number, min:max or a port name")
                }
                self = v
            } else {
                self.init(try c.decode(UInt16.self))
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            if name.isEmpty, min == max { try c.encode(min) } else { try c.encode(description) }
        }
    }

    /// A DSCP value: a number from 0 to 63 or a name such as `EF` or `AF11` (Calico's `numorstring.DSCP`).
    public enum DSCP: Sendable, Hashable, Codable {
        /// A numeric value.
        case number(UInt8)
        /// A named value.
        case name(String)

        /// The named DSCP values and their numbers.
        public static let names: [String: UInt8] = [
            "DF": 0, "EF": 46, "AF11": 10, "AF12": 12, "AF13": 14, "AF21": 18, "AF22": 20, "AF23": 22,
            "AF31": 26, "AF32": 28, "AF33": 30, "AF41": 34, "AF42": 36, "AF43": 38,
            "CS0": 0, "CS1": 8, "CS2": 16, "CS3": 24, "CS4": 32, "CS5": 40, "CS6": 48,
        ]

        /// The number, when valid.
        public var value: UInt8? {
            switch self {
            case .number(let n): n <= 63 ? n : nil
            case .name(let s): Self.names[s.uppercased()]
            }
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let s = try? c.decode(String.self) { self = .name(s) } else { self = .number(try c.decode(UInt8.self)) }
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .number(let n): try c.encode(n)
            case .name(let s): try c.encode(s)
            }
        }
    }

    /// A range of routing table indices (the deprecated `routeTableRange`), within 1…250.
    public struct RouteTableRange: Sendable, Hashable, Codable {
        /// The first table.
        public var min: Int
        /// The last table.
        public var max: Int
        /// A range.
        public init(min: Int, max: Int) {
            self.min = min
            self.max = max
        }
    }

    /// A range of routing table indices (an entry of `routeTableRanges`).
    public struct RouteTableIDRange: Sendable, Hashable, Codable {
        /// The first table, at least 1.
        public var min: Int
        /// The last table, at least `min`.
        public var max: Int
        /// A range.
        public init(min: Int, max: Int) {
            self.min = min
            self.max = max
        }
    }

    /// A health check whose timeout is overridden.
    public struct HealthTimeoutOverride: Sendable, Hashable, Codable {
        /// The health reporter's name (`[a-zA-Z0-9_ -]+`).
        public var name: String
        /// The timeout, a Go duration; not negative.
        public var timeout: String
        /// An override.
        public init(name: String, timeout: String) {
            self.name = name
            self.timeout = timeout
        }
    }

    /// Conntrack timeouts of the BPF dataplane: each a duration (`30s`, `1h`) or `Auto`.
    public struct BPFConntrackTimeouts: Sendable, Hashable, Codable {
        /// Grace period for a connection to become established.
        public var creationGracePeriod: String?
        /// TCP SYN sent.
        public var tcpSynSent: String?
        /// TCP established.
        public var tcpEstablished: String?
        /// TCP FINs seen.
        public var tcpFinsSeen: String?
        /// TCP reset seen.
        public var tcpResetSeen: String?
        /// UDP.
        public var udpTimeout: String?
        /// Other protocols.
        public var genericTimeout: String?
        /// ICMP.
        public var icmpTimeout: String?

        /// Timeouts; every field defaults to "not set".
        public init(
            creationGracePeriod: String? = nil, tcpSynSent: String? = nil, tcpEstablished: String? = nil,
            tcpFinsSeen: String? = nil, tcpResetSeen: String? = nil, udpTimeout: String? = nil,
            genericTimeout: String? = nil, icmpTimeout: String? = nil
        ) {
            self.creationGracePeriod = creationGracePeriod
            self.tcpSynSent = tcpSynSent
            self.tcpEstablished = tcpEstablished
            self.tcpFinsSeen = tcpFinsSeen
            self.tcpResetSeen = tcpResetSeen
            self.udpTimeout = udpTimeout
            self.genericTimeout = genericTimeout
            self.icmpTimeout = icmpTimeout
        }

        var all: [(String, String?)] {
            [("creationGracePeriod", creationGracePeriod), ("tcpSynSent", tcpSynSent), ("tcpEstablished", tcpEstablished),
             ("tcpFinsSeen", tcpFinsSeen), ("tcpResetSeen", tcpResetSeen), ("udpTimeout", udpTimeout),
             ("genericTimeout", genericTimeout), ("icmpTimeout", icmpTimeout)]
        }
    }
}

extension Substring {
    /// The text without leading and trailing spaces.
    fileprivate var trimmingSpaces: Substring {
        var s = self
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return s
    }
}
