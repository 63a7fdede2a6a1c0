/// The spec of a Profile. (Skeleton: fields, defaults and validation to be filled in.)
public struct ProfileSpec: ResourceSpec {
    public static var kind: ResourceKind { .profile }
    public init() {}
}
