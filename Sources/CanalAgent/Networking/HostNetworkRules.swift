import CanalModel
import CanalPolicy

/// The rules host networking adds to the policy's rule sets (outgoing NAT), derived from the
/// cluster cache's IP pools and FelixConfiguration.
struct HostNetworkRules: Sendable, Hashable {
    /// One family's tables and IP sets.
    struct Part: Sendable, Hashable {
        var tables: [Table]
        var ipSets: [IPSet]
    }

    var v4: Part
    var v6: Part

    /// The rules for `node` from `cache`.
    ///
    /// - Throws: ``PolicyCompileError`` naming the FelixConfiguration field that is wrong.
    init(_ cache: ClusterCache, node: String) throws(PolicyCompileError) {
        let settings = try cache.felixConfiguration(node: node).map { config throws(PolicyCompileError) in
            try HostNetworkSettings(config.spec)
        } ?? HostNetworkSettings()
        let pools = cache.resources.values.compactMap { $0 as? IPPool }.sorted { ($0.metadata.name ?? "") < ($1.metadata.name ?? "") }
        let nat4 = NATOutgoing.rules(pools: pools, settings: settings, family: .v4)
        let nat6 = NATOutgoing.rules(pools: pools, settings: settings, family: .v6)
        v4 = Part(tables: nat4.map { [$0.table] } ?? [], ipSets: nat4?.ipSets ?? [])
        v6 = Part(tables: nat6.map { [$0.table] } ?? [], ipSets: nat6?.ipSets ?? [])
    }

    /// `compiled` with these rules merged in.
    func merged(into compiled: (v4: RuleSet, v6: RuleSet)) -> (v4: RuleSet, v6: RuleSet) {
        (compiled.v4.merging(tables: v4.tables, ipSets: v4.ipSets), compiled.v6.merging(tables: v6.tables, ipSets: v6.ipSets))
    }
}
