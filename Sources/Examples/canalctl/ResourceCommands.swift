import ArgumentParser
import CanalDatastore
import CanalIPAM
import CanalManifest
import CanalModel

/// What a file command does to each resource.
enum FileAction: String, Sendable {
    case create, apply, replace, delete

    var pastTense: String {
        switch self {
        case .create: "created"
        case .apply: "applied"
        case .replace: "replaced"
        case .delete: "deleted"
        }
    }
}

/// The shared engine of `create`, `apply`, `replace` and `delete -f`: read every document, fix up
/// namespaces as calicoctl does, run the action on each, and report like calicoctl.
struct FileCommandRunner: DatastoreCommand {
    var action: FileAction
    var resources: [(location: String, resource: any AnyResource)]
    /// `create --skip-exists`: a resource that already exists is passed over, not an error.
    var skipExists = false

    /// Reads `file` (or stdin for `-`) and checks namespaces; throws `CommandError` when any document
    /// cannot be read (then nothing is written, as with calicoctl).
    static func load(file: String, namespace: String?) throws -> [(location: String, resource: any AnyResource)] {
        let text = try IO.read(file)
        let entries: [Manifest.Entry]
        do {
            entries = try Manifest.read(text, applyDefaults: false, validate: false)
        } catch {
            throw CommandError("failed to execute command: \(file): \(DatastoreOptions.describe(error))")
        }
        var problems: [String] = []
        var out: [(location: String, resource: any AnyResource)] = []
        for entry in entries {
            switch entry.result {
            case .failure(let error):
                problems.append("\(entry.location): \(DatastoreOptions.describe(error))")
            case .success(var resource):
                let kind = resource.kind
                let resourceNamespace = resource.metadata.namespace ?? ""
                if kind.isNamespaced {
                    if resourceNamespace.isEmpty {
                        resource.metadata.namespace = namespace ?? "default"
                    } else if let namespace, namespace != resourceNamespace {
                        problems.append("\(entry.location): resource namespace does not match client namespace. \(resourceNamespace) != \(namespace)")
                    }
                } else if !resourceNamespace.isEmpty {
                    problems.append("\(entry.location): namespace should not be specified for a non-namespaced resource. \(kind.name) is not a namespaced resource")
                } else if namespace != nil {
                    problems.append("\(entry.location): \(kind.name) is not namespaced")
                }
                out.append((entry.location, resource))
            }
        }
        if !problems.isEmpty {
            throw CommandError("failed to execute command: \(file):\n  " + problems.joined(separator: "\n  "))
        }
        if out.isEmpty { throw CommandError("no resources specified in file \(file)") }
        return out
    }

    func execute<Store: KeyValueStore>(_ client: ResourceClient<Store>) async throws {
        if action != .delete { try await client.initializeBeforeWrite() }
        let kinds = Set(resources.map(\.resource.kind))
        let singleKind = kinds.count == 1 ? kinds.first!.name : nil
        var done: [String] = []
        var skipped: [String] = []
        var failures: [String] = []
        for (location, resource) in resources {
            let id = ResourceKey(for: resource).description
            do {
                if action == .apply, resource.kind == .clusterInformation {
                    throw CommandError("operation apply is not supported on ClusterInformation: resource is readonly")
                }
                switch action {
                case .create: _ = try await client.create(resource)
                case .apply: _ = try await client.apply(resource)
                case .replace: _ = try await client.replace(resource)
                case .delete where resource.kind == .ipPool:
                    // As Calico: disable, release the block affinities inside the pool, delete.
                    _ = try await IPAMClient(store: client.store).deletePool(
                        named: resource.metadata.name ?? "", resourceVersion: resource.metadata.resourceVersion)
                case .delete where resource.kind == .node:
                    // As Calico: release its endpoints' and tunnel addresses, remove its IPAM host
                    // (affinities, empty blocks, record), delete what belongs to it, then the node.
                    _ = try await IPAMClient(store: client.store).deleteNode(
                        named: resource.metadata.name ?? "", resourceVersion: resource.metadata.resourceVersion)
                case .delete:
                    _ = try await client.delete(
                        resource.kind, name: resource.metadata.name ?? "", namespace: resource.metadata.namespace,
                        resourceVersion: resource.metadata.resourceVersion)
                }
                done.append("\(action.pastTense) \(id) (\(location))")
            } catch let error as DatastoreError where error.code == .alreadyExists && action == .create && skipExists {
                // As calicoctl: an existing resource counts as done, and is left as it is.
                done.append("skipped \(id) (\(location)): it already exists")
                skipped.append(id)
            } catch let error as DatastoreError where error.code == .unavailable || error.code == .timeout {
                // The datastore is gone: stop here rather than fail each document the same way.
                failures.append("\(id) (\(location)): \(DatastoreOptions.describe(error))")
                break
            } catch {
                failures.append("\(id) (\(location)): \(DatastoreOptions.describe(error))")
            }
        }
        let what = singleKind.map { "'\($0)' " } ?? ""
        if failures.isEmpty {
            print("Successfully \(action.pastTense) \(done.count) \(what)resource(s)")
            if !skipped.isEmpty {
                print("  \(skipped.count) already existed and were left unchanged: \(skipped.joined(separator: ", "))")
            }
            return
        }
        if !done.isEmpty {
            print("Partial success: \(action.pastTense) \(done.count) out of \(resources.count) \(what)resources:")
            for line in done { print("  \(line)") }
        }
        let verb = action.rawValue
        for failure in failures {
            IO.error("Failed to \(verb) \(what)resource: \(failure)")
        }
        if done.isEmpty, failures.count < resources.count {
            IO.error("\(resources.count - failures.count) remaining resource(s) were not attempted")
        } else if !done.isEmpty, done.count + failures.count < resources.count {
            IO.error("\(resources.count - done.count - failures.count) remaining resource(s) were not attempted")
        }
        throw ExitCode(1)
    }
}

/// The options every file command takes.
struct FileOptions: ParsableArguments {
    @Option(name: [.customShort("f"), .customLong("filename")], help: "The manifest (YAML or JSON, several documents, kind: List), or - for standard input.")
    var file: String

    @Option(name: [.customShort("n"), .customLong("namespace")], help: "The namespace of namespaced resources that name none (default: default).")
    var namespace: String?
}

struct CreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Create the resources of a manifest; existing ones are an error.")
    @OptionGroup var file: FileOptions
    @OptionGroup var datastore: DatastoreOptions

    @Flag(name: .customLong("skip-exists"), help: "Skip over resources that already exist (they are left unchanged).")
    var skipExists = false

    func run() async throws {
        try await runFileAction(.create, file: file, datastore: datastore, skipExists: skipExists)
    }
}

struct ApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply", abstract: "Create the resources of a manifest, or replace those that exist.")
    @OptionGroup var file: FileOptions
    @OptionGroup var datastore: DatastoreOptions

    func run() async throws {
        try await runFileAction(.apply, file: file, datastore: datastore)
    }
}

struct ReplaceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replace", abstract: "Replace existing resources with those of a manifest.")
    @OptionGroup var file: FileOptions
    @OptionGroup var datastore: DatastoreOptions

    func run() async throws {
        try await runFileAction(.replace, file: file, datastore: datastore)
    }
}

struct DeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete", abstract: "Delete resources by manifest (-f) or by kind and name.",
        discussion: "canalctl delete -f FILE | canalctl delete KIND NAME... [-n NAMESPACE]")

    @Option(name: [.customShort("f"), .customLong("filename")], help: "The manifest naming the resources, or - for standard input.")
    var file: String?

    @Option(name: [.customShort("n"), .customLong("namespace")], help: "The namespace (namespaced kinds; default: default).")
    var namespace: String?

    @Argument(help: "KIND NAME... (calicoctl's kind names, plurals and short names).")
    var arguments: [String] = []

    @OptionGroup var datastore: DatastoreOptions

    func validate() throws {
        if file == nil, arguments.count < 2 { throw ValidationError("give -f FILE, or a KIND and at least one NAME") }
        if file != nil, !arguments.isEmpty { throw ValidationError("give either -f FILE or KIND NAME, not both") }
    }

    func run() async throws {
        let resources: [(location: String, resource: any AnyResource)]
        do {
            if let file {
                resources = try FileCommandRunner.load(file: file, namespace: namespace)
            } else {
                guard let kind = ResourceKind(commandLineName: arguments[0]) else {
                    throw CommandError("resource type '\(arguments[0])' is not supported")
                }
                if !kind.isNamespaced, namespace != nil { throw CommandError("\(kind.name) is not namespaced") }
                resources = try arguments.dropFirst().map { name in
                    guard !name.isEmpty else { throw CommandError("resource name may not be empty") }
                    var meta = ObjectMeta(name: name, namespace: kind.isNamespaced ? (namespace ?? "default") : nil)
                    meta.name = name
                    return ("argument \(name)", try placeholder(kind: kind, metadata: meta))
                }
            }
        } catch let error as CommandError {
            IO.error(error.description)
            throw ExitCode(1)
        }
        try await runReporting(FileCommandRunner(action: .delete, resources: resources), datastore: datastore)
    }

    /// An empty resource of `kind` with `metadata`, to carry a name to delete.
    private func placeholder(kind: ResourceKind, metadata: ObjectMeta) throws -> any AnyResource {
        var fields: [(String, JSONValue)] = [("apiVersion", .string(calicoAPIVersion)), ("kind", .string(kind.name))]
        var meta: [(String, JSONValue)] = [("name", .string(metadata.name ?? ""))]
        if let namespace = metadata.namespace { meta.append(("namespace", .string(namespace))) }
        fields.append(("metadata", .object(JSONObject(meta))))
        return try decodeResource(.object(JSONObject(fields)), rejectUnknownFields: false)
    }
}

func runFileAction(_ action: FileAction, file: FileOptions, datastore: DatastoreOptions, skipExists: Bool = false) async throws {
    let resources: [(location: String, resource: any AnyResource)]
    do {
        resources = try FileCommandRunner.load(file: file.file, namespace: file.namespace)
    } catch let error as CommandError {
        IO.error(error.description)
        throw ExitCode(1)
    }
    try await runReporting(
        FileCommandRunner(action: action, resources: resources, skipExists: skipExists), datastore: datastore)
}

/// Runs a command; any error that escapes it is printed as one line and the exit code is 1.
func runReporting<C: DatastoreCommand>(_ command: C, datastore: DatastoreOptions) async throws {
    do {
        try await datastore.run(command)
    } catch let exit as ExitCode {
        throw exit
    } catch {
        IO.error(DatastoreOptions.describe(error))
        throw ExitCode(1)
    }
}
