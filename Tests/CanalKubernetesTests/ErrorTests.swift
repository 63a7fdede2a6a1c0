import CanalKubernetes
import CanalModel
import Testing

/// Invalid input is an error naming the Kubernetes field path, as the API server names it.
@Suite("Kubernetes input errors name the field path")
struct ErrorTests {
    static func np(_ spec: String) -> String {
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: prod}\nspec: \(spec)\n"
    }

    @Test("invalid NetworkPolicies", arguments: [
        (np("{podSelector: {matchExpressions: [{key: app, operator: Equals, values: [a]}]}}"), "spec.podSelector.matchExpressions[0].operator", "Unsupported value: \"Equals\""),
        (np("{podSelector: {}, ingress: [{ports: [{port: 9000, endPort: 8000}]}]}"), "spec.ingress[0].ports[0].endPort", "must be greater than or equal to `port`"),
        (np("{podSelector: {}, egress: [{ports: [{port: http, endPort: 90}]}]}"), "spec.egress[0].ports[0].endPort", "non-numeric"),
        (np("{podSelector: {}, ingress: [{ports: [{protocol: ICMP}]}]}"), "spec.ingress[0].ports[0].protocol", "Unsupported value: \"ICMP\""),
        (np("{podSelector: {}, ingress: [{ports: [{port: 70000}]}]}"), "spec.ingress[0].ports[0].port", "between 1 and 65535"),
        (np("{podSelector: {}, ingress: [{ports: [{port: Not_A_Name}]}]}"), "spec.ingress[0].ports[0].port", "IANA_SVC_NAME"),
        (np("{podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8, except: [11.0.0.0/24]}}]}]}"), "spec.ingress[0].from[0].ipBlock.except[0]", "strict subset"),
        (np("{podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 10.0.0/8}}]}]}"), "spec.ingress[0].from[0].ipBlock.cidr", "valid CIDR"),
        (np("{podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}]}]}"), "spec.ingress[0].from[0]", "may not specify both ipBlock"),
        (np("{podSelector: {}, ingress: [{from: [{}]}]}"), "spec.ingress[0].from[0]", "must specify a peer"),
        (np("{podSelector: {matchExpressions: [{key: a, operator: In}]}}"), "spec.podSelector.matchExpressions[0].values", "Required value"),
        (np("{podSelector: {matchExpressions: [{key: a, operator: Exists, values: [x]}]}}"), "spec.podSelector.matchExpressions[0].values", "Forbidden"),
        (np("{podSelector: {matchLabels: {'bad key!': x}}}"), "spec.podSelector.matchLabels", "bad key!"),
        (np("{podSelector: {}, policyTypes: [Both]}"), "spec.policyTypes[0]", "Unsupported value: \"Both\""),
        (np("{podSelector: {}, ingress: [{form: []}]}"), "spec.ingress[0].form", "unknown field"),
        (np("{podSelector: {}, ingress: [{ports: [{port: [80]}]}]}"), "spec.ingress[0].ports[0].port", "port number or a port name"),
        (np("{podSelector: {}, ingress: {}}"), "spec.ingress", "expected a list"),
        ("apiVersion: networking.k8s.io/v1beta1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec: {}\n", "apiVersion", "supported values: \"networking.k8s.io/v1\""),
        ("apiVersion: v1\nkind: Service\nmetadata: {name: p}\n", "kind", "Unsupported value: \"Service\""),
        ("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: Bad_Name}\nspec: {}\n", "metadata.name", "RFC 1123"),
        ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a, ports: [{containerPort: 0}]}]}\n", "spec.containers[0].ports[0].containerPort", "between 1 and 65535"),
    ])
    func invalid(_ yaml: String, _ path: String, _ fragment: String) throws {
        let error = try #require(Fixtures.error(yaml), "accepted: \(yaml)")
        #expect(error.fieldErrors.contains { $0.path.description == path && $0.message.contains(fragment) }, "\(error)")
    }

    @Test("a bad item of a List names items[i]")
    func listItem() throws {
        let json = """
            {"apiVersion": "v1", "kind": "NetworkPolicyList", "items": [
              {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "ok"}, "spec": {"podSelector": {}}},
              {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "bad"},
               "spec": {"podSelector": {}, "ingress": [{"ports": [{"port": 90, "endPort": 80}]}]}}]}
            """
        do {
            _ = try KubernetesObject.objects(in: try JSONValue(parsing: json))
            Issue.record("accepted")
        } catch let error as KubernetesError {
            #expect(error.fieldErrors.map(\.path.description) == ["items[1].spec.ingress[0].ports[0].endPort"])
            #expect(error.code == .invalid)
        }
    }

    @Test("every problem of a document is reported at once")
    func allProblems() throws {
        let error = try #require(Fixtures.error(Self.np("{podSelector: {}, ingress: [{ports: [{protocol: GRE}, {port: 5, endPort: 1}]}]}")))
        #expect(Set(error.fieldErrors.map(\.path.description)) == ["spec.ingress[0].ports[0].protocol", "spec.ingress[0].ports[1].endPort"])
    }

    @Test("fields Calico does not read are accepted where Kubernetes has many (pods, namespaces)")
    func tolerant() throws {
        let objects = try Fixtures.objects("""
            apiVersion: v1
            kind: Pod
            metadata: {name: p, managedFields: [{manager: kubectl}], ownerReferences: [{kind: ReplicaSet, name: r}]}
            spec: {nodeName: n, dnsPolicy: ClusterFirst, volumes: [], containers: [{name: c, image: i, resources: {}, ports: [{containerPort: 80}]}]}
            status: {phase: Running, conditions: [], hostIP: 10.0.0.1}
            """)
        #expect(objects.count == 1)
    }
}
