/// The spec of a ClusterInformation. (Skeleton: fields, defaults and validation to be filled in.)
public struct ClusterInformationSpec: ResourceSpec {
    public static var kind: ResourceKind { .clusterInformation }
    public init() {}
}
