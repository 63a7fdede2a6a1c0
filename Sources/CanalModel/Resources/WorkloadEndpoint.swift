/// The spec of a WorkloadEndpoint. (Skeleton: fields, defaults and validation to be filled in.)
public struct WorkloadEndpointSpec: ResourceSpec {
    public static var kind: ResourceKind { .workloadEndpoint }
    public init() {}
}
