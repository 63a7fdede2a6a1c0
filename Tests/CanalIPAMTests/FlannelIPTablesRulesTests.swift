@testable import CanalIPAM
import CanalModel
import Testing

@Suite("flanneld iptables chains: --ip-masq and FLANNEL-FWD, IPv4 and IPv6")
struct FlannelIPTablesRulesTests {
    let masq = #"-m comment --comment "flanneld masq""#
    let fwd = #"-m comment --comment "flanneld forward""#

    @Test("IPv4 masquerade: flannel's six rules in order, --random-fully only when asked")
    func masqueradeV4() {
        let chain = FlannelIPTablesChain.masquerade(network: CIDR("10.5.0.0/16")!, subnet: CIDR("10.5.52.0/24")!, randomFully: true)
        #expect(chain.command == "iptables" && chain.table == "nat" && chain.parent == "POSTROUTING")
        #expect(chain.rules == [
            "-A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 \(masq) -j RETURN",
            "-A FLANNEL-POSTRTG -s 10.5.52.0/24 -d 10.5.0.0/16 \(masq) -j RETURN",
            "-A FLANNEL-POSTRTG -s 10.5.0.0/16 -d 10.5.52.0/24 \(masq) -j RETURN",
            "-A FLANNEL-POSTRTG ! -s 10.5.0.0/16 -d 10.5.52.0/24 \(masq) -j RETURN",
            "-A FLANNEL-POSTRTG -s 10.5.0.0/16 ! -d 224.0.0.0/4 \(masq) -j MASQUERADE --random-fully",
            "-A FLANNEL-POSTRTG ! -s 10.5.0.0/16 -d 10.5.0.0/16 \(masq) -j MASQUERADE --random-fully",
        ])
        #expect(chain.jump == "-A POSTROUTING \(masq) -j FLANNEL-POSTRTG")
        #expect(chain.jumpArguments == ["-m", "comment", "--comment", "flanneld masq", "-j", "FLANNEL-POSTRTG"])
        let plain = FlannelIPTablesChain.masquerade(network: CIDR("10.5.0.0/16")!, subnet: CIDR("10.5.52.0/24")!, randomFully: false)
        #expect(plain.rules[4] == "-A FLANNEL-POSTRTG -s 10.5.0.0/16 ! -d 224.0.0.0/4 \(masq) -j MASQUERADE")
        #expect(plain.rules[5] == "-A FLANNEL-POSTRTG ! -s 10.5.0.0/16 -d 10.5.0.0/16 \(masq) -j MASQUERADE")
    }

    @Test("IPv6 masquerade: ip6tables, ff00::/8 is the multicast exception, addresses as ip6tables prints them")
    func masqueradeV6() {
        let chain = FlannelIPTablesChain.masquerade(network: CIDR("fd00:10::/48")!, subnet: CIDR("fd00:10:0:3::/64")!, randomFully: true)
        #expect(chain.command == "ip6tables" && chain.table == "nat")
        #expect(chain.rules == [
            "-A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 \(masq) -j RETURN",
            "-A FLANNEL-POSTRTG -s fd00:10:0:3::/64 -d fd00:10::/48 \(masq) -j RETURN",
            "-A FLANNEL-POSTRTG -s fd00:10::/48 -d fd00:10:0:3::/64 \(masq) -j RETURN",
            "-A FLANNEL-POSTRTG ! -s fd00:10::/48 -d fd00:10:0:3::/64 \(masq) -j RETURN",
            "-A FLANNEL-POSTRTG -s fd00:10::/48 ! -d ff00::/8 \(masq) -j MASQUERADE --random-fully",
            "-A FLANNEL-POSTRTG ! -s fd00:10::/48 -d fd00:10::/48 \(masq) -j MASQUERADE --random-fully",
        ])
    }

    @Test("forward: accept from and to the network, jumped to from FORWARD, v4 and v6; host bits masked")
    func forward() {
        let v4 = FlannelIPTablesChain.forward(network: CIDR("10.5.0.0/16")!)
        #expect(v4.command == "iptables" && v4.table == "filter" && v4.parent == "FORWARD" && v4.chain == "FLANNEL-FWD")
        #expect(v4.rules == ["-A FLANNEL-FWD -s 10.5.0.0/16 \(fwd) -j ACCEPT", "-A FLANNEL-FWD -d 10.5.0.0/16 \(fwd) -j ACCEPT"])
        #expect(v4.jump == "-A FORWARD \(fwd) -j FLANNEL-FWD")
        #expect(v4.jumpArguments == ["-m", "comment", "--comment", "flanneld forward", "-j", "FLANNEL-FWD"])
        let v6 = FlannelIPTablesChain.forward(network: CIDR("fd00:10::1/48")!)
        #expect(v6.command == "ip6tables" && v6.table == "filter")
        #expect(v6.network == CIDR("fd00:10::/48")!)
        #expect(v6.rules == ["-A FLANNEL-FWD -s fd00:10::/48 \(fwd) -j ACCEPT", "-A FLANNEL-FWD -d fd00:10::/48 \(fwd) -j ACCEPT"])
    }

    @Test("restore input declares (empties) the chain, fills it, and appends the jump only when missing")
    func restoreInput() {
        let chain = FlannelIPTablesChain.forward(network: CIDR("10.5.0.0/16")!)
        #expect(chain.restoreInput(addJump: true) == """
            *filter
            :FLANNEL-FWD - [0:0]
            -A FLANNEL-FWD -s 10.5.0.0/16 \(fwd) -j ACCEPT
            -A FLANNEL-FWD -d 10.5.0.0/16 \(fwd) -j ACCEPT
            -A FORWARD \(fwd) -j FLANNEL-FWD
            COMMIT

            """)
        let nat = FlannelIPTablesChain.masquerade(network: CIDR("10.5.0.0/16")!, subnet: CIDR("10.5.52.0/24")!, randomFully: false)
        #expect(nat.restoreInput(addJump: false) == (["*nat", ":FLANNEL-POSTRTG - [0:0]"] + nat.rules + ["COMMIT", ""]).joined(separator: "\n"))
    }

    @Test("a listing matches only with exactly the rules, in order")
    func matches() {
        let chain = FlannelIPTablesChain.forward(network: CIDR("10.5.0.0/16")!)
        let listing = "-N FLANNEL-FWD\n" + chain.rules.joined(separator: "\n") + "\n"
        #expect(chain.matches(listing: listing))
        #expect(!chain.matches(listing: "-N FLANNEL-FWD\n" + chain.rules.reversed().joined(separator: "\n")))
        #expect(!chain.matches(listing: "-N FLANNEL-FWD\n" + chain.rules[0]))
        #expect(!chain.matches(listing: listing + "-A FLANNEL-FWD -j DROP\n"))
        #expect(!FlannelIPTablesChain.forward(network: CIDR("10.6.0.0/16")!).matches(listing: listing))
    }

    @Test("net-conf IPv6Network and EnableNFTables: read, written back, IPv6Network required with EnableIPv6")
    func config() throws {
        let json = #"{"Network":"10.5.0.0/16","EnableIPv6":true,"IPv6Network":"fd00:10::5/48","enablenftables":true,"Backend":{"Type":"host-gw"}}"#
        let config = try FlannelNetworkConfig(json: Array(json.utf8))
        #expect(config.enableIPv6 && config.enableNFTables)
        #expect(config.ipv6Network == CIDR("fd00:10::5/48")!)
        #expect(try config.validated().ipv6Network == CIDR("fd00:10::/48")!)
        #expect(try FlannelNetworkConfig(json: config.jsonBytes) == config)
        #expect(try FlannelNetworkConfig(json: Array(#"{"Network":"10.5.0.0/16"}"#.utf8)).enableNFTables == false)
        #expect(throws: IPAMError.self) { try FlannelNetworkConfig(json: Array(#"{"Network":"10.5.0.0/16","IPv6Network":"10.6.0.0/16"}"#.utf8)) }
        #expect(throws: IPAMError.self) { try FlannelNetworkConfig(network: CIDR("10.5.0.0/16"), enableIPv6: true).validated() }
        // Without EnableIPv6 an IPv6Network is kept but not required.
        #expect(try FlannelNetworkConfig(network: CIDR("10.5.0.0/16")).validated().ipv6Network == nil)
    }
}
