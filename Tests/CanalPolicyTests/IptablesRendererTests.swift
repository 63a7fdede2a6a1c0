import CanalModel
import CanalPolicy
import Testing

/// The worked example of felix-rules.md §8 rendered from hand-built IR must match Felix's text
/// byte for byte (rule order, long-option spelling and every `cali:` hash).
@Suite struct IptablesRendererTests {
    static let felixFirstApply = #"""
*filter
:cali-FORWARD - -
:cali-INPUT - -
:cali-OUTPUT - -
:cali-wl-to-host - -
:cali-from-wl-dispatch - -
:cali-to-wl-dispatch - -
:cali-fw-cali1a2b3c4d5e6 - -
:cali-tw-cali1a2b3c4d5e6 - -
:cali-fw-cali7f8e9d0c1b2 - -
:cali-tw-cali7f8e9d0c1b2 - -
:cali-pi-gnp/allow-web-to-db - -
:cali-pri-kns.default - -
:cali-pro-kns.default - -
:cali-from-host-endpoint - -
:cali-to-host-endpoint - -
:cali-from-hep-forward - -
:cali-to-hep-forward - -
:cali-cidr-block - -
-A cali-FORWARD -m comment --comment "cali:W_vvds1Nw3n9QE2f" --jump MARK --set-mark 0/0x1a0000
-A cali-FORWARD -m comment --comment "cali:ZfgmjuiLaA8Pg0kp" -m mark --mark 0/0x10000 --jump cali-from-hep-forward
-A cali-FORWARD -m comment --comment "cali:tAzwBLPaV-j53OOZ" --in-interface cali+ --jump cali-from-wl-dispatch
-A cali-FORWARD -m comment --comment "cali:4Z0Pf0byo05NFe-P" --out-interface cali+ --jump cali-to-wl-dispatch
-A cali-FORWARD -m comment --comment "cali:hQ7Oc16wmUtLuneJ" --jump cali-to-hep-forward
-A cali-FORWARD -m comment --comment "cali:rnKNH2WxGcRQcIlD" --jump cali-cidr-block
-A cali-INPUT -m comment --comment "cali:FewJpBykm9iJ-YNH" --in-interface cali+ --goto cali-wl-to-host
-A cali-INPUT -m comment --comment "cali:hder3ARWznqqv8Va" -m mark --mark 0x10000/0x10000 --jump ACCEPT
-A cali-INPUT -m comment --comment "cali:eyx2leKMZ98ckPa-" --jump MARK --set-mark 0/0x1b0000
-A cali-INPUT -m comment --comment "cali:3x0rc-VDNNJkVu93" --jump cali-from-host-endpoint
-A cali-INPUT -m comment --comment "cali:pARw-KZUlQru4OX0" -m comment --comment "Host endpoint policy accepted packet." -m mark --mark 0x10000/0x10000 --jump ACCEPT
-A cali-OUTPUT -m comment --comment "cali:Mq1_rAdXXH3YkrzW" -m mark --mark 0x10000/0x10000 --jump ACCEPT
-A cali-OUTPUT -m comment --comment "cali:69FkRTJDvD5Vu6Vl" --out-interface cali+ --jump RETURN
-A cali-OUTPUT -m comment --comment "cali:_qC1vc3_sSxJWgRW" --jump MARK --set-mark 0/0x1b0000
-A cali-OUTPUT -m comment --comment "cali:utu2eOH2IZRmlfMX" -m conntrack ! --ctstate DNAT --jump cali-to-host-endpoint
-A cali-OUTPUT -m comment --comment "cali:IL6b-f6R0sfjMo-y" -m comment --comment "Host endpoint policy accepted packet." -m mark --mark 0x10000/0x10000 --jump ACCEPT
-A cali-wl-to-host -m comment --comment "cali:Ee9Sbo10IpVujdIY" --jump cali-from-wl-dispatch
-A cali-wl-to-host -m comment --comment "cali:eFOMW3jAdcq1gnVZ" -m comment --comment "Configured DefaultEndpointToHostAction" --jump DROP
-A cali-from-wl-dispatch -m comment --comment "cali:3BqlArqTDeU0ru4s" --in-interface cali1a2b3c4d5e6 --goto cali-fw-cali1a2b3c4d5e6
-A cali-from-wl-dispatch -m comment --comment "cali:k-DrSl0KDZpP85Om" --in-interface cali7f8e9d0c1b2 --goto cali-fw-cali7f8e9d0c1b2
-A cali-from-wl-dispatch -m comment --comment "cali:BgowbcAuHQgNz0kw" -m comment --comment "Unknown interface" --jump DROP
-A cali-to-wl-dispatch -m comment --comment "cali:AXk6QScv5PasSc3s" --out-interface cali1a2b3c4d5e6 --goto cali-tw-cali1a2b3c4d5e6
-A cali-to-wl-dispatch -m comment --comment "cali:-aq6GgWrt66cVM60" --out-interface cali7f8e9d0c1b2 --goto cali-tw-cali7f8e9d0c1b2
-A cali-to-wl-dispatch -m comment --comment "cali:bxvzzG8DEGDqsJ6W" -m comment --comment "Unknown interface" --jump DROP
-A cali-fw-cali1a2b3c4d5e6 -m comment --comment "cali:6WxyiugGkaUDSLhJ" -m conntrack --ctstate RELATED,ESTABLISHED --jump ACCEPT
-A cali-fw-cali1a2b3c4d5e6 -m comment --comment "cali:EuE65ZrzBjK6haYY" -m conntrack --ctstate INVALID --jump DROP
-A cali-fw-cali1a2b3c4d5e6 -m comment --comment "cali:WF4G0PtuVv7amadn" --jump MARK --set-mark 0/0x30000
-A cali-fw-cali1a2b3c4d5e6 -m comment --comment "cali:H_so0bcUUZVNFyN-" -m comment --comment "Drop VXLAN encapped packets originating in workloads" -p 17 -m multiport --destination-ports 4789 --jump DROP
-A cali-fw-cali1a2b3c4d5e6 -m comment --comment "cali:oR-OO9Bu7DbSnpK-" -m comment --comment "Drop IPinIP encapped packets originating in workloads" -p 4 --jump DROP
-A cali-fw-cali1a2b3c4d5e6 -m comment --comment "cali:jVihYrlfGl7O37R1" --jump cali-pro-kns.default
-A cali-fw-cali1a2b3c4d5e6 -m comment --comment "cali:Jp1OjuS6P0kIS4Xb" -m comment --comment "Return if profile accepted" -m mark --mark 0x10000/0x10000 --jump RETURN
-A cali-fw-cali1a2b3c4d5e6 -m comment --comment "cali:Pffp4RpScQLsodbs" -m comment --comment "Drop if no profiles matched" --jump DROP
-A cali-tw-cali1a2b3c4d5e6 -m comment --comment "cali:aAviOZqWyEAwmBpc" -m conntrack --ctstate RELATED,ESTABLISHED --jump ACCEPT
-A cali-tw-cali1a2b3c4d5e6 -m comment --comment "cali:mc3hHAqPoPQCvclA" -m conntrack --ctstate INVALID --jump DROP
-A cali-tw-cali1a2b3c4d5e6 -m comment --comment "cali:XxqZU8Xh64Y0eEsF" --jump MARK --set-mark 0/0x30000
-A cali-tw-cali1a2b3c4d5e6 -m comment --comment "cali:LbYby2XNZOChFgT-" --jump cali-pri-kns.default
-A cali-tw-cali1a2b3c4d5e6 -m comment --comment "cali:N4l38TsniFLYlNOP" -m comment --comment "Return if profile accepted" -m mark --mark 0x10000/0x10000 --jump RETURN
-A cali-tw-cali1a2b3c4d5e6 -m comment --comment "cali:dGZMJRlusF-5LOfD" -m comment --comment "Drop if no profiles matched" --jump DROP
-A cali-fw-cali7f8e9d0c1b2 -m comment --comment "cali:SV7004X8tofHhpA8" -m conntrack --ctstate RELATED,ESTABLISHED --jump ACCEPT
-A cali-fw-cali7f8e9d0c1b2 -m comment --comment "cali:R1Z1dCW8wFpSZ7ep" -m conntrack --ctstate INVALID --jump DROP
-A cali-fw-cali7f8e9d0c1b2 -m comment --comment "cali:l_mtznn6im2HN5kL" --jump MARK --set-mark 0/0x30000
-A cali-fw-cali7f8e9d0c1b2 -m comment --comment "cali:eOZi-_HxvdglPGmb" -m comment --comment "Drop VXLAN encapped packets originating in workloads" -p 17 -m multiport --destination-ports 4789 --jump DROP
-A cali-fw-cali7f8e9d0c1b2 -m comment --comment "cali:03PTbGddNyZ3ZV2O" -m comment --comment "Drop IPinIP encapped packets originating in workloads" -p 4 --jump DROP
-A cali-fw-cali7f8e9d0c1b2 -m comment --comment "cali:VuQEeAqBs7hjVwYt" --jump cali-pro-kns.default
-A cali-fw-cali7f8e9d0c1b2 -m comment --comment "cali:goCCjtN18aew2y4e" -m comment --comment "Return if profile accepted" -m mark --mark 0x10000/0x10000 --jump RETURN
-A cali-fw-cali7f8e9d0c1b2 -m comment --comment "cali:jjpWzTG0jbMrz-TM" -m comment --comment "Drop if no profiles matched" --jump DROP
-A cali-tw-cali7f8e9d0c1b2 -m comment --comment "cali:x9S0NBhG9Tazg_H0" -m conntrack --ctstate RELATED,ESTABLISHED --jump ACCEPT
-A cali-tw-cali7f8e9d0c1b2 -m comment --comment "cali:eXG8LR2Ul7rVgn9M" -m conntrack --ctstate INVALID --jump DROP
-A cali-tw-cali7f8e9d0c1b2 -m comment --comment "cali:e_NrgFAQ3RZ3amhy" --jump MARK --set-mark 0/0x30000
-A cali-tw-cali7f8e9d0c1b2 -m comment --comment "cali:pdSWqznTE-blRoFk" -m comment --comment "Start of tier default" --jump MARK --set-mark 0/0x20000
-A cali-tw-cali7f8e9d0c1b2 -m comment --comment "cali:wyDWtYE8K1TDBuPf" -m mark --mark 0/0x20000 --jump cali-pi-gnp/allow-web-to-db
-A cali-tw-cali7f8e9d0c1b2 -m comment --comment "cali:Vb16mXDm_mBkA4RJ" -m comment --comment "Return if policy accepted" -m mark --mark 0x10000/0x10000 --jump RETURN
-A cali-tw-cali7f8e9d0c1b2 -m comment --comment "cali:5fGMs4n7i7vDKn-3" -m comment --comment "End of tier default. Drop if no policies passed packet" -m mark --mark 0/0x20000 --jump DROP
-A cali-tw-cali7f8e9d0c1b2 -m comment --comment "cali:HZ18aaX3lYnou-as" --jump cali-pri-kns.default
-A cali-tw-cali7f8e9d0c1b2 -m comment --comment "cali:jf4uAHkeV9BPnn9j" -m comment --comment "Return if profile accepted" -m mark --mark 0x10000/0x10000 --jump RETURN
-A cali-tw-cali7f8e9d0c1b2 -m comment --comment "cali:i-bjFXAsRyORhf7J" -m comment --comment "Drop if no profiles matched" --jump DROP
-A cali-pi-gnp/allow-web-to-db -m comment --comment "cali:HCXvo2-iKoyDlhPO" -m comment --comment "GlobalNetworkPolicy allow-web-to-db ingress" -p tcp -m set --match-set cali40s:oy593DLyi5BRwxLRqXScOfE src -m multiport --destination-ports 5432 --jump MARK --set-mark 0x10000/0x10000
-A cali-pri-kns.default -m comment --comment "cali:WMSw8BmYOknRHfsz" -m comment --comment "Profile kns.default ingress" --jump MARK --set-mark 0x10000/0x10000
-A cali-pro-kns.default -m comment --comment "cali:Vr81boRqq4V77Sg8" -m comment --comment "Profile kns.default egress" --jump MARK --set-mark 0x10000/0x10000
-I INPUT -m comment --comment "cali:Cz_u1IQiXIMmKD4c" --jump cali-INPUT
-I FORWARD -m comment --comment "cali:wUHhoiAYhphO9Mso" --jump cali-FORWARD
-I OUTPUT -m comment --comment "cali:tVnHkvAo15HuiPy0" --jump cali-OUTPUT
-A FORWARD -m comment --comment "cali:S93hcgKJrXEqnTfs" -m comment --comment "Policy explicitly accepted packet." -m mark --mark 0x10000/0x10000 --jump ACCEPT
-A FORWARD -m comment --comment "cali:mp77cMpurHhyjLrM" --jump MARK --set-mark 0x10000/0x10000
COMMIT
"""#

    @Test func firstApplyOfWorkedExampleIsFelixText() {
        let ruleSet = WorkedExample.ruleSet()
        #expect(ruleSet.problems().isEmpty)
        let diff = RuleSetDiff(from: RuleSet(family: .v4), to: ruleSet)
        let text = IptablesRenderer().restoreInput(diff)
        let expected = Self.felixFirstApply.split(separator: "\n")
        let actual = text.split(separator: "\n")
        #expect(actual.count == expected.count)
        for (a, e) in zip(actual, expected) where a != e {
            Issue.record("line differs:\n got \(a)\nwant \(e)")
        }
    }

    @Test func fullFormDeclaresAndAppendsEverything() {
        let text = IptablesRenderer().restoreInput(WorkedExample.ruleSet())
        let lines = text.split(separator: "\n")
        #expect(lines.first == "*filter")
        #expect(lines.last == "COMMIT")
        #expect(lines.contains(":cali-pi-gnp/allow-web-to-db - [0:0]"))
        // Hooks are appended (the table is replaced whole), inserted ones before appended ones,
        // still with Felix's hashes.
        let forward = lines.filter { $0.hasPrefix("-A FORWARD ") }
        #expect(forward == [
            #"-A FORWARD -m comment --comment "cali:wUHhoiAYhphO9Mso" --jump cali-FORWARD"#,
            #"-A FORWARD -m comment --comment "cali:S93hcgKJrXEqnTfs" -m comment --comment "Policy explicitly accepted packet." -m mark --mark 0x10000/0x10000 --jump ACCEPT"#,
            #"-A FORWARD -m comment --comment "cali:mp77cMpurHhyjLrM" --jump MARK --set-mark 0x10000/0x10000"#,
        ])
        #expect(!text.contains("-I "))
    }

    @Test func hashVectorsFromFelixTableTests() {
        let r = IptablesRenderer()
        #expect(r.hashes("cali-foobar", [ChainRule([], .accept), ChainRule([], .drop)], family: .v4) == ["42h7Q64_2XDzpwKe", "0sUFHicPNNqNyNx8"])
        #expect(r.hashes("cali-FORWARD", [ChainRule([], .jump("cali-foobar"))], family: .v4) == ["WiiHgeRwfPX6Ol7d"])
        #expect(r.hashes("FORWARD", [ChainRule([], .jump("cali-FORWARD"))], family: .v4) == ["wUHhoiAYhphO9Mso"])
    }

    @Test func criteriaSpelling() {
        let r = IptablesRenderer()
        let rule = ChainRule([
            .ipProtocol(.udp, negated: true), .sourceNet(CIDR("10.0.0.0/16")!), .destinationNet(CIDR("10.1.2.3/32")!, negated: true),
            .sourceIPSet("a", negated: true), .destinationIPPortSet("b"), .sourcePorts(PortList([PortRange(10, 12)!, PortRange(80)])!, negated: true),
            .icmp(type: 8, code: 0), .inInterface(.exact("eth0"), negated: true), .outInterface(.prefix("cali")),
            .conntrack([.established, .related, .new]), .mark(value: 0, mask: 0x20000, negated: true),
        ], .log(prefix: "calico-packet: x\"y"), comments: ["a\"b\u{e9}c"])
        #expect(r.fragment(rule, hash: nil, family: .v4) == #"-m comment --comment "a_b_c" ! -p udp --source 10.0.0.0/16 ! --destination 10.1.2.3/32 -m set ! --match-set a src -m set --match-set b dst,dst -m multiport ! --source-ports 10:12,80 -m icmp --icmp-type 8/0 ! --in-interface eth0 --out-interface cali+ -m conntrack --ctstate NEW,RELATED,ESTABLISHED -m mark ! --mark 0/0x20000 --jump LOG --log-prefix "calico-packet: x_y" --log-level 5"#)
        #expect(r.fragment(ChainRule([.icmp(type: 128, negated: true)], .goto("x")), hash: nil, family: .v6) == "-m icmp6 ! --icmpv6-type 128 --goto x")
    }
}
