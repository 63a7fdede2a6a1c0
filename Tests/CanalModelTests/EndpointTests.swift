import CanalModel
import Testing

/// The calicoctl documentation's WorkloadEndpoint sample, as JSON.
private let docsWorkloadEndpoint = """
{
  "apiVersion": "projectcalico.org/v3",
  "kind": "WorkloadEndpoint",
  "metadata": {
    "name": "node1-k8s-my--nginx--b1337a-eth0",
    "namespace": "default",
    "labels": {"app": "frontend", "projectcalico.org/namespace": "default", "projectcalico.org/orchestrator": "k8s"}
  },
  "spec": {
    "node": "node1",
    "orchestrator": "k8s",
    "endpoint": "eth0",
    "containerID": "1337495556942031415926535",
    "pod": "my-nginx-b1337a",
    "interfaceName": "cali0ef24ba",
    "mac": "ca:fe:1d:52:bb:e9",
    "ipNetworks": ["192.168.0.0/32"],
    "profiles": ["profile1"],
    "ports": [
      {"name": "some-port", "port": 1234, "protocol": "TCP"},
      {"name": "another-port", "port": 5432, "protocol": "UDP"}
    ]
  }
}
"""

private func wep(_ spec: WorkloadEndpointSpec, name: String? = nil) -> WorkloadEndpoint {
    WorkloadEndpoint(metadata: ObjectMeta(name: name, namespace: "default"), spec: spec)
}

private let k8sSpec = WorkloadEndpointSpec(
    orchestrator: "k8s", node: "node1", pod: "web-0", endpoint: "eth0",
    ipNetworks: ["10.65.0.5/32", "fd00::5"], interfaceName: "cali12345")

@Suite struct WorkloadEndpointTests {
    @Test func decodesTheDocumentationSample() throws {
        let w = try decodeTyped(docsWorkloadEndpoint, as: WorkloadEndpointSpec.self)
        #expect(w.spec.pod == "my-nginx-b1337a")
        #expect(w.spec.ports == [
            WorkloadEndpointPort(name: "some-port", protocol: .tcp, port: 1234),
            WorkloadEndpointPort(name: "another-port", protocol: .udp, port: 5432),
        ])
        #expect(try w.spec.derivedName() == "node1-k8s-my--nginx--b1337a-eth0")
        #expect(w.validationErrors().isEmpty)
        let text = try expectRoundTrip(w)
        // Ports are written with every member, as Calico writes them.
        #expect(text.contains(#""ports":[{"name":"some-port","protocol":"TCP","port":1234,"hostPort":0,"hostIP":""},"#))
        #expect(text.contains(#""spec":{"orchestrator":"k8s","node":"node1","containerID":"1337495556942031415926535","pod":"my-nginx-b1337a","endpoint":"eth0","ipNetworks":["192.168.0.0/32"],"profiles":["profile1"],"interfaceName":"cali0ef24ba","mac":"ca:fe:1d:52:bb:e9","ports":"#))
    }

    @Test func rejectsUnknownFields() throws {
        let text = docsWorkloadEndpoint.replacing(#""mac": "ca:fe:1d:52:bb:e9","#, with: #""mac": "ca:fe:1d:52:bb:e9", "ipv4Nets": [],"#)
        #expect(decodeError(text)?.fieldErrors.map(\.path.description) == ["spec.ipv4Nets"])
    }

    @Test("name derivation per orchestrator, dashes doubled", arguments: [
        (WorkloadEndpointSpec(orchestrator: "k8s", node: "node-1", pod: "web-0", endpoint: "eth0"), "node--1-k8s-web--0-eth0"),
        (WorkloadEndpointSpec(orchestrator: "cni", node: "n", containerID: "abc-123", endpoint: "eth0"), "n-cni-abc--123-eth0"),
        (WorkloadEndpointSpec(orchestrator: "libnetwork", workload: "ignored", node: "n", endpoint: "ep-1"), "n-libnetwork-libnetwork-ep--1"),
        (WorkloadEndpointSpec(orchestrator: "openstack", workload: "vm-7", node: "n", pod: "ignored", endpoint: "tap1"), "n-openstack-vm--7-tap1"),
    ])
    func derivedName(spec: WorkloadEndpointSpec, expected: String) throws {
        #expect(try spec.derivedName() == expected)
    }

    @Test("name derivation names each missing or dash-edged part")
    func derivationErrors() {
        #expect {
            try WorkloadEndpointSpec(orchestrator: "k8s", node: "n").derivedName()
        } throws: { error in
            (error as? ModelError)?.fieldErrors.map(\.path.description) == ["spec.pod", "spec.endpoint"]
        }
        #expect {
            try WorkloadEndpointSpec(orchestrator: "k8s", pod: "p", endpoint: "e").derivedName()
        } throws: { error in
            (error as? ModelError)?.fieldErrors.map(\.path.description) == ["spec.node"]
        }
        #expect {
            try WorkloadEndpointSpec(orchestrator: "-k8s", node: "n-", pod: "p", endpoint: "e").derivedName()
        } throws: { error in
            (error as? ModelError)?.fieldErrors.map(\.path.description) == ["spec.node", "spec.orchestrator", "spec.workload"]
        }
    }

    @Test("defaults fill the name and set the namespace and orchestrator labels")
    func defaults() {
        var w = wep(k8sSpec)
        w.metadata.labels = ["app": "web", CalicoLabel.orchestrator: "user-value"]
        w.applyDefaults()
        #expect(w.metadata.name == "node1-k8s-web--0-eth0")
        #expect(w.metadata.labels == ["app": "web", "projectcalico.org/namespace": "default", "projectcalico.org/orchestrator": "k8s"])
        #expect(w.validationErrors().isEmpty)
        // A given name is kept (and then validated).
        var named = wep(k8sSpec, name: "other")
        named.applyDefaults()
        #expect(named.metadata.name == "other")
        #expect(errorPaths(named) == ["metadata.name"])
    }

    @Test("a set name must equal the derived name")
    func nameMustMatch() {
        #expect(errorPaths(wep(k8sSpec, name: "node1-k8s-web--0-eth0")).isEmpty)
        #expect(errorPaths(wep(k8sSpec, name: "node1-k8s-web-0-eth0")) == ["metadata.name"])
    }

    @Test("interfaceName is required: * or 1-15 of [a-zA-Z0-9_.-]", arguments: [
        (nil, false), ("", false), ("*", true), ("cali0ef24ba", true), ("a_b.c-D", true), ("cali0123456789ab", false), ("eth 0", false),
    ] as [(String?, Bool)])
    func interfaceName(name: String?, valid: Bool) {
        var spec = k8sSpec
        spec.interfaceName = name
        #expect(errorPaths(wep(spec, name: "node1-k8s-web--0-eth0")) == (valid ? [] : ["spec.interfaceName"]))
    }

    @Test("ipNetworks: single addresses only")
    func ipNetworks() {
        var spec = k8sSpec
        spec.ipNetworks = ["10.0.0.1", "10.0.0.1/32", "fd00::1/128", "10.0.0.0/24", "fd00::/64", "nope"]
        #expect(errorPaths(wep(spec, name: "node1-k8s-web--0-eth0")) == [
            "spec.ipNetworks[3]", "spec.ipNetworks[4]", "spec.ipNetworks[5]",
        ])
    }

    @Test("ipNATs: valid IPs of one family, internal IP inside ipNetworks")
    func ipNATs() {
        var spec = k8sSpec
        spec.ipNATs = [
            IPNAT(internalIP: "10.65.0.5", externalIP: "203.0.113.9"),
            IPNAT(internalIP: "fd00::5", externalIP: "203.0.113.9"),
            IPNAT(internalIP: "10.65.0.6", externalIP: "203.0.113.10"),
            IPNAT(internalIP: "x", externalIP: "y"),
        ]
        #expect(errorPaths(wep(spec, name: "node1-k8s-web--0-eth0")) == [
            "spec.ipNATs[1].externalIP", "spec.ipNATs[2].internalIP", "spec.ipNATs[3].internalIP", "spec.ipNATs[3].externalIP",
        ])
    }

    @Test("gateways, MAC, containerID, profiles, spoofed prefixes and identifier names")
    func otherFields() {
        var spec = k8sSpec
        spec.ipv4Gateway = "fd00::1"
        spec.ipv6Gateway = "169.254.1.1"
        spec.mac = "ca:fe:1d:52:bb"
        spec.containerID = "-abc"
        spec.profiles = ["kns.default", "Bad Profile"]
        spec.allowSpoofedSourcePrefixes = ["10.0.0.1/8", "bogus"]
        spec.serviceAccountName = "Default"
        #expect(errorPaths(wep(spec, name: "node1-k8s-web--0-eth0")) == [
            "spec.serviceAccountName", "spec.containerID", "spec.ipv4Gateway", "spec.ipv6Gateway", "spec.profiles[1]",
            "spec.mac", "spec.allowSpoofedSourcePrefixes[1]",
        ])
        spec = k8sSpec
        spec.ipv4Gateway = "169.254.1.1"
        spec.ipv6Gateway = "fe80::1"
        spec.mac = "CA-FE-1D-52-BB-E9"
        #expect(errorPaths(wep(spec, name: "node1-k8s-web--0-eth0")).isEmpty)
    }

    @Test("ports: protocol with ports, port > 0, name or hostPort, k8s port names, hostIP")
    func ports() {
        var spec = k8sSpec
        spec.ports = [
            WorkloadEndpointPort(name: "http", protocol: .tcp, port: 80),
            WorkloadEndpointPort(protocol: .sctp, port: 80, hostPort: 8080, hostIP: "0.0.0.0"),
            WorkloadEndpointPort(name: "dns", protocol: .icmp, port: 0),
            WorkloadEndpointPort(protocol: 17, port: 53),
            WorkloadEndpointPort(name: "HTTP--x", protocol: .tcp, port: 1, hostIP: "10.0.0.1/8"),
        ]
        #expect(errorPaths(wep(spec, name: "node1-k8s-web--0-eth0")) == [
            "spec.ports[2].protocol", "spec.ports[2].port", "spec.ports[3].name", "spec.ports[4].name", "spec.ports[4].hostIP",
        ])
    }

    @Test("qosControls round-trip, DSCP as number or class name")
    func qos() throws {
        let text = #"{"apiVersion":"projectcalico.org/v3","kind":"WorkloadEndpoint","metadata":{"name":"n-k8s-p-eth0","namespace":"default"},"spec":{"orchestrator":"k8s","node":"n","pod":"p","endpoint":"eth0","interfaceName":"cali1","qosControls":{"ingressBandwidth":1000000,"egressMaxConnections":10,"dscp":"AF11"}}}"#
        let w = try decodeTyped(text, as: WorkloadEndpointSpec.self)
        #expect(w.spec.qosControls?.dscp?.value == 10)
        #expect(w.validationErrors().isEmpty)
        #expect(try expectRoundTrip(w).contains(#""qosControls":{"ingressBandwidth":1000000,"egressMaxConnections":10,"dscp":"AF11"}"#))
        var bad = w
        bad.spec.qosControls?.dscp = .number(64)
        #expect(errorPaths(bad) == ["spec.qosControls.dscp"])
        bad.spec.qosControls?.dscp = .named("AF99")
        #expect(errorPaths(bad) == ["spec.qosControls.dscp"])
    }
}

/// The calicoctl documentation's HostEndpoint sample, as JSON.
private let docsHostEndpoint = """
{
  "apiVersion": "projectcalico.org/v3",
  "kind": "HostEndpoint",
  "metadata": {"name": "some.name", "labels": {"type": "production"}},
  "spec": {
    "interfaceName": "eth0",
    "node": "myhost",
    "expectedIPs": ["192.168.0.1", "192.168.0.2"],
    "profiles": ["profile1", "profile2"],
    "ports": [
      {"name": "some-port", "port": 1234, "protocol": "TCP"},
      {"name": "another-port", "port": 5432, "protocol": "UDP"}
    ]
  }
}
"""

private func hep(_ spec: HostEndpointSpec) -> HostEndpoint {
    HostEndpoint(metadata: ObjectMeta(name: "h"), spec: spec)
}

@Suite struct HostEndpointTests {
    @Test func decodesTheDocumentationSample() throws {
        let h = try decodeTyped(docsHostEndpoint, as: HostEndpointSpec.self)
        #expect(h.spec.node == "myhost")
        #expect(h.spec.ports?.last == EndpointPort(name: "another-port", protocol: .udp, port: 5432))
        #expect(h.validationErrors().isEmpty)
        let text = try expectRoundTrip(h)
        #expect(text.contains(#""spec":{"node":"myhost","interfaceName":"eth0","expectedIPs":["192.168.0.1","192.168.0.2"],"profiles":["profile1","profile2"],"ports":[{"name":"some-port","protocol":"TCP","port":1234},"#))
    }

    @Test func rejectsUnknownFields() {
        let text = docsHostEndpoint.replacing(#""node": "myhost","#, with: #""node": "myhost", "nodeName": "x","#)
        #expect(decodeError(text)?.fieldErrors.map(\.path.description) == ["spec.nodeName"])
    }

    @Test("node is required; interfaceName or expectedIPs is required")
    func required() {
        #expect(errorPaths(hep(HostEndpointSpec())) == ["spec.node", "spec.interfaceName"])
        #expect(errorPaths(hep(HostEndpointSpec(node: "n", expectedIPs: ["10.0.0.1"]))).isEmpty)
        #expect(errorPaths(hep(HostEndpointSpec(node: "n", interfaceName: "*"))).isEmpty)
        #expect(errorPaths(hep(HostEndpointSpec(node: "N_1", interfaceName: "way-too-long-name0"))) == ["spec.node", "spec.interfaceName"])
    }

    @Test("expected IPs, profiles and named ports")
    func fields() {
        let spec = HostEndpointSpec(
            node: "n", expectedIPs: ["10.0.0.1", "fd00::1", "10.0.0.0/24"], profiles: ["ok", "Not OK"],
            ports: [
                EndpointPort(name: "", protocol: .tcp, port: 22),
                EndpointPort(name: "ssh", protocol: .icmp, port: 0),
                EndpointPort(name: "1234", protocol: 132, port: 1),
                EndpointPort(name: "dns", protocol: 17, port: 65535),
            ])
        #expect(errorPaths(hep(spec)) == [
            "spec.expectedIPs[2]", "spec.profiles[1]", "spec.ports[0].name", "spec.ports[1].protocol",
            "spec.ports[1].port", "spec.ports[2].name",
        ])
    }

    @Test("missing port members decode as Go's zero values and fail validation")
    func zeroValues() throws {
        let text = #"{"apiVersion":"projectcalico.org/v3","kind":"HostEndpoint","metadata":{"name":"h"},"spec":{"node":"n","interfaceName":"eth0","ports":[{"name":"x"}]}}"#
        let h = try decodeTyped(text, as: HostEndpointSpec.self)
        #expect(errorPaths(h) == ["spec.ports[0].protocol", "spec.ports[0].port"])
    }
}
