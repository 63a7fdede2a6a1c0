import CanalKubernetes
import CanalModel
import Testing

/// Namespaces, service accounts and pods, checked against libcalico-go's conversion tests.
@Suite("Kubernetes → Calico: namespaces, service accounts, pods")
struct ObjectConversionTests {
    let converter = KubernetesConverter()

    @Test("a namespace is the profile kns.<ns>: allow all, pcns. labels and the name label")
    func namespace() throws {
        guard case .namespace(let ns) = try Fixtures.objects("{apiVersion: v1, kind: Namespace, metadata: {name: prod, labels: {team: ops}}}")[0] else {
            Issue.record("not a namespace"); return
        }
        let profile = try #require(try converter.convert(.namespace(ns)).first as? Profile)
        #expect(profile.metadata == ObjectMeta(name: "kns.prod"))
        #expect(profile.spec.ingress == [Rule(action: .allow)])
        #expect(profile.spec.egress == [Rule(action: .allow)])
        // kubernetes.io/metadata.name is what the API server sets on every namespace.
        #expect(profile.spec.labelsToApply == [
            "pcns.team": "ops", "pcns.projectcalico.org/name": "prod", "pcns.kubernetes.io/metadata.name": "prod",
        ])
    }

    @Test("a service account is the profile ksa.<ns>.<sa> with pcsa. labels and no rules")
    func serviceAccount() throws {
        let profile = converter.profile(for: KubernetesServiceAccount(metadata: ObjectMeta(name: "test.foo", namespace: "", labels: ["a": "b"])))
        #expect(profile.metadata.name == "ksa.default.test.foo")
        #expect(profile.spec.ingress == nil && profile.spec.egress == nil)
        #expect(profile.spec.labelsToApply == ["pcsa.a": "b", "pcsa.projectcalico.org/name": "test.foo"])
    }

    /// libcalico-go: "should parse a Pod with an IP to a WorkloadEndpoint".
    @Test("a pod is a workload endpoint: name, labels, ports, interface, profiles")
    func pod() throws {
        let pod = KubernetesPod(
            metadata: ObjectMeta(name: "podA", namespace: "default", labels: ["labelA": "valueA", "labelB": "valueB"], annotations: ["arbitrary": "annotation"]),
            spec: .init(nodeName: "nodeA", containers: [
                .init(ports: [.init(containerPort: 5678), .init(name: "no-proto", containerPort: 1234)]),
                .init(ports: [
                    .init(name: "tcp-proto", containerPort: 1024, protocol: "TCP"),
                    .init(name: "tcp-proto-with-host-port", containerPort: 8080, hostPort: 5678, protocol: "TCP"),
                    .init(name: "tcp-proto-with-host-port-and-ip", containerPort: 8081, hostPort: 6789, hostIP: "1.2.3.4", protocol: "TCP"),
                    .init(containerPort: 500, hostPort: 5000, protocol: "TCP"),
                    .init(name: "udp-proto", containerPort: 432, protocol: "UDP"),
                    .init(name: "sctp-proto", containerPort: 891, protocol: "SCTP"),
                    .init(name: "unkn-proto", containerPort: 567, protocol: "unknown"),
                ]),
            ]),
            status: .init(podIP: "192.168.0.1"))
        let wep = try #require(try converter.workloadEndpoint(for: pod))
        #expect(wep.metadata.name == "nodeA-k8s-podA-eth0")
        #expect(wep.metadata.namespace == "default")
        #expect(wep.spec.pod == "podA" && wep.spec.node == "nodeA" && wep.spec.endpoint == "eth0" && wep.spec.orchestrator == "k8s")
        #expect(wep.spec.ipNetworks == ["192.168.0.1/32"])
        #expect(wep.spec.profiles == ["kns.default"])
        #expect(wep.metadata.labels == [
            "labelA": "valueA", "labelB": "valueB", "projectcalico.org/namespace": "default", "projectcalico.org/orchestrator": "k8s",
        ])
        #expect(wep.spec.ports == [
            WorkloadEndpointPort(name: "no-proto", protocol: .tcp, port: 1234),
            WorkloadEndpointPort(name: "tcp-proto", protocol: .tcp, port: 1024),
            WorkloadEndpointPort(name: "tcp-proto-with-host-port", protocol: .tcp, port: 8080, hostPort: 5678),
            WorkloadEndpointPort(name: "tcp-proto-with-host-port-and-ip", protocol: .tcp, port: 8081, hostPort: 6789, hostIP: "1.2.3.4"),
            WorkloadEndpointPort(protocol: .tcp, port: 500, hostPort: 5000),
            WorkloadEndpointPort(name: "udp-proto", protocol: .udp, port: 432),
            WorkloadEndpointPort(name: "sctp-proto", protocol: .sctp, port: 891),
        ])
        // "If this fails, fix the code not this expect!" — the name must match Calico's CNI plugin.
        #expect(wep.spec.interfaceName == "cali7f94ce7c295")
    }

    @Test("a pod's service account: label, spec field and the ksa. profile")
    func podServiceAccount() throws {
        let pod = KubernetesPod(metadata: ObjectMeta(name: "p", namespace: "ns1"), spec: .init(nodeName: "n", serviceAccountName: "sa1"),
                                status: .init(podIPs: [.init(ip: "192.168.0.1"), .init(ip: "fd5f:8067::1")]))
        let wep = try #require(try converter.workloadEndpoint(for: pod))
        #expect(wep.spec.profiles == ["kns.ns1", "ksa.ns1.sa1"])
        #expect(wep.spec.serviceAccountName == "sa1")
        #expect(wep.metadata.labels?["projectcalico.org/serviceaccount"] == "sa1")
        #expect(wep.spec.ipNetworks == ["192.168.0.1/32", "fd5f:8067::1/128"])
        // A service account name of 63 characters or more is not a label value.
        let long = String(repeating: "a", count: 63)
        let wep2 = try #require(try converter.workloadEndpoint(for: KubernetesPod(metadata: ObjectMeta(name: "p", namespace: "ns1"), spec: .init(nodeName: "n", serviceAccountName: long))))
        #expect(wep2.metadata.labels?["projectcalico.org/serviceaccount"] == nil)
        #expect(wep2.spec.serviceAccountName == long)
    }

    @Test("addresses from Calico's annotations; none once the pod finished; none without node or on the host network")
    func addressesAndAbsence() throws {
        let annotated = KubernetesPod(metadata: ObjectMeta(name: "p", namespace: "d", annotations: [
            "cni.projectcalico.org/podIP": "192.168.0.1/32", "cni.projectcalico.org/podIPs": "192.168.0.1/32,fd5f:8067::1/128",
        ]), spec: .init(nodeName: "n"))
        #expect(try converter.workloadEndpoint(for: annotated)?.spec.ipNetworks == ["192.168.0.1/32", "fd5f:8067::1/128"])
        let aws = KubernetesPod(metadata: ObjectMeta(name: "p", namespace: "d", annotations: ["vpc.amazonaws.com/pod-ips": "192.168.0.1"]), spec: .init(nodeName: "n"))
        #expect(try converter.workloadEndpoint(for: aws)?.spec.ipNetworks == ["192.168.0.1/32"])
        for phase in ["Succeeded", "Failed", "Completed"] {
            let done = KubernetesPod(metadata: ObjectMeta(name: "p", namespace: "d"), spec: .init(nodeName: "n"), status: .init(phase: phase, podIP: "192.168.0.1"))
            #expect(try converter.workloadEndpoint(for: done)?.spec.ipNetworks == nil)
        }
        #expect(try converter.workloadEndpoint(for: KubernetesPod(metadata: ObjectMeta(name: "p", namespace: "d"))) == nil)
        #expect(try converter.workloadEndpoint(for: KubernetesPod(metadata: ObjectMeta(name: "p", namespace: "d"), spec: .init(nodeName: "n", hostNetwork: true))) == nil)
        let bad = KubernetesPod(metadata: ObjectMeta(name: "p", namespace: "d"), spec: .init(nodeName: "n"), status: .init(podIP: "not-an-ip"))
        #expect(throws: KubernetesError.self) { try converter.workloadEndpoint(for: bad) }
    }

    @Test("floating IPs, allowed source prefixes and the container id from annotations")
    func annotations() throws {
        let pod = KubernetesPod(metadata: ObjectMeta(name: "p", namespace: "d", annotations: [
            "cni.projectcalico.org/floatingIPs": #"["1.1.1.1", "2001::1"]"#,
            "cni.projectcalico.org/allowedSourcePrefixes": #"["10.0.0.5/8"]"#,
            "cni.projectcalico.org/containerID": "abc123",
        ]), spec: .init(nodeName: "n"), status: .init(podIPs: [.init(ip: "192.168.0.1"), .init(ip: "fd5f::1")]))
        let wep = try #require(try converter.workloadEndpoint(for: pod))
        #expect(wep.spec.ipNATs == [IPNAT(internalIP: "192.168.0.1", externalIP: "1.1.1.1"), IPNAT(internalIP: "fd5f::1", externalIP: "2001::1")])
        #expect(wep.spec.allowSpoofedSourcePrefixes == ["10.0.0.0/8"])
        #expect(wep.spec.containerID == "abc123")
    }

    @Test("interface names: the prefix and 11 hex digits of SHA-1(namespace.pod)")
    func interfaceNames() {
        #expect(KubernetesConverter(interfacePrefix: "eni").interfaceName(namespace: "namespace", pod: "podname") == "eni82111e10a96")
        #expect(converter.interfaceName(namespace: "default", pod: "podA") == "cali7f94ce7c295")
    }
}
