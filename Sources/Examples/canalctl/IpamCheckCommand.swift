import ArgumentParser
import CanalDatastore
import CanalIPAM
import CanalModel
import Foundation

extension IpamCommand {
    /// `canalctl ipam check`: calicoctl's check (allocations against WorkloadEndpoints and Nodes),
    /// plus the consistency of blocks, handles and affinities.
    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compare every allocation with the WorkloadEndpoints and Nodes; report leaks, unallocated addresses in use, dead nodes' blocks, duplicates and corrupt values.",
            discussion: """
                Exit 1 when blocks, handles and affinities are inconsistent with each other (duplicates, \
                leaked or orphaned records, allocations outside every pool) or a stored value does not \
                parse; leaks and the other findings are reported with exit 0, as calicoctl does. \
                Unlike calicoctl, -o chooses the format; the report file is --output.
                """)
        @Option(name: .customShort("o"), help: "text (default) or json (the report, on standard output).") var format = "text"
        @Option(name: .customLong("output"), help: "Write the report for ipam release --from-report to this file.") var outputFile: String?
        @Flag(name: .customLong("show-problem-ips"), help: "Print every address that is leaked or not allocated properly.") var showProblemIPs = false
        @Flag(name: .customLong("show-all-ips"), help: "Print every address checked.") var showAllIPs = false
        @OptionGroup var datastore: DatastoreOptions

        func validate() throws {
            guard format == "text" || format == "json" else { throw ValidationError("-o must be text or json") }
        }

        func run() async throws { try await runReporting(Runner(command: self), datastore: datastore) }

        struct Runner: DatastoreCommand {
            var command: Check
            func execute<Store: KeyValueStore>(_ client: ResourceClient<Store>) async throws {
                let ipam = IPAMClient(store: client.store)
                var report = IPAMChecker(snapshot: try await ipam.snapshot()).report()
                report.version = Canalctl.configuration.version
                let consistency = try await ipam.check()
                if let path = command.outputFile {
                    let text = report.json.prettyJSONText + "\n"
                    guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) else {
                        throw CommandError("cannot write the report to \(path)")
                    }
                }
                if command.format == "json" {
                    print(report.json.prettyJSONText)
                } else {
                    printText(report, consistency)
                }
                if !consistency.isClean || !report.corrupt.isEmpty { throw ExitCode(1) }
            }

            private func printText(_ report: IPAMLeakReport, _ consistency: IPAMCheckReport) {
                let showProblems = command.showProblemIPs || command.showAllIPs
                print("Checking IPAM for inconsistencies...\n")
                let blocks = Set(report.allocations.map(\.block))
                print("IPAM blocks record \(report.allocations.count) allocations in \(blocks.count) blocks (revision \(report.revision)).")
                if command.showAllIPs {
                    for a in report.allocations { print("  \(a.address) allocated; attrs \(a.attributeText); owners \(a.owners)") }
                }
                let leaked = report.notInUse
                print("Found \(leaked.count) IPs that are allocated in IPAM but not actually in use.")
                if showProblems { for a in leaked { print("  \(a.address) leaked; attrs \(a.attributeText)") } }
                print("Found \(report.inUseOutsidePools.count) in-use IPs that are not in active IP pools.")
                if showProblems {
                    for u in report.inUseOutsidePools { print("  \(u.address) in use by \(u.owners.joined(separator: ", ")) is not in any active IP pool.") }
                }
                print("Found \(report.inUseNotAllocated.count) in-use IPs that are in active IP pools but have no corresponding IPAM allocation.")
                if showProblems {
                    for u in report.inUseNotAllocated {
                        print("  \(u.address) in use by \(u.owners.joined(separator: ", ")) and in active IPAM pool but has no IPAM allocation.")
                    }
                }
                let handleCount = Set(report.allocations.compactMap(\.handle)).count
                print("Found \(report.leakedHandles.count) handles with no matching IPs (and \(handleCount) handles with matches).")
                if command.showAllIPs { for h in report.leakedHandles { print("  \(h.id) doesn't have any active IPs.") } }
                print("Found \(report.missingHandles.count) handles mentioned in blocks with no matching handle resource.")
                if showProblems { for h in report.missingHandles { print("  \(h) is in use in a block but doesn't exist.") } }
                print("Found \(report.blocksOfMissingNodes.count) blocks affine to nodes that no longer exist.")
                for b in report.blocksOfMissingNodes { print("  block \(b.cidr) of node \(b.host): \(b.allocated) allocated") }
                print("Found \(report.affinitiesOfMissingNodes.count) affinities of nodes that no longer exist.")
                if showProblems { for a in report.affinitiesOfMissingNodes { print("  \(a.host) → \(a.cidr)") } }
                print("Found \(report.duplicates.count) duplicate or multiply-owned IPs.")
                for d in report.duplicates { print("  \(d)") }
                print("Found \(report.corrupt.count) stored values that do not parse.")
                for c in report.corrupt { print("  \(c.key): \(c.reason)") }
                print("Check complete; found \(report.problemCount) problems.\n")

                print("Checked \(consistency.allocatedCount) allocated addresses.")
                for (title, items) in [("duplicate", consistency.duplicates), ("leaked", consistency.leaked), ("orphaned", consistency.orphaned)] {
                    print("Found \(items.count) \(title) allocations.")
                    for item in items { print("  \(item)") }
                }
                print("Found \(consistency.outsidePools.count) allocations outside every IP pool.")
                for item in consistency.outsidePools { print("  \(item)") }
            }
        }
    }

    /// `canalctl ipam split N --cidr C | --name P`.
    struct Split: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Split an IP pool into N (a power of 2) equal pools named split-<pool>-<i>, in one transaction.")
        @Argument(help: "How many pools (a power of 2).") var number: Int
        @Option(name: .customLong("cidr"), help: "The CIDR of the pool to split.") var cidr: String?
        @Option(name: .customLong("name"), help: "The name of the pool to split.") var name: String?
        @OptionGroup var datastore: DatastoreOptions

        func validate() throws {
            guard (cidr == nil) != (name == nil) else { throw ValidationError("give exactly one of --cidr and --name") }
            if let cidr, CIDR(cidr) == nil { throw ValidationError("'\(cidr)' is not a CIDR") }
        }

        func run() async throws {
            try await runReporting(Runner(number: number, cidr: cidr.flatMap { CIDR($0) }, name: name), datastore: datastore)
        }

        struct Runner: DatastoreCommand {
            var number: Int
            var cidr: CIDR?
            var name: String?
            func execute<Store: KeyValueStore>(_ client: ResourceClient<Store>) async throws {
                let children = try await IPAMClient(store: client.store).splitPool(named: name, cidr: cidr, into: number)
                print("IP pool \(name ?? cidr!.description) was successfully split into \(children.count) smaller pools.")
                for child in children { print("Created \(child.metadata.name ?? "") with CIDR \(child.spec.cidr).") }
            }
        }
    }
}

/// `canalctl ipam release --from-report FILE…`.
struct ReleaseFromReports: DatastoreCommand {
    var files: [String]
    var force: Bool

    func execute<Store: KeyValueStore>(_ client: ResourceClient<Store>) async throws {
        var reports: [IPAMLeakReport] = []
        for file in files {
            let report: IPAMLeakReport
            do {
                report = try IPAMLeakReport(json: Array(try IO.read(file).utf8))
            } catch let error as IPAMError {
                throw CommandError("\(file): \(error.message)")
            }
            if report.version != Canalctl.configuration.version {
                guard force else {
                    throw CommandError(
                        "the report \(file) was written by another canalctl version (\(report.version.isEmpty ? "unknown" : report.version)); refusing to release (--force accepts it)")
                }
                IO.error("WARNING: the report \(file) was written by another canalctl version; accepted (--force)")
            }
            reports.append(report)
        }
        let result = try await IPAMClient(store: client.store).releaseFromReports(reports)
        let addresses = result.addresses
        print("Released \(addresses.released.count) IPs successfully.")
        for (a, _) in addresses.released { print("  \(a.address) (handle \(a.handle ?? "none"))") }
        if !addresses.inUse.isEmpty {
            print("\(addresses.inUse.count) addresses marked as leaked in the report are in use now: kept.")
            for a in addresses.inUse { print("  \(a.address)") }
        }
        if !addresses.changed.isEmpty {
            print("\(addresses.changed.count) addresses marked as leaked in the report had already been released or reallocated: kept.")
        }
        for c in addresses.corrupt { print("  skipped \(c.key): \(c.reason)") }
        print("Released \(result.deletedHandles.count) handles; \(result.skippedHandles.count) skipped (changed or gone).")
    }
}
