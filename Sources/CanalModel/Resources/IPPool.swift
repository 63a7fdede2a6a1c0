/// The spec of a IPPool. (Skeleton: fields, defaults and validation to be filled in.)
public struct IPPoolSpec: ResourceSpec {
    public static var kind: ResourceKind { .ipPool }
    public init() {}
}
