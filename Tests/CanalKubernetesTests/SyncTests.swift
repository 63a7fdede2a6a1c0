import CanalKubernetes
import CanalModel
import Testing

/// What a sync writes and deletes, and what it leaves alone.
@Suite("KubernetesSync: ownership marks, pruning, pod merges")
struct SyncTests {
    static let objects = """
        apiVersion: v1
        kind: List
        items:
        - {apiVersion: v1, kind: Namespace, metadata: {name: prod}}
        - {apiVersion: v1, kind: ServiceAccount, metadata: {name: sa1, namespace: prod}}
        - {apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: web, namespace: prod}, spec: {podSelector: {}}}
        - {apiVersion: v1, kind: Pod, metadata: {name: p1, namespace: prod, labels: {app: web}}, spec: {nodeName: node1, serviceAccountName: sa1}}
        """

    @Test("writes are marked with the object they came from; pods are merged, not written")
    func writes() throws {
        let sync = try KubernetesSync(objects: try Fixtures.objects(Self.objects), existing: [])
        #expect(sync.writes.map { CalicoResourceReference($0).description } == [
            "Profile(kns.prod)", "Profile(ksa.prod.sa1)", "NetworkPolicy(prod/knp.default.web)",
        ])
        #expect(sync.writes.map { KubernetesSync.owner(of: $0)?.description } == ["Namespace/prod", "ServiceAccount/prod/sa1", "NetworkPolicy/prod/web"])
        #expect(sync.pods.map(\.metadata.name) == ["p1"])
        #expect(sync.deletions.isEmpty)
    }

    @Test("owned resources whose object is gone are deleted; unmarked ones are never touched")
    func prune() throws {
        var ownedGone = Profile(metadata: ObjectMeta(name: "kns.old", annotations: [KubernetesSync.ownerAnnotation: "Namespace/old"]), spec: ProfileSpec())
        ownedGone.metadata.resourceVersion = "5"
        let ownedKept = Profile(metadata: ObjectMeta(name: "kns.prod", annotations: [KubernetesSync.ownerAnnotation: "Namespace/prod"]), spec: ProfileSpec())
        let ownedPolicy = NetworkPolicy(metadata: ObjectMeta(name: "knp.default.gone", namespace: "prod", annotations: [KubernetesSync.ownerAnnotation: "NetworkPolicy/prod/gone"]), spec: NetworkPolicySpec())
        let byCalico = Profile(metadata: ObjectMeta(name: "kns.other"), spec: ProfileSpec())
        let byHand = NetworkPolicy(metadata: ObjectMeta(name: "knp.default.x", namespace: "prod"), spec: NetworkPolicySpec())
        let sync = try KubernetesSync(objects: try Fixtures.objects(Self.objects), existing: [ownedGone, ownedKept, ownedPolicy, byCalico, byHand])
        #expect(sync.deletions.map(\.description) == ["NetworkPolicy(prod/knp.default.gone)", "Profile(kns.old)"])
    }

    @Test("what an object produced, to delete when it goes")
    func produced() {
        #expect(KubernetesSync.produced(by: KubernetesObjectReference("NetworkPolicy/prod/web")!).map(\.description) == ["NetworkPolicy(prod/knp.default.web)"])
        #expect(KubernetesSync.produced(by: KubernetesObjectReference("Namespace/prod")!).map(\.description) == ["Profile(kns.prod)"])
        #expect(KubernetesSync.produced(by: KubernetesObjectReference("ServiceAccount/prod/sa")!).map(\.description) == ["Profile(ksa.prod.sa)"])
        #expect(KubernetesSync.produced(by: KubernetesObjectReference("Pod/prod/p")!).isEmpty)
        #expect(KubernetesObjectReference("Namespace/a/b") == nil)
    }

    @Test("a pod's labels, service account and profiles go to the endpoint the CNI plugin wrote")
    func merge() throws {
        guard case .pod(let pod) = try Fixtures.objects(Self.objects)[3] else { Issue.record("not a pod"); return }
        let cni = WorkloadEndpoint(
            metadata: ObjectMeta(name: "node1-k8s-p1-eth0", namespace: "prod", labels: ["projectcalico.org/namespace": "prod", "projectcalico.org/orchestrator": "k8s"]),
            spec: WorkloadEndpointSpec(orchestrator: "k8s", node: "node1", containerID: "c1", pod: "p1", endpoint: "eth0",
                                       ipNetworks: ["198.18.0.10/32"], profiles: ["kns.prod"], interfaceName: "cali0123456789a", mac: "ee:ee:ee:ee:ee:ee"))
        #expect(KubernetesSync.isEndpoint(cni, of: pod))
        let merged = KubernetesSync.merge(pod, into: cni)
        #expect(merged.metadata.labels == ["app": "web", "projectcalico.org/namespace": "prod", "projectcalico.org/orchestrator": "k8s", "projectcalico.org/serviceaccount": "sa1"])
        #expect(merged.spec.profiles == ["kns.prod", "ksa.prod.sa1"])
        #expect(merged.spec.serviceAccountName == "sa1")
        #expect(merged.spec.ipNetworks == cni.spec.ipNetworks && merged.spec.mac == cni.spec.mac && merged.spec.containerID == "c1")
    }
}
