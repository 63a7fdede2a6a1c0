import CanalDatastore
@testable import CanalIPAM
import CanalModel
import Foundation
import Testing

/// Tunnel addresses as calico/node allocates them: from pools with the mode on and `Tunnel` among
/// their uses, under Calico's handle and attributes, recorded on the Node, released when the mode
/// goes away.
@Suite struct TunnelAddressTests {
    private func apply(_ store: MemoryStore, _ json: String) async throws {
        _ = try await ResourceClient(store: store).apply(try decodeResource(try JSONValue(parsing: json)))
    }

    private func pool(_ name: String, _ cidr: String, ipip: String = "Never", vxlan: String = "Never", uses: String = #"["Workload","Tunnel"]"#) -> String {
        """
        {"apiVersion":"projectcalico.org/v3","kind":"IPPool","metadata":{"name":"\(name)"},\
        "spec":{"cidr":"\(cidr)","blockSize":28,"ipipMode":"\(ipip)","vxlanMode":"\(vxlan)","allowedUses":\(uses)}}
        """
    }

    private func node(_ store: MemoryStore, _ name: String) async throws -> Node {
        try await ResourceClient(store: store).get(Node.self, name: name)
    }

    @Test func ipipThenVXLANThenNeverAssignsRecordsAndReleases() async throws {
        let store = memoryStore()
        try await apply(store, #"{"apiVersion":"projectcalico.org/v3","kind":"Node","metadata":{"name":"n1"},"spec":{"bgp":{"ipv4Address":"198.18.1.1/24"}}}"#)
        try await apply(store, pool("workloads-only", "10.9.0.0/24", ipip: "Always", uses: #"["Workload"]"#))
        try await apply(store, pool("p", "10.8.0.0/24", ipip: "CrossSubnet"))
        let ipam = IPAMClient.sequential(store)

        let first = try await ipam.reconcileTunnelAddresses(node: "n1")
        let ipip = try #require(first.assigned[.ipip])
        #expect(first.nodeUpdated && CIDR("10.8.0.0/24")!.contains(ipip))
        var spec = try await node(store, "n1").spec
        #expect(spec.bgp?.ipv4IPIPTunnelAddr == ipip.description && spec.bgp?.ipv4Address == "198.18.1.1/24")
        #expect(spec.ipv4VXLANTunnelAddr.isEmpty && spec.vxlanTunnelMACAddr.isEmpty)
        let allocation = try #require(try await ipam.allocation(of: ipip))
        #expect(allocation.attribute.handleID == "ipip-tunnel-addr-n1")
        #expect(allocation.attribute.attributes == ["node": "n1", "type": "ipipTunnelAddress"])
        #expect(allocation.blockAffinity == "host:n1")

        // Nothing to do the second time.
        #expect(try await ipam.reconcileTunnelAddresses(node: "n1").isEmpty)

        // IPIP → VXLAN: the IPIP address goes, a VXLAN address and a VTEP MAC come.
        try await apply(store, pool("p", "10.8.0.0/24", vxlan: "Always"))
        let second = try await ipam.reconcileTunnelAddresses(node: "n1")
        #expect(second.released == [.ipip])
        let vxlan = try #require(second.assigned[.vxlan])
        spec = try await node(store, "n1").spec
        #expect(spec.bgp?.ipv4IPIPTunnelAddr == "" && spec.bgp?.ipv4Address == "198.18.1.1/24")
        #expect(spec.ipv4VXLANTunnelAddr == vxlan.description)
        #expect(spec.vxlanTunnelMACAddr == TunnelAddressKind.vtepMAC(node: "n1", .v4))
        #expect(try await ipam.allocation(of: ipip) == nil)
        #expect(try await ipam.allocation(of: vxlan)?.attribute.attributes["type"] == "vxlanTunnelAddress")

        // Never: released and cleared.
        try await apply(store, pool("p", "10.8.0.0/24"))
        let third = try await ipam.reconcileTunnelAddresses(node: "n1")
        #expect(third.released == [.vxlan] && third.assigned.isEmpty)
        spec = try await node(store, "n1").spec
        #expect(spec.ipv4VXLANTunnelAddr.isEmpty && spec.vxlanTunnelMACAddr.isEmpty)
        #expect(try await ipam.allocation(of: vxlan) == nil)
        #expect(try await ipam.check().allocatedCount == 0)
    }

    @Test func addressOutsideItsPoolsOrTakenIsReplacedAndNodeSelectorAndV6Apply() async throws {
        let store = memoryStore()
        try await apply(store, #"{"apiVersion":"projectcalico.org/v3","kind":"Node","metadata":{"name":"n1","labels":{"zone":"a"}},"spec":{"ipv4VXLANTunnelAddr":"10.7.0.5","vxlanTunnelMACAddr":"66:00:00:00:00:01"}}"#)
        try await apply(store, pool("other-zone", "10.6.0.0/24", vxlan: "Always").replacingOccurrences(of: "\"blockSize\"", with: "\"nodeSelector\":\"zone == 'b'\",\"blockSize\""))
        try await apply(store, pool("p", "10.7.0.0/24", vxlan: "Always"))
        try await apply(store, #"{"apiVersion":"projectcalico.org/v3","kind":"IPPool","metadata":{"name":"v6"},"spec":{"cidr":"fd00:7::/120","blockSize":124,"vxlanMode":"CrossSubnet"}}"#)
        let ipam = IPAMClient.sequential(store)
        // The recorded 10.7.0.5 belongs to a workload: it is not ours, a new one is assigned and
        // the workload keeps its address.
        try await ipam.assignIP(ip("10.7.0.5"), handle: "k8s-pod-network.x", attributes: ["pod": "x"], host: "n1")
        let changes = try await ipam.reconcileTunnelAddresses(node: "n1")
        let vxlan = try #require(changes.assigned[.vxlan])
        #expect(vxlan != ip("10.7.0.5") && CIDR("10.7.0.0/24")!.contains(vxlan))
        #expect(try await ipam.allocation(of: ip("10.7.0.5"))?.attribute.handleID == "k8s-pod-network.x")
        let v6 = try #require(changes.assigned[.vxlanV6])
        #expect(CIDR("fd00:7::/120")!.contains(v6))
        let spec = try await node(store, "n1").spec
        #expect(spec.ipv4VXLANTunnelAddr == vxlan.description && spec.vxlanTunnelMACAddr == "66:00:00:00:00:01")
        #expect(spec.ipv6VXLANTunnelAddr == v6.description && spec.vxlanTunnelMACAddrV6 == TunnelAddressKind.vtepMAC(node: "n1", .v6))
        #expect(try await ipam.allocation(of: v6)?.attribute.handleID == "vxlan-v6-tunnel-addr-n1")
    }

    @Test func missingNodeIsNotFoundAndMACIsLocallyAdministeredUnicast() async throws {
        let store = memoryStore()
        try await apply(store, pool("p", "10.8.0.0/24", ipip: "Always"))
        await #expect { try await IPAMClient(store: store).reconcileTunnelAddresses(node: "ghost") } throws: { error in
            (error as? IPAMError)?.code == .notFound && "\(error)".contains("ghost")
        }
        let mac = TunnelAddressKind.vtepMAC(node: "n1", .v4)
        #expect(mac.split(separator: ":").count == 6 && mac.hasPrefix("66:"))
        #expect(mac != TunnelAddressKind.vtepMAC(node: "n2", .v4))
        #expect(try await IPAMClient(store: store).check().allocatedCount == 0)
    }
}
