import CanalModel
import Testing

/// The calicoctl documentation's NetworkPolicy sample, as JSON.
private let docsNetworkPolicy = """
{
  "apiVersion": "projectcalico.org/v3",
  "kind": "NetworkPolicy",
  "metadata": {"name": "allow-tcp-6379", "namespace": "production"},
  "spec": {
    "selector": "role == 'database'",
    "types": ["Ingress", "Egress"],
    "ingress": [{
      "action": "Allow",
      "metadata": {"annotations": {"from": "frontend", "to": "database"}},
      "protocol": "TCP",
      "source": {"selector": "role == 'frontend'"},
      "destination": {"ports": [6379]}
    }],
    "egress": [{"action": "Allow"}]
  }
}
"""

@Suite struct NetworkPolicyTests {
    @Test func decodesTheDocumentationSample() throws {
        let p = try decodeTyped(docsNetworkPolicy, as: NetworkPolicySpec.self)
        #expect(p.metadata.name == "allow-tcp-6379")
        #expect(p.metadata.namespace == "production")
        #expect(p.spec.selector == "role == 'database'")
        #expect(p.spec.types == [.ingress, .egress])
        let rule = try #require(p.spec.ingress?.first)
        #expect(rule.action == .allow)
        #expect(rule.protocol == .tcp)
        #expect(rule.source.selector == "role == 'frontend'")
        #expect(rule.destination.ports == [.single(6379)])
        #expect(rule.metadata?.annotations == ["from": "frontend", "to": "database"])
        #expect(p.spec.egress == [Rule(action: .allow)])
        #expect(p.validationErrors().isEmpty)
        try expectRoundTrip(p)
    }

    @Test("writes members in Calico's order and omits empty entity rules")
    func memberOrder() throws {
        var p = try decodeTyped(docsNetworkPolicy, as: NetworkPolicySpec.self)
        p.applyDefaults()
        let text = try p.jsonValue().jsonText
        #expect(text == #"{"kind":"NetworkPolicy","apiVersion":"projectcalico.org/v3","metadata":{"name":"allow-tcp-6379","namespace":"production","labels":{"projectcalico.org/tier":"default"}},"spec":{"tier":"default","ingress":[{"action":"Allow","protocol":"TCP","source":{"selector":"role == 'frontend'"},"destination":{"ports":[6379]},"metadata":{"annotations":{"from":"frontend","to":"database"}}}],"egress":[{"action":"Allow"}],"selector":"role == 'database'","types":["Ingress","Egress"]}}"#)
    }

    @Test func rejectsUnknownFields() throws {
        let text = docsNetworkPolicy.replacing(#""protocol": "TCP","#, with: #""protocol": "TCP", "port": 80,"#)
            .replacing(#""selector": "role == 'database'","#, with: #""selector": "role == 'database'", "podSelector": {},"#)
        let error = try #require(decodeError(text))
        #expect(error.code == .schema)
        #expect(Set(error.fieldErrors.map(\.path.description)) == ["spec.ingress[0].port", "spec.podSelector"])
        // A tolerant read (the datastore's) ignores them.
        #expect(decodeError(text, strict: false) == nil)
    }

    @Test("an unknown action or type is a schema error listing the allowed values")
    func unknownEnums() throws {
        let bad = docsNetworkPolicy.replacing(#""action": "Allow","#, with: #""action": "allow","#)
        let e1 = try #require(decodeError(bad))
        #expect(e1.fieldErrors.first?.path.description == "spec.ingress[0].action")
        #expect(e1.fieldErrors.first?.message.contains("Allow, Deny, Log, Pass") == true)
        let e2 = try #require(decodeError(docsNetworkPolicy.replacing(#"["Ingress", "Egress"]"#, with: #"["Ingress", "Both"]"#)))
        #expect(e2.fieldErrors.first?.path.description == "spec.types[1]")
        let e3 = try #require(decodeError(docsNetworkPolicy.replacing(#""egress": [{"action": "Allow"}]"#, with: #""egress": [{}]"#)))
        #expect(e3.fieldErrors.first?.path.description == "spec.egress[0].action")
    }

    @Test("types inference", arguments: [
        (0, 0, [PolicyType.ingress]), (1, 0, [.ingress]), (0, 1, [.egress]), (2, 3, [.ingress, .egress]),
    ])
    func typesInference(ingress: Int, egress: Int, expected: [PolicyType]) {
        var p = networkPolicy(NetworkPolicySpec(
            ingress: Array(repeating: Rule(action: .allow), count: ingress),
            egress: Array(repeating: Rule(action: .deny), count: egress)))
        p.applyDefaults()
        #expect(p.spec.types == expected)
        #expect(p.spec.tier == "default")
        #expect(p.metadata.labels?["projectcalico.org/tier"] == "default")
    }

    @Test func defaultsKeepGivenTypesAndTier() {
        var p = networkPolicy(NetworkPolicySpec(tier: "security", egress: [Rule(action: .deny)], types: [.ingress]))
        p.metadata.labels = ["app": "x", "projectcalico.org/tier": "wrong"]
        p.applyDefaults()
        #expect(p.spec.types == [.ingress])
        #expect(p.spec.tier == "security")
        #expect(p.metadata.labels == ["app": "x", "projectcalico.org/tier": "security"])
        // An empty list counts as unset.
        var q = networkPolicy(NetworkPolicySpec(egress: [Rule(action: .deny)], types: []))
        q.applyDefaults()
        #expect(q.spec.types == [.egress])
    }

    @Test("NetworkPolicy names", arguments: [
        ("allow-web", true), ("tier1.allow-web", true), ("knp.default.my.k8s-policy", true), ("ossg.default.x", true),
        ("a.b.c", false), ("Allow", false), ("-a", false), ("a_b", false), ("knp.other.x", false), ("a..b", false),
    ])
    func names(name: String, valid: Bool) {
        let paths = errorPaths(networkPolicy(NetworkPolicySpec(), name: name))
        #expect(paths.contains("metadata.name") == !valid)
    }

    @Test func nameLength() {
        let long = String(repeating: "a", count: 254)
        #expect(errorPaths(networkPolicy(NetworkPolicySpec(), name: long)).contains("metadata.name"))
    }

    @Test("policy-level fields: tier, order, selectors, types, hints, rule count")
    func policyFields() {
        let spec = NetworkPolicySpec(
            tier: "Bad_Tier", order: .infinity, ingress: Array(repeating: Rule(action: .allow), count: 1025),
            selector: "a == 'x' && global()", types: [.ingress, .ingress, .egress],
            serviceAccountSelector: "role ==", performanceHints: [.assumeNeededOnEveryNode, .assumeNeededOnEveryNode])
        let paths = errorPaths(networkPolicy(spec))
        for expected in [
            "spec.tier", "spec.order", "spec.ingress", "spec.selector", "spec.types", "spec.types[1]",
            "spec.performanceHints[1]",
        ] {
            #expect(paths.contains(expected), "missing \(expected) in \(paths)")
        }
    }

    @Test func selectorLength() {
        let long = "a == '" + String(repeating: "x", count: 1020) + "'"
        #expect(errorPaths(networkPolicy(NetworkPolicySpec(selector: long))) == ["spec.selector"])
        #expect(errorPaths(networkPolicy(NetworkPolicySpec(selector: "a == 'x'"))).isEmpty)
    }

    @Test("services direction rules and HTTP on egress")
    func directionRules() {
        let spec = NetworkPolicySpec(
            ingress: [Rule(action: .allow, destination: EntityRule(services: ServiceMatch(name: "svc")))],
            egress: [
                Rule(action: .allow, source: EntityRule(services: ServiceMatch(name: "svc"))),
                Rule(action: .allow, http: HTTPMatch(methods: ["GET"])),
                Rule(action: .allow, destination: EntityRule(services: ServiceMatch(name: "svc"))),
            ])
        #expect(errorPaths(networkPolicy(spec)) == [
            "spec.ingress[0].destination.services", "spec.egress[0].source.services", "spec.egress[1].http",
        ])
    }

    @Test func everyProblemIsReportedAtOnce() {
        let rule = Rule(
            action: .allow, ipVersion: 5, protocol: .number(0),
            source: EntityRule(nets: ["10.0.0.1/24", "10.0.0.0/24"]),
            destination: EntityRule(ports: [.single(80)], notNets: ["fd00::/64"]))
        #expect(errorPaths(ingressPolicy(rule)) == [
            "spec.ingress[0].ipVersion", "spec.ingress[0].protocol", "spec.ingress[0].destination.ports",
            "spec.ingress[0].source.nets[0]", "spec.ingress[0].destination.notNets[0]",
        ])
    }
}

@Suite struct GlobalNetworkPolicyTests {
    private let docsSample = """
    {"apiVersion":"projectcalico.org/v3","kind":"GlobalNetworkPolicy","metadata":{"name":"allow-tcp-6379"},
     "spec":{"selector":"role == 'database'","types":["Ingress","Egress"],
       "ingress":[{"action":"Allow","metadata":{"annotations":{"from":"frontend","to":"database"}},"protocol":"TCP",
                   "source":{"selector":"role == 'frontend'"},"destination":{"ports":[6379]}}],
       "egress":[{"action":"Allow"}]}}
    """

    @Test func decodesTheDocumentationSample() throws {
        let p = try decodeTyped(docsSample, as: GlobalNetworkPolicySpec.self)
        #expect(p.spec.ingress?.first?.destination.ports == [6379])
        #expect(!p.spec.preDNAT && !p.spec.doNotTrack && !p.spec.applyOnForward)
        #expect(p.validationErrors().isEmpty)
        try expectRoundTrip(p)
    }

    @Test("a host-protection policy: order, preDNAT, applyOnForward, namespaceSelector; booleans written only when true")
    func hostPolicy() throws {
        let text = #"{"apiVersion":"projectcalico.org/v3","kind":"GlobalNetworkPolicy","metadata":{"name":"security.allow-cluster-internal-ingress"},"spec":{"tier":"security","order":10.5,"ingress":[{"action":"Allow","source":{"nets":["10.240.0.0/16","192.168.0.0/16"]}}],"selector":"has(host-endpoint)","doNotTrack":false,"preDNAT":true,"applyOnForward":true,"namespaceSelector":"all()"}}"#
        var p = try decodeTyped(text, as: GlobalNetworkPolicySpec.self)
        #expect(p.spec.order == 10.5)
        #expect(p.spec.preDNAT && p.spec.applyOnForward)
        p.applyDefaults()
        #expect(p.spec.types == [.ingress])
        #expect(p.validationErrors().isEmpty)
        let out = try expectRoundTrip(p)
        #expect(out.contains(#""spec":{"tier":"security","order":10.5,"ingress":[{"action":"Allow","source":{"nets":["10.240.0.0/16","192.168.0.0/16"]}}],"selector":"has(host-endpoint)","types":["Ingress"],"preDNAT":true,"applyOnForward":true,"namespaceSelector":"all()"}"#))
    }

    @Test("GlobalNetworkPolicy names", arguments: [
        ("allow", true), ("tier.allow", true), ("a.b.c", false), ("knp.default.x", false), ("UPPER", false),
    ])
    func names(name: String, valid: Bool) {
        #expect(errorPaths(globalPolicy(GlobalNetworkPolicySpec(), name: name)).contains("metadata.name") == !valid)
    }

    @Test("preDNAT / doNotTrack / applyOnForward rules")
    func forwardingRules() {
        #expect(errorPaths(globalPolicy(GlobalNetworkPolicySpec(doNotTrack: true, applyOnForward: true))).isEmpty)
        #expect(errorPaths(globalPolicy(GlobalNetworkPolicySpec(doNotTrack: true))) == ["spec.applyOnForward"])
        #expect(errorPaths(globalPolicy(GlobalNetworkPolicySpec(preDNAT: true))) == ["spec.applyOnForward"])
        #expect(errorPaths(globalPolicy(GlobalNetworkPolicySpec(doNotTrack: true, preDNAT: true, applyOnForward: true))) == ["spec.preDNAT"])
        #expect(errorPaths(globalPolicy(GlobalNetworkPolicySpec(
            egress: [Rule(action: .deny)], types: [.ingress, .egress], preDNAT: true, applyOnForward: true))) == ["spec.egress", "spec.types[1]"])
    }

    @Test("global( is rejected in policy selectors, the namespaceSelector included")
    func globalSelector() {
        let spec = GlobalNetworkPolicySpec(selector: "global()", serviceAccountSelector: "global()", namespaceSelector: "a == 'global('")
        #expect(errorPaths(globalPolicy(spec)) == ["spec.selector", "spec.serviceAccountSelector", "spec.namespaceSelector"])
    }

    @Test("services in a global policy need a namespace")
    func servicesNeedNamespace() {
        let spec = GlobalNetworkPolicySpec(
            ingress: [Rule(action: .allow, source: EntityRule(services: ServiceMatch(name: "svc")))],
            egress: [
                Rule(action: .allow, destination: EntityRule(services: ServiceMatch(name: "svc", namespace: ""))),
                Rule(action: .allow, destination: EntityRule(services: ServiceMatch(name: "svc", namespace: "prod"))),
            ])
        #expect(errorPaths(globalPolicy(spec)) == ["spec.ingress[0].source.services.namespace", "spec.egress[0].destination.services.namespace"])
        // A namespaced policy does not need one.
        let np = NetworkPolicySpec(ingress: [Rule(action: .allow, source: EntityRule(services: ServiceMatch(name: "svc")))])
        #expect(errorPaths(networkPolicy(np)).isEmpty)
    }
}
