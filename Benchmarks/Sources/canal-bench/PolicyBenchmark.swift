import CanalModel
import CanalPolicy
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `policy`: the compiler against the kernel's own loaders, side by side.
///
/// A cluster of 10,000 workload endpoints (all on node1, each with a `cali…` interface name) and
/// 1,000 global policies (each selecting 1/500 of the endpoints by `app`, with an ingress rule
/// from one of 200 `role` selectors to a port) is compiled for node1; the IPv4 result is applied
/// with `ipset restore` and `iptables-restore` in a scratch network namespace the benchmark
/// creates and deletes. Then one policy changes (another port), the cluster is compiled again
/// and the difference rendered as `--noflush` input and applied.
///
/// The update is measured twice: as a full recompile plus full diff (`full-recompile-update`), and
/// through an `IncrementalPolicyCompiler` session (apply the one changed policy, render the IPv4
/// `--noflush` input), checked identical to the full path.
///
/// The compile time is the median of five compiles after a warm-up. Prints compile, apply and
/// update times and the ratios `compile/apply` (target ≤ 0.10) and
/// `update/compile` (incremental update after one change vs the full compile, target ≤ 0.01).
enum PolicyBenchmark {
    static let endpoints = 10_000
    static let policies = 1_000

    /// Policy `p` of the benchmark cluster, with `port` in its rule.
    static func policy(_ p: Int, port: Int) throws -> any AnyResource {
        try readResource(try JSONValue(parsing: """
            {"apiVersion": "projectcalico.org/v3", "kind": "GlobalNetworkPolicy", "metadata": {"name": "policy-\(p)"},
             "spec": {"order": \(p % 10), "selector": "app == 'app\(p % 500)'", "types": ["Ingress"],
                      "ingress": [{"action": "Allow", "protocol": "TCP", "source": {"selector": "role == 'r\(p % 200)'"},
                                   "destination": {"ports": [\(port), 443]}}]}}
            """))
    }

    static func cluster(changed: Bool) throws -> ClusterState {
        var resources: [any AnyResource] = []
        resources.append(try readResource(try JSONValue(parsing: """
            {"apiVersion": "projectcalico.org/v3", "kind": "Profile", "metadata": {"name": "kns.default"},
             "spec": {"ingress": [{"action": "Allow"}], "egress": [{"action": "Allow"}]}}
            """)))
        for i in 0..<endpoints {
            let iface = "cali" + String(format: "%011x", UInt64(i) &* 0x9E37_79B9 % 0xFFFF_FFFF_FFF)
            let ip = "10.\(64 + i / 65536).\(i / 256 % 256).\(i % 256)"
            resources.append(try readResource(try JSONValue(parsing: """
                {"apiVersion": "projectcalico.org/v3", "kind": "WorkloadEndpoint",
                 "metadata": {"name": "node1-k8s-pod\(i)-eth0", "namespace": "default", "labels": {"app": "app\(i % 500)", "role": "r\(i % 200)"}},
                 "spec": {"orchestrator": "k8s", "node": "node1", "pod": "pod\(i)", "endpoint": "eth0", "interfaceName": "\(iface)",
                          "ipNetworks": ["\(ip)/32"], "profiles": ["kns.default"]}}
                """)))
        }
        for p in 0..<policies {
            resources.append(try policy(p, port: changed && p == 0 ? 9999 : 8000 + p % 50))
        }
        return ClusterState(resources: resources)
    }

    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = ContinuousClock.now
        try body()
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    static func sh(_ args: [String], input: String? = nil) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        let inPipe = Pipe()
        let errPipe = Pipe()
        p.standardInput = input == nil ? FileHandle.nullDevice : inPipe
        p.standardOutput = FileHandle.nullDevice
        p.standardError = errPipe
        try p.run()
        if let input {
            let data = Data(input.utf8)
            DispatchQueue.global().async {
                inPipe.fileHandleForWriting.write(data)
                try? inPipe.fileHandleForWriting.close()
            }
        }
        let err = errPipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw NSError(domain: "canal-bench", code: Int(p.terminationStatus), userInfo: [
                NSLocalizedDescriptionKey: "\(args.joined(separator: " ")): \(String(decoding: err, as: UTF8.self))",
            ])
        }
    }

    static func run() throws -> Bool {
        let base = try cluster(changed: false)
        let changed = try cluster(changed: true)
        _ = try PolicyCompiler.compile(base, node: "node1")  // warm up
        // The median of five compiles (one sample is at the mercy of a shared machine).
        var compiled: CompiledPolicy?
        var compiles: [Double] = []
        for _ in 0..<5 { compiles.append(try seconds { compiled = try PolicyCompiler.compile(base, node: "node1") }) }
        let compile = compiles.sorted()[compiles.count / 2]
        let full = compiled!
        let ipsetText = IPSetRenderer().restoreInput(full.ipv4)
        let iptablesText = IptablesRenderer().restoreInput(full.ipv4)
        let rules = full.ipv4.tables.reduce(0) { $0 + $1.chains.reduce(0) { $0 + $1.rules.count } }
        print("bench policy.rules \(rules) rules")
        print("bench policy.ipsets \(full.ipv4.ipSets.count) sets")
        print("bench policy.compile \(String(format: "%.1f", compile * 1000)) ms")
        print("bench policy.compile-min \(String(format: "%.1f", compiles.min()! * 1000)) ms")

        var recompiled: CompiledPolicy?
        let recompile = try seconds { recompiled = try PolicyCompiler.compile(changed, node: "node1") }
        var updateText = ""
        let update = seconds {
            let diff = recompiled!.diff(from: full).ipv4
            updateText = IptablesRenderer().restoreInput(diff)
        }
        print("bench policy.recompile \(String(format: "%.1f", recompile * 1000)) ms")
        print("bench policy.full-diff-render \(String(format: "%.3f", update * 1000)) ms")

        // The incremental path: a session keeps the model and chains; one policy changes (three
        // times, to the new port, back, and again: the median is reported); the update is the
        // session's apply plus rendering its IPv4 diff.
        var session = try IncrementalPolicyCompiler(base, node: "node1")
        let changedPolicy = try policy(0, port: 9999)
        let originalPolicy = try policy(0, port: 8000)
        var samples: [Double] = []
        var incrementalText = ""
        var incrementalOK = true
        for round in 0..<5 {
            let target = round % 2 == 0 ? changedPolicy : originalPolicy
            var text = ""
            var result: PolicyUpdate?
            samples.append(try seconds {
                let u = try session.apply([.put(target)])
                text = IptablesRenderer().restoreInput(u.ipv4)
                result = u
            })
            incrementalOK = incrementalOK && result!.incremental
            if round == 0 {
                incrementalText = text
                incrementalOK = incrementalOK && result!.compiled == recompiled! && text == updateText
            }
        }
        let incremental = samples.sorted()[samples.count / 2]
        print("bench policy.update-incremental \(String(format: "%.3f", incremental * 1000)) ms")
        print("bench policy.update-lines \(incrementalText.split(separator: "\n").count) lines")
        print("bench policy.update-identical-to-full \(incrementalOK ? 1 : 0) bool")
        print("ratio policy.update/compile \(String(format: "%.4f", incremental / compile))")
        print("ratio policy.full-recompile-update/compile \(String(format: "%.4f", (recompile + update) / compile))")

        guard getuid() == 0 else {
            print("bench policy.apply skipped (needs root for a scratch network namespace)")
            return updateText.contains("9999") && incrementalOK
        }
        let ns = "canal-bench-policy-\(getpid())"
        let deleteNamespace = Cleanup.add { Cleanup.deleteNamespaces(named: ns) }
        defer { deleteNamespace.run() }
        try sh(["ip", "netns", "add", ns])
        let exec = ["ip", "netns", "exec", ns]
        let ipsetApply = try seconds { try sh(exec + ["ipset", "restore"], input: ipsetText) }
        let apply = try seconds { try sh(exec + ["iptables-restore"], input: iptablesText) }
        let updateApply = try seconds { try sh(exec + ["iptables-restore", "--noflush"], input: updateText) }
        try? sh(exec + ["iptables", "-F"])
        try? sh(exec + ["iptables", "-X"])
        try? sh(exec + ["ipset", "destroy"])
        print("bench policy.apply-ipset \(String(format: "%.1f", ipsetApply * 1000)) ms")
        print("bench policy.apply-iptables \(String(format: "%.1f", apply * 1000)) ms")
        print("bench policy.apply-update \(String(format: "%.1f", updateApply * 1000)) ms")
        print("ratio policy.compile/apply \(String(format: "%.3f", compile / (apply + ipsetApply)))")
        print("ratio policy.update-apply/apply \(String(format: "%.4f", updateApply / apply))")
        return updateText.contains("9999") && incrementalOK
    }
}
