import CanalSelector
import Testing

@Suite("SHA-2 and base64url")
struct SHA2Tests {
    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    @Test(
        "SHA-224 known answers",
        arguments: [
            ("", "d14a028c2a3a2bc9476102bb288234c415a2b01f828ea62ac5b3e42f"),
            ("abc", "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7"),
            (
                "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                "75388b16512776cc5dba5da1fd890150b0c6455cb4f58b1952522525"
            ),
            // Padding boundaries: 55 and 56 bytes, 63 and 64, 119 and 120.
            (String(repeating: "a", count: 55), "fb0bd626a70c28541dfa781bb5cc4d7d7f56622a58f01a0b1ddd646f"),
            (String(repeating: "a", count: 56), "d40854fc9caf172067136f2e29e1380b14626bf6f0dd06779f820dcd"),
            (String(repeating: "a", count: 63), "1d4e051f4d6fed2a63fd2421e65834cec00d64456553de3496ae8b1d"),
            (String(repeating: "a", count: 64), "a88cd5cde6d6fe9136a4e58b49167461ea95d388ca2bdb7afdc3cbf4"),
            (String(repeating: "a", count: 119), "e000e6709d26667b631faa7fc1bd404eb4774003c5fb4f51a0184875"),
            (String(repeating: "a", count: 120), "66924e30a9929327e7a6cf03747397226ed2efc180ebe3dea7132a79"),
        ]
    )
    func sha224(input: String, expected: String) {
        #expect(Self.hex(SHA2.sha224(input.utf8)) == expected)
    }

    @Test("SHA-224 of a million 'a's")
    func sha224Million() {
        let input = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        #expect(Self.hex(SHA2.sha224(input)) == "20794655980c91d8bbb4c1ea97618a4bf03f42581948b2ee4ee7ad67")
    }

    @Test("SHA-256 known answers")
    func sha256() {
        #expect(Self.hex(SHA2.sha256("".utf8)) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Self.hex(SHA2.sha256("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test(
        "base64url without padding (RFC 4648 vectors, URL alphabet)",
        arguments: [
            ("", ""), ("f", "Zg"), ("fo", "Zm8"), ("foo", "Zm9v"), ("foob", "Zm9vYg"), ("fooba", "Zm9vYmE"),
            ("foobar", "Zm9vYmFy"),
        ]
    )
    func base64(input: String, expected: String) {
        #expect(Base64URL.encodeNoPadding(Array(input.utf8)) == expected)
    }

    @Test("base64url uses - and _")
    func base64URLAlphabet() {
        #expect(Base64URL.encodeNoPadding([0xFB, 0xFF, 0xBF]) == "-_-_")
    }
}
