extension FelixConfigurationSpec {
    /// Fills in what Calico writes when it validates a FelixConfiguration: the CRD defaults
    /// `nftablesMode: Auto` and `nftablesFlowTableOffload: Disabled`.
    ///
    /// Felix's many other defaults apply only when Felix reads its configuration; Calico does not write them.
    public static func applyDefaults(to config: inout Resource<FelixConfigurationSpec>) {
        if config.spec.nftablesMode == nil { config.spec.nftablesMode = .auto }
        if config.spec.nftablesFlowTableOffload == nil { config.spec.nftablesFlowTableOffload = .disabled }
    }

    /// Calico's FelixConfiguration rules: the CRD schema (enums, patterns, ranges), the CEL rules and
    /// the Go validator (`validateFelixConfigSpec`, field tags).
    public static func validate(_ config: Resource<FelixConfigurationSpec>, into v: inout Validator) {
        let s = config.spec
        let p = FieldPath("spec")
        s.validateFieldConstraints(at: p, into: &v)

        let name = config.metadata.name ?? ""
        if let selector = s.nodeSelector {
            if name == "default" || name.hasPrefix("node.") {
                v.report(p["nodeSelector"], "nodeSelector must not be set on the \"default\" or per-node (\"node.*\") FelixConfiguration")
            }
            v.selector(selector, at: p["nodeSelector"])
        }

        if s.routeTableRange != nil, s.routeTableRanges != nil {
            v.report(p["routeTableRange"], "routeTableRange and routeTableRanges cannot both be set")
        }
        if let r = s.routeTableRange, !(r.min >= 1 && r.max >= r.min && r.max <= 250) {
            v.report(p["routeTableRange"], "must be a range of route table indices within 1..250")
        }
        if let ranges = s.routeTableRanges {
            var tables = 0
            for (i, r) in ranges.enumerated() {
                if r.min < 1 { v.report(p["routeTableRanges"][i]["min"], "min must be >= 1") }
                if r.min > r.max { v.report(p["routeTableRanges"][i], "min must not be greater than max") }
                if r.max > 0xFFFF_FFFF { v.report(p["routeTableRanges"][i]["max"], "max must be at most 4294967295") }
                tables += Swift.max(0, r.max - r.min + 1)
            }
            if tables > 0xFFFF { v.report(p["routeTableRanges"], "the ranges target \(tables) tables; at most 65535 are allowed") }
        }

        if !s.natOutgoingAddress.isEmpty { v.address(s.natOutgoingAddress, family: .v4, at: p["natOutgoingAddress"]) }
        if !s.deviceRouteSourceAddress.isEmpty {
            v.address(s.deviceRouteSourceAddress, family: .v4, at: p["deviceRouteSourceAddress"])
        }
        if !s.deviceRouteSourceAddressIPv6.isEmpty {
            v.address(s.deviceRouteSourceAddressIPv6, family: .v6, at: p["deviceRouteSourceAddressIPv6"])
        }
        for (i, text) in (s.externalNodesList ?? []).enumerated() {
            if let cidr = v.ipOrCIDR(text, at: p["externalNodesList"][i]), cidr.family != .v4 {
                v.report(p["externalNodesList"][i], "\"\(text)\" is not an IPv4 CIDR")
            }
        }
        if !s.openstackRegion.isEmpty {
            if s.openstackRegion.utf8.count > 63 - "openstack-region-".utf8.count {
                v.report(p["openstackRegion"], "the region name is too long (at most 46 characters)")
            } else {
                v.dnsLabel(s.openstackRegion, at: p["openstackRegion"])
            }
        }
        for (i, port) in (s.kubeNodePortRanges ?? []).enumerated() where !port.name.isEmpty {
            v.report(p["kubeNodePortRanges"][i], "node port ranges must be numeric, not a named port")
        }
        for (key, list) in [("failsafeInboundHostPorts", s.failsafeInboundHostPorts), ("failsafeOutboundHostPorts", s.failsafeOutboundHostPorts)] {
            for (i, pp) in (list ?? []).enumerated() {
                let pp2 = p[key][i]
                if !pp.protocol.isEmpty, !["tcp", "udp", "sctp"].contains(pp.protocol.lowercased()) {
                    v.report(pp2["protocol"], "\"\(pp.protocol)\" is not a protocol with ports: TCP, UDP or SCTP")
                }
                if !pp.net.isEmpty { v.ipOrCIDR(pp.net, at: pp2["net"]) }
            }
        }
        for (i, o) in s.healthTimeoutOverrides.enumerated() {
            let op = p["healthTimeoutOverrides"][i]
            if o.name.isEmpty || !o.name.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "_ -".unicodeScalars.contains($0)) }) {
                v.report(op["name"], "\"\(o.name)\" is not a health reporter name: letters, digits, '_', ' ' and '-'")
            }
            if let ns = GoDuration.nanoseconds(o.timeout) {
                if ns < 0 { v.report(op["timeout"], "the timeout must not be negative") }
            } else {
                v.goDuration(o.timeout, at: op["timeout"])
            }
        }
        if let dscp = s.istioDSCPMark, dscp.value == nil {
            v.report(p["istioDSCPMark"], "not a DSCP value: a number from 0 to 63 or one of \(DSCP.names.keys.sorted().joined(separator: ", "))")
        }
        if let timeouts = s.bpfConntrackTimeouts {
            for (key, value) in timeouts.all {
                if let value, !Self.isConntrackTimeout(value) {
                    v.report(p["bpfConntrackTimeouts"][key], "\"\(value)\" is not a timeout: a duration such as 30s or 1h, or Auto")
                }
            }
        }
        if !s.logPrefix.isEmpty, !s.logPrefix.unicodeScalars.allSatisfy({
            $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "%: /_-".unicodeScalars.contains($0))
        }) {
            v.report(p["logPrefix"], "\"\(s.logPrefix)\" may only contain letters, digits, '%', ':', ' ', '/', '_' and '-'")
        }
        if let limit = s.logActionRateLimit, !Self.isRateLimit(limit) {
            v.report(p["logActionRateLimit"], "\"\(limit)\" is not a rate: N/second, N/minute, N/hour or N/day with N from 1 to 9999")
        }
        v.keyBoolList(s.featureDetectOverride, at: p["featureDetectOverride"])
    }

    /// `^(([0-9]*(\.[0-9]*)?(ms|s|h|m|us)+)+|Auto)$`.
    static func isConntrackTimeout(_ s: String) -> Bool {
        if s == "Auto" { return true }
        var rest = Substring(s)
        if rest.isEmpty { return false }
        while !rest.isEmpty {
            rest = rest.drop { $0.isASCII && $0.isNumber }
            if rest.first == "." { rest = rest.dropFirst().drop { $0.isASCII && $0.isNumber } }
            var units = 0
            while let u = ["ms", "us", "s", "h", "m"].first(where: { rest.hasPrefix($0) }) {
                rest = rest.dropFirst(u.count)
                units += 1
            }
            if units == 0 { return false }
        }
        return true
    }

    /// `^[1-9]\d{0,3}/(?:second|minute|hour|day)$`.
    static func isRateLimit(_ s: String) -> Bool {
        let parts = s.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let n = parts[0].first, n != "0", (1...4).contains(parts[0].count),
            parts[0].allSatisfy({ $0.isASCII && $0.isNumber }) else { return false }
        return ["second", "minute", "hour", "day"].contains(String(parts[1]))
    }
}

extension Validator {
    /// A value that, when set, is one of `allowed`.
    mutating func oneOf(_ value: String?, _ allowed: [String], at path: FieldPath, ignoringCase: Bool) {
        guard let value, !value.isEmpty else { return }
        let ok = ignoringCase ? allowed.contains { $0.lowercased() == value.lowercased() } : allowed.contains(value)
        if !ok { report(path, "\"\(value)\" is not one of \(allowed.joined(separator: ", "))" + (ignoringCase ? " (any case)" : "")) }
    }

    /// An integer that, when set, lies in `range`.
    mutating func inRange<T: BinaryInteger>(_ value: T?, _ range: ClosedRange<Int64>, at path: FieldPath) {
        guard let value else { return }
        if !(Int64(exactly: value).map(range.contains) ?? false) {
            report(path, "\(value) is out of range: \(range.lowerBound) to \(range.upperBound)")
        }
    }

    /// A string of at most `limit` bytes.
    mutating func maxLength(_ value: String?, _ limit: Int, at path: FieldPath) {
        if let value, value.utf8.count > limit { report(path, "longer than \(limit) characters") }
    }

    /// A list of at most `limit` items.
    mutating func maxItems<T>(_ value: [T]?, _ limit: Int, at path: FieldPath) {
        if let value, value.count > limit { report(path, "\(value.count) items; at most \(limit) are allowed") }
    }

    /// A regular expression that compiles.
    mutating func regularExpression(_ value: String?, at path: FieldPath) {
        guard let value, !value.isEmpty else { return }
        do { _ = try Regex(value) } catch { report(path, "\"\(value)\" is not a valid regular expression") }
    }

    /// Each entry a CIDR or an address.
    mutating func cidrList(_ value: [String]?, at path: FieldPath) {
        for (i, text) in (value ?? []).enumerated() { ipOrCIDR(text, at: path[i]) }
    }

    /// A comma-separated list of `key=value` items (keys of letters, digits and '_'); empty items allowed.
    mutating func keyValueList(_ value: String, at path: FieldPath) {
        for item in value.split(separator: ",", omittingEmptySubsequences: false) where !item.isEmpty {
            let key = item.drop { $0 == " " || $0 == "\t" }.prefix { $0 != "=" }
            let hasEquals = item.contains("=")
            if !hasEquals || key.isEmpty || !key.unicodeScalars.allSatisfy({ $0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" }) {
                report(path, "\"\(item)\" is not a key=value item")
                return
            }
        }
    }

    /// The CRD pattern of `featureDetectOverride`: each value `true`, `false` or empty.
    mutating func keyBoolList(_ value: String, at path: FieldPath) {
        for item in value.split(separator: ",", omittingEmptySubsequences: true) {
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if parts.count == 2, !["true", "false", ""].contains(String(parts[1])) {
                report(path, "\"\(item)\": each value must be true, false or empty")
                return
            }
        }
    }

    /// `^[a-zA-Z0-9:._+-]{1,64}$`.
    mutating func prometheusHost(_ value: String, at path: FieldPath) {
        guard !value.isEmpty else { return }
        if value.utf8.count > 64 || !value.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || ":._+-".unicodeScalars.contains($0)) }) {
            report(path, "\"\(value)\" is not a host name or address")
        }
    }

    /// `^[a-zA-Z0-9:._+-]{1,15}$` (an interface name, `+` as a wildcard).
    mutating func interfaceFilter(_ value: String, at path: FieldPath) {
        guard !value.isEmpty else { return }
        if !Self.isInterfaceFilter(value) { report(path, "\"\(value)\" is not an interface name or prefix (1 to 15 characters, '+' as a wildcard)") }
    }

    /// Each entry `^[a-zA-Z0-9:._+-]{1,15}$`.
    mutating func interfaceFilters(_ value: [String]?, at path: FieldPath) {
        for (i, s) in (value ?? []).enumerated() where !Self.isInterfaceFilter(s) {
            report(path[i], "\"\(s)\" is not an interface name or prefix (1 to 15 characters, '+' as a wildcard)")
        }
    }

    private static func isInterfaceFilter(_ s: String) -> Bool {
        (1...15).contains(s.utf8.count)
            && s.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || ":._+-".unicodeScalars.contains($0)) }
    }

    /// Keys are interface names (or `all`).
    mutating func bpfLogFilters(_ value: [String: String]?, at path: FieldPath) {
        for key in (value ?? [:]).keys.sorted() where !NameRules.isInterfaceName(key) {
            report(path[key], "\"\(key)\" is not an interface name")
        }
    }
}
