/// The spec of a NetworkSet. (Skeleton: fields, defaults and validation to be filled in.)
public struct NetworkSetSpec: ResourceSpec {
    public static var kind: ResourceKind { .networkSet }
    public init() {}
}
