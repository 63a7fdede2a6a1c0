import CanalModel
import CanalTesting
import CanalToolSupport
import Foundation
import Testing

/// A temporary folder holding a state file, removed afterwards.
private func withStateFile(_ body: (String) async throws -> Void) async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("canalctl-state-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    try await body(directory.appendingPathComponent("state.json").path)
}

private func canalctl(_ arguments: [String], stdin: String? = nil, state: String? = nil, etcd: String? = nil) throws -> ToolRunner.Output {
    var environment = ["DATASTORE_TYPE": "", "ETCD_ENDPOINTS": ""]
    if let state { environment["CANAL_STATE_FILE"] = state }
    if let etcd {
        environment["DATASTORE_TYPE"] = "etcdv3"
        environment["ETCD_ENDPOINTS"] = etcd
    }
    return try ToolRunner.run("canalctl", arguments, stdin: stdin, environment: environment)
}

/// The `index`th element of a JSON array.
private func element(_ value: JSONValue?, _ index: Int) -> JSONValue? {
    guard case .array(let items)? = value, index < items.count else { return nil }
    return items[index]
}

/// Runs `etcdctl` (API v3) against `endpoint`.
private func etcdctl(_ endpoint: String, _ arguments: [String]) throws -> String {
    let finished = try Spawn.run([EtcdServer.etcdctlBinary, "--endpoints", endpoint] + arguments,
                                 environment: ["ETCDCTL_API": "3"], timeout: .seconds(60))
    #expect(finished.status == 0, "etcdctl \(arguments) failed: \(finished.stderrText)")
    return finished.stdoutText
}

private let policies = """
    apiVersion: projectcalico.org/v3
    kind: NetworkPolicy
    metadata:
      name: allow-web
      namespace: shop
    spec:
      selector: app == 'web'
      ingress:
      - action: Allow
        protocol: TCP
        destination:
          ports: [80]
    ---
    apiVersion: projectcalico.org/v3
    kind: NetworkPolicy
    metadata:
      name: allow-db
    spec:
      selector: app == 'db'
      ingress:
      - action: Allow
    """

@Suite("canalctl on a datastore", .serialized, .timeLimit(.minutes(5)))
struct CanalctlDatastoreTests {
    @Test("the README quick start: apply the example cluster, then get it back in a later command")
    func quickStart() async throws {
        try await withStateFile { state in
            let manifest = ToolRunner.repoRoot.appendingPathComponent("Examples/manifests/cluster.yaml").path
            let applied = try canalctl(["apply", "-f", manifest], state: state)
            #expect(applied.status == 0, "\(applied.stderr)")
            #expect(applied.stdout.hasPrefix("Successfully applied"))
            let pools = try canalctl(["get", "ippools", "-o", "json"], state: state)
            #expect(pools.status == 0)
            let list = try JSONValue(parsing: pools.stdout)
            #expect(list["kind"]?.stringValue == "IPPoolList")
            guard case .array(let items)? = list["items"] else { Issue.record("no items"); return }
            #expect(items.count >= 1)
            #expect(items.allSatisfy { $0["metadata"]?["resourceVersion"]?.stringValue != nil })

            // Applying again keeps uids and moves revisions forward.
            let before = try canalctl(["get", "gnp", "allow-dns", "-o", "json"], state: state)
            _ = try canalctl(["apply", "-f", manifest], state: state)
            let after = try canalctl(["get", "gnp", "allow-dns", "-o", "json"], state: state)
            let b = try JSONValue(parsing: before.stdout), a = try JSONValue(parsing: after.stdout)
            #expect(a["metadata"]?["uid"] == b["metadata"]?["uid"])
            #expect(Int(a["metadata"]?["resourceVersion"]?.stringValue ?? "")! > Int(b["metadata"]?["resourceVersion"]?.stringValue ?? "")!)
        }
    }

    @Test("create, conflicts, partial failure, get by name and short names, delete, missing resources")
    func lifecycle() async throws {
        try await withStateFile { state in
            let created = try canalctl(["create", "-f", "-"], stdin: policies, state: state)
            #expect(created.status == 0, "\(created.stderr)")
            #expect(created.stdout == "Successfully created 2 'NetworkPolicy' resource(s)\n")

            let table = try canalctl(["get", "policies", "-A"], state: state)
            #expect(table.stdout == "NAMESPACE   NAME\ndefault     allow-db\nshop        allow-web\n")
            let names = try canalctl(["get", "np", "-n", "shop", "-o", "name"], state: state)
            #expect(names.stdout == "networkpolicy/allow-web\n")

            // One new document and one that exists: the new one is created, the failure is named, exit 1.
            let mixed = policies.replacingOccurrences(of: "allow-db", with: "allow-cache")
            let partial = try canalctl(["create", "-f", "-"], stdin: mixed, state: state)
            #expect(partial.status == 1)
            #expect(partial.stdout.contains("Partial success: created 1 out of 2 'NetworkPolicy' resources"))
            #expect(partial.stdout.contains("NetworkPolicy(default/allow-cache)"))
            #expect(partial.stderr.contains("resource already exists: NetworkPolicy(shop/allow-web)"))

            let missing = try canalctl(["get", "networkpolicy", "nope"], state: state)
            #expect(missing.status == 1)
            #expect(missing.stderr.contains("resource does not exist: NetworkPolicy(default/nope)"))

            let deleted = try canalctl(["delete", "np", "allow-web", "-n", "shop"], state: state)
            #expect(deleted.status == 0 && deleted.stdout == "Successfully deleted 1 'NetworkPolicy' resource(s)\n")
            let again = try canalctl(["delete", "np", "allow-web", "-n", "shop"], state: state)
            #expect(again.status == 1 && again.stderr.contains("resource does not exist: NetworkPolicy(shop/allow-web)"))

            let replaced = try canalctl(["replace", "-f", "-"], stdin: policies, state: state)
            #expect(replaced.status == 1 && replaced.stderr.contains("NetworkPolicy(shop/allow-web)"))

            let globalWithNamespace = try canalctl(["get", "ippools", "-n", "x"], state: state)
            #expect(globalWithNamespace.status == 1 && globalWithNamespace.stderr.contains("IPPool is not namespaced"))
            let unknown = try canalctl(["get", "widgets"], state: state)
            #expect(unknown.status == 1 && unknown.stderr.contains("resource type 'widgets' is not supported"))

            // An invalid document: nothing is written and the field is named.
            let invalid = try canalctl(["create", "-f", "-"], stdin: policies.replacingOccurrences(of: "allow-web", with: "Bad_Name"), state: state)
            #expect(invalid.status == 1 && invalid.stderr.contains("metadata.name"))
        }
    }

    @Test("concurrent commands on one state file see each other's writes")
    func concurrentCommands() async throws {
        try await withStateFile { state in
            let count = 6
            var processes: [SpawnedChild] = []
            defer { for process in processes { process.stop() } }
            for i in 0..<count {
                let manifest = """
                    apiVersion: projectcalico.org/v3
                    kind: GlobalNetworkSet
                    metadata:
                      name: set-\(i)
                    spec:
                      nets: [10.\(i).0.0/16]
                    """
                let file = URL(fileURLWithPath: state).deletingLastPathComponent().appendingPathComponent("set\(i).yaml")
                try manifest.write(to: file, atomically: true, encoding: .utf8)
                processes.append(try Spawn.start([ToolRunner.binDirectory.appendingPathComponent("canalctl").path, "create", "-f", file.path],
                                                 environment: ["CANAL_STATE_FILE": state, "DATASTORE_TYPE": ""]))
            }
            for process in processes {
                #expect(process.wait(timeout: .seconds(120)) == 0)
            }
            let listed = try canalctl(["get", "globalnetworksets", "-o", "name"], state: state)
            #expect(listed.stdout.split(separator: "\n").sorted() == (0..<count).map { "globalnetworkset/set-\($0)" }.sorted())
        }
    }

    @Test("interop with etcd: canalctl writes Calico's keys and JSON; Calico-written JSON is read back", .enabled(if: EtcdServer.shouldRun))
    func etcdInterop() async throws {
        try await EtcdServer.withEtcdServer { server in
            let endpoint = server.endpoint
            let created = try canalctl(["create", "-f", "-"], stdin: policies, etcd: endpoint)
            #expect(created.status == 0, "\(created.stderr)")

            let stored = try etcdctl(endpoint, ["get", "--print-value-only", "/calico/resources/v3/projectcalico.org/networkpolicies/shop/allow-web"])
            let value = try JSONValue(parsing: stored.trimmingCharacters(in: .whitespacesAndNewlines))
            #expect(value["kind"]?.stringValue == "NetworkPolicy")
            #expect(value["apiVersion"]?.stringValue == "projectcalico.org/v3")
            #expect(value["metadata"]?["name"]?.stringValue == "allow-web")
            #expect(value["metadata"]?["namespace"]?.stringValue == "shop")
            #expect(value["metadata"]?["resourceVersion"] == nil)
            #expect(value["metadata"]?["uid"]?.stringValue?.count == 36)
            #expect(value["metadata"]?["annotations"]?["projectcalico.org/metadata"]?.stringValue == #"{"name":"allow-web"}"#)
            #expect(value["metadata"]?["labels"]?["projectcalico.org/tier"]?.stringValue == "default")
            #expect(value["spec"]?["tier"]?.stringValue == "default")
            #expect(value["spec"]?["types"] == .array([.string("Ingress")]))
            #expect(element(value["spec"]?["ingress"], 0)?["destination"]?["ports"] == .array([.number("80")]))
            let tiers = try etcdctl(endpoint, ["get", "--keys-only", "--prefix", "/calico/resources/v3/projectcalico.org/tiers/"])
            #expect(tiers.split(separator: "\n").map(String.init) == [
                "/calico/resources/v3/projectcalico.org/tiers/default", "/calico/resources/v3/projectcalico.org/tiers/kube-admin",
                "/calico/resources/v3/projectcalico.org/tiers/kube-baseline",
            ])
            #expect(!(try etcdctl(endpoint, ["get", "--print-value-only", "/calico/resources/v3/projectcalico.org/clusterinformations/default"])).isEmpty)

            // Written by Calico (JSON as its etcdv3 backend stores it).
            let gnp = #"{"kind":"GlobalNetworkPolicy","apiVersion":"projectcalico.org/v3","metadata":{"name":"deny-egress","uid":"5b0b8f6e-3f7f-4f7e-9f0e-2a1c3b4d5e6f","creationTimestamp":"2024-05-01T10:00:00Z","labels":{"projectcalico.org/tier":"default"},"annotations":{"projectcalico.org/metadata":"{\"name\":\"deny-egress\"}"}},"spec":{"tier":"default","order":500,"selector":"role == 'locked'","types":["Egress"],"egress":[{"action":"Deny","source":{},"destination":{}}]}}"#
            let wep = #"{"kind":"WorkloadEndpoint","apiVersion":"projectcalico.org/v3","metadata":{"name":"node1-k8s-web--0-eth0","namespace":"shop","uid":"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0","creationTimestamp":"2024-05-01T10:00:01Z","labels":{"app":"web","projectcalico.org/namespace":"shop","projectcalico.org/orchestrator":"k8s","projectcalico.org/serviceaccount":"default"}},"spec":{"orchestrator":"k8s","node":"node1","containerID":"abc123","pod":"web-0","endpoint":"eth0","serviceAccountName":"default","ipNetworks":["10.65.0.5/32"],"profiles":["kns.shop","ksa.shop.default"],"interfaceName":"cali1234567890a","mac":"ee:ee:ee:ee:ee:ee"}}"#
            let pool = #"{"kind":"IPPool","apiVersion":"projectcalico.org/v3","metadata":{"name":"default-ipv4-ippool","uid":"11111111-2222-3333-4444-555555555555","creationTimestamp":"2024-05-01T09:59:00Z"},"spec":{"cidr":"10.65.0.0/16","vxlanMode":"Never","ipipMode":"Always","natOutgoing":true,"blockSize":26,"nodeSelector":"all()","allowedUses":["Workload","Tunnel"]}}"#
            _ = try etcdctl(endpoint, ["put", "/calico/resources/v3/projectcalico.org/globalnetworkpolicies/deny-egress", gnp])
            _ = try etcdctl(endpoint, ["put", "/calico/resources/v3/projectcalico.org/workloadendpoints/shop/node1-k8s-web--0-eth0", wep])
            _ = try etcdctl(endpoint, ["put", "/calico/resources/v3/projectcalico.org/ippools/default-ipv4-ippool", pool])

            let gotGNP = try canalctl(["get", "gnp", "deny-egress", "-o", "json"], etcd: endpoint)
            #expect(gotGNP.status == 0, "\(gotGNP.stderr)")
            let g = try JSONValue(parsing: gotGNP.stdout)
            #expect(g["metadata"]?["name"]?.stringValue == "deny-egress")
            #expect(g["metadata"]?["annotations"] == nil)
            #expect(g["spec"]?["order"] == .number("500"))
            let revisionJSON = try JSONValue(parsing: try etcdctl(endpoint, ["get", "-w", "json", "/calico/resources/v3/projectcalico.org/globalnetworkpolicies/deny-egress"]))
            let modRevision = element(revisionJSON["kvs"], 0)?["mod_revision"]
            #expect(g["metadata"]?["resourceVersion"]?.stringValue == modRevision.map { value -> String in
                if case .number(let text) = value { return text }
                return value.stringValue ?? ""
            })

            let gotWEP = try canalctl(["get", "wep", "-n", "shop", "-o", "wide"], etcd: endpoint)
            #expect(gotWEP.status == 0, "\(gotWEP.stderr)")
            #expect(gotWEP.stdout.contains("node1-k8s-web--0-eth0") && gotWEP.stdout.contains("10.65.0.5/32") && gotWEP.stdout.contains("kns.shop,ksa.shop.default"))
            let gotPool = try canalctl(["get", "ippool", "default-ipv4-ippool", "-o", "yaml"], etcd: endpoint)
            #expect(gotPool.status == 0 && gotPool.stdout.contains("cidr: 10.65.0.0/16") && gotPool.stdout.contains("ipipMode: Always"))

            // Deleting through canalctl removes Calico's key.
            let deleted = try canalctl(["delete", "gnp", "deny-egress"], etcd: endpoint)
            #expect(deleted.status == 0)
            #expect(try etcdctl(endpoint, ["get", "--print-value-only", "/calico/resources/v3/projectcalico.org/globalnetworkpolicies/deny-egress"]).isEmpty)
        }
    }

    @Test("create --skip-exists: existing resources are passed over unchanged, new ones created (embedded and etcd)")
    func skipExists() async throws {
        func check(state: String, etcd: String?) throws {
            let first = try canalctl(["create", "-f", "-"], stdin: policies, state: state, etcd: etcd)
            #expect(first.status == 0, "\(first.stderr)")
            let before = try JSONValue(parsing: try canalctl(["get", "np", "allow-web", "-n", "shop", "-o", "json"], state: state, etcd: etcd).stdout)

            // allow-web exists (with a changed selector in the manifest), allow-cache is new.
            let mixed = policies.replacingOccurrences(of: "allow-db", with: "allow-cache")
                .replacingOccurrences(of: "app == 'web'", with: "app == 'changed'")
            let plain = try canalctl(["create", "-f", "-"], stdin: mixed, state: state, etcd: etcd)
            #expect(plain.status == 1 && plain.stderr.contains("resource already exists: NetworkPolicy(shop/allow-web)"))
            _ = try canalctl(["delete", "np", "allow-cache"], state: state, etcd: etcd)

            let skipped = try canalctl(["create", "-f", "-", "--skip-exists"], stdin: mixed, state: state, etcd: etcd)
            #expect(skipped.status == 0, "\(skipped.stderr)")
            #expect(skipped.stderr.isEmpty, "\(skipped.stderr)")
            #expect(skipped.stdout.hasPrefix("Successfully created 2 'NetworkPolicy' resource(s)\n"), "\(skipped.stdout)")
            #expect(skipped.stdout.contains("NetworkPolicy(shop/allow-web)"), "\(skipped.stdout)")
            let after = try JSONValue(parsing: try canalctl(["get", "np", "allow-web", "-n", "shop", "-o", "json"], state: state, etcd: etcd).stdout)
            #expect(after == before, "the existing resource is left as it was")
            let cache = try canalctl(["get", "np", "allow-cache", "-o", "json"], state: state, etcd: etcd)
            #expect(cache.status == 0)
            #expect(try JSONValue(parsing: cache.stdout)["spec"]?["selector"]?.stringValue == "app == 'db'")

            // Other failures still fail with --skip-exists.
            let invalid = policies.replacingOccurrences(of: "action: Allow", with: "action: Maybe")
            let bad = try canalctl(["create", "-f", "-", "--skip-exists"], stdin: invalid, state: state, etcd: etcd)
            #expect(bad.status == 1)
        }
        try await withStateFile { state in try check(state: state, etcd: nil) }
        if EtcdServer.shouldRun {
            try await EtcdServer.withEtcdServer { server in
                try await withStateFile { state in try check(state: state, etcd: server.endpoint) }
            }
        }
    }

    @Test("etcd down: a clear unavailable error and a non-zero exit, nothing written")
    func etcdDown() async throws {
        try await withStateFile { state in
            // Nothing listens on port 1: the connection is refused at once. The timeout only bounds
            // the command; the ceiling below is there so a hang fails the test instead of the run.
            let start = ContinuousClock.now
            let result = try ToolRunner.run(
                "canalctl", ["create", "-f", "-", "--timeout", "3"], stdin: policies,
                environment: ["DATASTORE_TYPE": "etcdv3", "ETCD_ENDPOINTS": "http://127.0.0.1:1", "CANAL_STATE_FILE": state])
            #expect(result.status == 1)
            #expect(result.stdout.isEmpty, "nothing reported as created: \(result.stdout)")
            #expect(result.stderr.contains("cannot reach the datastore"), "\(result.stderr)")
            #expect(result.stderr.contains("127.0.0.1:1"), "the message names the endpoint: \(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: state), "the embedded datastore is not used instead")
            #expect(ContinuousClock.now - start < .seconds(120))
        }
    }
}
