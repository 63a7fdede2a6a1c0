/// The spec of a Tier. (Skeleton: fields, defaults and validation to be filled in.)
public struct TierSpec: ResourceSpec {
    public static var kind: ResourceKind { .tier }
    public init() {}
}
