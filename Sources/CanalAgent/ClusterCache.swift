import CanalDatastore
import CanalIPAM
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
        .networkSet, .globalNetworkSet, .felixConfiguration, .ipPool, .node,
    ]

    /// The raw key prefixes the agent watches besides the kinds: every host's block affinities.
    static let rawPrefixes = [IPAMKeys.hostAffinityRoot]

    /// Every confirmed block affinity, by key: the host and the block.
    private(set) var affinities: [String: (host: String, block: CIDR)] = [:]

    private(set) var resources: [String: any AnyResource] = [:]
    /// Keys whose latest value could not be decoded, with the reason.
    private(set) var undecodable: [String: String] = [:]
    /// Bumped on every change.
    private(set) var generation = 0
    /// The changes since the last ``takeChanges()``, for the incremental compiler.
    private var changes: [ClusterChange] = []
    /// Whether a FelixConfiguration changed since the last ``takeChanges()`` (the dataplane
    /// settings may differ: the compiler session must start over).
    private var configurationChanged = false
    /// Bumped when a resource host networking reads changes (``networkKinds``).
    private(set) var networkGeneration = 0
    /// Kinds host networking reads (not the policy compiler).
    static let networkKinds: Set<ResourceKind> = [.ipPool, .felixConfiguration, .node]

    /// Applies one update; returns a problem to log, if any.
    mutating func apply(_ update: SyncUpdate) -> String? {
        if let (host, block) = IPAMKeys.parseAffinity(update.key) {
            generation += 1
            networkGeneration += 1
            var confirmed = false
            if update.kind == .put, let value = try? BlockAffinity(json: update.value?.value ?? []) {
                confirmed = value.state == .confirmed && !value.deleted
            }
            affinities[update.key] = confirmed ? (host, block) : nil
            return nil
        }
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
        record(.put(resource), kind: resource.kind)
        return nil
    }

    /// A key's deletion.
    mutating func delete(_ key: String) -> String? {
        generation += 1
        if let old = resources.removeValue(forKey: key) {
            record(.delete(old.kind, namespace: old.metadata.namespace, name: old.metadata.name ?? ""), kind: old.kind)
        }
        undecodable.removeValue(forKey: key)
        return nil
    }

    private mutating func record(_ change: ClusterChange, kind: ResourceKind) {
        if Self.networkKinds.contains(kind) { networkGeneration += 1 }
        if kind == .ipPool || kind == .node { return }
        if kind == .felixConfiguration {
            configurationChanged = true
        } else {
            changes.append(change)
        }
    }

    /// The changes since the last call (in order), and whether a FelixConfiguration changed.
    mutating func takeChanges() -> (changes: [ClusterChange], configurationChanged: Bool) {
        defer {
            changes = []
            configurationChanged = false
        }
        return (changes, configurationChanged)
    }

    /// The compiler's input.
    func clusterState() -> ClusterState {
        ClusterState(resources: resources.keys.sorted().compactMap { key in
            let resource = resources[key]!
            return resource.kind == .ipPool || resource.kind == .node ? nil : resource
        })
    }

    /// The dataplane settings: the node's `node.<name>` FelixConfiguration, else `default`.
    func dataplaneConfiguration(node: String) throws(PolicyCompileError) -> DataplaneConfiguration {
        guard let config = felixConfiguration(node: node) else { return .default }
        return try DataplaneConfiguration(config.spec)
    }

    /// The node's `node.<name>` FelixConfiguration, else `default`, if any.
    func felixConfiguration(node: String) -> FelixConfiguration? {
        let configs = resources.values.compactMap { $0 as? FelixConfiguration }
        return configs.first(where: { $0.metadata.name == "node.\(node)" })
            ?? configs.first(where: { $0.metadata.name == "default" })
    }
}
