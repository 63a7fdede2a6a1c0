internal import CanalSelector

/// Field rules shared by many kinds: names, labels, selectors, addresses, ports, interfaces.
///
/// Each helper reports into the validator and returns the parsed value when there is one, so that
/// callers can go on to cross-field checks without parsing twice.
extension Validator {
    /// A DNS-1123 subdomain of at most 253 bytes (the name rule of most kinds).
    package mutating func name(_ s: String, at path: FieldPath) {
        if s.isEmpty {
            report(path, "name is required")
        } else if !NameRules.isDNSSubdomain(s) {
            report(path, "\"\(s)\" is not a valid name: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters")
        }
    }

    /// A DNS-1123 label of at most 63 bytes.
    package mutating func dnsLabel(_ s: String, at path: FieldPath) {
        if !NameRules.isDNSLabel(s) {
            report(path, "\"\(s)\" is not a valid DNS label: lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters")
        }
    }

    /// Label keys (Kubernetes qualified names) and values.
    package mutating func labels(_ labels: [String: String]?, at path: FieldPath) {
        guard let labels else { return }
        for key in labels.keys.sorted() {
            if let problem = NameRules.qualifiedNameProblem(key) {
                report(path[key], "label key \"\(key)\" is not valid: \(problem)")
            }
            let value = labels[key]!
            if !NameRules.isLabelValue(value) {
                report(path[key], "label value \"\(value)\" is not valid: at most 63 characters of letters, digits, '-', '_' and '.', starting and ending with a letter or digit")
            }
        }
    }

    /// Annotation keys (qualified names, checked lower-cased) and a total size of at most 256 KiB.
    package mutating func annotations(_ annotations: [String: String]?, at path: FieldPath) {
        guard let annotations else { return }
        var total = 0
        for key in annotations.keys.sorted() {
            if let problem = NameRules.qualifiedNameProblem(key.lowercased()) {
                report(path[key], "annotation key \"\(key)\" is not valid: \(problem)")
            }
            total += key.utf8.count + annotations[key]!.utf8.count
        }
        if total > 256 * 1024 {
            report(path, "annotations are \(total) bytes; at most 262144 are allowed")
        }
    }

    /// A selector expression in Calico's language; nil or empty is valid (it means `all()`).
    package mutating func selector(_ text: String?, at path: FieldPath) {
        guard let text, !text.isEmpty else { return }
        do {
            _ = try Selector(text)
        } catch {
            report(path, "\(error)")
        }
    }

    /// A CIDR; `strict` requires it to be masked (no host bits set), as Calico's `net` rule does.
    @discardableResult
    package mutating func cidr(_ text: String, at path: FieldPath, strict: Bool = true) -> CIDR? {
        guard let cidr = CIDR(text) else {
            report(path, "\"\(text)\" is not a valid CIDR")
            return nil
        }
        if strict, !cidr.isMasked {
            report(path, "\"\(text)\" is not a masked CIDR (did you mean \(cidr.network)?)")
            return nil
        }
        return cidr
    }

    /// An IP address.
    @discardableResult
    package mutating func ip(_ text: String, at path: FieldPath) -> IPAddress? {
        guard let ip = IPAddress(text) else {
            report(path, "\"\(text)\" is not a valid IP address")
            return nil
        }
        return ip
    }

    /// A CIDR (not necessarily masked) or a bare address, which stands for a /32 or /128.
    @discardableResult
    package mutating func ipOrCIDR(_ text: String, at path: FieldPath) -> CIDR? {
        guard let cidr = CIDR(ipOrCIDR: text) else {
            report(path, "\"\(text)\" is not a valid IP address or CIDR")
            return nil
        }
        return cidr
    }

    /// A Kubernetes port name (IANA service name): 1–15 of `[a-z0-9-]`, a letter, no `--`, no `-` at either end.
    package mutating func portName(_ s: String, at path: FieldPath) {
        if let problem = NameRules.portNameProblem(s) {
            report(path, "\"\(s)\" is not a valid port name: \(problem)")
        }
    }

    /// A Linux interface name of 1–15 of `[a-zA-Z0-9_.-]`, or `*` when allowed.
    package mutating func interfaceName(_ s: String, at path: FieldPath, allowWildcard: Bool = true) {
        if allowWildcard, s == "*" { return }
        if !NameRules.isInterfaceName(s) {
            report(path, "\"\(s)\" is not a valid interface name: 1 to 15 letters, digits, '_', '.' or '-'" + (allowWildcard ? ", or \"*\"" : ""))
        }
    }
}

/// Character-level name rules (Kubernetes and Linux), without regular expressions.
package enum NameRules {
    private static func isLowerAlnum(_ b: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(b) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b)
    }

    private static func isAlnum(_ b: UInt8) -> Bool {
        isLowerAlnum(b) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(b)
    }

    /// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most `max` bytes.
    package static func isDNSLabel(_ s: some StringProtocol, max: Int = 63) -> Bool {
        let u = Array(s.utf8)
        guard !u.isEmpty, u.count <= max, isLowerAlnum(u.first!), isLowerAlnum(u.last!) else { return false }
        return u.allSatisfy { isLowerAlnum($0) || $0 == UInt8(ascii: "-") }
    }

    /// Dot-separated DNS labels, at most 253 bytes in all.
    package static func isDNSSubdomain(_ s: some StringProtocol) -> Bool {
        guard !s.isEmpty, s.utf8.count <= 253 else { return false }
        return s.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { isDNSLabel($0, max: 253) }
    }

    /// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`, at most 63 bytes (a qualified name's name part).
    package static func isQualifiedNamePart(_ s: some StringProtocol) -> Bool {
        let u = Array(s.utf8)
        guard !u.isEmpty, u.count <= 63, isAlnum(u.first!), isAlnum(u.last!) else { return false }
        return u.allSatisfy { isAlnum($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") }
    }

    /// Why a Kubernetes qualified name (`[prefix/]name`) is invalid, or nil.
    package static func qualifiedNameProblem(_ s: String) -> String? {
        let parts = s.split(separator: "/", omittingEmptySubsequences: false)
        switch parts.count {
        case 1:
            return isQualifiedNamePart(parts[0]) ? nil
                : "a name of at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
        case 2:
            if parts[0].isEmpty { return "the prefix before '/' must not be empty" }
            if !isDNSSubdomain(parts[0]) { return "the prefix \"\(parts[0])\" must be a DNS subdomain" }
            return isQualifiedNamePart(parts[1]) ? nil
                : "the name after '/' must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
        default:
            return "at most one '/' is allowed"
        }
    }

    /// An empty string or a qualified name part.
    package static func isLabelValue(_ s: String) -> Bool { s.isEmpty || isQualifiedNamePart(s) }

    /// Why a Kubernetes port name is invalid, or nil.
    package static func portNameProblem(_ s: String) -> String? {
        let u = Array(s.utf8)
        if u.isEmpty || u.count > 15 { return "it must have 1 to 15 characters" }
        if !u.allSatisfy({ isLowerAlnum($0) || $0 == UInt8(ascii: "-") }) { return "only lowercase letters, digits and '-' are allowed" }
        if !u.contains(where: { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) }) { return "it must contain a letter" }
        if u.first == UInt8(ascii: "-") || u.last == UInt8(ascii: "-") { return "it must not start or end with '-'" }
        if s.contains("--") { return "it must not contain \"--\"" }
        return nil
    }

    /// `^[a-zA-Z0-9_.-]{1,15}$`.
    package static func isInterfaceName(_ s: String) -> Bool {
        let u = Array(s.utf8)
        return !u.isEmpty && u.count <= 15
            && u.allSatisfy { isAlnum($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
    }
}
