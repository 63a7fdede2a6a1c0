/// The spec of a NetworkSet: a namespaced, labelled set of networks that rule selectors can match.
public struct NetworkSetSpec: ResourceSpec {
    public static var kind: ResourceKind { .networkSet }

    /// CIDRs or bare addresses (host bits may be set).
    public var nets: [String]?

    /// A network set spec.
    public init(nets: [String]? = nil) { self.nets = nets }

    /// Each net is a CIDR or an address; the label `projectcalico.org/namespace` is reserved.
    public static func validate(_ resource: Resource<Self>, into v: inout Validator) {
        NetworkSetValidation.validate(nets: resource.spec.nets, metadata: resource.metadata, into: &v)
    }
}

/// The rules NetworkSet and GlobalNetworkSet share.
enum NetworkSetValidation {
    static func validate(nets: [String]?, metadata: ObjectMeta, into v: inout Validator) {
        for (i, net) in (nets ?? []).enumerated() {
            v.ipOrCIDR(net, at: FieldPath("spec.nets")[i])
        }
        if metadata.labels?[CalicoLabel.namespace] != nil {
            v.report(FieldPath("metadata.labels")[CalicoLabel.namespace],
                     "\(CalicoLabel.namespace) is not a valid label name: Calico reserves it")
        }
    }
}
