/// The spec of a FelixConfiguration. (Skeleton: fields, defaults and validation to be filled in.)
public struct FelixConfigurationSpec: ResourceSpec {
    public static var kind: ResourceKind { .felixConfiguration }
    public init() {}
}
