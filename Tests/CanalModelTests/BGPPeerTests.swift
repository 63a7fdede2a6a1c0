import CanalModel
import Testing

@Suite struct BGPPeerTests {
    private func paths(_ spec: BGPPeerSpec) -> [String] { InfraFixtures.errorPaths(InfraFixtures.make("peer", spec)) }

    @Test func decodesDocumentationExamples() throws {
        let nodePeer = try InfraFixtures.decode(#"{"apiVersion":"projectcalico.org/v3","kind":"BGPPeer","metadata":{"name":"some.name"},"spec":{"node":"rack1-host1","peerIP":"192.168.1.1","asNumber":63400}}"#, as: BGPPeerSpec.self)
        #expect(nodePeer.spec.peerAddress?.ip == IPAddress("192.168.1.1"))
        #expect(nodePeer.validationErrors().isEmpty)
        #expect(try InfraFixtures.roundTrips(nodePeer))

        let rr = try InfraFixtures.decode(#"{"apiVersion":"projectcalico.org/v3","kind":"BGPPeer","metadata":{"name":"peer-with-route-reflectors"},"spec":{"nodeSelector":"all()","peerSelector":"route-reflector == 'true'","password":{"secretKeyRef":{"name":"bgp-secrets","key":"rr-password"}},"maxRestartTime":"300s","keepaliveTime":"20s","nextHopMode":"Self","reversePeering":"Manual","filters":["export-only-pools"],"numAllowedLocalASNumbers":1,"ttlSecurity":2,"sourceAddress":"None"}}"#, as: BGPPeerSpec.self)
        #expect(rr.spec.nextHopMode == .self)
        #expect(rr.spec.password?.secretKeyRef?.key == "rr-password")
        #expect(rr.spec.ttlSecurity == 2)
        #expect(rr.validationErrors().isEmpty)
        #expect(try InfraFixtures.roundTrips(rr))
        var defaulted = rr
        defaulted.applyDefaults()
        #expect(defaulted.spec.maxRestartTime == "5m0s")
        #expect(defaulted.spec.keepaliveTime == "20s")
    }

    @Test func zeroASNumberIsUnset() throws {
        let p = try InfraFixtures.decode(#"{"apiVersion":"projectcalico.org/v3","kind":"BGPPeer","metadata":{"name":"p"},"spec":{"peerSelector":"has(rr)","asNumber":0}}"#, as: BGPPeerSpec.self)
        #expect(p.spec.asNumber == nil)
        #expect(p.validationErrors().isEmpty)
        #expect(try p.jsonValue()["spec"]?["asNumber"] == nil)
    }

    @Test func unknownFieldsAndEnums() {
        #expect(InfraFixtures.schemaErrorPaths(#"{"apiVersion":"projectcalico.org/v3","kind":"BGPPeer","metadata":{"name":"p"},"spec":{"peerIp":"10.0.0.1"}}"#) == ["spec.peerIp"])
        #expect(InfraFixtures.schemaErrorPaths(#"{"apiVersion":"projectcalico.org/v3","kind":"BGPPeer","metadata":{"name":"p"},"spec":{"nextHopMode":"self"}}"#) == ["spec.nextHopMode"])
        #expect(InfraFixtures.schemaErrorPaths(#"{"apiVersion":"projectcalico.org/v3","kind":"BGPPeer","metadata":{"name":"p"},"spec":{"ttlSecurity":256}}"#) == ["spec.ttlSecurity"])
    }

    @Test("peer addresses", arguments: [
        ("10.0.0.1", true), ("10.0.0.1:1179", true), ("[fd00::1]:1179", true), ("fd00::1", true), ("[10.0.0.1]:179", true),
        ("10.0.0.1:0", false), ("10.0.0.1:65536", false), ("fd00::1:x", false), ("[fd00::1]", false),
        ("host.example", false), ("10.0.0.256", false),
    ])
    func peerAddresses(_ text: String, _ valid: Bool) {
        #expect(paths(BGPPeerSpec(peerIP: text, asNumber: 65000)) == (valid ? [] : ["spec.peerIP"]))
    }

    @Test func exclusiveFields() {
        #expect(paths(BGPPeerSpec(node: "n1", nodeSelector: "all()", peerIP: "10.0.0.1", asNumber: 1)) == ["spec.nodeSelector"])
        #expect(paths(BGPPeerSpec(peerIP: "10.0.0.1", peerSelector: "has(rr)")) == ["spec.peerSelector"])
        #expect(paths(BGPPeerSpec(asNumber: 65000, peerSelector: "has(rr)")) == ["spec.asNumber"])
        #expect(paths(BGPPeerSpec(keepOriginalNextHop: true, nextHopMode: .keep)) == ["spec.keepOriginalNextHop"])
        #expect(paths(BGPPeerSpec(keepOriginalNextHop: true)).isEmpty)
        #expect(paths(BGPPeerSpec(node: "Node_1")) == ["spec.node"])
    }

    @Test func localWorkloadSelectorRules() {
        #expect(paths(BGPPeerSpec(asNumber: 65001, localWorkloadSelector: "bgp == 'true'")).isEmpty)
        #expect(paths(BGPPeerSpec(localWorkloadSelector: "bgp == 'true'")) == ["spec.asNumber"])
        #expect(Set(paths(BGPPeerSpec(peerIP: "10.0.0.1", asNumber: 1, peerSelector: "has(x)", localWorkloadSelector: "has(y)")))
            == ["spec.peerSelector", "spec.peerIP", "spec.asNumber"])
    }

    @Test func reachableByRules() {
        #expect(paths(BGPPeerSpec(peerIP: "10.0.0.1", asNumber: 1, reachableBy: "10.0.0.254")).isEmpty)
        #expect(paths(BGPPeerSpec(peerIP: "[fd00::1]:179", asNumber: 1, reachableBy: "10.0.0.254")) == ["spec.reachableBy"])
        #expect(paths(BGPPeerSpec(reachableBy: "10.0.0.254")) == ["spec.reachableBy"])
        #expect(paths(BGPPeerSpec(peerIP: "10.0.0.1", asNumber: 1, reachableBy: "gateway")) == ["spec.reachableBy"])
    }

    @Test func otherFieldRules() {
        #expect(paths(BGPPeerSpec(maxRestartTime: "2 minutes", keepaliveTime: "-")) == ["spec.maxRestartTime", "spec.keepaliveTime"])
        #expect(paths(BGPPeerSpec(filters: ["ok", "Not_OK"])) == ["spec.filters[1]"])
        #expect(paths(BGPPeerSpec(password: BGPPassword(secretKeyRef: .init(name: "s", key: "")))) == ["spec.password.secretKeyRef.key"])
    }
}
