import CanalModel
import CanalPolicy
import Foundation
import Logging

/// What the agent keeps in place for the node's local workloads, outside the rule tables
/// (Felix's route table and endpoint manager):
///
/// - **Routes**: each local workload address has a host route (`/32`, `/128`) via the workload's
///   interface, `scope link`. A missing or changed route is put back (`ip route replace`);
///   routes are only added or corrected, never deleted (canal-cni adds a workload's route before
///   its WorkloadEndpoint exists, and deletes it with the interface).
/// - **Anti-spoofing**: strict reverse-path filtering (`rp_filter=1`) on each workload
///   interface, so a packet whose source is not routed back through the interface it came from
///   (a neighbour's address, say) is dropped; `0` on an interface whose endpoint has
///   `allowSpoofedSourcePrefixes` while FelixConfiguration's `workloadSourceSpoofing` is `Any`
///   (Felix's rule).
///
/// Interfaces that do not exist (yet) are skipped; the next pass picks them up.
struct WorkloadNetworking: Sendable {
    /// One local workload interface and what it must have.
    struct Interface: Sendable, Hashable {
        var name: String
        var addresses: [CIDR]
        var allowsSpoofing: Bool
    }

    /// The node's workload interfaces, by name.
    static func desired(_ cache: ClusterCache, node: String) -> [String: Interface] {
        let spoofingAllowed = cache.felixConfiguration(node: node)?.spec.workloadSourceSpoofing == "Any"
        var result: [String: Interface] = [:]
        for case let endpoint as WorkloadEndpoint in cache.resources.values where endpoint.spec.node == node {
            guard let name = endpoint.spec.interfaceName, !name.isEmpty else { continue }
            let addresses = (endpoint.spec.ipNetworks ?? []).compactMap { CIDR(ipOrCIDR: $0) }
                .filter { $0.prefixLength == $0.family.bitCount }
            let spoofs = spoofingAllowed && !(endpoint.spec.allowSpoofedSourcePrefixes ?? []).isEmpty
            var interface = result[name] ?? Interface(name: name, addresses: [], allowsSpoofing: false)
            interface.addresses += addresses
            interface.allowsSpoofing = interface.allowsSpoofing || spoofs
            result[name] = interface
        }
        return result
    }

    let tools: any KernelTools
    let logger: Logger

    /// What one pass changed.
    struct Report: Sendable, Hashable {
        var routesRepaired = 0
        var rpFilterSet = 0
    }

    /// Reads the kernel's links and routes, puts back what is missing; returns what it did.
    func reconcile(_ interfaces: [String: Interface]) async throws -> Report {
        var report = Report()
        guard !interfaces.isEmpty else { return report }
        let links = Set(try await tools.run(["ip", "-o", "link", "show"]).split(separator: "\n").compactMap(Self.linkName))
        let present = interfaces.values.filter { links.contains($0.name) }.sorted { $0.name < $1.name }
        guard !present.isEmpty else { return report }
        var existing: [String: String] = [:]  // destination → device
        for family in ["-4", "-6"] {
            for line in try await tools.run(["ip", family, "-o", "route", "show", "table", "main"]).split(separator: "\n") {
                if let (destination, device) = Self.route(line) { existing[destination] = device }
            }
        }
        var batch = ""
        for interface in present {
            for address in interface.addresses {
                let destination = address.description
                let bare = address.address.description
                let device = existing[destination] ?? existing[bare]
                if device == interface.name { continue }
                if device != nil {
                    logger.warning("route to workload \(destination) goes via \(device!), not \(interface.name): repairing")
                } else {
                    logger.warning("route to workload \(destination) via \(interface.name) is missing: repairing")
                }
                batch += "route replace \(destination) dev \(interface.name) scope link\n"
                report.routesRepaired += 1
            }
        }
        if !batch.isEmpty { _ = try await tools.run(["ip", "-batch", "-"], input: batch) }
        for interface in present {
            let key = "net.ipv4.conf.\(interface.name).rp_filter"
            let want = interface.allowsSpoofing ? "0" : "1"
            let current = try await tools.run(["sysctl", "-n", key]).trimmingCharacters(in: .whitespacesAndNewlines)
            if current != want {
                _ = try await tools.run(["sysctl", "-q", "-w", "\(key)=\(want)"])
                report.rpFilterSet += 1
            }
        }
        return report
    }

    /// The name in an `ip -o link show` line (`3: cali1@if2: <…`).
    static func linkName(_ line: Substring) -> String? {
        let fields = line.split(separator: " ", maxSplits: 2)
        guard fields.count >= 2, fields[0].hasSuffix(":") else { return nil }
        var name = fields[1].dropLast(fields[1].hasSuffix(":") ? 1 : 0)
        if let at = name.firstIndex(of: "@") { name = name[..<at] }
        return String(name)
    }

    /// The destination and device of a unicast `ip -o route show` line.
    static func route(_ line: Substring) -> (String, String)? {
        let fields = line.split(separator: " ")
        guard let first = fields.first, !["unreachable", "blackhole", "prohibit", "local", "broadcast", "multicast"].contains(String(first)),
              let dev = fields.firstIndex(of: "dev"), dev + 1 < fields.count else { return nil }
        return (String(first), String(fields[dev + 1]))
    }
}
