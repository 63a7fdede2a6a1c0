import CanalSelector
import PropertyBased
import Testing

/// An independent model of the selector language for property tests: a random expression, the
/// text Canal should parse it from (with random spacing, quoting, redundant parentheses and `!!`
/// pairs), the canonical string Calico would print, and its meaning.
indirect enum Expr: Sendable, CustomStringConvertible {
    case all, global
    case has(String)
    case compare(String, String, String)  // label, canonical op text, value
    case set(String, Bool, [String])  // label, negated, values as written
    case not(Expr)
    case and([Expr])
    case or([Expr])

    static let keys = ["a", "b", "app", "role", "has", "all", "in", "not", "-x", "9", "pcns.k/x_y", "K"]
    static let values = ["", "x", "xy", "y", "é", "e\u{301}", "a b", "\"q\"", "'s'", "!!", "&&", "{}", "\\", "x\ty"]
    static let operators = ["==", "!=", "contains", "starts with", "ends with"]

    var description: String { canonical }

    // MARK: Calico's canonical form, written independently of Canal's.

    var canonical: String {
        func quote(_ v: String) -> String { v.utf8.contains(UInt8(ascii: "\"")) ? "'\(v)'" : "\"\(v)\"" }
        switch self {
        case .all: return "all()"
        case .global: return "global()"
        case .has(let k): return "has(\(k))"
        case .compare(let k, let op, let v): return "\(k) \(op) \(quote(v))"
        case .set(let k, let negated, let values):
            var unique: [String] = []
            for v in values.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) })
            where unique.last.map({ !$0.utf8.elementsEqual(v.utf8) }) ?? true {
                unique.append(v)
            }
            return "\(k) \(negated ? "not in" : "in") {\(unique.map(quote).joined(separator: ", "))}"
        case .not(let e): return "!" + e.canonical
        case .and(let es): return "(" + es.map(\.canonical).joined(separator: " && ") + ")"
        case .or(let es): return "(" + es.map(\.canonical).joined(separator: " || ") + ")"
        }
    }

    /// The canonical string after one parse: every `!!` pair printed by a negated negation
    /// vanishes when re-parsed.
    var reparsedCanonical: String { collapsed.canonical }

    var collapsed: Expr {
        switch self {
        case .not(.not(let e)): return e.collapsed
        case .not(let e): return .not(e.collapsed)
        case .and(let es): return .and(es.map(\.collapsed))
        case .or(let es): return .or(es.map(\.collapsed))
        default: return self
        }
    }

    var hasDoubleNegation: Bool {
        switch self {
        case .not(.not): return true
        case .not(let e): return e.hasDoubleNegation
        case .and(let es), .or(let es): return es.contains(where: \.hasDoubleNegation)
        default: return false
        }
    }

    // MARK: Meaning (byte comparisons).

    func evaluate(_ labels: [String: String]) -> Bool {
        func value(_ k: String) -> [UInt8]? {
            guard let i = labels.index(forKey: k), labels[i].key.utf8.elementsEqual(k.utf8) else { return nil }
            return Array(labels[i].value.utf8)
        }
        switch self {
        case .all, .global: return true
        case .has(let k): return value(k) != nil
        case .compare(let k, let op, let literal):
            guard let v = value(k) else { return op == "!=" }
            let l = Array(literal.utf8)
            switch op {
            case "==": return v == l
            case "!=": return v != l
            case "starts with": return v.starts(with: l)
            case "ends with": return v.reversed().starts(with: l.reversed())
            default:
                return l.isEmpty || (l.count <= v.count && (0...(v.count - l.count)).contains { Array(v[$0..<($0 + l.count)]) == l })
            }
        case .set(let k, let negated, let values):
            guard let v = value(k) else { return negated }
            return values.contains { Array($0.utf8) == v } != negated
        case .not(let e): return !e.evaluate(labels)
        case .and(let es): return es.allSatisfy { $0.evaluate(labels) }
        case .or(let es): return es.contains { $0.evaluate(labels) }
        }
    }

    // MARK: Random source text.

    func render(_ rng: inout any SeededRandomNumberGenerator) -> String {
        func space() -> String { ["", " ", "  ", "\t", " \t "][Int.random(in: 0..<5, using: &rng)] }
        func gap() -> String { [" ", "  ", "\t", " \t"][Int.random(in: 0..<4, using: &rng)] }
        func quote(_ v: String) -> String {
            if v.utf8.contains(UInt8(ascii: "\"")) { return "'\(v)'" }
            if v.utf8.contains(UInt8(ascii: "'")) { return "\"\(v)\"" }
            return Bool.random(using: &rng) ? "'\(v)'" : "\"\(v)\""
        }
        /// Renders an operand so that it parses back to the same node.
        func operand(_ e: Expr) -> String {
            let text = e.render(&rng)
            switch e {
            case .and, .or, .not: return "(" + space() + text + space() + ")"
            default: return text
            }
        }
        var text: String
        switch self {
        case .all: text = "all(" + space() + ")"
        case .global: text = "global(" + space() + ")"
        case .has(let k): text = "has(" + space() + k + space() + ")"
        case .compare(let k, let op, let v):
            var written = op
            if op == "starts with" || op == "ends with" {
                let words = op.split(separator: " ")
                written = words[0] + ["", " ", "\t", "   "][Int.random(in: 0..<4, using: &rng)] + words[1]
            }
            let symbolic = op == "==" || op == "!="
            text = k + (symbolic ? space() : gap()) + written + space() + quote(v)
        case .set(let k, let negated, let values):
            let op = negated ? "not" + ["", " ", "\t"][Int.random(in: 0..<3, using: &rng)] + "in" : "in"
            var items = values.map { space() + quote($0) + space() }.joined(separator: ",")
            if !values.isEmpty && Bool.random(using: &rng) { items += "," }
            text = k + gap() + op + space() + "{" + space() + items + space() + "}"
        case .not(let e):
            text = "!" + space() + operand(e)
        case .and(let es):
            text = es.map(operand).joined(separator: space() + "&&" + space())
        case .or(let es):
            text = es.map(operand).joined(separator: space() + "||" + space())
        }
        // Redundant parentheses and !! pairs change nothing.
        switch Int.random(in: 0..<8, using: &rng) {
        case 0: text = "(" + space() + text + space() + ")"
        case 1:
            if case .and = self { break }
            if case .or = self { break }
            text = "!!" + space() + text
        default: break
        }
        return text
    }

    static func random(depth: Int, _ rng: inout any SeededRandomNumberGenerator) -> Expr {
        func key() -> String { keys[Int.random(in: 0..<keys.count, using: &rng)] }
        func value() -> String { values[Int.random(in: 0..<values.count, using: &rng)] }
        let leafOnly = depth <= 0
        switch Int.random(in: 0..<(leafOnly ? 6 : 9), using: &rng) {
        case 0: return Int.random(in: 0..<4, using: &rng) == 0 ? (Bool.random(using: &rng) ? .all : .global) : .has(key())
        case 1, 2, 3: return .compare(key(), operators[Int.random(in: 0..<operators.count, using: &rng)], value())
        case 4, 5:
            let values = (0..<Int.random(in: 0...4, using: &rng)).map { _ in value() }
            return .set(key(), Bool.random(using: &rng), values)
        case 6: return .not(random(depth: depth - 1, &rng))
        case 7: return .and((0..<Int.random(in: 2...3, using: &rng)).map { _ in random(depth: depth - 1, &rng) })
        default: return .or((0..<Int.random(in: 2...3, using: &rng)).map { _ in random(depth: depth - 1, &rng) })
        }
    }
}

struct Sample: Sendable, CustomStringConvertible {
    var expr: Expr
    var text: String
    var labels: [[String: String]]
    var description: String { "\(text)  ⟶  \(expr.canonical)" }
}

let sampleGen = Generator<Sample, Shrink.None<Sample>>(run: { rng in
    let expr = Expr.random(depth: Int.random(in: 0...4, using: &rng), &rng)
    let text = expr.render(&rng)
    var maps: [[String: String]] = [[:]]
    for _ in 0..<6 {
        var labels: [String: String] = [:]
        for _ in 0..<Int.random(in: 0...6, using: &rng) {
            labels[Expr.keys[Int.random(in: 0..<Expr.keys.count, using: &rng)]] =
                Expr.values[Int.random(in: 0..<Expr.values.count, using: &rng)]
        }
        maps.append(labels)
    }
    return Sample(expr: expr, text: text, labels: maps)
})

/// Arbitrary strings biased towards selector syntax, to hunt for traps.
let noiseGen = Generator<String, Shrink.None<String>>(run: { rng in
    let pieces = [
        "a", "b", "has(", "all(", "global(", ")", "(", "{", "}", ",", "'", "\"", "==", "!=", "=", "!", "&&", "&",
        "||", "|", " ", "\t", "\n", "in", "not", "notin", "starts", "with", "ends", "contains", "é", "\u{0}",
        "😀", "\u{A0}", "-", ".", "/", "_", "9", "\\",
    ]
    return (0..<Int.random(in: 0...40, using: &rng)).map { _ in pieces[Int.random(in: 0..<pieces.count, using: &rng)] }.joined()
})

@Suite("Properties")
struct PropertyTests {
    @Test("generated selectors parse to the model's canonical form and meaning")
    func modelAgreement() async {
        await propertyCheck(count: 1_500, input: sampleGen) { sample in
            let selector: Selector
            do {
                selector = try Selector(sample.text)
            } catch {
                Issue.record("\(sample.text) did not parse: \(error)")
                return
            }
            #expect(selector.canonical == sample.expr.canonical, "\(sample.text)")
            #expect(selector.uniqueID == Selector.uniqueID(prefix: "s", content: sample.expr.canonical))
            for labels in sample.labels {
                let expected = sample.expr.evaluate(labels)
                #expect(selector.matches(labels) == expected, "\(sample.text) on \(labels)")
                #expect(selector.matches(LabelSet(labels)) == expected, "\(sample.text) on LabelSet \(labels)")
            }
        }
    }

    @Test("a required label is present, with one of its values, wherever the selector matches")
    func requiredLabelIsNecessary() async {
        await propertyCheck(count: 1_500, input: sampleGen) { sample in
            guard let selector = try? Selector(sample.text) else {
                Issue.record("\(sample.text) did not parse")
                return
            }
            guard let required = selector.requiredLabel else { return }
            for labels in sample.labels where selector.matches(labels) {
                let value = labels[required.key].map { Array($0.utf8) }
                #expect(value.map { v in required.values.contains { Array($0.utf8) == v } } == true,
                        "\(sample.text) matches \(labels) without \(required.key) in \(required.values)")
            }
        }
    }

    @Test func requiredLabelExamples() throws {
        #expect(try Selector("app == 'web'").requiredLabel.map { [$0.key] + $0.values } == ["app", "web"])
        #expect(try Selector("has(x) && env in {'a', 'b'} && app == 'c'").requiredLabel.map { [$0.key] + $0.values } == ["env", "a", "b"])
        #expect(try Selector("app != 'web'").requiredLabel == nil)
        #expect(try Selector("app == 'web' || app == 'db'").requiredLabel == nil)
        #expect(try Selector("!(app == 'web')").requiredLabel == nil)
        #expect(try Selector("env not in {'a'}").requiredLabel == nil)
        #expect(Selector.all.requiredLabel == nil)
    }

    @Test("canonical → parse → canonical is stable, minding the !! quirk")
    func canonicalRoundTrip() async {
        await propertyCheck(count: 1_500, input: sampleGen) { sample in
            guard let selector = try? Selector(sample.text) else {
                Issue.record("\(sample.text) did not parse")
                return
            }
            guard let reparsed = try? Selector(selector.canonical) else {
                Issue.record("canonical \(selector.canonical) did not parse")
                return
            }
            #expect(reparsed.canonical == sample.expr.reparsedCanonical)
            if !sample.expr.hasDoubleNegation {
                #expect(reparsed.canonical == selector.canonical)
                #expect(reparsed.uniqueID == selector.uniqueID)
                #expect(reparsed == selector)
            }
            // After one round the form is a fixed point.
            #expect((try? Selector(reparsed.canonical))?.canonical == reparsed.canonical)
            // Either way the meaning is unchanged.
            for labels in sample.labels {
                #expect(reparsed.matches(labels) == selector.matches(labels))
            }
        }
    }

    @Test("the parser never traps, and errors point inside the input")
    func noTraps() async {
        await propertyCheck(count: 3_000, input: noiseGen) { text in
            do {
                let selector = try Selector(text)
                let again = try Selector(selector.canonical)
                _ = again.matches(["a": "b", "b": ""])
                _ = selector.matches(LabelSet(["a": "'", "has": "x"]))
            } catch let error as SelectorError {
                #expect(error.offset >= 0 && error.offset <= text.utf8.count, "\(text): \(error)")
                #expect(!error.message.isEmpty)
            } catch {
                Issue.record("unexpected error type: \(error)")
            }
        }
    }

    @Test("the parser never traps on arbitrary Unicode")
    func noTrapsUnicode() async {
        let gen = Gen<Character>.character(in: "\u{0}"..."\u{2FF}").string(of: 0...30)
        await propertyCheck(count: 2_000, input: gen) { text in
            if let selector = try? Selector(text) {
                #expect((try? Selector(selector.canonical)) != nil)
            }
        }
    }
}
