/// Go's `time.Duration` text: parsing as `time.ParseDuration` does, and printing as `Duration.String`.
///
/// Calico keeps durations (`metav1.Duration`) as Go duration strings, so a value Go cannot parse
/// cannot be stored, and what is stored is Go's canonical form (`90s` is written `1m30s`).
package enum GoDuration {
    /// The duration in nanoseconds, or nil when Go would reject the text.
    package static func nanoseconds(_ text: String) -> Int64? {
        var s = Substring(text)
        var negative = false
        if let first = s.first, first == "-" || first == "+" {
            negative = first == "-"
            s = s.dropFirst()
        }
        if s == "0" { return 0 }
        if s.isEmpty { return nil }
        var total: Double = 0
        var exact: Int64 = 0
        while !s.isEmpty {
            // The number: digits, optionally a fraction.
            let intDigits = s.prefix { $0.isASCII && $0.isNumber }
            s = s.dropFirst(intDigits.count)
            var fracDigits = Substring("")
            if s.first == "." {
                s = s.dropFirst()
                fracDigits = s.prefix { $0.isASCII && $0.isNumber }
                s = s.dropFirst(fracDigits.count)
            }
            if intDigits.isEmpty && fracDigits.isEmpty { return nil }
            // The unit.
            let unitText = s.prefix { !($0.isASCII && ($0.isNumber || $0 == ".")) }
            s = s.dropFirst(unitText.count)
            let unit: Int64
            switch unitText {
            case "ns": unit = 1
            case "us", "µs", "μs": unit = 1_000
            case "ms": unit = 1_000_000
            case "s": unit = 1_000_000_000
            case "m": unit = 60_000_000_000
            case "h": unit = 3_600_000_000_000
            default: return nil
            }
            guard let whole = Int64(intDigits.isEmpty ? "0" : intDigits) else { return nil }
            let (product, overflow) = whole.multipliedReportingOverflow(by: unit)
            if overflow { return nil }
            var part = Double(product)
            var partExact = product
            if !fracDigits.isEmpty {
                // As Go: the fraction's digits as an integer over a power of ten, scaled in float64.
                var f: UInt64 = 0
                var scale: Double = 1
                for d in fracDigits.utf8 {
                    if f > (UInt64(1) << 63 - 1) / 10 { break }
                    f = f * 10 + UInt64(d - 0x30)
                    scale *= 10
                }
                let extra = Double(f) * (Double(unit) / scale)
                part += extra
                partExact += Int64(extra)
            }
            total += part
            let (sum, o2) = exact.addingReportingOverflow(partExact)
            if o2 || total > Double(Int64.max) { return nil }
            exact = sum
        }
        return negative ? -exact : exact
    }

    /// Go's `Duration.String()` of a number of nanoseconds: `0s`, `1.5ms`, `1h2m3.5s`.
    package static func format(_ ns: Int64) -> String {
        if ns == 0 { return "0s" }
        let negative = ns < 0
        let u = ns.magnitude
        var out: String
        if u < 1_000_000_000 {
            let (unit, name): (UInt64, String) = u < 1_000 ? (1, "ns") : u < 1_000_000 ? (1_000, "µs") : (1_000_000, "ms")
            out = fixed(u, unit) + name
        } else {
            let hours = u / 3_600_000_000_000
            let minutes = u / 60_000_000_000 % 60
            let secondsPart = u % 60_000_000_000
            out = ""
            if hours > 0 { out += "\(hours)h" }
            if hours > 0 || minutes > 0 { out += "\(minutes)m" }
            out += fixed(secondsPart, 1_000_000_000) + "s"
        }
        return negative ? "-" + out : out
    }

    /// `value / unit` with the fraction's trailing zeros dropped.
    private static func fixed(_ value: UInt64, _ unit: UInt64) -> String {
        let whole = value / unit
        var frac = value % unit
        if frac == 0 { return String(whole) }
        var digits = String(unit).count - 1
        var text = String(frac)
        text = String(repeating: "0", count: digits - text.count) + text
        while text.hasSuffix("0") { text.removeLast(); frac /= 10; digits -= 1 }
        return "\(whole).\(text)"
    }

    /// Go's canonical form of a duration, or nil when it does not parse.
    package static func canonical(_ text: String) -> String? { nanoseconds(text).map(format) }

    /// Whether the canonical form matches the CRD pattern Calico puts on most Felix durations,
    /// `^([0-9]+(\\.[0-9]+)?(ms|s|m|h))*$` — whole numbers of h, m, s or ms (the pattern's `\\.`
    /// matches a backslash, so no fractional value passes).
    package static func matchesFelixPattern(_ canonical: String) -> Bool {
        var s = Substring(canonical)
        while !s.isEmpty {
            let digits = s.prefix { $0.isASCII && $0.isNumber }
            if digits.isEmpty { return false }
            s = s.dropFirst(digits.count)
            if s.hasPrefix("ms") { s = s.dropFirst(2) }
            else if let f = s.first, f == "s" || f == "m" || f == "h" { s = s.dropFirst() }
            else { return false }
        }
        return true
    }
}

extension Validator {
    /// A Go duration string; `felixPattern` also applies the CRD pattern most Felix durations carry.
    mutating func goDuration(_ text: String?, at path: FieldPath, felixPattern: Bool = false) {
        guard let text else { return }
        guard let canonical = GoDuration.canonical(text) else {
            report(path, "\"\(text)\" is not a duration: use a number with a unit (ns, us, ms, s, m, h), for example 90s or 1m30s")
            return
        }
        if felixPattern, !GoDuration.matchesFelixPattern(canonical) {
            report(path, "\"\(text)\" (\(canonical)) must be a whole number of hours, minutes, seconds or milliseconds")
        }
    }
}
