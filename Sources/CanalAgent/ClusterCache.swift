import CanalDatastore
import CanalModel
import CanalPolicy

/// The agent's view of the datastore: the last good value of every policy-relevant key.
///
/// Fail closed: a value that does not decode is logged and the key keeps its previous value
/// (treating it as deleted could open endpoints a policy under that key protects).
struct ClusterCache: Sendable {
    /// Kinds the agent watches.
    static let kinds: [ResourceKind] = [
        .workloadEndpoint, .hostEndpoint, .profile, .tier, .networkPolicy, .globalNetworkPolicy,
        .networkSet, .globalNetworkSet, .felixConfiguration,
    ]

    private(set) var resources: [String: any AnyResource] = [:]
    /// Keys whose latest value could not be decoded, with the reason.
    private(set) var undecodable: [String: String] = [:]
    /// Bumped on every change.
    private(set) var generation = 0

    /// Applies one update; returns a problem to log, if any.
    mutating func apply(_ update: SyncUpdate) -> String? {
        if update.kind == .delete { return delete(update.key) }
        return put(update.key, update.resource, error: update.error.map { "\($0)" } ?? "not a resource")
    }

    /// A key's new value: the decoded resource, or (nil) the reason it did not decode.
    mutating func put(_ key: String, _ resource: (any AnyResource)?, error: String) -> String? {
        generation += 1
        guard let resource else {
            undecodable[key] = error
            return error
        }
        resources[key] = resource
        undecodable.removeValue(forKey: key)
        return nil
    }

    /// A key's deletion.
    mutating func delete(_ key: String) -> String? {
        generation += 1
        resources.removeValue(forKey: key)
        undecodable.removeValue(forKey: key)
        return nil
    }

    /// The compiler's input.
    func clusterState() -> ClusterState {
        ClusterState(resources: resources.keys.sorted().map { resources[$0]! })
    }

    /// The dataplane settings: the node's `node.<name>` FelixConfiguration, else `default`.
    func dataplaneConfiguration(node: String) throws(PolicyCompileError) -> DataplaneConfiguration {
        let configs = resources.values.compactMap { $0 as? FelixConfiguration }
        guard let config = configs.first(where: { $0.metadata.name == "node.\(node)" })
            ?? configs.first(where: { $0.metadata.name == "default" }) else { return .default }
        return try DataplaneConfiguration(config.spec)
    }
}
