/// The spec of a GlobalNetworkSet: a cluster-wide, labelled set of networks that rule selectors can match.
public struct GlobalNetworkSetSpec: ResourceSpec {
    public static var kind: ResourceKind { .globalNetworkSet }

    /// CIDRs or bare addresses (host bits may be set).
    public var nets: [String]?

    /// A global network set spec.
    public init(nets: [String]? = nil) { self.nets = nets }

    /// Each net is a CIDR or an address; the label `projectcalico.org/namespace` is reserved.
    public static func validate(_ resource: Resource<Self>, into v: inout Validator) {
        NetworkSetValidation.validate(nets: resource.spec.nets, metadata: resource.metadata, into: &v)
    }
}
