import ArgumentParser
import CanalDatastore
import CanalManifest
import CanalModel
import Foundation

/// `canalctl get KIND [NAME...] [-n NS | -A] [-o ps|wide|yaml|json|name]`.
struct GetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get", abstract: "Show resources of one kind, all or by name.",
        discussion: "KIND is any calicoctl kind name, plural or short name (networkpolicy, policies, np, gnp, ippool, wep, ...).")

    enum Output: String, ExpressibleByArgument, CaseIterable {
        case ps, wide, yaml, json, name
    }

    @Argument(help: "The kind.")
    var kind: String

    @Argument(help: "Names (all resources of the kind when none is given).")
    var names: [String] = []

    @Option(name: [.customShort("n"), .customLong("namespace")], help: "The namespace (namespaced kinds; default: default).")
    var namespace: String?

    @Flag(name: [.customShort("A"), .customLong("all-namespaces")], help: "All namespaces.")
    var allNamespaces = false

    @Option(name: [.customShort("o"), .customLong("output")], help: "ps (a table, the default), wide, yaml, json or name.")
    var output: Output = .ps

    @OptionGroup var datastore: DatastoreOptions

    func run() async throws {
        guard let kind = ResourceKind(commandLineName: kind) else {
            IO.error("resource type '\(self.kind)' is not supported")
            throw ExitCode(1)
        }
        if kind.isNamespaced {
            if allNamespaces, namespace != nil {
                IO.error("cannot use both --namespace and --all-namespaces flags at the same time")
                throw ExitCode(1)
            }
            if allNamespaces, !names.isEmpty {
                IO.error("cannot use --all-namespace flag for getting a single resource")
                throw ExitCode(1)
            }
        } else if allNamespaces || namespace != nil {
            IO.error("\(kind.name) is not namespaced")
            throw ExitCode(1)
        }
        let runner = Runner(
            kind: kind, names: names, namespace: kind.isNamespaced ? (allNamespaces ? nil : (namespace ?? "default")) : nil,
            output: output)
        try await runReporting(runner, datastore: datastore)
    }

    struct Runner: DatastoreCommand {
        var kind: ResourceKind
        var names: [String]
        var namespace: String?
        var output: Output

        func execute<Store: KeyValueStore>(_ client: ResourceClient<Store>) async throws {
            var resources: [any AnyResource] = []
            var revision: Revision?
            var failures: [String] = []
            if names.isEmpty {
                let list = try await client.list(kind, namespace: namespace)
                resources = list.items
                revision = list.revision
                for skipped in list.skipped {
                    IO.error("Skipped \(skipped.key): \(DatastoreOptions.describe(skipped.error))")
                }
            } else {
                for name in names {
                    do {
                        resources.append(try await client.get(kind, name: name, namespace: namespace))
                    } catch let error as DatastoreError where error.code == .notFound {
                        failures.append(DatastoreOptions.describe(error))
                    }
                }
            }
            if !resources.isEmpty || names.isEmpty {
                try print(render(resources, single: names.count == 1, revision: revision), terminator: "")
            }
            if !failures.isEmpty {
                for failure in failures { IO.error("Failed to get resources: \(failure)") }
                throw ExitCode(1)
            }
        }

        func render(_ resources: [any AnyResource], single: Bool, revision: Revision?) throws -> String {
            switch output {
            case .yaml, .json:
                let value: JSONValue
                if single, resources.count == 1 {
                    value = try resources[0].jsonValue()
                } else {
                    var meta: [(String, JSONValue)] = []
                    if let revision { meta.append(("resourceVersion", .string(revision.description))) }
                    value = .object(JSONObject([
                        ("apiVersion", .string(calicoAPIVersion)),
                        ("items", .array(try resources.map { r throws(ModelError) in try r.jsonValue() })),
                        ("kind", .string("\(kind.name)List")),
                        ("metadata", .object(JSONObject(meta))),
                    ]))
                }
                return output == .json ? value.prettyJSONText + "\n" : try Manifest.yamlText(value)
            case .name:
                return resources.map { "\(kind.name.lowercased())/\($0.metadata.name ?? "")\n" }.joined()
            case .ps, .wide:
                return Table.render(kind: kind, resources, wide: output == .wide, showNamespace: kind.isNamespaced)
            }
        }
    }
}

/// calicoctl's `ps` tables: NAME (after NAMESPACE for namespaced kinds) and a few columns per kind.
enum Table {
    static func render(kind: ResourceKind, _ resources: [any AnyResource], wide: Bool, showNamespace: Bool) -> String {
        var header = showNamespace ? ["NAMESPACE", "NAME"] : ["NAME"]
        header += columns(kind, wide: wide)
        var rows = [header]
        for resource in resources {
            var row = showNamespace ? [resource.metadata.namespace ?? "", resource.metadata.name ?? ""] : [resource.metadata.name ?? ""]
            row += values(resource, wide: wide)
            rows.append(row)
        }
        var widths = Array(repeating: 0, count: header.count)
        for row in rows { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
        return rows.map { row in
            row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell.padding(toLength: widths[i] + 3, withPad: " ", startingAt: 0)
            }.joined()
        }.map { $0.trimmingTrailingSpaces() + "\n" }.joined()
    }

    static func columns(_ kind: ResourceKind, wide: Bool) -> [String] {
        switch kind {
        case .ipPool: wide ? ["CIDR", "NAT", "IPIPMODE", "VXLANMODE", "DISABLED", "SELECTOR"] : ["CIDR", "SELECTOR"]
        case .workloadEndpoint: wide ? ["WORKLOAD", "NODE", "NETWORKS", "INTERFACE", "PROFILES"] : ["WORKLOAD", "NODE", "NETWORKS", "INTERFACE"]
        case .networkPolicy, .globalNetworkPolicy: wide ? ["TIER", "ORDER", "SELECTOR"] : []
        case .tier: wide ? ["ORDER", "DEFAULTACTION"] : []
        case .hostEndpoint: ["NODE"] + (wide ? ["INTERFACE", "IPS", "PROFILES"] : [])
        case .networkSet, .globalNetworkSet: wide ? ["NETS"] : []
        default: []
        }
    }

    static func values(_ resource: any AnyResource, wide: Bool) -> [String] {
        func fmt(_ d: Double?) -> String {
            guard let d else { return "" }
            return d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
        }
        switch resource {
        case let pool as IPPool:
            let spec = pool.spec
            return wide
                ? [spec.cidr, String(spec.natOutgoing), spec.ipipMode?.rawValue ?? "Never", spec.vxlanMode?.rawValue ?? "Never",
                   String(spec.disabled), spec.nodeSelector.isEmpty ? "all()" : spec.nodeSelector]
                : [spec.cidr, spec.nodeSelector.isEmpty ? "all()" : spec.nodeSelector]
        case let wep as WorkloadEndpoint:
            let spec = wep.spec
            let base = [spec.workload ?? spec.pod ?? "", spec.node ?? "", (spec.ipNetworks ?? []).joined(separator: ","), spec.interfaceName ?? ""]
            return wide ? base + [(spec.profiles ?? []).joined(separator: ",")] : base
        case let np as NetworkPolicy:
            return wide ? [np.spec.tier ?? "default", fmt(np.spec.order), np.spec.selector ?? ""] : []
        case let gnp as GlobalNetworkPolicy:
            return wide ? [gnp.spec.tier ?? "default", fmt(gnp.spec.order), gnp.spec.selector ?? ""] : []
        case let tier as Tier:
            return wide ? [fmt(tier.spec.order), tier.spec.defaultAction?.rawValue ?? ""] : []
        case let hep as HostEndpoint:
            let spec = hep.spec
            return [spec.node ?? ""] + (wide ? [spec.interfaceName ?? "", (spec.expectedIPs ?? []).joined(separator: ","), (spec.profiles ?? []).joined(separator: ",")] : [])
        case let set as NetworkSet:
            return wide ? [(set.spec.nets ?? []).joined(separator: ",")] : []
        case let set as GlobalNetworkSet:
            return wide ? [(set.spec.nets ?? []).joined(separator: ",")] : []
        default:
            return []
        }
    }
}

extension String {
    fileprivate func trimmingTrailingSpaces() -> String {
        var s = Substring(self)
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}
