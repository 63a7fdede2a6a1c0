import CanalModel
import Testing

/// Decodes a resource of a known kind from JSON text through the generic, kind-dispatching path.
func decodeTyped<S: ResourceSpec>(_ text: String, as: S.Type = S.self, strict: Bool = true) throws -> Resource<S> {
    let any = try decodeResource(try JSONValue(parsing: text), rejectUnknownFields: strict)
    return try #require(any as? Resource<S>)
}

/// The schema error of decoding text, or nil when it decodes.
func decodeError(_ text: String, strict: Bool = true) -> ModelError? {
    do throws(ModelError) {
        _ = try decodeResource(try JSONValue(parsing: text), rejectUnknownFields: strict)
        return nil
    } catch {
        return error
    }
}

/// The paths of every validation error, as text.
func errorPaths(_ resource: some AnyResource) -> [String] {
    resource.validationErrors().map(\.path.description)
}

/// Encodes, decodes again (strictly) and checks the result is equal; returns the compact JSON text.
@discardableResult
func expectRoundTrip<S: ResourceSpec>(_ resource: Resource<S>, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
    let json = try resource.jsonValue()
    let back = try decodeResource(json)
    #expect(back.isEqual(to: resource), "round trip changed \(json.jsonText)", sourceLocation: sourceLocation)
    return json.jsonText
}

/// A NetworkPolicy around a spec, in namespace `ns`.
func networkPolicy(_ spec: NetworkPolicySpec, name: String = "p1") -> NetworkPolicy {
    NetworkPolicy(metadata: ObjectMeta(name: name, namespace: "ns"), spec: spec)
}

/// A GlobalNetworkPolicy around a spec.
func globalPolicy(_ spec: GlobalNetworkPolicySpec, name: String = "g1") -> GlobalNetworkPolicy {
    GlobalNetworkPolicy(metadata: ObjectMeta(name: name), spec: spec)
}

/// A NetworkPolicy with one ingress rule.
func ingressPolicy(_ rule: Rule) -> NetworkPolicy {
    networkPolicy(NetworkPolicySpec(ingress: [rule]))
}
