/// The error of the model domain: a manifest that cannot be read, or a resource that is not valid.
///
/// A validation failure carries every problem of the document at once in ``fieldErrors``,
/// each naming its field path (for example `spec.ingress[0].destination.ports[1]`).
public struct ModelError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Storage: String, Sendable, Hashable {
            case syntax, schema, invalid, unknownKind
        }
        private let storage: Storage
        private init(_ s: Storage) { storage = s }

        /// The text is not well-formed JSON or YAML.
        public static let syntax = Code(.syntax)
        /// The document does not have the shape of its kind: a wrong type, a missing or unknown field.
        public static let schema = Code(.schema)
        /// The document has the right shape but a value breaks a rule (Calico's validator).
        public static let invalid = Code(.invalid)
        /// The `kind` or `apiVersion` is not one Canal knows.
        public static let unknownKind = Code(.unknownKind)

        public var description: String { storage.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// A human summary.
    public var message: String
    /// Every problem found, each with its field path; may be empty for syntax errors.
    public var fieldErrors: [FieldError]

    /// Creates an error.
    public init(_ code: Code, _ message: String, fieldErrors: [FieldError] = []) {
        self.code = code
        self.message = message
        self.fieldErrors = fieldErrors
    }

    public var description: String {
        if fieldErrors.isEmpty { return message }
        return message + ": " + fieldErrors.map(\.description).joined(separator: "; ")
    }
}

/// One problem with one field of a document.
public struct FieldError: Sendable, Hashable, CustomStringConvertible {
    /// Where, for example `spec.ingress[0].protocol`.
    public var path: FieldPath
    /// What is wrong, for example `protocol "tcp" is not one of TCP, UDP, …`.
    public var message: String

    /// Creates a field error.
    public init(_ path: FieldPath, _ message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}

/// A path to a field of a document: keys and list indices, printed as `spec.ingress[0].action`.
public struct FieldPath: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// One step of a path.
    public enum Component: Sendable, Hashable {
        case key(String)
        case index(Int)
    }

    /// The steps from the document's root.
    public var components: [Component]

    /// The root of a document.
    public static let root = FieldPath(components: [])

    /// A path from its steps.
    public init(components: [Component]) { self.components = components }

    /// A path from dotted text; only keys (no indices), for literals such as `"spec.selector"`.
    public init(stringLiteral value: String) {
        components = value.isEmpty ? [] : value.split(separator: ".").map { .key(String($0)) }
    }

    /// Whether this is the root.
    public var isEmpty: Bool { components.isEmpty }

    /// This path with a key appended.
    public func key(_ k: String) -> FieldPath { FieldPath(components: components + [.key(k)]) }
    /// This path with a list index appended.
    public func index(_ i: Int) -> FieldPath { FieldPath(components: components + [.index(i)]) }
    /// Shorthand for ``key(_:)``.
    public subscript(_ k: String) -> FieldPath { key(k) }
    /// Shorthand for ``index(_:)``.
    public subscript(_ i: Int) -> FieldPath { index(i) }

    public var description: String {
        var out = ""
        for c in components {
            switch c {
            case .key(let k): out += out.isEmpty ? k : "." + k
            case .index(let i): out += "[\(i)]"
            }
        }
        return out
    }
}

/// Collects the field errors of one document.
///
/// Validation code reports into it and goes on, so that every problem of a document is found in one pass.
public struct Validator: Sendable {
    /// The problems found so far, in the order they were found.
    public private(set) var errors: [FieldError] = []

    /// An empty validator.
    public init() {}

    /// Records a problem at a path.
    public mutating func report(_ path: FieldPath, _ message: String) {
        errors.append(FieldError(path, message))
    }

    /// Records a problem at a path unless `condition` holds.
    public mutating func check(_ condition: Bool, _ path: FieldPath, _ message: @autoclosure () -> String) {
        if !condition { report(path, message()) }
    }

    /// Whether nothing was reported.
    public var isValid: Bool { errors.isEmpty }
}
