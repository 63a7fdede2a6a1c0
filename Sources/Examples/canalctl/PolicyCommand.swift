import ArgumentParser
import CanalDatastore
import CanalModel
import CanalPolicy
import Foundation

/// `canalctl policy compile|simulate`: a node's dataplane policy from the configured datastore.
struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Compile a node's policy to iptables/ipset or nftables, or simulate a flow.",
        subcommands: [Compile.self, Simulate.self]
    )

    /// Reads every policy-relevant resource and the default FelixConfiguration.
    static func load<Store: KeyValueStore>(_ client: ResourceClient<Store>) async throws -> (ClusterState, DataplaneConfiguration) {
        var resources: [any AnyResource] = []
        let kinds: [ResourceKind] = [
            .workloadEndpoint, .hostEndpoint, .profile, .tier, .networkPolicy, .globalNetworkPolicy, .networkSet, .globalNetworkSet,
        ]
        for kind in kinds {
            let list = try await client.list(kind, namespace: nil)
            for skipped in list.skipped { IO.error("Skipped \(skipped.key): \(DatastoreOptions.describe(skipped.error))") }
            resources += list.items
        }
        var configuration = DataplaneConfiguration.default
        let felix = try await client.list(FelixConfiguration.self)
        if let spec = felix.items.first(where: { $0.metadata.name == "default" })?.spec {
            configuration = try DataplaneConfiguration(spec)
        }
        return (ClusterState(resources: resources), configuration)
    }

    struct Compile: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the node's ruleset (iptables-restore input, or an nft script).",
            discussion: """
                The iptables format prints the IPv4 filter (and raw/mangle) tables, then the IPv6 ones after a \
                '# ip6tables-restore' line; the IP sets go to --ipsets FILE as 'ipset restore' input (both families). \
                The nft format prints one script holding both families' tables and their sets.
                """
        )

        enum Format: String, ExpressibleByArgument, CaseIterable { case iptables, nft }

        @Option(name: .customLong("node"), help: "The node to compile for.")
        var node: String

        @Option(name: .customLong("format"), help: "iptables or nft.")
        var format: Format = .iptables

        @Option(name: .customLong("ipsets"), help: "Write the 'ipset restore' input to this file (iptables format).")
        var ipsets: String?

        @OptionGroup var datastore: DatastoreOptions

        func run() async throws {
            try await runReporting(Runner(node: node, format: format, ipsets: ipsets), datastore: datastore)
        }

        struct Runner: DatastoreCommand {
            var node: String
            var format: Format
            var ipsets: String?

            func execute<Store: KeyValueStore>(_ client: ResourceClient<Store>) async throws {
                let (cluster, configuration) = try await PolicyCommand.load(client)
                let compiled: CompiledPolicy
                do {
                    compiled = try PolicyCompiler.compile(cluster, node: node, configuration: configuration)
                } catch {
                    throw CommandError("cannot compile policy for \(node): \(error)")
                }
                switch format {
                case .iptables:
                    let renderer = IptablesRenderer()
                    print(renderer.restoreInput(compiled.ipv4), terminator: "")
                    print("# ip6tables-restore")
                    print(renderer.restoreInput(compiled.ipv6), terminator: "")
                    if let ipsets {
                        let text = IPSetRenderer().restoreInput(compiled.ipv4) + IPSetRenderer().restoreInput(compiled.ipv6)
                        do { try Data(text.utf8).write(to: URL(fileURLWithPath: ipsets)) } catch {
                            throw CommandError("cannot write \(ipsets): \(error.localizedDescription)")
                        }
                    }
                case .nft:
                    if ipsets != nil { throw CommandError("--ipsets goes with --format iptables (nft scripts hold their sets)") }
                    let renderer = NftablesRenderer()
                    print(renderer.script(compiled.ipv4) + renderer.script(compiled.ipv6), terminator: "")
                }
            }
        }
    }

    struct Simulate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The verdict for a flow's first packet, and what decided it.",
            discussion: """
                SRC and DST are NAMESPACE/WORKLOADENDPOINT, a host endpoint name, or an address. The flow is \
                checked on the source endpoint's node (egress) and then on the destination endpoint's node \
                (ingress) when they differ; it is allowed only if both allow it. --node checks one node only.
                """
        )

        enum OutputFormat: String, ExpressibleByArgument, CaseIterable { case text, json }

        @Option(name: .customLong("from"), help: "The source: NAMESPACE/WORKLOADENDPOINT, a host endpoint name, or an address.")
        var from: String

        @Option(name: .customLong("to"), help: "The destination, in the same forms.")
        var to: String

        @Option(name: .customLong("protocol"), help: "TCP, UDP, SCTP, ICMP, ICMPv6 or a protocol number.")
        var proto: String

        @Option(name: .customLong("port"), help: "The destination port.")
        var port: UInt16?

        @Option(name: .customLong("source-port"), help: "The source port.")
        var sourcePort: UInt16?

        @Option(name: .customLong("icmp-type"), help: "The ICMP type.")
        var icmpType: UInt8?

        @Option(name: .customLong("icmp-code"), help: "The ICMP code.")
        var icmpCode: UInt8?

        @Option(name: .customLong("node"), help: "The node whose dataplane decides (default: the endpoints' node).")
        var node: String?

        @Option(name: [.customShort("o"), .customLong("output")], help: "text or json.")
        var output: OutputFormat = .text

        @OptionGroup var datastore: DatastoreOptions

        func validate() throws {
            if port != nil, icmpType != nil { throw ValidationError("--port and --icmp-type exclude each other") }
            if icmpCode != nil, icmpType == nil { throw ValidationError("--icmp-code needs --icmp-type") }
            guard ProtocolValue(proto) != nil || ProtocolValue(proto.uppercased() == "ICMPV6" ? "ICMPv6" : proto.uppercased()) != nil else {
                throw ValidationError("unknown protocol \(proto)")
            }
        }

        func run() async throws {
            try await runReporting(self, datastore: datastore)
        }
    }
}

extension PolicyCommand.Simulate: DatastoreCommand {
    func execute<Store: KeyValueStore>(_ client: ResourceClient<Store>) async throws {
        let (cluster, configuration) = try await PolicyCommand.load(client)
        let source = try end(from, cluster)
        let destination = try end(to, cluster)
        let protoValue = ProtocolValue(proto) ?? ProtocolValue(proto.uppercased() == "ICMPV6" ? "ICMPv6" : proto.uppercased())!
        // A flow between endpoints on two nodes crosses both dataplanes: the source node's egress
        // policy, then the destination node's ingress policy. It is allowed only if both allow it.
        var nodes = node.map { [$0] } ?? []
        if nodes.isEmpty {
            for n in [source.node, destination.node].compactMap({ $0 }) where !nodes.contains(n) { nodes.append(n) }
        }
        guard !nodes.isEmpty else {
            throw CommandError("neither end is an endpoint with a node: give --node")
        }
        let flow = Flow(from: source.end, to: destination.end, protocol: protoValue.protocolNumber, port: port,
                        sourcePort: sourcePort, icmpType: icmpType, icmpCode: icmpCode)
        var results: [(node: String, verdict: Verdict)] = []
        for nodeName in nodes {
            let compiled: CompiledPolicy
            do {
                compiled = try PolicyCompiler.compile(cluster, node: nodeName, configuration: configuration)
            } catch {
                throw CommandError("cannot compile policy for \(nodeName): \(error)")
            }
            let verdict = compiled.simulate(flow)
            results.append((nodeName, verdict))
            if !verdict.allowed { break }
        }
        let deciding = results.last!
        let allowed = deciding.verdict.allowed
        switch output {
        case .json:
            let value = JSONValue.object(JSONObject([
                ("verdict", .string(allowed ? "allow" : "deny")),
                ("node", .string(deciding.node)),
                ("decidedBy", Self.json(deciding.verdict.decidedBy)),
                ("steps", .array(results.flatMap { r in
                    r.verdict.steps.map { step -> JSONValue in
                        guard case .object(var o) = Self.json(step) else { return Self.json(step) }
                        o["node"] = .string(r.node)
                        return .object(o)
                    }
                })),
            ]))
            print(value.prettyJSONText)
        case .text:
            print(allowed ? "allow" : "deny")
            for r in results {
                for step in r.verdict.steps { print("  \(r.node): \(Self.describe(step))") }
            }
        }
    }

    private func end(_ text: String, _ cluster: ClusterState) throws -> (end: Flow.End, node: String?) {
        if let ip = IPAddress(text) { return (.address(ip), nil) }
        let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
        if parts.count == 2 {
            guard let wep = cluster.workloadEndpoints.first(where: { ($0.metadata.namespace ?? "default") == parts[0] && $0.metadata.name == parts[1] }) else {
                throw CommandError("no WorkloadEndpoint \(text)")
            }
            return (.endpoint(.workload(namespace: parts[0], name: parts[1])), wep.spec.node)
        }
        guard let hep = cluster.hostEndpoints.first(where: { $0.metadata.name == text }) else {
            throw CommandError("\(text) is neither an address, NAMESPACE/WORKLOADENDPOINT nor a HostEndpoint")
        }
        return (.endpoint(.host(name: text)), hep.spec.node)
    }

    static func json(_ d: Decision) -> JSONValue {
        var fields: [(String, JSONValue)] = [("reason", .string(d.reason.rawValue)), ("allowed", .bool(d.allowed))]
        if let e = d.endpoint { fields.append(("endpoint", .string(e.description))) }
        if let v = d.direction { fields.append(("direction", .string(v.rawValue))) }
        if let v = d.stage { fields.append(("stage", .string(v))) }
        if let v = d.tier { fields.append(("tier", .string(v))) }
        if let v = d.policy { fields.append(("policy", .string(v))) }
        if let v = d.profile { fields.append(("profile", .string(v))) }
        if let v = d.ruleIndex { fields.append(("ruleIndex", .number(String(v)))) }
        return .object(JSONObject(fields))
    }

    static func describe(_ d: Decision) -> String {
        var parts = ["\(d.allowed ? "allow" : "deny"): \(d.reason.rawValue)"]
        if let e = d.endpoint { parts.append("endpoint \(e)\(d.direction.map { " \($0.rawValue)" } ?? "")") }
        if let v = d.tier { parts.append("tier \(v)") }
        if let v = d.policy { parts.append("policy \(v)") }
        if let v = d.profile { parts.append("profile \(v)") }
        if let v = d.ruleIndex { parts.append("rule \(v)") }
        return parts.joined(separator: ", ")
    }
}
