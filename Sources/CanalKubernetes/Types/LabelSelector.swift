/// A Kubernetes label selector (`metav1.LabelSelector`): every `matchLabels` pair and every
/// `matchExpressions` requirement must hold. An empty selector selects everything.
public struct LabelSelector: Codable, Sendable, Hashable {
    /// `key: value` pairs that must all match exactly.
    public var matchLabels: [String: String]?
    /// Requirements that must all hold.
    public var matchExpressions: [LabelSelectorRequirement]?

    /// A selector from its parts.
    public init(matchLabels: [String: String]? = nil, matchExpressions: [LabelSelectorRequirement]? = nil) {
        self.matchLabels = matchLabels
        self.matchExpressions = matchExpressions
    }

    /// Whether the selector has no terms (it selects everything).
    public var isEmpty: Bool { (matchLabels ?? [:]).isEmpty && (matchExpressions ?? []).isEmpty }
}

/// One requirement of a label selector: `key` related to `values` by `operator`.
public struct LabelSelectorRequirement: Codable, Sendable, Hashable {
    /// The label key (a qualified name).
    public var key: String
    /// `In`, `NotIn`, `Exists` or `DoesNotExist`; kept as written so that validation can name a bad one.
    public var `operator`: String
    /// The values: non-empty for `In` and `NotIn`, empty for `Exists` and `DoesNotExist`.
    public var values: [String]?

    /// A requirement from its parts.
    public init(key: String, operator: String, values: [String]? = nil) {
        self.key = key
        self.operator = `operator`
        self.values = values
    }

    /// The operators Kubernetes accepts.
    public static let operators = ["In", "NotIn", "Exists", "DoesNotExist"]
}
