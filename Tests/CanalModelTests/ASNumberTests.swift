import CanalModel
import PropertyBased
import Testing

@Suite struct ASNumberTests {
    @Test("decimal and dotted forms", arguments: [
        ("64512", UInt32(64512)), ("0", 0), ("4294967295", 4_294_967_295), ("1.10", 65546), ("0.64512", 64512),
        ("65535.65535", 4_294_967_295), ("007", 7),
    ])
    func parses(_ text: String, _ value: UInt32) {
        #expect(ASNumber(text)?.rawValue == value)
    }

    @Test("rejected forms", arguments: ["", "4294967296", "1.65536", "65536.0", "1.2.3", "-1", "+5", "a.b", "1.", ".1", " 1"])
    func rejects(_ text: String) {
        #expect(ASNumber(text) == nil)
    }

    @Test func decodesNumberOrStringAndWritesNumber() throws {
        let peer = try InfraFixtures.decode(#"{"kind":"BGPPeer","apiVersion":"projectcalico.org/v3","metadata":{"name":"p"},"spec":{"peerIP":"10.0.0.1","asNumber":"1.10"}}"#, as: BGPPeerSpec.self)
        #expect(peer.spec.asNumber == ASNumber(65546))
        let json = try peer.jsonValue()
        #expect(json["spec"]?["asNumber"] == .number("65546"))
    }

    @Test func rejectsOutOfRangeNumber() {
        let paths = InfraFixtures.schemaErrorPaths(#"{"kind":"BGPPeer","apiVersion":"projectcalico.org/v3","metadata":{"name":"p"},"spec":{"asNumber":4294967296}}"#)
        #expect(paths == ["spec.asNumber"])
    }

    @Test func textFormsRoundTrip() async {
        await propertyCheck(input: Gen.uint32()) { n in
            let a = ASNumber(n)
            #expect(ASNumber(a.description) == a)
            #expect(ASNumber(a.dotted) == a)
            let tree = try JSONValueEncoding.encode(a)
            #expect(try JSONValueDecoding.decode(ASNumber.self, from: tree) == a)
            #expect(try JSONValueDecoding.decode(ASNumber.self, from: .string(a.dotted)) == a)
        }
    }
}
