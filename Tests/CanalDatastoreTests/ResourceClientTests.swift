import CanalDatastore
import CanalModel
import CanalTesting
import Foundation
import Testing

/// Runs `body` with a resource client over a fresh store of `backend`.
func withClient(
    _ backend: Backend, _ body: @escaping @Sendable (AnyClient) async throws -> Void
) async throws {
    try await backend.withStore { store, server in
        if let memory = store as? InMemoryKeyValueStore<ContinuousClock> {
            try await body(AnyClient(memory: ResourceClient(store: memory), server: server))
        } else if let etcd = store as? EtcdKeyValueStore {
            try await body(AnyClient(etcd: ResourceClient(store: etcd), server: server))
        } else {
            Issue.record("unexpected store")
        }
    }
}

/// One of the two concrete clients, so tests can be written once.
struct AnyClient: Sendable {
    var memory: ResourceClient<InMemoryKeyValueStore<ContinuousClock>>?
    var etcd: ResourceClient<EtcdKeyValueStore>?
    var server: EtcdServer?

    init(memory: ResourceClient<InMemoryKeyValueStore<ContinuousClock>>, server: EtcdServer?) {
        self.memory = memory
        self.server = server
    }
    init(etcd: ResourceClient<EtcdKeyValueStore>, server: EtcdServer?) {
        self.etcd = etcd
        self.server = server
    }

    func create<S>(_ r: Resource<S>) async throws -> Resource<S> { if let memory { return try await memory.create(r) }; return try await etcd!.create(r) }
    func update<S>(_ r: Resource<S>) async throws -> Resource<S> { if let memory { return try await memory.update(r) }; return try await etcd!.update(r) }
    func apply<S>(_ r: Resource<S>) async throws -> Resource<S> { if let memory { return try await memory.apply(r) }; return try await etcd!.apply(r) }
    func replace<S>(_ r: Resource<S>) async throws -> Resource<S> { if let memory { return try await memory.replace(r) }; return try await etcd!.replace(r) }
    func get<S>(_ t: Resource<S>.Type, _ name: String, ns: String? = nil) async throws -> Resource<S> {
        if let memory { return try await memory.get(t, name: name, namespace: ns) }; return try await etcd!.get(t, name: name, namespace: ns)
    }
    func list<S>(_ t: Resource<S>.Type, ns: String? = nil) async throws -> ResourceList<Resource<S>> {
        if let memory { return try await memory.list(t, namespace: ns) }; return try await etcd!.list(t, namespace: ns)
    }
    @discardableResult
    func delete<S>(_ t: Resource<S>.Type, _ name: String, ns: String? = nil, rv: String? = nil) async throws -> Resource<S> {
        if let memory { return try await memory.delete(t, name: name, namespace: ns, resourceVersion: rv) }
        return try await etcd!.delete(t, name: name, namespace: ns, resourceVersion: rv)
    }
    func initialize() async throws {
        if let memory { try await memory.initialize() } else { try await etcd!.initialize() }
    }
    func raw(_ key: String) async throws -> KeyValue? {
        if let memory { return try await memory.store.get(bytes(key)) }; return try await etcd!.store.get(bytes(key))
    }
    func put(_ key: String, _ value: String) async throws {
        if let memory { try await memory.store.put(bytes(key), value: bytes(value)) } else { try await etcd!.store.put(bytes(key), value: bytes(value)) }
    }
}

@discardableResult
func expectError<T>(
    _ code: DatastoreError.Code, sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> T
) async -> DatastoreError? {
    do {
        _ = try await body()
        Issue.record("expected \(code), got success", sourceLocation: sourceLocation)
    } catch let error as DatastoreError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected \(code), got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

@discardableResult
func expectModelError<T>(sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> T) async -> ModelError? {
    do {
        _ = try await body()
        Issue.record("expected a ModelError, got success", sourceLocation: sourceLocation)
    } catch let error as ModelError {
        return error
    } catch {
        Issue.record("expected a ModelError, got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

func policy(_ name: String, ns: String? = "ns1", tier: String? = nil, selector: String = "app == 'web'") -> NetworkPolicy {
    NetworkPolicy(
        metadata: ObjectMeta(name: name, namespace: ns),
        spec: NetworkPolicySpec(tier: tier, ingress: [Rule(action: .allow)], selector: selector))
}

func json(_ kv: KeyValue?) throws -> JSONValue { try JSONValue(parsing: try #require(kv).value) }

@Suite("ResourceClient", .timeLimit(.minutes(3)))
struct ResourceClientTests {
    @Test("CRUD with Calico's keys, values and revisions", arguments: Backend.available)
    func crud(backend: Backend) async throws {
        try await withClient(backend) { client in
            try await client.initialize()
            let created = try await client.create(policy("allow-web"))
            let key = "/calico/resources/v3/projectcalico.org/networkpolicies/ns1/allow-web"
            let stored = try #require(try await client.raw(key))
            #expect(created.metadata.resourceVersion == stored.modRevision.description)
            let uid = try #require(created.metadata.uid)
            #expect(UUID(uuidString: uid) != nil && uid == uid.lowercased())
            let stamp = try #require(created.metadata.creationTimestamp)
            #expect(stamp.count == 20 && stamp.hasSuffix("Z"))

            // The stored JSON: kind and apiVersion set, no resourceVersion, the name annotation, defaults applied.
            let value = try json(stored)
            #expect(value["kind"]?.stringValue == "NetworkPolicy")
            #expect(value["apiVersion"]?.stringValue == "projectcalico.org/v3")
            #expect(value["metadata"]?["resourceVersion"] == nil)
            #expect(value["metadata"]?["uid"]?.stringValue == uid)
            #expect(value["metadata"]?["annotations"]?["projectcalico.org/metadata"]?.stringValue == #"{"name":"allow-web"}"#)
            #expect(value["metadata"]?["labels"]?["projectcalico.org/tier"]?.stringValue == "default")
            #expect(value["spec"]?["tier"]?.stringValue == "default")
            #expect(value["spec"]?["types"] == .array([.string("Ingress")]))

            // Read back: the annotation is stripped and resourceVersion is the mod revision.
            let read = try await client.get(NetworkPolicy.self, "allow-web", ns: "ns1")
            #expect(read == created)
            #expect(read.metadata.annotations == nil)

            // Create again: alreadyExists carrying the existing value.
            let exists = await expectError(.alreadyExists) { try await client.create(policy("allow-web")) }
            #expect(exists?.message.contains("NetworkPolicy(ns1/allow-web)") == true)
            #expect(exists?.current?.modRevision == stored.modRevision)

            // Update with the read revision succeeds; with the stale one it conflicts.
            var changed = read
            changed.spec.selector = "app == 'db'"
            let updated = try await client.update(changed)
            #expect(Revision(updated.metadata.resourceVersion!)! > Revision(read.metadata.resourceVersion!)!)
            #expect(updated.metadata.uid == uid && updated.metadata.creationTimestamp == stamp)
            await expectError(.conflict) { try await client.update(changed) }
            await expectError(.conflict) { try await client.delete(NetworkPolicy.self, "allow-web", ns: "ns1", rv: read.metadata.resourceVersion) }

            // Update needs the metadata it was read with.
            var blank = policy("allow-web")
            blank.spec.selector = "x == 'y'"
            let missing = await expectModelError { try await client.update(blank) }
            #expect(missing?.fieldErrors.map(\.path.description).sorted() == ["metadata.creationTimestamp", "metadata.resourceVersion", "metadata.uid"])

            // Delete with the current revision returns what was deleted; then it is gone.
            let deleted = try await client.delete(NetworkPolicy.self, "allow-web", ns: "ns1", rv: updated.metadata.resourceVersion)
            #expect(deleted.spec.selector == "app == 'db'")
            #expect(try await client.raw(key) == nil)
            let gone = await expectError(.notFound) { try await client.get(NetworkPolicy.self, "allow-web", ns: "ns1") }
            #expect(gone?.message == "resource does not exist: NetworkPolicy(ns1/allow-web)")
            await expectError(.notFound) { try await client.delete(NetworkPolicy.self, "allow-web", ns: "ns1") }
            await expectError(.notFound) { try await client.update(updated) }
        }
    }

    @Test("validation and defaults run on a copy; errors carry field paths", arguments: Backend.available)
    func validation(backend: Backend) async throws {
        try await withClient(backend) { client in
            try await client.initialize()
            var bad = policy("Bad_Name")
            bad.spec.ingress = [Rule(action: .allow, ipVersion: 5)]
            let error = await expectModelError { try await client.create(bad) }
            let paths = Set(error?.fieldErrors.map(\.path.description) ?? [])
            #expect(paths.contains("metadata.name") && paths.contains("spec.ingress[0].ipVersion"))
            #expect(try await client.list(NetworkPolicy.self).items.isEmpty)

            let noNamespace = await expectModelError { try await client.create(policy("p", ns: nil)) }
            #expect(noNamespace?.message.contains("namespace is not specified") == true)

            // A namespace on a global kind is dropped: key and value have none.
            var gnp = GlobalNetworkPolicy(metadata: ObjectMeta(name: "g", namespace: "ignored"), spec: GlobalNetworkPolicySpec(selector: "all()"))
            gnp = try await client.create(gnp)
            #expect(gnp.metadata.namespace == nil)
            let stored = try json(try await client.raw("/calico/resources/v3/projectcalico.org/globalnetworkpolicies/g"))
            #expect(stored["metadata"]?["namespace"] == nil)

            var withVersion = policy("v")
            withVersion.metadata.resourceVersion = "5"
            let versionError = await expectModelError { try await client.create(withVersion) }
            #expect(versionError?.fieldErrors.first?.path.description == "metadata.resourceVersion")
        }
    }

    @Test("initialize creates the built-in tiers and ClusterInformation, idempotently", arguments: Backend.available)
    func initialize(backend: Backend) async throws {
        try await withClient(backend) { client in
            let missingTier = await expectError(.notFound) { try await client.create(policy("early")) }
            #expect(missingTier?.message.contains("Tier(default)") == true)

            try await client.initialize()
            let tiers = try await client.list(Tier.self).items
            #expect(tiers.map(\.metadata.name) == ["default", "kube-admin", "kube-baseline"])
            #expect(tiers.map(\.spec.order) == [1_000_000, 1_000, 10_000_000])
            #expect(tiers.map(\.spec.defaultAction) == [.deny, .pass, .pass])
            let info = try await client.get(ClusterInformation.self, "default")
            #expect(info.spec.clusterGUID.count == 32 && info.spec.clusterGUID.allSatisfy(\.isHexDigit))
            #expect(info.spec.datastoreReady == true)

            try await client.initialize()
            let again = try await client.get(ClusterInformation.self, "default")
            #expect(again == info)  // same GUID, same revision: nothing rewritten
            #expect(try await client.list(Tier.self).items.map(\.metadata.resourceVersion) == tiers.map(\.metadata.resourceVersion))

            _ = try await client.create(policy("now-ok"))
            await expectError(.invalidArgument) { try await client.delete(Tier.self, "default") }
        }
    }

    @Test("a policy's tier must exist; a tier with policies cannot be deleted", arguments: Backend.available)
    func tiers(backend: Backend) async throws {
        try await withClient(backend) { client in
            try await client.initialize()
            let missing = await expectError(.notFound) { try await client.create(policy("p", tier: "security")) }
            #expect(missing?.message.contains("Tier(security)") == true)
            _ = try await client.create(Tier(metadata: ObjectMeta(name: "security"), spec: TierSpec(order: 100)))
            _ = try await client.create(NetworkPolicy(
                metadata: ObjectMeta(name: "security.p", namespace: "ns1"),
                spec: NetworkPolicySpec(tier: "security", ingress: [Rule(action: .allow)], selector: "all()")))
            await expectError(.invalidArgument) { try await client.delete(Tier.self, "security") }
            try await client.delete(NetworkPolicy.self, "security.p", ns: "ns1")
            try await client.delete(Tier.self, "security")
        }
    }

    @Test("list by namespace and across namespaces; values that do not parse are skipped", arguments: Backend.available)
    func listing(backend: Backend) async throws {
        try await withClient(backend) { client in
            try await client.initialize()
            for (ns, name) in [("ns1", "a"), ("ns1", "b"), ("ns2", "a"), ("ns10", "c")] { _ = try await client.create(policy(name, ns: ns)) }
            #expect(try await client.list(NetworkPolicy.self, ns: "ns1").items.map(\.displayName) == ["ns1/a", "ns1/b"])
            #expect(try await client.list(NetworkPolicy.self).items.map(\.displayName) == ["ns1/a", "ns1/b", "ns10/c", "ns2/a"])
            try await client.put("/calico/resources/v3/projectcalico.org/networkpolicies/ns1/zz", "{not json")
            try await client.put("/calico/resources/v3/projectcalico.org/networkpolicies/ns1/extra/segment", "{}")
            let list = try await client.list(NetworkPolicy.self, ns: "ns1")
            #expect(list.items.count == 2)
            #expect(list.skipped.map(\.key) == ["/calico/resources/v3/projectcalico.org/networkpolicies/ns1/zz"])
        }
    }

    @Test("WorkloadEndpoint storage labels and the derived name", arguments: Backend.available)
    func workloadEndpoint(backend: Backend) async throws {
        try await withClient(backend) { client in
            let wep = WorkloadEndpoint(
                metadata: ObjectMeta(name: "node1-k8s-pod--a-eth0", namespace: "ns1", labels: ["app": "web", "projectcalico.org/namespace": "wrong"]),
                spec: WorkloadEndpointSpec(
                    orchestrator: "k8s", workload: "", node: "node1", pod: "pod-a", endpoint: "eth0",
                    ipNetworks: ["10.0.0.1/32"], interfaceName: "cali0123"))
            let created = try await client.create(wep)
            let stored = try json(try await client.raw("/calico/resources/v3/projectcalico.org/workloadendpoints/ns1/node1-k8s-pod--a-eth0"))
            #expect(stored["metadata"]?["labels"]?["projectcalico.org/namespace"]?.stringValue == "ns1")
            #expect(stored["metadata"]?["labels"]?["projectcalico.org/orchestrator"]?.stringValue == "k8s")
            #expect(stored["metadata"]?["labels"]?["app"]?.stringValue == "web")
            #expect(created.metadata.labels?["projectcalico.org/namespace"] == "ns1")
            #expect(wep.metadata.labels?["projectcalico.org/namespace"] == "wrong")  // the caller's value is untouched
        }
    }

    @Test("policy names: annotation restored, default. prefix dropped without it", arguments: Backend.available)
    func policyNames(backend: Backend) async throws {
        try await withClient(backend) { client in
            try await client.initialize()
            // Written by Calico 3.28: key and name with the tier prefix, no annotation.
            try await client.put(
                "/calico/resources/v3/projectcalico.org/globalnetworkpolicies/default.old",
                #"{"kind":"GlobalNetworkPolicy","apiVersion":"projectcalico.org/v3","metadata":{"name":"default.old","creationTimestamp":null},"spec":{"tier":"default","selector":"all()","types":["Ingress"]}}"#)
            // Written by Calico 3.30: the annotation holds the v3 name.
            try await client.put(
                "/calico/resources/v3/projectcalico.org/globalnetworkpolicies/new",
                #"{"kind":"GlobalNetworkPolicy","apiVersion":"projectcalico.org/v3","metadata":{"name":"new","annotations":{"projectcalico.org/metadata":"{\"name\":\"new\"}","keep":"me"}},"spec":{"tier":"default","selector":"all()","types":["Ingress"],"unknownFutureField":1}}"#)
            let names = try await client.list(GlobalNetworkPolicy.self).items.map(\.metadata.name)
            #expect(names == ["old", "new"])
            let new = try await client.get(GlobalNetworkPolicy.self, "new")
            #expect(new.metadata.annotations == ["keep": "me"])
        }
    }

    @Test("apply creates, then replaces keeping uid and creationTimestamp; replace checks a given resourceVersion", arguments: Backend.available)
    func applyAndReplace(backend: Backend) async throws {
        try await withClient(backend) { client in
            try await client.initialize()
            let first = try await client.apply(policy("p"))
            var next = policy("p", selector: "app == 'other'")
            next.metadata.labels = ["team": "a"]
            let second = try await client.apply(next)
            #expect(second.metadata.uid == first.metadata.uid)
            #expect(second.metadata.creationTimestamp == first.metadata.creationTimestamp)
            #expect(second.spec.selector == "app == 'other'")
            #expect(second.metadata.labels?["team"] == "a")
            #expect(Revision(second.metadata.resourceVersion!)! > Revision(first.metadata.resourceVersion!)!)

            var stale = next
            stale.metadata.resourceVersion = first.metadata.resourceVersion
            let conflict = await expectError(.conflict) { try await client.replace(stale) }
            #expect(conflict?.message.contains("out of date") == true)
            await expectError(.notFound) { try await client.replace(policy("absent")) }
        }
    }

    @Test("the synthetic default-allow profile", arguments: Backend.available)
    func defaultAllow(backend: Backend) async throws {
        try await withClient(backend) { client in
            let profile = try await client.get(Profile.self, "projectcalico-default-allow")
            #expect(profile.metadata.resourceVersion == "1")
            #expect(profile.spec.ingress == [Rule(action: .allow)] && profile.spec.egress == [Rule(action: .allow)])
            _ = try await client.create(Profile(metadata: ObjectMeta(name: "a-profile"), spec: ProfileSpec()))
            #expect(try await client.list(Profile.self).items.map(\.metadata.name) == ["a-profile", "projectcalico-default-allow"])
            await expectError(.invalidArgument) { try await client.delete(Profile.self, "projectcalico-default-allow") }
        }
    }

    @Test("concurrent creates of one resource: exactly one wins", arguments: Backend.available)
    func concurrentCreates(backend: Backend) async throws {
        try await withClient(backend) { client in
            try await client.initialize()
            let results = await withTaskGroup(of: Bool.self) { group in
                for _ in 0..<8 { group.addTask { (try? await client.create(policy("race"))) != nil } }
                return await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(results.filter { $0 }.count == 1)
        }
    }
}
