/// The spec of a Node. (Skeleton: fields, defaults and validation to be filled in.)
public struct NodeSpec: ResourceSpec {
    public static var kind: ResourceKind { .node }
    public init() {}
}
