// canal-bench: Canal's benchmark runner.
//
//   canal-bench <benchmark>...     run the named benchmarks (or `all`)
//   canal-bench --list             list them
//
// Each benchmark prints lines `bench <name> <value> <unit>`; a benchmark whose checksum is wrong
// makes the program exit non-zero. To add one, write a type with a `run() -> Bool` and list it
// in `CanalBench.benchmarks`.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One benchmark subcommand.
struct Benchmark: Sendable {
    var name: String
    var summary: String
    /// Runs the benchmark, printing its lines; returns false when a checksum fails.
    var run: @Sendable () async throws -> Bool
}

@main
enum CanalBench {
    static let benchmarks: [Benchmark] = [
        Benchmark(
            name: "selector",
            summary: "selector parse, unique id and evaluation (shared/bench/selector-workload.md)",
            run: { SelectorBenchmark.run() }
        ),
        Benchmark(
            name: "datastore",
            summary: "etcd put/range/CAS at concurrency 1 and 16 vs a raw libcurl loop; watch latency vs etcdctl",
            run: { try await DatastoreBenchmark.run(seconds: seconds) }
        ),
        Benchmark(
            name: "bgp",
            summary: "one node's BIRD config in a 500-node mesh: render time vs `bird -p` parse time of the result",
            run: { try BGPBenchmark.run() }
        ),
        Benchmark(
            name: "ipam",
            summary: "autoAssign of one address vs the raw CAS txn rate at concurrency 1 and 8; 1,000 assignments in memory",
            run: { try await IPAMBenchmark.run(seconds: seconds) }
        ),
        Benchmark(
            name: "policy",
            summary: "compile 10,000 endpoints and 1,000 policies for one node vs iptables-restore/ipset restore of the result; one-policy update vs full compile",
            run: { try PolicyBenchmark.run() }
        ),
        Benchmark(
            name: "leases",
            summary: "flannel: acquire subnet leases for 250 hosts against etcd (time and etcd round trips per lease)",
            run: { try await LeasesBenchmark.run() }
        ),
        Benchmark(
            name: "ipam-memory",
            summary: "only the in-memory part of `ipam` (1,000 assignments), repeated: for profiling",
            run: {
                try await IPAMBenchmark.memory(rounds: Int(seconds * 20))
                return true
            }
        ),
        Benchmark(
            name: "agent",
            summary: "canal-agent with 1,000 endpoints and 200 policies: policy write → kernel enforcing (p50/p99 over 50 changes) vs etcd watch delivery; incremental vs full apply size",
            run: { try await AgentBenchmark.run() }
        ),
        Benchmark(
            name: "cni",
            summary: "canal-cni ADD then DEL of 100 containers (sequential, 8 at a time) against etcd vs Debian's bridge + host-local: containers/s, etcd round trips per ADD",
            run: { try await CNIBenchmark.run() }
        ),
    ]

    /// Seconds per measured side where a benchmark runs for a time (`CANAL_BENCH_SECONDS`, default 3).
    static var seconds: Double { Double(getenv("CANAL_BENCH_SECONDS").map { String(cString: $0) } ?? "") ?? 3 }

    static func usage() -> String {
        var text = "usage: canal-bench <benchmark>... | all | --list\nbenchmarks:\n"
        for b in benchmarks { text += "  \(b.name)\t\(b.summary)\n" }
        return text
    }

    static func printError(_ text: String) {
        var text = text
        text.withUTF8 { buffer in _ = write(2, buffer.baseAddress, buffer.count) }
    }

    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.isEmpty || arguments.contains("--help") || arguments.contains("-h") {
            print(usage(), terminator: "")
            exit(arguments.isEmpty ? 2 : 0)
        }
        if arguments == ["--list"] {
            for b in benchmarks { print(b.name) }
            exit(0)
        }
        var selected: [Benchmark] = []
        for name in arguments {
            if name == "all" {
                selected.append(contentsOf: benchmarks)
            } else if let b = benchmarks.first(where: { $0.name == name }) {
                selected.append(b)
            } else {
                printError("canal-bench: unknown benchmark '\(name)'\n" + usage())
                exit(2)
            }
        }
        Cleanup.installSignalHandlers()
        var failed = false
        for b in selected {
            do {
                if try await !b.run() {
                    printError("canal-bench: \(b.name) FAILED\n")
                    failed = true
                }
            } catch {
                printError("canal-bench: \(b.name) failed: \(error)\n")
                failed = true
            }
        }
        exit(failed ? 1 : 0)
    }
}
