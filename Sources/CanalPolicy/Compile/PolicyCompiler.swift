public import CanalModel

/// Compiles a cluster's policy for one node into Felix's dataplane layout, as a pure function.
///
/// ```swift
/// let compiled = try PolicyCompiler.compile(cluster, node: "node1")
/// print(IptablesRenderer().restoreInput(compiled.ipv4))
/// let verdict = compiled.simulate(Flow(from: .endpoint(.workload(namespace: "default", name: "web")),
///                                      to: .endpoint(.workload(namespace: "default", name: "db")),
///                                      protocol: 6, port: 5432))
/// ```
///
/// Two stages, as in Felix: resolution (the node's endpoints; per endpoint and direction the
/// tiers in order and the policies that select it in order; profiles with `labelsToApply`
/// inheritance; v3 selectors rewritten as Calico's update processors do; selectors and named
/// ports turned into IP sets whose members are taken cluster-wide) and layout (Felix's chains,
/// marks and dispatch). ``CompiledPolicy/simulate(_:)`` evaluates the resolved stage directly,
/// never the rendered rules, so it can check them.
public enum PolicyCompiler {
    /// The compiled policy of `node`.
    ///
    /// - Throws: ``PolicyCompileError`` for rules the dataplane cannot express (numeric ports
    ///   without TCP/UDP/SCTP, ICMP fields without an ICMP protocol, unparsable selectors or nets).
    public static func compile(
        _ cluster: ClusterState, node: String, configuration: DataplaneConfiguration = .default
    ) throws(PolicyCompileError) -> CompiledPolicy {
        var resolver = Resolver(node: node, configuration: configuration)
        let model = try resolver.resolve(cluster)
        return CompiledPolicy(
            model: model,
            ipv4: LayoutBuilder(model: model, family: .v4).build(),
            ipv6: LayoutBuilder(model: model, family: .v6).build())
    }
}

/// A node's compiled policy: one rule set per family, and the resolved model behind them.
public struct CompiledPolicy: Sendable, Hashable {
    let model: ResolvedNode
    /// The IPv4 rule set (filter, plus raw/mangle when doNotTrack/preDNAT policy applies).
    public let ipv4: RuleSet
    /// The IPv6 rule set.
    public let ipv6: RuleSet

    /// The node's name.
    public var node: String { model.node }

    /// The rule set of `family`.
    public func ruleSet(_ family: IPAddress.Family) -> RuleSet { family == .v4 ? ipv4 : ipv6 }

    /// The node's endpoints with an interface, sorted by interface.
    public var localEndpoints: [(id: EndpointID, interface: String)] { model.endpoints.map { ($0.id, $0.interface) } }

    /// The addresses of any endpoint of the cluster.
    public func addresses(of endpoint: EndpointID) -> [IPAddress]? { model.addresses[endpoint] }

    /// The minimal update from `old` to this state, per family (only changed chains and sets).
    public func diff(from old: CompiledPolicy) -> (ipv4: RuleSetDiff, ipv6: RuleSetDiff) {
        (RuleSetDiff(from: old.ipv4, to: ipv4), RuleSetDiff(from: old.ipv6, to: ipv6))
    }
}
