import CanalBGP
import CanalModel
import Foundation
import PropertyBased
import Testing

/// Builders for model values.
func node(_ name: String, v4: String = "", v6: String = "", as asNumber: ASNumber? = nil, rr: String = "", labels: [String: String]? = nil) -> Node {
    Node(
        metadata: ObjectMeta(name: name, labels: labels),
        spec: NodeSpec(bgp: NodeSpec.BGP(asNumber: asNumber, ipv4Address: v4, ipv6Address: v6, routeReflectorClusterID: rr)))
}

func config(_ name: String, _ spec: BGPConfigurationSpec) -> BGPConfiguration {
    BGPConfiguration(metadata: ObjectMeta(name: name), spec: spec)
}

func peer(_ name: String, _ spec: BGPPeerSpec) -> BGPPeer {
    BGPPeer(metadata: ObjectMeta(name: name), spec: spec)
}

func pool(_ cidr: String, disableBGPExport: Bool = false) -> IPPool {
    IPPool(metadata: ObjectMeta(name: "p-" + cidr.filter(\.isNumber)), spec: IPPoolSpec(cidr: cidr, disableBGPExport: disableBGPExport))
}

/// The block of protocol `name` in a rendering ("" when absent).
func protocolBlock(_ name: String, in text: String) -> String {
    guard let start = text.range(of: "protocol bgp \(name) from") else { return "" }
    let rest = text[start.lowerBound...]
    guard let end = rest.range(of: "\n}\n") else { return String(rest) }
    return String(rest[..<end.upperBound])
}

/// The BGP protocol names of a rendering, in order.
func protocolNames(in text: String) -> [String] {
    text.split(separator: "\n").compactMap { line in
        guard line.hasPrefix("protocol bgp ") else { return nil }
        return String(line.split(separator: " ")[2])
    }
}

@Suite("BIRD rendering: Calico's rules")
struct BIRDRendererTests {
    let two = [node("a", v4: "10.0.0.1/24"), node("b", v4: "10.0.0.2/24")]

    @Test("an unknown node is an error")
    func unknownNode() {
        #expect(throws: BGPRenderError.self) { try BIRDRenderer.render(BGPRenderInput(nodeName: "nope", nodes: two)) }
        do {
            _ = try BIRDRenderer.render(BGPRenderInput(nodeName: "nope", nodes: two))
        } catch {
            #expect(error.code == .nodeNotFound)
        }
    }

    @Test("a password BIRD cannot quote is an error, others are written")
    func passwords() throws {
        let ref = BGPPassword(secretKeyRef: .init(name: "s", key: "k"))
        let peers = [peer("p", BGPPeerSpec(peerIP: "192.0.2.1", asNumber: 65000, password: ref))]
        var input = BGPRenderInput(nodeName: "a", nodes: two, peers: peers, passwords: [BGPSecretKey(name: "s", key: "k"): #"a\b c"#])
        #expect(try BIRDRenderer.render(input).contains(#"  password "a\b c";"#))
        input.passwords = [BGPSecretKey(name: "s", key: "k"): #"a"b"#]
        #expect(throws: BGPRenderError.self) { try BIRDRenderer.render(input) }
        input.passwords = [:]
        #expect(!(try BIRDRenderer.render(input).contains("password")))
    }

    @Test("the mesh: one peer per other node of the family, none for a route reflector")
    func meshMembers() throws {
        let nodes = [
            node("a", v4: "10.0.0.1/24"), node("b", v4: "10.0.0.2/24"), node("c", v6: "fd00::3/64"),
            node("r", v4: "10.0.0.9/24", rr: "244.0.0.1"),
        ]
        let a = try BIRDRenderer.render(BGPRenderInput(nodeName: "a", nodes: nodes))
        #expect(protocolNames(in: a) == ["Mesh_10_0_0_2"])
        let r = try BIRDRenderer.render(BGPRenderInput(nodeName: "r", nodes: nodes))
        #expect(protocolNames(in: r).isEmpty)
        let off = try BIRDRenderer.render(BGPRenderInput(
            nodeName: "a", configurations: [config("default", BGPConfigurationSpec(nodeToNodeMeshEnabled: false))], nodes: nodes))
        #expect(protocolNames(in: off).isEmpty)
        #expect(off.contains("# No BGP peers configured for this node"))
    }

    /// Exactly one end of every mesh session dials, whatever the addresses.
    @Test("the mesh: exactly one side is passive")
    func meshPassiveSide() async {
        await propertyCheck(count: 60, input: Gen.uint32().array(of: 2...6)) { values in
            let addresses = Array(Set(values.map { IPAddress(family: .v4, value: UInt128($0)) })).filter { $0.value != 0 }
            let nodes = addresses.enumerated().map { node("n\($0.offset)", v4: "\($0.element)/32") }
            var passive: [String: Bool] = [:]
            for n in nodes {
                let text = try BIRDRenderer.render(BGPRenderInput(nodeName: n.metadata.name!, nodes: nodes))
                for other in nodes where other.metadata.name != n.metadata.name {
                    let ip = other.spec.ipv4Network!.address
                    let block = protocolBlock("Mesh_" + ip.description.replacing(".", with: "_"), in: text)
                    #expect(!block.isEmpty)
                    passive["\(n.metadata.name!)->\(other.metadata.name!)"] = block.contains("passive on;")
                }
            }
            for a in nodes {
                for b in nodes where a.metadata.name! < b.metadata.name! {
                    let ab = passive["\(a.metadata.name!)->\(b.metadata.name!)"]!
                    let ba = passive["\(b.metadata.name!)->\(a.metadata.name!)"]!
                    #expect(ab != ba, "\(a.spec.bgp!.ipv4Address) and \(b.spec.bgp!.ipv4Address)")
                }
            }
        }
    }

    @Test("AS numbers: the node's, else the default configuration's, else 64512")
    func asNumbers() throws {
        let nodes = [node("a", v4: "10.0.0.1/24", as: 65001), node("b", v4: "10.0.0.2/24"), node("c", v4: "10.0.0.3/24", as: 65003)]
        let plain = try BIRDRenderer.render(BGPRenderInput(nodeName: "b", nodes: nodes))
        #expect(plain.contains("  local as 64512;"))
        #expect(protocolBlock("Mesh_10_0_0_1", in: plain).contains("neighbor 10.0.0.1 as 65001;"))
        let configured = try BIRDRenderer.render(BGPRenderInput(
            nodeName: "b", configurations: [config("default", BGPConfigurationSpec(asNumber: 64700))], nodes: nodes))
        #expect(configured.contains("  local as 64700;"))
        let a = try BIRDRenderer.render(BGPRenderInput(
            nodeName: "a", configurations: [config("default", BGPConfigurationSpec(asNumber: 64700))], nodes: nodes))
        #expect(a.contains("  local as 65001;"))
        #expect(protocolBlock("Mesh_10_0_0_2", in: a).contains("neighbor 10.0.0.2 as 64700;"))
        // eBGP mesh sessions are not "internal": tunnel routes are not filtered for them.
        #expect(protocolBlock("Mesh_10_0_0_2", in: a).contains("calico_export_to_bgp_peers_v4(false);"))
    }

    @Test("a global peering to a Calico node: passive by address on one side, reversed on the other")
    func reversePeering() throws {
        let peers = [peer("to-b", BGPPeerSpec(node: "a", peerIP: "10.0.0.2", asNumber: 64512))]
        let meshOff = [config("default", BGPConfigurationSpec(nodeToNodeMeshEnabled: false))]
        let a = try BIRDRenderer.render(BGPRenderInput(nodeName: "a", configurations: meshOff, nodes: two, peers: peers))
        let b = try BIRDRenderer.render(BGPRenderInput(nodeName: "b", configurations: meshOff, nodes: two, peers: peers))
        #expect(protocolNames(in: a) == ["Node_10_0_0_2"])
        #expect(protocolNames(in: b) == ["Node_10_0_0_1"])
        var manual = peers
        manual[0].spec.reversePeering = .manual
        let bManual = try BIRDRenderer.render(BGPRenderInput(nodeName: "b", configurations: meshOff, nodes: two, peers: manual))
        #expect(protocolNames(in: bManual).isEmpty)

        // A global peering to a Calico node: the node with the larger address (as text) waits.
        let global = [peer("all-to-a", BGPPeerSpec(peerIP: "10.0.0.1", asNumber: 64512))]
        let bGlobal = try BIRDRenderer.render(BGPRenderInput(nodeName: "b", configurations: meshOff, nodes: two, peers: global))
        #expect(protocolNames(in: bGlobal) == ["Global_10_0_0_1"])
        #expect(!protocolBlock("Global_10_0_0_1", in: bGlobal).contains("passive on;"))
        let aGlobal = try BIRDRenderer.render(BGPRenderInput(nodeName: "a", configurations: meshOff, nodes: two, peers: global))
        #expect(protocolNames(in: aGlobal) == ["Node_10_0_0_2"])
    }

    @Test("a node-specific peering to an address with a global peering is dropped")
    func globalWins() throws {
        let peers = [
            peer("global", BGPPeerSpec(peerIP: "192.0.2.1", asNumber: 65000, keepaliveTime: "10s")),
            peer("mine", BGPPeerSpec(node: "a", peerIP: "192.0.2.1", asNumber: 65000, keepaliveTime: "30s")),
        ]
        let text = try BIRDRenderer.render(BGPRenderInput(nodeName: "a", nodes: two, peers: peers))
        #expect(protocolNames(in: text) == ["Global_192_0_2_1", "Mesh_10_0_0_2"])
        #expect(protocolBlock("Global_192_0_2_1", in: text).contains("keepalive time 10;"))
    }

    @Test("ports: peerIP with a port names it; a Calico node peer without one gets its listen port")
    func ports() throws {
        let configs = [
            config("default", BGPConfigurationSpec(nodeToNodeMeshEnabled: false)),
            config("node.b", BGPConfigurationSpec(listenPort: 1790)),
        ]
        let peers = [
            peer("ext", BGPPeerSpec(peerIP: "192.0.2.1:1179", asNumber: 65000)),
            peer("b", BGPPeerSpec(node: "a", peerIP: "10.0.0.2", asNumber: 64512, reversePeering: .manual)),
        ]
        let a = try BIRDRenderer.render(BGPRenderInput(nodeName: "a", configurations: configs, nodes: two, peers: peers))
        #expect(protocolNames(in: a) == ["Global_192_0_2_1_port_1179", "Node_10_0_0_2_port_1790"])
        #expect(protocolBlock("Global_192_0_2_1_port_1179", in: a).contains("neighbor 192.0.2.1 port 1179 as 65000;"))
        #expect(!a.contains("local port"))
        let b = try BIRDRenderer.render(BGPRenderInput(nodeName: "b", configurations: configs, nodes: two, peers: peers))
        #expect(b.contains("  local port 1790;"))
    }

    @Test("log levels: debug, info (default) and anything else (none)", arguments: [
        ("", "  debug { states, routes, filters, events };"), ("Info", "  debug { states, routes, filters, events };"),
        ("Debug", "  debug all;"), ("Warning", nil), ("Fatal", nil),
    ] as [(String, String?)])
    func logLevels(_ level: String, _ peerDebug: String?) throws {
        let text = try BIRDRenderer.render(BGPRenderInput(
            nodeName: "a", configurations: [config("default", BGPConfigurationSpec(logSeverityScreen: level))], nodes: two))
        if let peerDebug {
            #expect(text.contains(peerDebug))
        } else {
            #expect(!text.contains("debug"))
        }
        // The node's own level wins.
        let overridden = try BIRDRenderer.render(BGPRenderInput(
            nodeName: "a",
            configurations: [config("default", BGPConfigurationSpec(logSeverityScreen: level)), config("node.a", BGPConfigurationSpec(logSeverityScreen: "Debug"))],
            nodes: two))
        #expect(overridden.contains("  debug all;"))
    }

    @Test("blocks: pending ignored, pending deletion blackholed but not aggregated, host-sized never blackholed")
    func blocks() throws {
        let text = try BIRDRenderer.render(BGPRenderInput(
            nodeName: "a", nodes: two, pools: [pool("10.244.0.0/16")],
            blocks: [
                BGPBlockAffinity(cidr: CIDR("10.244.0.0/26")!), BGPBlockAffinity(cidr: CIDR("10.244.0.64/26")!, state: .pending),
                BGPBlockAffinity(cidr: CIDR("10.244.0.128/26")!, state: .pendingDeletion), BGPBlockAffinity(cidr: CIDR("10.244.1.1/32")!),
            ]))
        #expect(text.contains("route 10.244.0.0/26 blackhole;"))
        #expect(!text.contains("10.244.0.64/26"))
        #expect(text.contains("route 10.244.0.128/26 blackhole;"))
        #expect(!text.contains("if ( net = 10.244.0.128/26 )"))
        #expect(!text.contains("route 10.244.1.1/32 blackhole;"))
        #expect(text.contains("if ( net = 10.244.1.1/32 ) then { accept; }"))
        let none = try BIRDRenderer.render(BGPRenderInput(nodeName: "a", nodes: two))
        #expect(!none.contains("protocol static"))
    }

    @Test("export: only pool addresses, never disableBGPExport pools")
    func export() throws {
        let text = try BIRDRenderer.render(BGPRenderInput(
            nodeName: "a", nodes: two, pools: [pool("10.244.0.0/16"), pool("10.245.0.0/16", disableBGPExport: true), pool("fd00:244::/48")]))
        #expect(text.contains("  if (net ~ 10.245.0.0/16) then { reject; } # BGP export is disabled.\n  if (internal_peer)"))
        #expect(text.contains("  calico_aggr_v4();\n  if (net ~ 10.244.0.0/16) then { accept; }\n}"))
        // No IPv6 address or block: no IPv6 section at all.
        #expect(!text.contains("fd00:244::/48"))
    }

    @Test("the same cluster in any order renders the same text")
    func deterministic() async throws {
        let scenario = Scenarios.routeReflectors
        let input = try scenario.input(for: "rr1")
        let expected = try BIRDRenderer.render(input)
        await propertyCheck(count: 40, input: Gen.uint64()) { seed in
            var rng = SplitMix(seed: seed)
            var shuffled = input
            shuffled.nodes.shuffle(using: &rng)
            shuffled.peers.shuffle(using: &rng)
            shuffled.pools.shuffle(using: &rng)
            shuffled.blocks.shuffle(using: &rng)
            let text = try BIRDRenderer.render(shuffled)
            #expect(text == expected)
        }
    }

    @Test("BIRD's parser is strict: a broken configuration is rejected")
    func parserRejects() throws {
        guard BIRDParser.path != nil || BIRDParser.isRequired else { return }
        let good = try BIRDRenderer.render(Scenarios.mesh.input(for: "node1"))
        #expect(try BIRDParser.check(good) == nil)
        let broken = good.replacing("  metric 0;", with: "  ipv4 { merge paths on; };")
        #expect(try BIRDParser.check(broken) != nil)
    }
}

struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
