/// The spec of a HostEndpoint. (Skeleton: fields, defaults and validation to be filled in.)
public struct HostEndpointSpec: ResourceSpec {
    public static var kind: ResourceKind { .hostEndpoint }
    public init() {}
}
