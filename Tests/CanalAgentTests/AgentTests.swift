@testable import CanalAgent
import CanalDatastore
import CanalModel
import CanalPolicy
import Foundation
import Logging
import Synchronization
import Testing

/// A kernel in memory behind ``KernelTools``: iptables and ip6tables (as ``FakeIptables``),
/// ipset, and a log of the commands run.
final class FakeKernel: KernelTools {
    struct State {
        var v4 = FakeIptables()
        var v6 = FakeIptables()
        /// Set name → its `create` line's tail and members.
        var sets: [String: (definition: String, members: Set<String>)] = [:]
        var commands: [[String]] = []
    }

    let state = Mutex(State())

    struct Unsupported: Error { let arguments: [String] }

    func run(_ arguments: [String], input: String?) async throws -> String {
        try state.withLock { state in
            state.commands.append(arguments)
            switch (arguments[0], arguments.dropFirst().first) {
            case ("iptables-save", _): return Self.save(state.v4.snapshot)
            case ("ip6tables-save", _): return Self.save(state.v6.snapshot)
            case ("iptables-restore", _): state.v4.restore(input ?? "")
            case ("ip6tables-restore", _): state.v6.restore(input ?? "")
            case ("ipset", "save"):
                return state.sets.keys.sorted().map { name in
                    let set = state.sets[name]!
                    return (["create \(name) \(set.definition)"] + set.members.sorted().map { "add \(name) \($0)" }).joined(separator: "\n")
                }.joined(separator: "\n") + "\n"
            case ("ipset", "destroy"): state.sets[arguments[2]] = nil
            case ("ipset", "restore"):
                for line in (input ?? "").split(separator: "\n") where line != "COMMIT" {
                    let words = line.split(separator: " ").map(String.init)
                    switch words[0] {
                    case "create": state.sets[words[1]] = (words.dropFirst(2).joined(separator: " "), [])
                    case "add": state.sets[words[1]]!.members.insert(IPSetSnapshot.normalized(words[2]))
                    case "del": state.sets[words[1]]!.members.remove(IPSetSnapshot.normalized(words[2]))
                    case "swap": (state.sets[words[1]], state.sets[words[2]]) = (state.sets[words[2]], state.sets[words[1]])
                    case "destroy": state.sets[words[1]] = nil
                    default: throw Unsupported(arguments: [String(line)])
                    }
                }
            default: throw Unsupported(arguments: arguments)
            }
            return ""
        }
    }

    static func save(_ snapshot: IptablesSnapshot) -> String {
        snapshot.tables.keys.sorted().map { name in
            let table = snapshot.tables[name]!
            var out = "*\(name)\n"
            for chain in table.chainOrder { out += ":\(chain) \(table.builtIn.contains(chain) ? "ACCEPT" : "-") [0:0]\n" }
            for chain in table.chainOrder { for rule in table.rules[chain] ?? [] { out += "-A \(chain) \(rule.text)\n" } }
            return out + "COMMIT\n"
        }.joined()
    }

    var commandCount: Int { state.withLock { $0.commands.count } }
    func commands(since index: Int) -> [String] { state.withLock { $0.commands[index...].map { $0[0] } } }

    /// Whether the kernel holds `compiled` (nothing left to plan, sets included).
    func holds(_ compiled: CompiledPolicy) -> Bool {
        state.withLock { state in
            let sets = IPSetSnapshot(parsing: Self.ipsetSave(state.sets))
            return IptablesPlanner.plan(desired: compiled.ipv4, actual: state.v4.snapshot).isEmpty
                && IptablesPlanner.plan(desired: compiled.ipv6, actual: state.v6.snapshot).isEmpty
                && sets == IPSetSnapshot(compiled.ipv4.ipSets + compiled.ipv6.ipSets)
        }
    }

    private static func ipsetSave(_ sets: [String: (definition: String, members: Set<String>)]) -> String {
        sets.map { name, set in
            (["create \(name) \(set.definition)"] + set.members.map { "add \(name) \($0)" }).joined(separator: "\n")
        }.joined(separator: "\n")
    }
}

/// The agent against an in-memory datastore and a fake kernel: no root, no processes.
@Suite struct AgentTests {
    static let policyKey = ResourceKey(kind: .globalNetworkPolicy, name: "db").bytes

    static func policy(port: Int, ipVersion: Int? = nil) -> [UInt8] {
        let version = ipVersion.map { #""ipVersion":\#($0),"# } ?? ""
        return Array(#"{"apiVersion":"projectcalico.org/v3","kind":"GlobalNetworkPolicy","metadata":{"name":"db"},"spec":{"order":10,"selector":"role == 'db'","types":["Ingress"],"ingress":[{"action":"Allow",\#(version)"protocol":"TCP","source":{"selector":"role == 'client'"},"destination":{"ports":[\#(port)]}}]}}"#.utf8)
    }

    /// Each change is compiled incrementally and applied with one restore per family and
    /// nothing else (no read-back, no ipset when no set changed); a policy that does not
    /// compile leaves the kernel as it was, and its fix is applied.
    @Test(.timeLimit(.minutes(1))) func incrementalAppliesAndFailsClosed() async throws {
        let store = InMemoryKeyValueStore()
        let client = ResourceClient(store: store)
        try await client.initialize()
        let initial = try cluster(port: 8080)
        for r in initial.profiles { _ = try await client.create(r) }
        for r in initial.workloadEndpoints { _ = try await client.create(r) }
        _ = try await store.put(Self.policyKey, value: Self.policy(port: 8080))

        let kernel = FakeKernel()
        let (reports, report) = AsyncStream.makeStream(of: ApplyReport.self)
        let health = FileManager.default.temporaryDirectory.appendingPathComponent("canal-agent-health-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: health) }
        var logger = Logger(label: "canal-agent-test")
        logger.logLevel = .critical
        let configuration = AgentConfiguration(
            node: "node1", tools: kernel, refreshInterval: .seconds(3600), postWriteCheckDelay: .seconds(3600),
            healthFile: health.path, onApply: { report.yield($0) })
        let agent = Agent(store: store, configuration: configuration, logger: logger)
        let running = Task { try await agent.run() }
        defer { running.cancel() }
        var applied = reports.makeAsyncIterator()
        func nextChange() async throws -> ApplyReport {
            while let next = await applied.next() { if next.changed { return next } }
            throw CancellationError()
        }

        let first = try await nextChange()
        #expect(kernel.holds(try PolicyCompiler.compile(initial, node: "node1")))

        // A policy change: one restore per family, nothing read back, no IP set touched.
        var before = kernel.commandCount
        _ = try await store.put(Self.policyKey, value: Self.policy(port: 9090))
        let change = try await nextChange()
        #expect(kernel.holds(try PolicyCompiler.compile(cluster(port: 9090), node: "node1")))
        #expect(kernel.commands(since: before).sorted() == ["ip6tables-restore", "iptables-restore"])
        #expect(change.bytesWritten * 10 < first.bytesWritten)

        // A label change: IP set members only.
        before = kernel.commandCount
        _ = try await client.apply(try cluster(port: 9090, clientRole: "other").workloadEndpoints[0])
        _ = try await nextChange()
        #expect(kernel.holds(try PolicyCompiler.compile(cluster(port: 9090, clientRole: "other"), node: "node1")))
        #expect(kernel.commands(since: before) == ["ipset"])

        // A policy that does not compile: the kernel keeps the last good state.
        before = kernel.commandCount
        _ = try await store.put(Self.policyKey, value: Self.policy(port: 7070, ipVersion: 5))
        // (The health file is written after the report of the sync that kept the last good state.)
        while !((try? String(contentsOf: health, encoding: .utf8)) ?? "").contains("does not compile") {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(kernel.commandCount == before)
        #expect(kernel.holds(try PolicyCompiler.compile(cluster(port: 9090, clientRole: "other"), node: "node1")))

        // Its fix is applied (the session starts over from the cache, the plan stays a delta).
        _ = try await store.put(Self.policyKey, value: Self.policy(port: 7070))
        let fixed = try await nextChange()
        #expect(kernel.holds(try PolicyCompiler.compile(cluster(port: 7070, clientRole: "other"), node: "node1")))
        #expect(!kernel.commands(since: before).contains { $0.hasSuffix("-save") })
        #expect(fixed.bytesWritten * 10 < first.bytesWritten)
    }
}
