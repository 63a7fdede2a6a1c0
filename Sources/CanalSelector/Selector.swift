/// A Calico label selector, parsed, canonicalised and compiled for evaluation.
///
/// The language, its evaluation and its canonical form are libcalico-go's (`lib/selector`), case
/// for case:
///
/// ```swift
/// let selector = try Selector("role == 'db' && env in {'prod', 'staging'}")
/// selector.canonical   // (role == "db" && env in {"prod", "staging"})
/// selector.uniqueID    // s:… (base64url SHA-224 of "s:" + canonical)
/// selector.matches(["role": "db", "env": "prod"])   // true
/// ```
///
/// Parsing happens once; ``matches(_:)-(LabelSet)`` then runs a flat compiled program against a
/// prepared ``LabelSet`` without allocating. Two selectors are equal when their canonical strings
/// are byte-for-byte equal (so they have the same ``uniqueID``).
///
/// One deliberate difference from Calico: parentheses may nest at most
/// ``maximumNestingDepth`` deep, so that parsing untrusted input cannot exhaust the stack.
public struct Selector: Sendable, Hashable, CustomStringConvertible {
    /// The longest label key the tokenizer accepts, in bytes (Calico's `MaxLabelLength`).
    public static let maximumLabelLength = 512
    /// The deepest nesting of parentheses accepted (Calico has no limit; Canal's guards the stack).
    public static let maximumNestingDepth = 256

    @usableFromInline
    final class Storage: Sendable {
        let root: Node
        let canonical: String
        let uniqueID: String
        @usableFromInline let program: Program

        init(root: Node) {
            self.root = root
            let canonical = root.canonical
            self.canonical = canonical
            self.uniqueID = Selector.uniqueID(prefix: "s", content: canonical)
            self.program = Program(root, sizeHint: canonical.utf8.count)
        }
    }

    @usableFromInline let storage: Storage

    private init(root: Node) {
        storage = Storage(root: root)
    }

    /// Parses `text` exactly as Calico's `selector.Parse` does.
    ///
    /// The input is not trimmed: only spaces and tabs count as whitespace, and an empty (or
    /// all-blank) selector means `all()`. Use ``init(normalizing:)`` to trim first.
    ///
    /// - Throws: ``SelectorError`` with the offset of the first lexical error, or else of the
    ///   first grammatical one.
    public init(_ text: String) throws(SelectorError) {
        var text = text
        let result = text.withUTF8 { utf8 in Result { () throws(SelectorError) in try Parser.parse(utf8) } }
        self.init(root: try result.get())
    }

    /// Parses `text` after trimming leading and trailing Unicode whitespace (Go's
    /// `strings.TrimSpace`), as Calico's `selector.Normalise` does before parsing.
    public init(normalizing text: String) throws(SelectorError) {
        try self.init(Self.trimmingSpace(text))
    }

    /// Calico's `selector.Normalise`: the canonical form of `text` after trimming whitespace, or
    /// the trimmed text itself when it does not parse.
    public static func normalize(_ text: String) -> String {
        let trimmed = trimmingSpace(text)
        guard let selector = try? Selector(trimmed) else { return trimmed }
        return selector.canonical
    }

    /// The selector that matches everything, `all()`.
    public static let all = Selector(root: .all)

    /// The canonical string: Calico's `Selector.String()`, e.g. `(a == "b" && has(c))`.
    ///
    /// Re-parsing it gives an equal selector, except that a negated negation such as
    /// `!(!(a == "b"))` canonicalises to `!!a == "b"`, which re-parses as `a == "b"` (Calico's
    /// behaviour, kept so that unique ids match).
    public var canonical: String { storage.canonical }

    /// Calico's unique id: `s:` followed by the unpadded base64url SHA-224 of `s:` + ``canonical``.
    public var uniqueID: String { storage.uniqueID }

    /// The canonical string.
    public var description: String { storage.canonical }

    /// Whether the selector is exactly `all()` (an empty selector is one).
    public var isAll: Bool {
        if case .all = storage.root { return true }
        return false
    }

    /// Whether the selector mentions `global()` anywhere (it only has meaning through the
    /// namespace-selector rewrite Calico applies to canonical strings).
    public var containsGlobal: Bool { mentionsGlobal(storage.root) }

    private func mentionsGlobal(_ node: Node) -> Bool {
        switch node {
        case .global: true
        case .all, .has, .compare, .set: false
        case .not(let operand): mentionsGlobal(operand)
        case .and(let operands), .or(let operands): operands.contains(where: mentionsGlobal)
        }
    }

    /// The result of every evaluation when the selector tests no labels at all (`all()`,
    /// `!all()`, `global() || has(a)` is not constant, …); `nil` otherwise.
    public var constantResult: Bool? { storage.program.constant }

    /// A label that every label set the selector matches carries with one of `values`: from a
    /// top-level `key == "v"` or `key in {…}` (or one inside a top-level `&&`); nil when there is
    /// none. For indexing selectors by label: a label set without `key` set to one of `values`
    /// (compared bytewise) never matches, so only the others need ``matches(_:)-(LabelSet)``.
    public var requiredLabel: (key: String, values: [String])? { Self.requiredLabel(of: storage.root) }

    private static func requiredLabel(of node: Node) -> (key: String, values: [String])? {
        switch node {
        case .compare(let key, .equal, let value): (key, [value])
        case .set(let key, false, let values): (key, values)
        case .and(let operands): operands.lazy.compactMap(requiredLabel(of:)).first
        default: nil
        }
    }

    /// The distinct label keys the selector mentions, sorted bytewise.
    public var labelKeys: [String] {
        var keys: [String] = []
        storage.root.collectLabels(into: &keys)
        return Node.normalizedSet(keys)
    }

    /// The same selector with `prefix` put in front of every label key, as Calico's
    /// `PrefixVisitor` does for namespace (`pcns.`) and service-account (`pcsa.`) selectors.
    ///
    /// The result is built from the tree, not re-parsed, so a prefix outside the label charset
    /// or a key beyond 512 bytes is kept as is (as in Calico).
    public func prefixingLabels(with prefix: String) -> Selector {
        Selector(root: storage.root.prefixingLabels(with: prefix))
    }

    /// Whether the labels match, looking each key up in the dictionary (keys and values compare
    /// as bytes). For repeated evaluation prefer ``matches(_:)-(LabelSet)``.
    public func matches(_ labels: [String: String]) -> Bool {
        storage.program.evaluate(labels)
    }

    /// Whether the prepared labels match; does not allocate.
    ///
    /// Inlinable: inlined into a loop over label sets, the label set is not retained and
    /// released around every call (the selector benchmark shows the gain).
    @inlinable
    public func matches(_ labels: LabelSet) -> Bool {
        storage.program.evaluate(labels)
    }

    /// Equal when the canonical strings are equal byte for byte.
    public static func == (lhs: Selector, rhs: Selector) -> Bool {
        lhs.storage === rhs.storage || Bytes.same(lhs.storage.canonical, rhs.storage.canonical)
    }

    /// Hashes the unique id (a function of the canonical bytes).
    public func hash(into hasher: inout Hasher) {
        hasher.combine(storage.uniqueID)
    }

    /// The parsed tree (for tests and the fuzzer's invariants).
    var root: Node { storage.root }

    /// Builds a selector from a tree.
    init(_ root: Node) { self.init(root: root) }

    /// Go's `strings.TrimSpace`: Unicode White_Space at both ends.
    static func trimmingSpace(_ text: String) -> String {
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })!
        return String(scalars[first...last])
    }
}
