import CanalModel
import CanalPolicy
import Testing

@Suite struct DiffAndRendererTests {
    static func set(_ name: String, _ members: [String], maxSize: Int = IPSet.defaultMaxSize) -> IPSet {
        IPSet(name: name, type: .hashNet, family: .v4, maxSize: maxSize, members: Set(members.map { .net(CIDR(ipOrCIDR: $0)!) }))
    }

    static func ruleSet(chains: [Chain], sets: [IPSet] = [], hooks: [ChainRule] = [ChainRule([], .jump("cali-a"))]) -> RuleSet {
        RuleSet(family: .v4, tables: [Table(.filter, chains: chains, hooks: [KernelChainHooks(chain: "FORWARD", inserted: hooks)])], ipSets: sets)
    }

    @Test func iptablesUpdateReplacesFromFirstChangeAndDeletesSurplus() {
        let a = [ChainRule([], .accept), ChainRule([.ipProtocol(.tcp)], .drop), ChainRule([], .return), ChainRule([], .drop)]
        let old = Self.ruleSet(chains: [Chain("cali-a", a), Chain("cali-gone", [ChainRule([], .drop)])])
        let new = Self.ruleSet(chains: [Chain("cali-a", [a[0], ChainRule([.ipProtocol(.udp)], .drop)]), Chain("cali-new", [ChainRule([], .accept)])])
        let diff = RuleSetDiff(from: old, to: new)
        let r = IptablesRenderer()
        let hashes = r.hashes("cali-a", new.tables[0].chains[0].rules, family: .v4)
        #expect(r.restoreInput(diff) == """
            *filter
            :cali-new - -
            :cali-gone - -
            -A cali-new -m comment --comment "cali:\(r.hashes("cali-new", [ChainRule([], .accept)], family: .v4)[0])" --jump ACCEPT
            -R cali-a 2 -m comment --comment "cali:\(hashes[1])" -p udp --jump DROP
            -D cali-a 3
            -D cali-a 3
            --delete-chain cali-gone
            COMMIT

            """)
        #expect(RuleSetDiff(from: new, to: new).isEmpty)
        #expect(r.restoreInput(RuleSetDiff(from: new, to: new)) == "")
    }

    @Test func iptablesUpdateRewritesChangedHooks() {
        let old = Self.ruleSet(chains: [Chain("cali-a")])
        let new = Self.ruleSet(chains: [Chain("cali-a")], hooks: [ChainRule([], .jump("cali-a")), ChainRule([.inInterface(.prefix("cali"))], .accept)])
        let text = IptablesRenderer().restoreInput(RuleSetDiff(from: old, to: new)).split(separator: "\n")
        #expect(text.count == 5)
        #expect(text[1].hasPrefix("-D FORWARD -m comment --comment \"cali:"))
        #expect(text[2].hasSuffix("--in-interface cali+ --jump ACCEPT") && text[2].hasPrefix("-I FORWARD "))
        #expect(text[3].hasSuffix("--jump cali-a") && text[3].hasPrefix("-I FORWARD "))
    }

    @Test func ipSetFullAndUpdate() {
        let a = Self.set("cali40s:a", ["10.0.0.2", "10.0.0.1"])
        let ports = IPSet(name: "cali40n:p", type: .hashIPPort, family: .v4, members: [.addressPort(IPAddress("10.0.0.3")!, .tcp, 5432)])
        let full = IPSetRenderer().restoreInput(RuleSet(family: .v4, ipSets: [a, ports]))
        #expect(full == """
            create cali40s:a hash:net family inet maxelem 1048576 -exist
            flush cali40s:a
            add cali40s:a 10.0.0.1/32
            add cali40s:a 10.0.0.2/32
            create cali40n:p hash:ip,port family inet maxelem 1048576 -exist
            flush cali40n:p
            add cali40n:p 10.0.0.3,tcp:5432
            COMMIT

            """)
        let diff = IPSetDiff(from: [a, ports, Self.set("cali40s:old", [])],
                             to: [Self.set("cali40s:a", ["10.0.0.2", "10.1.0.0/16"]), IPSet(name: "cali40n:p", type: .hashIPPort, family: .v4, maxSize: 10, members: ports.members), Self.set("cali40s:b", ["10.0.0.9"])])
        let update = IPSetRenderer().update(diff)
        #expect(update.beforeRules == """
            create cali40s:b hash:net family inet maxelem 1048576
            add cali40s:b 10.0.0.9/32
            add cali40s:a 10.1.0.0/16 -exist
            del cali40s:a 10.0.0.1/32 -exist
            create cali4t0 hash:ip,port family inet maxelem 10
            add cali4t0 10.0.0.3,tcp:5432
            swap cali4t0 cali40n:p
            destroy cali4t0
            COMMIT

            """)
        #expect(update.afterRules == "destroy cali40s:old\nCOMMIT\n")
    }

    @Test func nftScriptOfSmallRuleSet() {
        let webSet = Self.set("cali40s:web", ["10.0.0.2", "10.0.0.0/8"])
        let chain = Chain("cali-pi-gnp/x", [
            ChainRule([.ipProtocol(.tcp), .sourceIPSet("cali40s:web"), .destinationPorts(PortList([PortRange(80), PortRange(6000, 6010)!])!)],
                 .setMarkBits(0x10000), comments: ["GlobalNetworkPolicy x ingress"]),
            ChainRule([.markSet(0x10000)], .return),
            ChainRule([.ipProtocol(.icmp), .icmp(type: 8, code: 0, negated: true)], .drop),
            ChainRule([.conntrack([.established, .related])], .accept),
            ChainRule([.inInterface(.prefix("cali")), .destinationPorts(PortList([PortRange(53)])!, negated: true)], .clearMark(0x30000)),
        ])
        let script = NftablesRenderer().script(Self.ruleSet(chains: [Chain("cali-a", [ChainRule([], .jump(chain.name))]), chain], sets: [webSet]))
        let portSet = script.split(separator: "\n").first { $0.contains("set canal-p-") }!
        let icmpSet = script.split(separator: "\n").first { $0.contains("set canal-i-") }!
        let p = portSet.split(separator: " ")[1], i = icmpSet.split(separator: " ")[1]
        #expect(script == """
            table ip canal
            delete table ip canal
            table ip canal {
            \tset cali40s-web {
            \t\ttype ipv4_addr
            \t\tflags interval
            \t\telements = { 10.0.0.0/8 }
            \t}
            \tset \(p) {
            \t\ttype inet_service
            \t\tflags interval
            \t\telements = { 80, 6000-6010 }
            \t}
            \tset \(i) {
            \t\ttype icmp_type . icmp_code
            \t\telements = { 8 . 0 }
            \t}
            \tchain filter-FORWARD {
            \t\ttype filter hook forward priority filter; policy accept;
            \t\tjump filter-cali-a
            \t}
            \tchain filter-cali-a {
            \t\tjump filter-cali-pi-gnp/x
            \t}
            \tchain filter-cali-pi-gnp/x {
            \t\tmeta l4proto tcp ip saddr @cali40s-web th dport @\(p) meta mark set meta mark & 0xfffeffff | 0x00010000 comment "GlobalNetworkPolicy x ingress"
            \t\tmeta mark & 0x00010000 == 0x00010000 return
            \t\tmeta l4proto icmp icmp type . icmp code != @\(i) drop
            \t\tct state related,established accept
            \t\tiifname "cali*" th dport != 53 meta mark set meta mark & 0xfffcffff | 0x00000000
            \t}
            }

            """)
    }

    @Test func nftUpdateFlushesChangedChainsAndDiffsElements() {
        let old = Self.ruleSet(chains: [Chain("cali-a", [ChainRule([.sourceIPSet("cali40s:s")], .accept)]), Chain("cali-gone")],
                               sets: [Self.set("cali40s:s", ["10.0.0.1", "10.0.0.2"])])
        let new = Self.ruleSet(chains: [Chain("cali-a", [ChainRule([.sourceIPSet("cali40s:s")], .drop)]), Chain("cali-new", [ChainRule([], .accept)])],
                               sets: [Self.set("cali40s:s", ["10.0.0.2", "10.0.0.3"])])
        #expect(NftablesRenderer().script(RuleSetDiff(from: old, to: new)) == """
            table ip canal
            add chain ip canal filter-cali-new
            flush chain ip canal filter-cali-a
            flush chain ip canal filter-cali-gone
            delete element ip canal cali40s-s { 10.0.0.1/32 }
            add element ip canal cali40s-s { 10.0.0.3/32 }
            add rule ip canal filter-cali-new accept
            add rule ip canal filter-cali-a ip saddr @cali40s-s drop
            delete chain ip canal filter-cali-gone

            """)
    }
    /// The derived sets (port lists, negated ICMP type/code) an nft update adds and deletes are
    /// exactly those the full scripts of the two states differ by, though the update looks only
    /// at changed chains: shared sets stay, gained ones are added once, lost ones deleted.
    @Test func nftUpdateAddsAndDeletesExactlyTheDerivedSetsThatDiffer() {
        func ports(_ list: [UInt16]) -> MatchCriterion { .destinationPorts(PortList(list.map { PortRange($0) })!) }
        func derived(_ script: String, _ verb: String) -> Set<String> {
            Set(script.split(separator: "\n").compactMap { line -> String? in
                let words = line.split(separator: " ")
                guard line.hasPrefix(verb), let name = words.first(where: { $0.hasPrefix("canal-") }) else { return nil }
                return String(name)
            })
        }
        var rng = SeededGenerator(seed: 42)
        let lists: [[UInt16]] = [[80, 443], [80, 443, 8080], [22, 23], [5432, 5433], [1, 3]]
        func randomChains() -> [Chain] {
            (0..<6).compactMap { i -> Chain? in
                guard Bool.random(using: &rng) else { return nil }
                let rules = (0..<Int.random(in: 0...3, using: &rng)).map { _ -> ChainRule in
                    var match: [MatchCriterion] = [.ipProtocol(.tcp), ports(lists.randomElement(using: &rng)!)]
                    if Bool.random(using: &rng) { match = [.ipProtocol(.icmp), .icmp(type: 8, code: UInt8.random(in: 0...1, using: &rng), negated: true)] }
                    return ChainRule(match, .accept)
                }
                return Chain("cali-c\(i)", rules)
            }
        }
        for _ in 0..<300 {
            let old = Self.ruleSet(chains: randomChains(), sets: []), new = Self.ruleSet(chains: randomChains(), sets: [])
            let before = derived(NftablesRenderer().script(old), "\tset ")
            let after = derived(NftablesRenderer().script(new), "\tset ")
            let update = NftablesRenderer().script(RuleSetDiff(from: old, to: new))
            #expect(derived(update, "add set ") == after.subtracting(before), "\(update)")
            #expect(derived(update, "delete set ") == before.subtracting(after), "\(update)")
        }
    }
}
