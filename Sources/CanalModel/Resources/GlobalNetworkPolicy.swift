/// The spec of a GlobalNetworkPolicy. (Skeleton: fields, defaults and validation to be filled in.)
public struct GlobalNetworkPolicySpec: ResourceSpec {
    public static var kind: ResourceKind { .globalNetworkPolicy }
    public init() {}
}
