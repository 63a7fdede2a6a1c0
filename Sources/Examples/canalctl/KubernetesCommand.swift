import ArgumentParser
import CanalDatastore
import CanalKubernetes
import CanalManifest
import CanalModel

/// `canalctl k8s`: Kubernetes objects from files to Calico resources, as kube-controllers does in etcd mode.
struct KubernetesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "k8s",
        abstract: "Convert Kubernetes NetworkPolicies, Namespaces, ServiceAccounts and Pods to Calico resources.",
        subcommands: [KubernetesConvertCommand.self, KubernetesApplyCommand.self])

    /// Reads every Kubernetes object of `file` (YAML or JSON, several documents, `kind: List`).
    /// Every problem of every document is reported, each with its location and Kubernetes field path.
    static func load(_ file: String, namespace: String?) throws -> [KubernetesObject] {
        let text = try IO.read(file)
        let documents: [Manifest.Document]
        do {
            documents = try Manifest.documents(from: text)
        } catch {
            throw CommandError("\(file): \(DatastoreOptions.describe(error))")
        }
        var objects: [KubernetesObject] = []
        var problems: [String] = []
        for document in documents {
            do throws(KubernetesError) {
                objects += try KubernetesObject.objects(in: document.value, defaultNamespace: namespace ?? "default")
            } catch {
                problems.append("\(document.location): \(error.message)" + error.fieldErrors.map { "\n    \($0)" }.joined())
            }
        }
        if !problems.isEmpty { throw CommandError("\(file):\n  " + problems.joined(separator: "\n  ")) }
        if objects.isEmpty { throw CommandError("no Kubernetes objects in \(file)") }
        return objects
    }
}

struct KubernetesConvertCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Print the Calico v3 resources that Kubernetes objects convert to.",
        discussion: """
            NetworkPolicy → NetworkPolicy knp.default.<name>; Namespace → Profile kns.<ns>; \
            ServiceAccount → Profile ksa.<ns>.<sa>; Pod → WorkloadEndpoint <node>-k8s-<pod>-eth0 \
            (pods not scheduled or on the host network have none). Input as kubectl prints it: \
            YAML or JSON, several documents, kind: List.
            """)

    @Option(name: [.customShort("f"), .customLong("filename")], help: "The Kubernetes objects (YAML or JSON), or - for standard input.")
    var file: String

    @Option(name: [.customShort("n"), .customLong("namespace")], help: "The namespace of namespaced objects that name none (default: default).")
    var namespace: String?

    @Option(name: [.customShort("o"), .customLong("output")], help: "yaml (default) or json.")
    var output: String = "yaml"

    @Option(name: .customLong("interface-prefix"), help: "The prefix of pods' host interfaces (FELIX_INTERFACEPREFIX).")
    var interfacePrefix: String = "cali"

    func run() async throws {
        do {
            guard let format = Manifest.Format(rawValue: output) else { throw CommandError("unknown output format \"\(output)\": use yaml or json") }
            let objects = try KubernetesCommand.load(file, namespace: namespace)
            let converter = KubernetesConverter(interfacePrefix: interfacePrefix)
            var resources: [any AnyResource] = []
            for object in objects {
                do throws(KubernetesError) {
                    let converted = try converter.convert(object)
                    if converted.isEmpty, case .pod(let pod) = object {
                        IO.error("\(object.reference): no WorkloadEndpoint: \(KubernetesConverter.workloadEndpointAbsence(pod) ?? "")")
                    }
                    resources += converted
                } catch {
                    throw CommandError("\(object.reference): \(error.description)")
                }
            }
            guard !resources.isEmpty else { return }
            print(try Manifest.write(resources, format: format), terminator: "")
        } catch let error as CommandError {
            IO.error(error.description)
            throw ExitCode(1)
        }
    }
}

struct KubernetesApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Write the Calico resources of Kubernetes objects, and delete those of objects no longer in the file.",
        discussion: """
            What kube-controllers does in etcd mode, from a file holding the whole Kubernetes state \
            (for example kubectl get namespaces,serviceaccounts,networkpolicies,pods -A -o yaml). \
            Profiles and NetworkPolicies are created or replaced (compare-and-swap) and marked with \
            the annotation \(KubernetesSync.ownerAnnotation); marked ones whose object is gone are \
            deleted (unless --no-prune). Pods bring their labels, service account and profiles to \
            the WorkloadEndpoints the CNI plugin wrote; they create none.
            """)

    @Option(name: [.customShort("f"), .customLong("filename")], help: "The Kubernetes objects (YAML or JSON), or - for standard input.")
    var file: String

    @Option(name: [.customShort("n"), .customLong("namespace")], help: "The namespace of namespaced objects that name none (default: default).")
    var namespace: String?

    @Flag(name: .customLong("no-prune"), help: "Do not delete the resources of objects that are no longer in the file.")
    var noPrune = false

    @OptionGroup var datastore: DatastoreOptions

    func run() async throws {
        let objects: [KubernetesObject]
        do {
            objects = try KubernetesCommand.load(file, namespace: namespace)
        } catch let error as CommandError {
            IO.error(error.description)
            throw ExitCode(1)
        }
        try await runReporting(KubernetesApplyRunner(objects: objects, prune: !noPrune), datastore: datastore)
    }
}

/// The datastore part of `k8s apply`.
struct KubernetesApplyRunner: DatastoreCommand {
    var objects: [KubernetesObject]
    var prune: Bool

    static let attempts = 5

    func execute<Store: KeyValueStore>(_ client: ResourceClient<Store>) async throws {
        try await client.initializeBeforeWrite()
        var existing: [any AnyResource] = []
        for kind in KubernetesSync.ownedKinds { existing += try await client.list(kind).items }
        let plan: KubernetesSync
        do {
            plan = try KubernetesSync(objects: objects, existing: existing)
        } catch {
            throw CommandError(error.description)
        }
        var failures: [String] = []
        var written = 0, deleted = 0, merged = 0
        for resource in plan.writes {
            do {
                _ = try await client.apply(resource)
                written += 1
                print("applied \(CalicoResourceReference(resource)) (from \(KubernetesSync.owner(of: resource)!))")
            } catch {
                failures.append("\(CalicoResourceReference(resource)): \(DatastoreOptions.describe(error))")
            }
        }
        if prune {
            for reference in plan.deletions {
                do {
                    if try await deleteIfStillOwned(reference, client) {
                        deleted += 1
                        print("deleted \(reference) (its Kubernetes object is gone)")
                    }
                } catch {
                    failures.append("\(reference): \(DatastoreOptions.describe(error))")
                }
            }
        }
        if !plan.pods.isEmpty {
            let endpoints = try await client.list(WorkloadEndpoint.self).items
            for pod in plan.pods {
                let mine = endpoints.filter { KubernetesSync.isEndpoint($0, of: pod) }
                if mine.isEmpty {
                    print("Pod/\(pod.metadata.namespace ?? "default")/\(pod.metadata.name ?? ""): no WorkloadEndpoint yet (the CNI plugin writes it); its labels go to it on a later apply")
                }
                for endpoint in mine {
                    do {
                        if try await mergePod(pod, into: endpoint, client) {
                            merged += 1
                            print("updated \(CalicoResourceReference(endpoint)) with the labels of Pod/\(pod.metadata.namespace ?? "default")/\(pod.metadata.name ?? "")")
                        }
                    } catch {
                        failures.append("\(CalicoResourceReference(endpoint)): \(DatastoreOptions.describe(error))")
                    }
                }
            }
        }
        print("Applied \(written), deleted \(deleted), updated \(merged) endpoint(s)")
        if !failures.isEmpty {
            for f in failures { IO.error("Failed: \(f)") }
            throw ExitCode(1)
        }
    }

    /// Deletes an owned resource at the revision it was read at; a resource that lost its mark
    /// meanwhile is left alone, and one that changed is read again.
    private func deleteIfStillOwned<Store: KeyValueStore>(_ reference: CalicoResourceReference, _ client: ResourceClient<Store>) async throws -> Bool {
        for _ in 0..<Self.attempts {
            let current: any AnyResource
            do {
                current = try await client.get(reference.kind, name: reference.name, namespace: reference.namespace)
            } catch let error as DatastoreError where error.code == .notFound {
                return false
            }
            guard KubernetesSync.owner(of: current) != nil else { return false }
            do {
                try await client.delete(reference.kind, name: reference.name, namespace: reference.namespace,
                                        resourceVersion: current.metadata.resourceVersion)
                return true
            } catch let error as DatastoreError where error.code == .conflict {
                continue
            } catch let error as DatastoreError where error.code == .notFound {
                return false
            }
        }
        throw CommandError("\(reference) keeps changing; not deleted")
    }

    /// Merges the pod into the endpoint with a compare-and-swap update, reading again on conflict.
    private func mergePod<Store: KeyValueStore>(_ pod: KubernetesPod, into endpoint: WorkloadEndpoint, _ client: ResourceClient<Store>) async throws -> Bool {
        var current = endpoint
        for _ in 0..<Self.attempts {
            var updated = KubernetesSync.merge(pod, into: current)
            updated.applyDefaults()
            var normalized = current
            normalized.applyDefaults()
            if updated == normalized { return false }
            do {
                _ = try await client.update(updated)
                return true
            } catch let error as DatastoreError where error.code == .conflict {
                current = try await client.get(WorkloadEndpoint.self, name: endpoint.metadata.name ?? "", namespace: endpoint.metadata.namespace)
            }
        }
        throw CommandError("\(CalicoResourceReference(endpoint)) keeps changing; not updated")
    }
}
