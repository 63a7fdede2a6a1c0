import CanalModel
import PropertyBased
import Testing

@Suite struct IPAddressTests {
    @Test("parses and prints as Go's net package does", arguments: [
        ("10.0.0.1", "10.0.0.1"),
        ("0.0.0.0", "0.0.0.0"),
        ("255.255.255.255", "255.255.255.255"),
        ("::", "::"),
        ("::1", "::1"),
        ("fd00::1", "fd00::1"),
        ("FD00:0:0:0:0:0:0:1", "fd00::1"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        ("2001:0db8:0000:0000:0000:ff00:0042:8329", "2001:db8::ff00:42:8329"),
        ("1:0:0:2:0:0:0:3", "1:0:0:2::3"),
        ("1:2:3:4:5:6:7:0", "1:2:3:4:5:6:7:0"),
        ("::ffff:198.18.0.1", "198.18.0.1"),
        ("64:ff9b::198.18.0.1", "64:ff9b::c612:1"),
        ("fe80::", "fe80::"),
    ])
    func roundTrip(input: String, printed: String) throws {
        let ip = try #require(IPAddress(input))
        #expect(ip.description == printed)
        #expect(IPAddress(printed) == ip)
    }

    @Test("rejects what Go rejects", arguments: [
        "", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.4 ", " 1.2.3.4", "1..2.3",
        ":::", "1::2::3", "1:2:3:4:5:6:7:8:9", "12345::", "1:2:3:4:5:6:7", ":1::", "1::2:", "g::",
        "1.2.3.4/32", "::1%eth0", "1:2:3:4:5:6:7:1.2.3.4",
    ])
    func rejects(input: String) {
        #expect(IPAddress(input) == nil)
    }

    @Test func ordering() throws {
        let a = try #require(IPAddress("10.0.0.2")), b = try #require(IPAddress("10.0.0.10"))
        let c = try #require(IPAddress("::1"))
        #expect(a < b)
        #expect(b < c)
    }

    @Test func printedFormReparses() async {
        await propertyCheck(input: Gen.uint64(), Gen.uint64(), Gen.bool) { hi, lo, v6 in
            let value = v6 ? UInt128(hi) << 64 | UInt128(lo) : UInt128(lo & 0xFFFF_FFFF)
            let ip = IPAddress(family: v6 ? .v6 : .v4, value: value)
            let back = IPAddress(ip.description)
            // An IPv4-mapped IPv6 address reads back as IPv4, as in Go.
            if v6, value >> 32 == 0xFFFF {
                #expect(back == IPAddress(family: .v4, value: value & 0xFFFF_FFFF))
            } else {
                #expect(back == ip)
            }
        }
    }
}

@Suite struct CIDRTests {
    @Test func parsing() throws {
        let c = try #require(CIDR("10.0.0.5/24"))
        #expect(c.description == "10.0.0.5/24")
        #expect(!c.isMasked)
        #expect(c.network.description == "10.0.0.0/24")
        #expect(c.network.isMasked)
        #expect(c.size == 256)
        #expect(c.lastAddress.description == "10.0.0.255")
        #expect(CIDR("10.0.0.0") == nil)
        #expect(CIDR("10.0.0.0/33") == nil)
        #expect(CIDR("10.0.0.0/") == nil)
        #expect(CIDR("10.0.0.0/-1") == nil)
        #expect(CIDR("fd00::/129") == nil)
        #expect(CIDR(ipOrCIDR: "10.0.0.1")?.description == "10.0.0.1/32")
        #expect(CIDR(ipOrCIDR: "fd00::1")?.description == "fd00::1/128")
        #expect(CIDR("::/0")?.size == .max)
        #expect(CIDR("10.0.0.0/024")?.prefixLength == 24)
        #expect(CIDR("10.0.0.0/0024") == nil)
        #expect(CIDR("10.0.0.0/2\u{301}") == nil)
        #expect(CIDR("10.0.0.0/٢") == nil)
        #expect(CIDR("10.0.0.0/ 8") == nil)
        #expect(CIDR("10.0.0.0//8") == nil)
        #expect(CIDR(Substring("x10.0.0.0/8").dropFirst())?.description == "10.0.0.0/8")
        #expect(CIDR(ipOrCIDR: "10.0.0.0/8/8") == nil)
    }

    @Test func containmentAndOverlap() throws {
        let pool = try #require(CIDR("198.18.0.0/16"))
        let block = try #require(CIDR("198.18.4.0/26"))
        let other = try #require(CIDR("198.19.0.0/16"))
        #expect(pool.contains(block))
        #expect(!block.contains(pool))
        #expect(pool.overlaps(block) && block.overlaps(pool))
        #expect(!pool.overlaps(other))
        #expect(pool.contains(try #require(IPAddress("198.18.255.255"))))
        #expect(!pool.contains(try #require(IPAddress("fd00::1"))))
        #expect(!pool.overlaps(try #require(CIDR("fd00::/8"))))
        #expect(block.address(at: 63)?.description == "198.18.4.63")
        #expect(block.address(at: 64) == nil)
        #expect(block.offset(of: try #require(IPAddress("198.18.4.10"))) == 10)
    }

    @Test func subnets() throws {
        let pool = try #require(CIDR("198.18.0.0/24"))
        let blocks = Array(pool.subnets(prefixLength: 26))
        #expect(blocks.map(\.description) == ["198.18.0.0/26", "198.18.0.64/26", "198.18.0.128/26", "198.18.0.192/26"])
        #expect(Array(pool.subnets(prefixLength: 23)).isEmpty)
        #expect(Array(pool.subnets(prefixLength: 24)).count == 1)
        let v6 = try #require(CIDR("fd00::/120"))
        let v6blocks = Array(v6.subnets(prefixLength: 122))
        #expect(v6blocks.map(\.description) == ["fd00::/122", "fd00::40/122", "fd00::80/122", "fd00::c0/122"])
    }

    @Test func subnetsTileTheParent() async {
        await propertyCheck(input: Gen.uint32(), Gen.int(in: 16...28), Gen.int(in: 0...4)) { base, len, extra in
            let parent = CIDR(address: IPAddress(family: .v4, value: UInt128(base)), prefixLength: len)!.network
            let subs = Array(parent.subnets(prefixLength: len + extra))
            #expect(UInt128(subs.count) == UInt128(1) << UInt128(extra))
            #expect(subs.first?.firstAddress == parent.firstAddress)
            #expect(subs.last?.lastAddress == parent.lastAddress)
            for (a, b) in zip(subs, subs.dropFirst()) {
                #expect(!a.overlaps(b))
                #expect(a.lastAddress.advanced(by: 1) == b.firstAddress)
            }
        }
    }
}
