import ArgumentParser
import CanalDatastore
import CanalIPAM
import CanalModel
import Foundation

/// `canalctl ipam …`: Calico block IPAM on the configured datastore.
struct IpamCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ipam", abstract: "Show, assign, release and check IP address allocations (Calico block IPAM).",
        subcommands: [Show.self, Assign.self, Release.self, Check.self, Split.self, Configure.self])

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Pool usage; with --show-blocks each block; with --ip who holds an address.")
        @Flag(name: .customLong("show-blocks"), help: "List every block with its host and usage.") var showBlocks = false
        @Option(name: .customLong("ip"), help: "Show who holds this address.") var ip: String?
        @Option(name: .customLong("handle"), help: "List the addresses held under this handle.") var handle: String?
        @Flag(name: .customLong("show-configuration"), help: "Show the IPAM configuration.") var showConfiguration = false
        @OptionGroup var datastore: DatastoreOptions

        func run() async throws {
            let address = try ip.map { text in
                guard let a = IPAddress(text) else { throw ValidationError("'\(text)' is not an IP address") }
                return a
            }
            try await runReporting(Runner(showBlocks: showBlocks, ip: address, handle: handle, showConfiguration: showConfiguration), datastore: datastore)
        }

        struct Runner: DatastoreCommand {
            var showBlocks: Bool
            var ip: IPAddress?
            var handle: String?
            var showConfiguration: Bool
            func execute<Store: KeyValueStore>(_ client: ResourceClient<Store>) async throws {
                let ipam = IPAMClient(store: client.store)
                if let handle {
                    for address in try await ipam.ipsByHandle(handle) { print(address) }
                    return
                }
                if showConfiguration {
                    let c = try await ipam.config()
                    print("StrictAffinity: \(c.strictAffinity)\nAutoAllocateBlocks: \(c.autoAllocateBlocks)\nMaxBlocksPerHost: \(c.maxBlocksPerHost)")
                    return
                }
                if let ip {
                    guard let a = try await ipam.allocation(of: ip) else {
                        print("IP \(ip) is not assigned")
                        return
                    }
                    print("IP \(ip) is in use in block \(a.block) (\(a.blockAffinity ?? "no affinity"))")
                    print("  handle: \(a.attribute.handleID ?? "none")")
                    for (k, v) in a.attribute.attributes.sorted(by: { $0.key < $1.key }) { print("  \(k): \(v)") }
                    return
                }
                let usage = try await ipam.usage()
                var rows = [["GROUPING", "CIDR", "IPS TOTAL", "IPS IN USE", "IPS FREE"]]
                for pool in usage.pools {
                    rows.append(["IP Pool", pool.cidr.description, "\(pool.size)", Self.percent(UInt128(pool.used), pool.size), Self.percent(pool.free, pool.size)])
                    if showBlocks {
                        for block in usage.blocks where pool.cidr.contains(block.cidr) {
                            rows.append([
                                "Block", block.cidr.description + (block.host.map { " (\($0))" } ?? ""), "\(block.size)",
                                Self.percent(UInt128(block.used), UInt128(block.size)), Self.percent(UInt128(block.size - block.used), UInt128(block.size)),
                            ])
                        }
                    }
                }
                print(Self.table(rows), terminator: "")
            }

            static func percent(_ n: UInt128, _ total: UInt128) -> String {
                guard total > 0 else { return "\(n)" }
                let pct = Double(n) / Double(total) * 100
                return "\(n) (\(pct < 1 && n > 0 ? "<1" : String(Int(pct.rounded())))%)"
            }

            static func table(_ rows: [[String]]) -> String {
                let widths = rows[0].indices.map { c in rows.map { $0[c].count }.max()! }
                return rows.map { row in
                    row.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
                        .joined(separator: "   ").trimmingCharacters(in: .whitespaces)
                }.joined(separator: "\n") + "\n"
            }
        }
    }

    struct Assign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Assign addresses to a node (prints one address per line, or JSON).")
        @Option(name: .customLong("node"), help: "The node the addresses are for.") var node: String
        @Option(name: .customLong("ipv4"), help: "IPv4 addresses to assign.") var ipv4: Int = 1
        @Option(name: .customLong("ipv6"), help: "IPv6 addresses to assign.") var ipv6: Int = 0
        @Option(name: .customLong("handle"), help: "The handle to record the addresses under (default: a new one, printed on stderr).") var handle: String?
        @Option(name: .customLong("repeat"), help: "Repeat the assignment this many times, one request each (printing as they succeed).")
        var repetitions: Int = 1
        @Option(name: [.customShort("o"), .customLong("output")], help: "text (default) or json.") var output: String = "text"
        @OptionGroup var datastore: DatastoreOptions

        func validate() throws {
            guard ipv4 >= 0, ipv6 >= 0, ipv4 + ipv6 > 0 else { throw ValidationError("ask for at least one address") }
            guard repetitions >= 1 else { throw ValidationError("--repeat must be at least 1") }
            guard output == "text" || output == "json" else { throw ValidationError("--output must be text or json") }
        }

        func run() async throws {
            try await runReporting(Runner(command: self), datastore: datastore)
        }

        struct Runner: DatastoreCommand {
            var command: Assign
            func execute<Store: KeyValueStore>(_ client: ResourceClient<Store>) async throws {
                let ipam = IPAMClient(store: client.store)
                // Every allocation is recorded under a handle, so it can be released and checked later.
                let handle = command.handle ?? "canalctl.\(UUID().uuidString.lowercased())"
                if command.handle == nil, command.output == "text" { IO.error("handle: \(handle)") }
                let request = AutoAssignRequest(
                    host: command.node, ipv4: command.ipv4, ipv6: command.ipv6, handle: handle,
                    attributes: ["node": command.node])
                var all: [CIDR] = []
                var short: IPAMError?
                for _ in 0..<command.repetitions {
                    let result = try await assignRetryingUnavailable(ipam, request)
                    all += result.addresses
                    if command.output == "text" {
                        // Written straight to the descriptor, so a caller sees each line as soon as it is assigned.
                        let text = result.addresses.map { "\($0.address)\n" }.joined()
                        FileHandle.standardOutput.write(Data(text.utf8))
                    }
                    if let error = result.partialFulfillmentError {
                        short = error
                        break
                    }
                }
                if command.output == "json" {
                    let v4 = all.filter { $0.family == .v4 }.map { JSONValue.string($0.address.description) }
                    let v6 = all.filter { $0.family == .v6 }.map { JSONValue.string($0.address.description) }
                    var object = JSONObject([("ipv4", .array(v4)), ("ipv6", .array(v6))])
                    object["handle"] = .string(handle)
                    if let short { object["error"] = .string(short.message) }
                    print(JSONValue.object(object).prettyJSONText)
                }
                if let short {
                    IO.error("partial assignment: \(short.message)")
                    throw ExitCode(1)
                }
            }

            /// While etcd is unreachable (restarting), waits and asks again, up to the command's timeout.
            private func assignRetryingUnavailable(_ ipam: IPAMClient<some KeyValueStore>, _ request: AutoAssignRequest) async throws -> AutoAssignResult {
                let deadline = ContinuousClock.now + .seconds(max(1, command.datastore.timeout) * 3)
                while true {
                    let outcome: Result<AutoAssignResult, IPAMError>
                    do {
                        outcome = .success(try await ipam.autoAssign(request))
                    } catch {
                        outcome = .failure(error)
                    }
                    switch outcome {
                    case .success(let result):
                        return result
                    case .failure(let error):
                        let code = error.datastoreError?.code
                        guard code == .unavailable || code == .timeout, ContinuousClock.now < deadline else { throw error }
                        try await Task.sleep(for: .milliseconds(200))
                    }
                }
            }
        }
    }

    struct Release: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Release an address (--ip), every address of a handle (--handle), or the leaks of ipam check reports (--from-report).")
        @Option(name: .customLong("ip"), help: "The address to release.") var ip: String?
        @Option(name: .customLong("handle"), help: "The handle whose addresses to release.") var handle: String?
        @Option(name: .customLong("from-report"), help: "An ipam check --output report: release what it found leaked (repeat: only what every report found).")
        var reports: [String] = []
        @Flag(name: .customLong("force"), help: "Accept reports written by another canalctl version.") var force = false
        @OptionGroup var datastore: DatastoreOptions

        func validate() throws {
            guard [ip != nil, handle != nil, !reports.isEmpty].filter({ $0 }).count == 1 else {
                throw ValidationError("give exactly one of --ip, --handle and --from-report")
            }
            if let ip, IPAddress(ip) == nil { throw ValidationError("'\(ip)' is not an IP address") }
        }

        func run() async throws {
            if !reports.isEmpty {
                try await runReporting(ReleaseFromReports(files: reports, force: force), datastore: datastore)
                return
            }
            try await runReporting(Runner(ip: ip.flatMap { IPAddress($0) }, handle: handle), datastore: datastore)
        }

        struct Runner: DatastoreCommand {
            var ip: IPAddress?
            var handle: String?
            func execute<Store: KeyValueStore>(_ client: ResourceClient<Store>) async throws {
                let ipam = IPAMClient(store: client.store)
                if let handle {
                    try await ipam.releaseByHandle(handle)
                    print("Successfully released the addresses of handle \(handle)")
                } else if let ip {
                    let result = try await ipam.releaseIPs([ReleaseRequest(address: ip)])
                    if let error = result.errors.first { throw error }
                    if !result.unallocated.isEmpty { throw CommandError("IP address \(ip) is not assigned") }
                    print("Successfully released IP address \(ip)")
                }
            }
        }
    }

    struct Configure: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change the IPAM configuration.")
        @Option(name: .customLong("strictaffinity"), help: "true or false.") var strictAffinity: Bool?
        @Option(name: .customLong("max-blocks-per-host"), help: "The most blocks a host may own (0: no limit).") var maxBlocks: Int?
        @Option(name: .customLong("autoallocateblocks"), help: "true or false.") var autoAllocate: Bool?
        @Option(name: .customLong("ip-cooldown-seconds"), help: "Seconds a released address waits before reuse (0-1200; 0: none).")
        var cooldown: Int?
        @OptionGroup var datastore: DatastoreOptions

        func run() async throws {
            try await runReporting(Runner(strict: strictAffinity, maxBlocks: maxBlocks, auto: autoAllocate, cooldown: cooldown), datastore: datastore)
        }

        struct Runner: DatastoreCommand {
            var strict: Bool?
            var maxBlocks: Int?
            var auto: Bool?
            var cooldown: Int?
            func execute<Store: KeyValueStore>(_ client: ResourceClient<Store>) async throws {
                let ipam = IPAMClient(store: client.store)
                var config = try await ipam.config()
                if let strict { config.strictAffinity = strict }
                if let maxBlocks { config.maxBlocksPerHost = maxBlocks }
                if let auto { config.autoAllocateBlocks = auto }
                if let cooldown { config.ipCooldownSeconds = cooldown }
                try await ipam.setConfig(config)
                print("Successfully set StrictAffinity to: \(config.strictAffinity)")
            }
        }
    }
}
