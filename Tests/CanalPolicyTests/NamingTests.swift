import CanalModel
@testable import CanalPolicy
import Testing

@Suite struct NamingTests {
    @Test func lengthLimitedIDVectors() {
        #expect(ChainName.lengthLimited(prefix: "felix", suffix: "12345678910", maxLength: 13) == "felix_Y2QCZIS")
        #expect(ChainName.lengthLimited(prefix: "felix", suffix: "_2345", maxLength: 10) == "felix_kMQI")
        #expect(ChainName.lengthLimited(prefix: "felix", suffix: "1234", maxLength: 10) == "felix1234")
        #expect(ChainName.lengthLimited(prefix: "cali-pi-", suffix: "") == "cali-pi-_")
    }

    /// Felix's comment rule: one `_` per character outside `[A-Za-z0-9_ @%+=:,./-]` (a
    /// multi-byte character too), at most 256 characters.
    @Test func commentsAreSanitized() {
        #expect(sanitizedComment("Policy default/web-1 ingress: ok.") == "Policy default/web-1 ingress: ok.")
        #expect(sanitizedComment("a\"b'c\n(d)é😀z") == "a_b_c__d___z")
        #expect(sanitizedComment(String(repeating: "x", count: 300)) == String(repeating: "x", count: 256))
        #expect(sanitizedComment(String(repeating: "é", count: 300)) == String(repeating: "_", count: 256))
        #expect(sanitizedComment("") == "")
    }

    @Test func chainNames() {
        let long = PolicyChainID(kind: .networkPolicy, namespace: "default", name: "allow-frontend-to-backend")
        #expect(ChainName.policy(long, .ingress) == "cali-pi-_owbIPjETZHWce0m416k")
        #expect(ChainName.policy(long, .ingress).utf8.count == 28)
        #expect(ChainName.policy(PolicyChainID(kind: .globalNetworkPolicy, name: "allow-web-to-db"), .egress) == "cali-po-gnp/allow-web-to-db")
        #expect(ChainName.profile("kns.default", .ingress) == "cali-pri-kns.default")
        #expect(ChainName.profile("kns.default", .egress) == "cali-pro-kns.default")
        #expect(ChainName.workloadEndpoint("cali1234567890a", .ingress) == "cali-tw-cali1234567890a")
        #expect(ChainName.workloadEndpoint("cali1234567890a", .egress) == "cali-fw-cali1234567890a")
        #expect(ChainName.hostEndpoint("eth0", .ingress) == "cali-fh-eth0")
        #expect(ChainName.hostEndpoint("eth0", .egress, forward: true) == "cali-thfw-eth0")
    }

    @Test func ipSetNames() {
        #expect(IPSetName.selectorID(canonicalSelector: "all()") == "s:5y5I3VdRZfDU01O--xXAPx2yxCQQqMf0M6IWug")
        #expect(IPSetName.main(id: IPSetName.selectorID(canonicalSelector: "all()"), family: .v4) == "cali40s:5y5I3VdRZfDU01O--xXAPx2")
        #expect(IPSetName.selectorID(canonicalSelector: "app == \"web\"") == "s:oy593DLyi5BRwxLRqXScOfE9YMyW5S4KAhmzFg")
        #expect(IPSetName.selectorID(canonicalSelector: "!(has(b) || !has(a))") == "s:Iss0uCleLYv1GSv_pNm7hAO58kE9jAx1NKyG3Q")
        #expect(IPSetName.main(id: "s:abc", family: .v6) == "cali60s:abc")
        #expect(IPSetName.temporary(3, family: .v4) == "cali4t3")
        #expect(IPSetName.nftables("cali40s:oy593DLyi5BRwxLRqXScOfE") == "cali40s-oy593DLyi5BRwxLRqXScOfE")
        #expect(IPSetName.namedPortID(selectorID: "s:x", protocol: "tcp", portName: "http").hasPrefix("n:"))
    }

    @Test func portChunksRespectFifteenSlots() {
        let ports = (1...20).map { PortRange(UInt16($0)) } + [PortRange(100, 200)!]
        let chunks = PortList.chunks(ports)
        #expect(chunks.map { $0.ranges.reduce(0) { $0 + $1.slots } } == [15, 7])
        #expect(chunks.flatMap(\.ranges) == ports)
        #expect(PortList(ports) == nil)
        #expect(PortList([]) == nil)
        #expect(PortRange(5, 4) == nil)
    }

    @Test func problemsAreReported() {
        var set = RuleSet(family: .v4, tables: [Table(.filter, chains: [
            Chain("cali-a", [ChainRule([.sourceIPSet("missing"), .destinationPorts(PortList([PortRange(1)])!)], .jump("cali-nowhere"))]),
            Chain(String(repeating: "x", count: 29)),
        ], hooks: [KernelChainHooks(chain: "PREROUTING", inserted: [ChainRule([], .jump("cali-a"))])])])
        let problems = set.problems()
        #expect(problems.contains { $0.contains("missing") })
        #expect(problems.contains { $0.contains("cali-nowhere") })
        #expect(problems.contains { $0.contains("without a protocol") })
        #expect(problems.contains { $0.contains("longer than 28") })
        #expect(problems.contains { $0.contains("PREROUTING") })
        set.tables = []
        #expect(set.problems().isEmpty)
    }

    @Test func pruningKeepsReachableChains() {
        let table = Table(.filter, chains: [Chain("cali-a", [ChainRule([], .goto("cali-b"))]), Chain("cali-b"), Chain("cali-unused")],
                          hooks: [KernelChainHooks(chain: "FORWARD", inserted: [ChainRule([], .jump("cali-a"))])])
        #expect(table.prunedToReachable().chains.map(\.name) == ["cali-a", "cali-b"])
    }
}
