import CanalDatastore
import CanalModel
import CanalSelector
import Foundation

extension Pool {
    /// A pool's `namespaceSelector`: nil when empty or `all()` (every namespace); one that does not
    /// parse selects no namespace.
    static func namespaceSelector(_ text: String) -> Selector? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, trimmed != "all()" else { return nil }
        return (try? Selector(trimmed)) ?? Selector.none
    }

    /// Whether the pool's `namespaceSelector` selects a namespace with these labels.
    func selectsNamespace(_ labels: [String: String]) -> Bool { namespaceSelector?.matches(labels) ?? true }
}

extension IPAMClient {
    /// The profile Calico's Kubernetes conversion writes for a namespace: `kns.<namespace>`, whose
    /// `labelsToApply` carries the namespace's labels prefixed `pcns.`.
    static func namespaceProfileKey(_ namespace: String) -> String {
        "/calico/resources/v3/projectcalico.org/profiles/kns.\(namespace)"
    }

    /// The labels pools' `namespaceSelector`s are evaluated on (Calico's `determinePools`): the
    /// request's ``AutoAssignRequest/namespaceLabels`` when given; else, only when some pool has a
    /// namespace selector, the `labelsToApply` of the profile `kns.<namespace>` (namespace from
    /// ``AutoAssignRequest/namespace`` or the `namespace` attribute) with the `pcns.` prefix
    /// removed — one read; no namespace or no profile means no labels.
    func namespaceLabels(for request: AutoAssignRequest, pools: [Pool]) async throws -> [String: String] {
        if let given = request.namespaceLabels { return given }
        guard pools.contains(where: { $0.namespaceSelector != nil }),
              let namespace = request.namespace ?? request.attributes["namespace"], !namespace.isEmpty, !namespace.contains("/")
        else { return [:] }
        guard let kv = try await store.get(Self.namespaceProfileKey(namespace).bytes),
              let value = try? JSONValue(parsing: kv.value),
              let applied = value["spec"]?["labelsToApply"]?.stringMapValue
        else { return [:] }
        var labels: [String: String] = [:]
        for (key, value) in applied where !key.hasPrefix("pcns.") { labels[key] = value }
        for (key, value) in applied where key.hasPrefix("pcns.") { labels[String(key.dropFirst(5))] = value }
        return labels
    }
}
