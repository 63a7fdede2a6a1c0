/// The spec of a BGPConfiguration. (Skeleton: fields, defaults and validation to be filled in.)
public struct BGPConfigurationSpec: ResourceSpec {
    public static var kind: ResourceKind { .bgpConfiguration }
    public init() {}
}
