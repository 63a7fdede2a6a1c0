import CanalBGP
import CanalModel
import Testing

/// The command-line forms the tools share: `CALICO_ROUTER_ID` and `--password SECRET/KEY=VALUE`.
@Suite struct CommandLineValueTests {
    @Test("CALICO_ROUTER_ID: empty, hash, an IPv4 address; anything else refused")
    func routerID() {
        #expect(BGPRouterID(calicoRouterID: "") == .nodeIPv4)
        #expect(BGPRouterID(calicoRouterID: "hash") == .hash)
        #expect(BGPRouterID(calicoRouterID: "198.18.0.1") == .literal(IPAddress("198.18.0.1")!))
        for bad in ["fd00::1", "Hash", "198.18.0", "x"] { #expect(BGPRouterID(calicoRouterID: bad) == nil, "\(bad)") }
    }

    @Test("--password SECRET/KEY=VALUE: the value may hold = and /; other forms refused")
    func passwordAssignment() throws {
        let parsed = try #require(BGPSecretKey.assignment("bgp-secrets/peer-a=p/w=1"))
        #expect(parsed.key == BGPSecretKey(name: "bgp-secrets", key: "peer-a") && parsed.value == "p/w=1")
        let empty = try #require(BGPSecretKey.assignment("s/k="))
        #expect(empty.key == BGPSecretKey(name: "s", key: "k") && empty.value == "")
        for bad in ["secret=value", "secret/key", "=x"] { #expect(BGPSecretKey.assignment(bad) == nil, "\(bad)") }
    }
}
