/// The spec of a GlobalNetworkSet. (Skeleton: fields, defaults and validation to be filled in.)
public struct GlobalNetworkSetSpec: ResourceSpec {
    public static var kind: ResourceKind { .globalNetworkSet }
    public init() {}
}
