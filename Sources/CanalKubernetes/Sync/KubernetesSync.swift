public import CanalModel

/// What to write and what to delete so that the Calico datastore holds what a set of Kubernetes
/// objects converts to — kube-controllers' job in etcd mode, for integrators who watch their own
/// API server (or read files).
///
/// Every resource this produces carries the annotation ``ownerAnnotation`` naming the Kubernetes
/// object it came from, so that a later sync knows which resources are its own: an owned
/// resource whose object is gone is deleted; resources without the mark (written by hand, by
/// calicoctl or by Calico's own kube-controllers) are never touched.
///
/// Pods are handled as kube-controllers handles them in etcd mode: the CNI plugin creates a
/// pod's workload endpoint, and the sync only brings the pod's labels, service account and
/// profiles to it (``merge(_:into:)``); removing a pod deletes nothing (the CNI DEL does).
public struct KubernetesSync: Sendable {
    /// The annotation on every resource a sync writes: the Kubernetes object it came from
    /// (``KubernetesObjectReference`` printed, for example `NetworkPolicy/prod/web`).
    public static let ownerAnnotation = "canal.projectcalico.org/kubernetes-object"

    /// The Calico kinds a sync writes and may delete (WorkloadEndpoints are only merged into).
    public static let ownedKinds: [ResourceKind] = [.profile, .networkPolicy]

    /// The resources to create or replace, each with ``ownerAnnotation``.
    public var writes: [any AnyResource]
    /// The owned resources to delete: their Kubernetes object is no longer in the set.
    public var deletions: [CalicoResourceReference]
    /// The pods whose labels, service account and profiles go to their workload endpoints.
    public var pods: [KubernetesPod]

    /// Plans a sync: `objects` is the whole Kubernetes state; `existing` is what the datastore
    /// holds of ``ownedKinds`` (any resource; only those with ``ownerAnnotation`` count).
    ///
    /// - Throws: the first ``KubernetesError`` of a conversion.
    public init(objects: [KubernetesObject], existing: [any AnyResource], converter: KubernetesConverter = KubernetesConverter()) throws(KubernetesError) {
        var writes: [any AnyResource] = []
        var pods: [KubernetesPod] = []
        var wanted: Set<CalicoResourceReference> = []
        for object in objects {
            if case .pod(let pod) = object {
                pods.append(pod)
                continue
            }
            do throws(KubernetesError) {
                for var resource in try converter.convert(object) {
                    var annotations = resource.metadata.annotations ?? [:]
                    annotations[Self.ownerAnnotation] = object.reference.description
                    resource.metadata.annotations = annotations
                    wanted.insert(CalicoResourceReference(resource))
                    writes.append(resource)
                }
            } catch {
                var e = error
                e.message = "\(object.reference): \(e.message)"
                throw e
            }
        }
        self.writes = writes
        self.pods = pods
        self.deletions = existing
            .filter { Self.owner(of: $0) != nil && Self.ownedKinds.contains($0.kind) }
            .map(CalicoResourceReference.init)
            .filter { !wanted.contains($0) }
            .sorted()
    }

    /// The Kubernetes object an owned resource came from, or nil when it is not owned.
    public static func owner(of resource: any AnyResource) -> KubernetesObjectReference? {
        resource.metadata.annotations?[ownerAnnotation].flatMap(KubernetesObjectReference.init)
    }

    /// The Calico resources that an object produced, which go when it goes: its NetworkPolicy or
    /// profile. A pod produces nothing to delete (its endpoint belongs to the CNI plugin).
    public static func produced(by object: KubernetesObjectReference) -> [CalicoResourceReference] {
        switch object.kind {
        case KubernetesNetworkPolicy.kind:
            [CalicoResourceReference(kind: .networkPolicy, namespace: object.namespace ?? "default", name: KubernetesConverter.networkPolicyName(object.name))]
        case KubernetesNamespace.kind:
            [CalicoResourceReference(kind: .profile, namespace: nil, name: KubernetesConverter.namespaceProfileName(object.name))]
        case KubernetesServiceAccount.kind:
            [CalicoResourceReference(kind: .profile, namespace: nil,
                                     name: KubernetesConverter.serviceAccountProfileName(namespace: object.namespace ?? "", serviceAccount: object.name))]
        default:
            []
        }
    }

    /// Whether `endpoint` is the workload endpoint of `pod` (same namespace, `spec.pod` is the pod's name).
    public static func isEndpoint(_ endpoint: WorkloadEndpoint, of pod: KubernetesPod) -> Bool {
        endpoint.metadata.namespace == (pod.metadata.namespace ?? "default") && endpoint.spec.pod == pod.metadata.name
            && (endpoint.spec.orchestrator ?? "k8s") == "k8s"
    }

    /// `endpoint` with the pod's labels (as ``KubernetesConverter/workloadEndpoint(for:)`` sets
    /// them), service account and profiles, as kube-controllers' pod controller merges them into
    /// the endpoints the CNI plugin wrote. Everything else of the endpoint is kept.
    public static func merge(_ pod: KubernetesPod, into endpoint: WorkloadEndpoint) -> WorkloadEndpoint {
        var out = endpoint
        let namespace = pod.metadata.namespace ?? "default"
        let serviceAccount = pod.spec.serviceAccountName ?? ""
        var labels = pod.metadata.labels ?? [:]
        labels[CalicoLabel.namespace] = namespace
        labels[CalicoLabel.orchestrator] = "k8s"
        if !serviceAccount.isEmpty, serviceAccount.utf8.count < 63 { labels[KubernetesConverter.serviceAccountLabel] = serviceAccount }
        out.metadata.labels = labels
        out.spec.serviceAccountName = serviceAccount.isEmpty ? nil : serviceAccount
        var profiles = [KubernetesConverter.namespaceProfileName(namespace)]
        if !serviceAccount.isEmpty { profiles.append(KubernetesConverter.serviceAccountProfileName(namespace: namespace, serviceAccount: serviceAccount)) }
        out.spec.profiles = profiles
        return out
    }
}

/// A Calico resource by kind, namespace and name (what to delete).
public struct CalicoResourceReference: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The kind.
    public var kind: ResourceKind
    /// The namespace, for namespaced kinds.
    public var namespace: String?
    /// The name.
    public var name: String

    /// A reference from its parts.
    public init(kind: ResourceKind, namespace: String?, name: String) {
        self.kind = kind
        self.namespace = kind.isNamespaced ? namespace : nil
        self.name = name
    }

    /// The reference of a resource.
    public init(_ resource: any AnyResource) {
        self.init(kind: resource.kind, namespace: resource.metadata.namespace, name: resource.metadata.name ?? "")
    }

    public var description: String {
        if let namespace { return "\(kind.name)(\(namespace)/\(name))" }
        return "\(kind.name)(\(name))"
    }

    public static func < (a: Self, b: Self) -> Bool { a.description < b.description }
}
