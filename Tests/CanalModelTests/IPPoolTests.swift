import CanalModel
import Testing

@Suite struct IPPoolTests {
    let docExample = """
    {"apiVersion":"projectcalico.org/v3","kind":"IPPool","metadata":{"name":"my.ippool-1"},
     "spec":{"cidr":"10.1.0.0/16","ipipMode":"CrossSubnet","natOutgoing":true,"disabled":false,
             "nodeSelector":"all()","allowedUses":["Workload","Tunnel"]}}
    """

    private func pool(_ spec: IPPoolSpec, name: String = "pool") -> IPPool { InfraFixtures.make(name, spec) }

    private func paths(_ spec: IPPoolSpec) -> [String] { InfraFixtures.errorPaths(pool(spec)) }

    @Test func decodesDocumentationExample() throws {
        let p = try InfraFixtures.decode(docExample, as: IPPoolSpec.self)
        #expect(p.metadata.name == "my.ippool-1")
        #expect(p.spec.cidr == "10.1.0.0/16")
        #expect(p.spec.ipipMode == .crossSubnet)
        #expect(p.spec.vxlanMode == nil)
        #expect(p.spec.natOutgoing)
        #expect(p.spec.allowedUses == [.workload, .tunnel])
        #expect(p.validationErrors().isEmpty)
        #expect(try InfraFixtures.roundTrips(p))
    }

    @Test func writesCalicoMemberOrderAndOmitsZeroValues() throws {
        var p = try InfraFixtures.decode(docExample, as: IPPoolSpec.self)
        p.applyDefaults()
        let spec = try #require(p.jsonValue()["spec"])
        guard case .object(let o) = spec else { Issue.record("spec is not an object"); return }
        #expect(o.keys == ["cidr", "vxlanMode", "ipipMode", "natOutgoing", "blockSize", "nodeSelector", "allowedUses", "assignmentMode"])
    }

    @Test func defaults() {
        var v4 = pool(IPPoolSpec(cidr: "10.1.0.0/16"))
        v4.applyDefaults()
        #expect(v4.spec == IPPoolSpec(
            cidr: "10.1.0.0/16", vxlanMode: .never, ipipMode: .never, blockSize: 26, nodeSelector: "all()",
            allowedUses: [.workload, .tunnel], assignmentMode: .automatic))
        var v6 = pool(IPPoolSpec(cidr: "fd00:0:0:0::/48", nodeSelector: "has(x)", allowedUses: [.workload]))
        v6.applyDefaults()
        #expect(v6.spec.cidr == "fd00::/48")
        #expect(v6.spec.blockSize == 122)
        #expect(v6.spec.nodeSelector == "has(x)")
        #expect(v6.spec.allowedUses == [.workload])
        // An unmasked CIDR is left as written, for validation to report.
        var unmasked = pool(IPPoolSpec(cidr: "10.1.2.3/16"))
        unmasked.applyDefaults()
        #expect(unmasked.spec.cidr == "10.1.2.3/16")
        #expect(InfraFixtures.errorPaths(unmasked) == ["spec.cidr"])
    }

    @Test func unknownFieldAndEnumSpelling() {
        #expect(InfraFixtures.schemaErrorPaths(#"{"apiVersion":"projectcalico.org/v3","kind":"IPPool","metadata":{"name":"p"},"spec":{"cidr":"10.0.0.0/8","ipip":{"enabled":true}}}"#) == ["spec.ipip"])
        do {
            _ = try InfraFixtures.decode(#"{"apiVersion":"projectcalico.org/v3","kind":"IPPool","metadata":{"name":"p"},"spec":{"cidr":"10.0.0.0/8","vxlanMode":"always"}}"#)
            Issue.record("lower-case mode accepted")
        } catch let e as ModelError {
            #expect(e.fieldErrors.first?.path.description == "spec.vxlanMode")
            #expect(e.fieldErrors.first?.message.contains("Never, Always, CrossSubnet") == true)
        } catch { Issue.record("\(error)") }
    }

    @Test("CIDR rules", arguments: [
        ("", ["spec.cidr"]), ("10.0.0.0", ["spec.cidr"]), ("10.0.0.1/16", ["spec.cidr"]), ("bogus/8", ["spec.cidr"]),
        ("169.254.0.0/16", ["spec.cidr"]), ("169.0.0.0/8", ["spec.cidr"]), ("fe80::/64", ["spec.cidr"]),
        ("10.0.0.0/27", ["spec.cidr"]), ("10.0.0.0/8", []), ("fd00::/64", []),
    ])
    func cidrRules(_ cidr: String, _ expected: [String]) {
        #expect(paths(IPPoolSpec(cidr: cidr)) == expected)
    }

    @Test func smallPoolAllowedWhenDisabledOrBlockSmaller() {
        #expect(paths(IPPoolSpec(cidr: "10.0.0.0/27", disabled: true)).isEmpty)
        #expect(paths(IPPoolSpec(cidr: "10.0.0.0/27", blockSize: 28)).isEmpty)
    }

    @Test("block sizes", arguments: [
        ("10.0.0.0/8", 19, false), ("10.0.0.0/8", 20, true), ("10.0.0.0/8", 32, true), ("10.0.0.0/8", 33, false),
        ("fd00::/64", 115, false), ("fd00::/64", 116, true), ("fd00::/64", 128, true), ("fd00::/64", 129, false),
    ])
    func blockSizes(_ cidr: String, _ size: Int, _ valid: Bool) {
        #expect(paths(IPPoolSpec(cidr: cidr, blockSize: size)) == (valid ? [] : ["spec.blockSize"]))
    }

    @Test func encapsulationRules() {
        #expect(paths(IPPoolSpec(cidr: "10.0.0.0/8", vxlanMode: .always, ipipMode: .crossSubnet)) == ["spec.vxlanMode"])
        #expect(paths(IPPoolSpec(cidr: "10.0.0.0/8", vxlanMode: .never, ipipMode: .always)).isEmpty)
        #expect(paths(IPPoolSpec(cidr: "fd00::/64", ipipMode: .always)) == ["spec.ipipMode"])
        #expect(paths(IPPoolSpec(cidr: "fd00::/64", vxlanMode: .always)).isEmpty)
    }

    @Test func selectorRules() {
        #expect(paths(IPPoolSpec(cidr: "10.0.0.0/8", nodeSelector: "rack == 'a'", namespaceSelector: "env == 'x'", allowedUses: [.workload])).isEmpty)
        #expect(paths(IPPoolSpec(cidr: "10.0.0.0/8", nodeSelector: "global()")) == ["spec.nodeSelector"])
        #expect(paths(IPPoolSpec(cidr: "10.0.0.0/8", namespaceSelector: "global()", allowedUses: [.workload])) == ["spec.namespaceSelector"])
    }

    @Test(.enabled(if: InfraFixtures.selectorParserIsReal, "needs the selector parser"))
    func invalidSelectorsAreReported() {
        #expect(paths(IPPoolSpec(cidr: "10.0.0.0/8", nodeSelector: "rack ==")) == ["spec.nodeSelector"])
        #expect(paths(IPPoolSpec(cidr: "10.0.0.0/8", namespaceSelector: "a in {", allowedUses: [.workload])) == ["spec.namespaceSelector"])
    }

    @Test func allowedUseRules() {
        #expect(paths(IPPoolSpec(cidr: "10.0.0.0/8", allowedUses: [.loadBalancer])).isEmpty)
        #expect(paths(IPPoolSpec(cidr: "10.0.0.0/8", nodeSelector: "all()", allowedUses: [.loadBalancer])).isEmpty)
        #expect(paths(IPPoolSpec(cidr: "10.0.0.0/8", allowedUses: [.loadBalancer, .workload])) == ["spec.allowedUses"])
        #expect(paths(IPPoolSpec(cidr: "10.0.0.0/8", vxlanMode: .always, allowedUses: [.loadBalancer])) == ["spec.allowedUses"])
        #expect(paths(IPPoolSpec(cidr: "10.0.0.0/8", disableBGPExport: true, allowedUses: [.loadBalancer])) == ["spec.disableBGPExport"])
        #expect(paths(IPPoolSpec(cidr: "10.0.0.0/8", nodeSelector: "has(x)", allowedUses: [.loadBalancer])) == ["spec.nodeSelector"])
        // Tunnel (explicit, or by default after applyDefaults) cannot go with a namespace selector.
        #expect(paths(IPPoolSpec(cidr: "10.0.0.0/8", namespaceSelector: "all()", allowedUses: [.tunnel])) == ["spec.namespaceSelector"])
        var defaulted = pool(IPPoolSpec(cidr: "10.0.0.0/8", namespaceSelector: "all()"))
        defaulted.applyDefaults()
        #expect(InfraFixtures.errorPaths(defaulted) == ["spec.namespaceSelector"])
        #expect(paths(IPPoolSpec(cidr: "10.0.0.0/8", allowedUses: [.workload, .workload])) == ["spec.allowedUses[1]"])
    }

    @Test func reportsEveryProblemAtOnce() {
        let p = pool(IPPoolSpec(cidr: "fd00::/64", vxlanMode: .always, ipipMode: .always, blockSize: 99, nodeSelector: "global()"), name: "Bad")
        #expect(Set(InfraFixtures.errorPaths(p)) == ["metadata.name", "spec.blockSize", "spec.ipipMode", "spec.vxlanMode", "spec.nodeSelector"])
    }
}

@Suite struct IPReservationAndClusterInformationTests {
    @Test func reservation() throws {
        let r = try InfraFixtures.decode(#"{"apiVersion":"projectcalico.org/v3","kind":"IPReservation","metadata":{"name":"my-ipreservation-1"},"spec":{"reservedCIDRs":["192.168.2.3","10.0.2.3/32","cafe:f00d::/123","10.1.2.3/24"]}}"#, as: IPReservationSpec.self)
        #expect(r.validationErrors().isEmpty)
        #expect(r.spec.networks.count == 4)
        #expect(try InfraFixtures.roundTrips(r))
        let bad = InfraFixtures.make("r", IPReservationSpec(reservedCIDRs: ["10.0.0.0/8", "nope", "10.0.0.0/8"]))
        #expect(InfraFixtures.errorPaths(bad) == ["spec.reservedCIDRs[1]", "spec.reservedCIDRs[2]"])
        #expect(InfraFixtures.schemaErrorPaths(#"{"apiVersion":"projectcalico.org/v3","kind":"IPReservation","metadata":{"name":"r"},"spec":{"cidrs":[]}}"#) == ["spec.cidrs"])
    }

    @Test func clusterInformation() throws {
        let c = try InfraFixtures.decode(#"{"apiVersion":"projectcalico.org/v3","kind":"ClusterInformation","metadata":{"name":"default"},"spec":{"clusterGUID":"b3d5f2c9e1a8422a9b2c3d4e5f607182","clusterType":"typha,kdd,k8s,operator,bgp,kubeadm","calicoVersion":"v3.31.0","datastoreReady":true}}"#, as: ClusterInformationSpec.self)
        #expect(c.spec.datastoreReady == true)
        #expect(c.validationErrors().isEmpty)
        #expect(try InfraFixtures.roundTrips(c))
        #expect(InfraFixtures.errorPaths(InfraFixtures.make("cluster", ClusterInformationSpec())) == ["metadata.name"])
    }
}
