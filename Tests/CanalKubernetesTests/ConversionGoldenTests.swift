import CanalKubernetes
import CanalManifest
import CanalModel
import CanalSelector
import Foundation
import Testing

/// Kubernetes objects → Calico manifests, compared with golden files whose comments say which
/// Calico semantics each case shows (`CANAL_UPDATE_GOLDEN=1` rewrites them; review the diff).
@Suite("Kubernetes → Calico: golden conversions")
struct ConversionGoldenTests {
    @Test("golden conversion", arguments: ["networkpolicies", "objects"])
    func golden(_ name: String) throws {
        let objects = try Fixtures.objects(try Fixtures.text("\(name).yaml"))
        let resources = try KubernetesConverter().convert(objects)
        let text = try Manifest.write(resources, format: .yaml)
        let file = Fixtures.golden.appendingPathComponent("\(name).calico.yaml")
        if ProcessInfo.processInfo.environment["CANAL_UPDATE_GOLDEN"] == "1" {
            try text.write(to: file, atomically: true, encoding: .utf8)
        }
        #expect(text == (try String(contentsOf: file, encoding: .utf8)), "conversion of Golden/\(name).yaml differs from Golden/\(name).calico.yaml")
        // What the conversion writes is valid Calico: it reads back with defaults and validation,
        // and every selector parses.
        for resource in resources {
            var copy = resource
            copy.applyDefaults()
            #expect(copy.validationErrors().isEmpty, "\(copy.displayName): \(copy.validationErrors())")
        }
        let reread = try Manifest.read(text, applyDefaults: true, validate: true)
        #expect(reread.allSatisfy { if case .success = $0.result { true } else { false } })
    }

    @Test("names, tier, order and types as kube-controllers writes them")
    func policyEnvelope() throws {
        let p = try Fixtures.policy("""
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: web, namespace: prod, uid: 1b4e28ba-2fa1-11d2-883f-0016d3cca427, resourceVersion: "7", labels: {x: y}}
            spec: {podSelector: {}}
            """)
        #expect(p.metadata == ObjectMeta(name: "knp.default.web", namespace: "prod"))
        #expect(p.spec.tier == "default")
        #expect(p.spec.order == 1000)
        #expect(p.spec.types == [.ingress])
        #expect(p.spec.selector == "projectcalico.org/orchestrator == 'k8s'")
        #expect(p.spec.ingress == nil && p.spec.egress == nil)
    }

    @Test("policyTypes: given, or Ingress plus Egress when there are egress rules")
    func types() throws {
        func types(_ spec: String) throws -> [PolicyType]? {
            try Fixtures.policy("{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: p}, spec: \(spec)}").spec.types
        }
        #expect(try types("{podSelector: {}, egress: [{}]}") == [.ingress, .egress])
        #expect(try types("{podSelector: {}, policyTypes: [Egress, Ingress]}") == [.ingress, .egress])
        #expect(try types("{podSelector: {}, policyTypes: [Egress]}") == [.egress])
        #expect(try types("{podSelector: {}, ingress: [{}]}") == [.ingress])
    }

    @Test("one rule per protocol and per peer; ports merged; a bare protocol allows all its ports")
    func rulesAndPorts() throws {
        let p = try Fixtures.policy("""
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: p}
            spec:
              podSelector: {}
              ingress:
              - from: [{podSelector: {matchLabels: {a: b}}}, {ipBlock: {cidr: 10.0.0.9/8}}]
                ports: [{port: 82}, {port: 80}, {port: 81}, {port: pg}, {protocol: UDP}, {protocol: UDP, port: 53}]
            """)
        let rules = try #require(p.spec.ingress)
        #expect(rules.count == 4)
        #expect(rules.map(\.protocol) == [.tcp, .tcp, .udp, .udp])
        #expect(rules[0].destination.ports == [.named("pg"), .range(80, 82)])
        #expect(rules[0].source.selector == "projectcalico.org/orchestrator == 'k8s' && a == 'b'")
        #expect(rules[0].source.namespaceSelector == nil)
        #expect(rules[1].source.nets == ["10.0.0.0/8"] && rules[1].source.selector == nil)
        #expect(rules[2].destination.ports == nil)
        #expect(rules.allSatisfy { $0.action == .allow })
    }

    @Test("egress rules put peers and ports on the destination")
    func egress() throws {
        let p = try Fixtures.policy("""
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: p}
            spec:
              podSelector: {}
              policyTypes: [Egress]
              egress: [{to: [{namespaceSelector: {}}], ports: [{port: 443}]}]
            """)
        let rule = try #require(p.spec.egress?.first)
        #expect(rule.source.isEmpty)
        #expect(rule.destination == EntityRule(selector: "projectcalico.org/orchestrator == 'k8s'", namespaceSelector: "all()", ports: [443]))
    }

    /// libcalico-go's selector conversion table (conversion_test.go, "selector conversion table").
    @Test("label selectors in Calico's syntax", arguments: [
        ("podSelector: {}", "projectcalico.org/orchestrator == 'k8s'", ""),
        ("podSelector: {matchExpressions: [{key: toast, operator: DoesNotExist}]}", "projectcalico.org/orchestrator == 'k8s' && ! has(toast)", ""),
        ("namespaceSelector: {}", "projectcalico.org/orchestrator == 'k8s'", "all()"),
        ("namespaceSelector: {matchExpressions: [{key: toast, operator: DoesNotExist}]}", "projectcalico.org/orchestrator == 'k8s'", "! has(toast)"),
        ("namespaceSelector: {matchExpressions: [{key: toast, operator: Exists}]}", "projectcalico.org/orchestrator == 'k8s'", "has(toast)"),
        ("namespaceSelector: {matchExpressions: [{key: toast, operator: In, values: [butter, jam]}]}", "projectcalico.org/orchestrator == 'k8s'", "toast in { 'butter', 'jam' }"),
        ("namespaceSelector: {matchExpressions: [{key: toast, operator: NotIn, values: [marmite, milk]}]}", "projectcalico.org/orchestrator == 'k8s'", "toast not in { 'marmite', 'milk' }"),
        ("namespaceSelector: {matchLabels: {b: '2', a: '1'}}", "projectcalico.org/orchestrator == 'k8s'", "a == '1' && b == '2'"),
    ])
    func selectors(_ peer: String, _ selector: String, _ namespaceSelector: String) throws {
        let p = try Fixtures.policy("{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: p}, spec: {podSelector: {}, ingress: [{from: [{\(peer)}]}]}}")
        let source = try #require(p.spec.ingress?.first?.source)
        #expect(source.selector == selector)
        #expect((source.namespaceSelector ?? "") == namespaceSelector)
        _ = try Selector(selector)
        if !namespaceSelector.isEmpty { _ = try Selector(namespaceSelector) }
    }
}
