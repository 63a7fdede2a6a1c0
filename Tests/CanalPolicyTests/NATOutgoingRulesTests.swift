import CanalModel
import CanalPolicy
import Testing

@Suite struct NATOutgoingRulesTests {
    static func pool(_ name: String, _ cidr: String, nat: Bool) -> IPPool {
        IPPool(metadata: ObjectMeta(name: name), spec: IPPoolSpec(cidr: cidr, natOutgoing: nat))
    }

    static let pools = [pool("a", "10.65.0.0/16", nat: true), pool("b", "10.66.0.0/16", nat: false), pool("c", "fd00:1::/64", nat: true)]

    @Test func masqueradesFromMasqueradingPoolsToOutsideEveryPool() throws {
        let rules = try #require(NATOutgoing.rules(pools: Self.pools, settings: HostNetworkSettings(), family: .v4))
        #expect(rules.ipSets.map(\.name) == ["cali40all-ipam-pools", "cali40masq-ipam-pools"])
        #expect(rules.ipSets[0].members == [.net(CIDR("10.65.0.0/16")!), .net(CIDR("10.66.0.0/16")!)])
        #expect(rules.ipSets[1].members == [.net(CIDR("10.65.0.0/16")!)])
        let ruleSet = RuleSet(family: .v4).merging(tables: [rules.table], ipSets: rules.ipSets)
        #expect(ruleSet.problems().isEmpty)
        let text = IptablesRenderer().restoreInput(ruleSet)
        #expect(text.contains("*nat\n"))
        #expect(text.contains("-A cali-POSTROUTING -m comment --comment \"cali:"))
        #expect(text.contains("-m set --match-set cali40masq-ipam-pools src -m set ! --match-set cali40all-ipam-pools dst --jump MASQUERADE"), "\(text)")
        #expect(text.contains("-A POSTROUTING -m comment"), "appended to POSTROUTING: \(text)")
        let nft = NftablesRenderer().script(ruleSet)
        #expect(nft.contains("type nat hook postrouting priority srcnat; policy accept;"), "\(nft)")
        #expect(nft.contains("ip saddr @cali40masq-ipam-pools ip daddr != @cali40all-ipam-pools masquerade"), "\(nft)")
    }

    @Test func natOutgoingAddressIsSNATAndOnlyIPv4() throws {
        var spec = FelixConfigurationSpec()
        spec.natOutgoingAddress = "192.0.2.7"
        spec.iptablesNATOutgoingInterfaceFilter = "eth+"
        let settings = try HostNetworkSettings(spec)
        let v4 = try #require(NATOutgoing.rules(pools: Self.pools, settings: settings, family: .v4))
        #expect(v4.table.chain(named: NATOutgoing.chain)?.rules.first?.action == .snat(IPAddress("192.0.2.7")!))
        #expect(v4.table.chain(named: NATOutgoing.chain)?.rules.first?.match.last == .outInterface(.prefix("eth")))
        let v6 = try #require(NATOutgoing.rules(pools: Self.pools, settings: settings, family: .v6))
        #expect(v6.table.chain(named: NATOutgoing.chain)?.rules.first?.action == .masquerade)
        #expect(v6.ipSets.map(\.name) == ["cali60all-ipam-pools", "cali60masq-ipam-pools"])
        #expect(IptablesRenderer().restoreInput(RuleSet(family: .v4).merging(tables: [v4.table], ipSets: v4.ipSets))
            .contains("--out-interface eth+ --jump SNAT --to-source 192.0.2.7"))
    }

    @Test func noMasqueradingPoolLeavesTheChainEmptyAndNoPoolNoTable() throws {
        let rules = try #require(NATOutgoing.rules(pools: [Self.pool("b", "10.66.0.0/16", nat: false)], settings: HostNetworkSettings(), family: .v4))
        #expect(rules.table.chain(named: NATOutgoing.chain)?.rules == [])
        #expect(NATOutgoing.rules(pools: [Self.pool("b", "10.66.0.0/16", nat: false)], settings: HostNetworkSettings(), family: .v6) == nil)
    }

    @Test func badNATOutgoingAddressNamesTheField() {
        for text in ["fd00::1", "nope"] {
            var spec = FelixConfigurationSpec()
            spec.natOutgoingAddress = text
            #expect(throws: PolicyCompileError.self) { try HostNetworkSettings(spec) }
            do {
                _ = try HostNetworkSettings(spec)
            } catch {
                #expect(error.description.contains("natOutgoingAddress"))
            }
        }
    }
}
