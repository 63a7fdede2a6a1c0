/// The comparison operators that take one string literal.
enum Comparison: UInt8, Sendable, CaseIterable {
    case equal, notEqual, contains, startsWith, endsWith

    /// The operator as written in the canonical form, with its surrounding spaces.
    var canonicalText: String {
        switch self {
        case .equal: " == "
        case .notEqual: " != "
        case .contains: " contains "
        case .startsWith: " starts with "
        case .endsWith: " ends with "
        }
    }
}

/// A parsed selector expression, shaped as libcalico-go's AST (`parser/ast.go`) so that the
/// canonical string comes out the same: groups of one node are dropped at parse time, `&&`/`||`
/// chains keep their nesting, and a run of `!` becomes at most one `not`.
///
/// Labels and literals are compared as bytes (see ``Node/==``), never by Swift's canonical
/// string equivalence.
indirect enum Node: Sendable {
    case all
    case global
    case has(String)
    case compare(String, Comparison, String)
    /// `label in {…}` (negated: `label not in {…}`); values sorted bytewise and de-duplicated.
    case set(String, negated: Bool, [String])
    case not(Node)
    /// Two or more operands.
    case and([Node])
    /// Two or more operands.
    case or([Node])
}

extension Node: Equatable {
    static func == (lhs: Node, rhs: Node) -> Bool {
        switch (lhs, rhs) {
        case (.all, .all), (.global, .global): true
        case (.has(let a), .has(let b)): Bytes.same(a, b)
        case (.compare(let a, let op1, let v1), .compare(let b, let op2, let v2)):
            op1 == op2 && Bytes.same(a, b) && Bytes.same(v1, v2)
        case (.set(let a, let n1, let s1), .set(let b, let n2, let s2)):
            n1 == n2 && Bytes.same(a, b) && s1.count == s2.count && zip(s1, s2).allSatisfy { Bytes.same($0, $1) }
        case (.not(let a), .not(let b)): a == b
        case (.and(let a), .and(let b)), (.or(let a), .or(let b)): a == b
        default: false
        }
    }
}

extension Node {
    /// Sorts set members bytewise and drops duplicates, as `ConvertToStringSetInPlace` does.
    static func normalizedSet(_ values: [String]) -> [String] {
        if values.count <= 1 { return values }
        var values = values
        values.sort(by: Bytes.less)
        var kept = 1
        for i in 1..<values.count where !Bytes.same(values[i], values[kept - 1]) {
            values.swapAt(i, kept)
            kept += 1
        }
        values.removeLast(values.count - kept)
        return values
    }

    /// The canonical string, libcalico-go's `Selector.String()`.
    var canonical: String {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        appendCanonical(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    func appendCanonical(to out: inout [UInt8]) {
        switch self {
        case .all:
            out.append(contentsOf: "all()".utf8)
        case .global:
            out.append(contentsOf: "global()".utf8)
        case .has(let label):
            out.append(contentsOf: "has(".utf8)
            out.append(contentsOf: label.utf8)
            out.append(UInt8(ascii: ")"))
        case .compare(let label, let op, let value):
            out.append(contentsOf: label.utf8)
            out.append(contentsOf: op.canonicalText.utf8)
            Self.appendQuoted(value, to: &out)
        case .set(let label, let negated, let values):
            out.append(contentsOf: label.utf8)
            out.append(contentsOf: (negated ? " not in {" : " in {").utf8)
            for (i, v) in values.enumerated() {
                if i > 0 { out.append(contentsOf: ", ".utf8) }
                Self.appendQuoted(v, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        case .not(let operand):
            out.append(UInt8(ascii: "!"))
            operand.appendCanonical(to: &out)
        case .and(let operands):
            Self.appendGroup(operands, separator: " && ", to: &out)
        case .or(let operands):
            Self.appendGroup(operands, separator: " || ", to: &out)
        }
    }

    private static func appendGroup(_ operands: [Node], separator: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "("))
        for (i, operand) in operands.enumerated() {
            if i > 0 { out.append(contentsOf: separator.utf8) }
            operand.appendCanonical(to: &out)
        }
        out.append(UInt8(ascii: ")"))
    }

    /// `"value"`, or `'value'` when the value contains `"` (it then cannot contain `'`).
    private static func appendQuoted(_ value: String, to out: inout [UInt8]) {
        let quote = value.utf8.contains(UInt8(ascii: "\"")) ? UInt8(ascii: "'") : UInt8(ascii: "\"")
        out.append(quote)
        out.append(contentsOf: value.utf8)
        out.append(quote)
    }

    /// Every label key the expression mentions, in order of appearance (with repeats).
    func collectLabels(into keys: inout [String]) {
        switch self {
        case .all, .global: break
        case .has(let label), .compare(let label, _, _), .set(let label, _, _): keys.append(label)
        case .not(let operand): operand.collectLabels(into: &keys)
        case .and(let operands), .or(let operands):
            for operand in operands { operand.collectLabels(into: &keys) }
        }
    }

    /// The same expression with `prefix` put in front of every label key (Calico's `PrefixVisitor`).
    func prefixingLabels(with prefix: String) -> Node {
        switch self {
        case .all, .global: self
        case .has(let label): .has(prefix + label)
        case .compare(let label, let op, let value): .compare(prefix + label, op, value)
        case .set(let label, let negated, let values): .set(prefix + label, negated: negated, values)
        case .not(let operand): .not(operand.prefixingLabels(with: prefix))
        case .and(let operands): .and(operands.map { $0.prefixingLabels(with: prefix) })
        case .or(let operands): .or(operands.map { $0.prefixingLabels(with: prefix) })
        }
    }

    /// Reference evaluation straight from the tree, as `ast.go` does. Used by tests to check
    /// the compiled program; the public API evaluates the compiled form.
    func evaluate(_ labels: [String: String]) -> Bool {
        func lookup(_ key: String) -> String? {
            guard let index = labels.index(forKey: key), Bytes.same(labels[index].key, key) else { return nil }
            return labels[index].value
        }
        switch self {
        case .all, .global: return true
        case .has(let label): return lookup(label) != nil
        case .compare(let label, let op, let literal):
            guard let value = lookup(label) else { return op == .notEqual }
            let v = Array(value.utf8), l = Array(literal.utf8)
            switch op {
            case .equal: return v == l
            case .notEqual: return v != l
            case .startsWith: return v.starts(with: l)
            case .endsWith: return v.count >= l.count && Array(v.suffix(l.count)) == l
            case .contains:
                if l.isEmpty { return true }
                if l.count > v.count { return false }
                for start in 0...(v.count - l.count) where Array(v[start..<(start + l.count)]) == l { return true }
                return false
            }
        case .set(let label, let negated, let values):
            guard let value = lookup(label) else { return negated }
            let found = values.contains { Bytes.same($0, value) }
            return negated ? !found : found
        case .not(let operand): return !operand.evaluate(labels)
        case .and(let operands): return operands.allSatisfy { $0.evaluate(labels) }
        case .or(let operands): return operands.contains { $0.evaluate(labels) }
        }
    }
}
