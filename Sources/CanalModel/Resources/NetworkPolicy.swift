/// The spec of a NetworkPolicy. (Skeleton: fields, defaults and validation to be filled in.)
public struct NetworkPolicySpec: ResourceSpec {
    public static var kind: ResourceKind { .networkPolicy }
    public init() {}
}
