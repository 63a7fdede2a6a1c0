public import CanalModel

/// The error of the Kubernetes domain: a document that is not one of the supported Kubernetes
/// objects, does not have its shape, or breaks a rule the Kubernetes API server enforces.
///
/// Every problem carries its Kubernetes field path, for example
/// `spec.ingress[0].ports[1].endPort` or `spec.podSelector.matchExpressions[0].operator`.
public struct KubernetesError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Storage: String, Sendable, Hashable {
            case unsupportedKind, schema, invalid, unconvertible
        }
        private let storage: Storage
        private init(_ s: Storage) { storage = s }

        /// The `kind` or `apiVersion` is not one Canal converts (NetworkPolicy
        /// `networking.k8s.io/v1`; Namespace, ServiceAccount, Pod `v1`; `List`s of them).
        public static let unsupportedKind = Code(.unsupportedKind)
        /// The document does not have the shape of its kind: a wrong type, a missing or unknown field.
        public static let schema = Code(.schema)
        /// The document has the right shape but a value breaks a rule of the Kubernetes API server.
        public static let invalid = Code(.invalid)
        /// The object is valid but cannot become a Calico resource (for example a pod with no node).
        public static let unconvertible = Code(.unconvertible)

        public var description: String { storage.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// A human summary naming the object.
    public var message: String
    /// Every problem found, each with its Kubernetes field path.
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
