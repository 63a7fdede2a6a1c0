import CanalModel
import Testing

private func tier(_ name: String, _ spec: TierSpec) -> Tier { Tier(metadata: ObjectMeta(name: name), spec: spec) }

@Suite struct TierTests {
    @Test func decodesAndRoundTrips() throws {
        let t = try decodeTyped(#"{"apiVersion":"projectcalico.org/v3","kind":"Tier","metadata":{"name":"internal-access"},"spec":{"order":100,"defaultAction":"Pass"}}"#, as: TierSpec.self)
        #expect(t.spec == TierSpec(order: 100, defaultAction: .pass))
        #expect(t.validationErrors().isEmpty)
        #expect(try expectRoundTrip(t).contains(#""spec":{"order":100,"defaultAction":"Pass"}"#))
        #expect(decodeError(#"{"apiVersion":"projectcalico.org/v3","kind":"Tier","metadata":{"name":"t"},"spec":{"order":1,"action":"Pass"}}"#)?.fieldErrors.map(\.path.description) == ["spec.action"])
    }

    @Test("nil order becomes 1,000,000 and nil action Deny")
    func defaults() {
        var t = tier("security", TierSpec())
        t.applyDefaults()
        #expect(t.spec == TierSpec(order: 1_000_000, defaultAction: .deny))
        var kept = tier("security", TierSpec(order: 5, defaultAction: .pass))
        kept.applyDefaults()
        #expect(kept.spec == TierSpec(order: 5, defaultAction: .pass))
    }

    @Test("names: a DNS label of at most 63", arguments: [
        ("security", true), ("a-1", true), ("a.b", false), ("Sec", false), (String(repeating: "a", count: 63), true),
        (String(repeating: "a", count: 64), false),
    ])
    func names(name: String, valid: Bool) {
        #expect(errorPaths(tier(name, TierSpec(order: 1))).contains("metadata.name") == !valid)
    }

    @Test("defaultAction is Deny or Pass")
    func action() {
        #expect(errorPaths(tier("t", TierSpec(defaultAction: .allow))) == ["spec.defaultAction"])
        #expect(errorPaths(tier("t", TierSpec(defaultAction: .log))) == ["spec.defaultAction"])
    }

    @Test("built-in tiers keep their fixed order and action")
    func builtIns() throws {
        for (name, spec) in TierSpec.builtInTiers {
            #expect(errorPaths(tier(name, spec)).isEmpty)
            #expect(TierSpec.builtIn(named: name) == spec)
        }
        #expect(TierSpec.builtIn(named: "default") == TierSpec(order: 1_000_000, defaultAction: .deny))
        #expect(TierSpec.builtIn(named: "kube-admin") == TierSpec(order: 1_000, defaultAction: .pass))
        #expect(TierSpec.builtIn(named: "kube-baseline") == TierSpec(order: 10_000_000, defaultAction: .pass))
        #expect(errorPaths(tier("default", TierSpec(order: 100, defaultAction: .pass))) == ["spec.defaultAction", "spec.order"])
        #expect(errorPaths(tier("kube-admin", TierSpec(order: 1_000))) == ["spec.defaultAction"])
        // Calico defaults a nil order to 1,000,000, which kube-baseline then rejects.
        var baseline = tier("kube-baseline", TierSpec(defaultAction: .pass))
        baseline.applyDefaults()
        #expect(errorPaths(baseline) == ["spec.order"])
    }
}

/// The calicoctl documentation's Profile sample, as JSON.
private let docsProfile = """
{"apiVersion":"projectcalico.org/v3","kind":"Profile","metadata":{"name":"dev-apps"},
 "spec":{"ingress":[{"action":"Deny","source":{"nets":["10.0.20.0/24"]}},{"action":"Allow","source":{"selector":"profile == 'dev'"}}],
         "egress":[{"action":"Allow"}],"labelsToApply":{"stage":"development"}}}
"""

@Suite struct ProfileTests {
    @Test func decodesTheDocumentationSample() throws {
        let p = try decodeTyped(docsProfile, as: ProfileSpec.self)
        #expect(p.spec.ingress?.count == 2)
        #expect(p.spec.labelsToApply == ["stage": "development"])
        #expect(p.validationErrors().isEmpty)
        #expect(try expectRoundTrip(p).contains(#""spec":{"ingress":[{"action":"Deny","source":{"nets":["10.0.20.0/24"]}},{"action":"Allow","source":{"selector":"profile == 'dev'"}}],"egress":[{"action":"Allow"}],"labelsToApply":{"stage":"development"}}"#))
        #expect(decodeError(docsProfile.replacing(#""labelsToApply""#, with: #""labels""#))?.fieldErrors.map(\.path.description) == ["spec.labels"])
    }

    @Test("rules are validated, at most 1024 per direction; labelsToApply follow the label rules")
    func validation() {
        let spec = ProfileSpec(
            ingress: [Rule(action: .allow, destination: EntityRule(ports: [80]))],
            egress: Array(repeating: Rule(action: .allow), count: 1025),
            labelsToApply: ["ok": "v", "bad key": "v", "k": "bad value!"])
        let paths = errorPaths(Profile(metadata: ObjectMeta(name: "p"), spec: spec))
        #expect(paths == [
            "spec.ingress[0].destination.ports[0]", "spec.egress", "spec.labelsToApply.bad key", "spec.labelsToApply.k",
        ])
    }

    @Test("profiles have no direction rules: services anywhere pass")
    func noDirectionRules() {
        let spec = ProfileSpec(ingress: [Rule(action: .allow, destination: EntityRule(services: ServiceMatch(name: "s")))])
        #expect(errorPaths(Profile(metadata: ObjectMeta(name: "p"), spec: spec)).isEmpty)
    }
}

@Suite struct NetworkSetTests {
    @Test func decodesTheDocumentationSamples() throws {
        let ns = try decodeTyped(#"{"apiVersion":"projectcalico.org/v3","kind":"NetworkSet","metadata":{"name":"external-database","namespace":"staging","labels":{"role":"db"}},"spec":{"nets":["198.51.100.0/28","203.0.113.0/24"]}}"#, as: NetworkSetSpec.self)
        #expect(ns.spec.nets == ["198.51.100.0/28", "203.0.113.0/24"])
        #expect(ns.validationErrors().isEmpty)
        try expectRoundTrip(ns)
        let gns = try decodeTyped(#"{"apiVersion":"projectcalico.org/v3","kind":"GlobalNetworkSet","metadata":{"name":"a-name-for-the-set","labels":{"role":"external-database"}},"spec":{"nets":["198.51.100.0/28","203.0.113.0/24"]}}"#, as: GlobalNetworkSetSpec.self)
        #expect(gns.validationErrors().isEmpty)
        #expect(try expectRoundTrip(gns).hasSuffix(#""spec":{"nets":["198.51.100.0/28","203.0.113.0/24"]}}"#))
        #expect(decodeError(#"{"apiVersion":"projectcalico.org/v3","kind":"GlobalNetworkSet","metadata":{"name":"g"},"spec":{"nets":[],"cidrs":[]}}"#)?.fieldErrors.map(\.path.description) == ["spec.cidrs"])
    }

    @Test("nets: CIDRs (host bits allowed) or addresses")
    func nets() {
        let spec = GlobalNetworkSetSpec(nets: ["10.0.0.1/8", "10.0.0.1", "fd00::1/64", "10.0.0.0/33", "x"])
        #expect(errorPaths(GlobalNetworkSet(metadata: ObjectMeta(name: "g"), spec: spec)) == ["spec.nets[3]", "spec.nets[4]"])
        let nsSpec = NetworkSetSpec(nets: ["bogus"])
        #expect(errorPaths(NetworkSet(metadata: ObjectMeta(name: "n", namespace: "x"), spec: nsSpec)) == ["spec.nets[0]"])
    }

    @Test("the projectcalico.org/namespace label is reserved on both kinds")
    func reservedLabel() {
        let labels = ["projectcalico.org/namespace": "x", "role": "db"]
        #expect(errorPaths(GlobalNetworkSet(metadata: ObjectMeta(name: "g", labels: labels), spec: GlobalNetworkSetSpec())) == ["metadata.labels.projectcalico.org/namespace"])
        #expect(errorPaths(NetworkSet(metadata: ObjectMeta(name: "n", namespace: "x", labels: labels), spec: NetworkSetSpec())) == ["metadata.labels.projectcalico.org/namespace"])
    }
}
