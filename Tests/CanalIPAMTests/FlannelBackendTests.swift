import CanalDatastore
@testable import CanalIPAM
import CanalModel
import PropertyBased
import Testing

/// The vxlan backend data of a lease and the peers a host programs from the leases.
@Suite("flannel backend data and peers")
struct FlannelBackendTests {
    /// A lease value as flanneld (vxlan backend) writes it: Go's encoding of `LeaseAttrs` with
    /// `vxlanLeaseAttrs` as `BackendData`.
    static let flannelVXLANLease =
        #"{"PublicIP":"192.168.0.7","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"7A:2F:11:0C:9E:03"}}"#

    @Test("BackendData of a lease flanneld wrote: VNI and VtepMAC, the MAC lowercased")
    func decodesFlannelLease() throws {
        let attributes = try FlannelLeaseAttributes(json: Array(Self.flannelVXLANLease.utf8))
        #expect(attributes.backendType == "vxlan" && attributes.publicIP == IPAddress("192.168.0.7"))
        let data = try #require(FlannelVXLANData(attributes.backendData))
        #expect(data == FlannelVXLANData(vni: 1, vtepMAC: "7a:2f:11:0c:9e:03"))
        #expect(data.vtepMAC == "7a:2f:11:0c:9e:03")
    }

    @Test("keys match case-insensitively as Go's decoder; VNI defaults to 1; a missing or malformed MAC is no data")
    func lenientAndStrict() throws {
        func data(_ text: String) throws -> FlannelVXLANData? { FlannelVXLANData(try JSONValue(parsing: text)) }
        #expect(try data(#"{"vni":4,"vtepmac":"aa:bb:cc:dd:ee:ff"}"#) == FlannelVXLANData(vni: 4, vtepMAC: "aa:bb:cc:dd:ee:ff"))
        #expect(try data(#"{"VtepMAC":"aa:bb:cc:dd:ee:ff"}"#)?.vni == 1)
        for bad in [
            #"{"VNI":1}"#, #"{"VNI":1,"VtepMAC":""}"#, #"{"VNI":1,"VtepMAC":"aa:bb:cc:dd:ee"}"#,
            #"{"VNI":1,"VtepMAC":"aa:bb:cc:dd:ee:gg"}"#, #"{"VNI":1,"VtepMAC":"aabb.ccdd.eeff"}"#,
            #"{"VNI":1,"VtepMAC":"a:bb:cc:dd:ee:ff0"}"#, #"{"VNI":1,"VtepMAC":7}"#, #"[1]"#, #"null"#, #""aa:bb:cc:dd:ee:ff""#,
        ] {
            #expect(try data(bad) == nil, "\(bad)")
        }
        #expect(FlannelVXLANData(nil) == nil)
    }

    @Test("written as flannel writes it, and read back the same, for any VNI and MAC")
    func roundTrip() async {
        let values = Generator<FlannelVXLANData, Shrink.None<FlannelVXLANData>>(run: { rng in
            let bytes = (0..<6).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let mac = bytes.map { String($0, radix: 16, uppercase: Bool.random(using: &rng)) }
                .map { $0.count == 1 ? "0" + $0 : $0 }.joined(separator: ":")
            return FlannelVXLANData(vni: Int.random(in: 0...16_777_215, using: &rng), vtepMAC: mac)
        })
        await propertyCheck(count: 200, input: values) { data in
            #expect(data.vtepMAC == data.vtepMAC.lowercased())
            #expect(data.json.jsonText == #"{"VNI":\#(data.vni),"VtepMAC":"\#(data.vtepMAC)"}"#)
            #expect(FlannelVXLANData(data.json) == data)
            // Inside a lease, as flanneld reads another host's.
            let lease = FlannelLeaseAttributes(publicIP: IPAddress("10.0.0.1")!, backendType: "vxlan", backendData: data.json)
            let read = try? FlannelLeaseAttributes(json: lease.jsonBytes)
            #expect(read.flatMap { FlannelVXLANData($0.backendData) } == data)
        }
    }

    @Test("random VTEP MACs are well-formed, unicast and locally administered")
    func randomMAC() {
        var seen = Set<String>()
        for _ in 0..<500 {
            let mac = FlannelVXLANData.randomMAC()
            #expect(FlannelVXLANData.isMAC(mac) && mac == mac.lowercased(), "\(mac)")
            let first = UInt8(mac.prefix(2), radix: 16) ?? 0xFF
            #expect(first & 0x01 == 0 && first & 0x02 == 0x02, "\(mac)")
            seen.insert(mac)
        }
        #expect(seen.count > 490)
    }

    static func lease(_ subnet: String, _ publicIP: String, _ backend: String, _ data: JSONValue? = nil) -> FlannelLease {
        FlannelLease(
            subnet: CIDR(subnet)!, attributes: FlannelLeaseAttributes(publicIP: IPAddress(publicIP)!, backendType: backend, backendData: data),
            lease: nil, revision: Revision(1))
    }

    @Test("peers: other hosts' leases of the same backend, in subnet order; own lease, other backends and undecodable vxlan data skipped")
    func peers() {
        let mac = { (n: Int) in FlannelVXLANData(vni: 1, vtepMAC: "02:00:00:00:00:0\(n)") }
        let leases = [
            Self.lease("10.5.9.0/24", "192.168.0.9", "vxlan", mac(9).json),
            Self.lease("10.5.2.0/24", "192.168.0.2", "vxlan", mac(2).json),
            Self.lease("10.5.1.0/24", "192.168.0.1", "vxlan", mac(1).json),  // this host, by public IP
            Self.lease("10.5.3.0/24", "192.168.0.3", "host-gw"),  // another backend
            Self.lease("10.5.4.0/24", "192.168.0.4", "vxlan", .object(JSONObject([("VNI", .number("1"))]))),  // no MAC
            Self.lease("10.5.5.0/24", "192.168.0.5", "vxlan", nil),  // no data at all
            Self.lease("10.5.6.0/24", "192.168.0.66", "vxlan", mac(6).json),  // this host's subnet, stale public IP
        ]
        let vxlan = FlannelPeer.peers(of: leases, backendType: "vxlan", publicIP: IPAddress("192.168.0.1")!, ownSubnet: CIDR("10.5.6.0/24"))
        #expect(vxlan == [
            FlannelPeer(subnet: CIDR("10.5.2.0/24")!, publicIP: IPAddress("192.168.0.2")!, vxlan: mac(2)),
            FlannelPeer(subnet: CIDR("10.5.9.0/24")!, publicIP: IPAddress("192.168.0.9")!, vxlan: mac(9)),
        ])
        #expect(vxlan.map(\.gateway) == [IPAddress("10.5.2.0")!, IPAddress("10.5.9.0")!])
        let hostGW = FlannelPeer.peers(of: leases, backendType: "host-gw", publicIP: IPAddress("192.168.0.1")!, ownSubnet: nil)
        #expect(hostGW == [FlannelPeer(subnet: CIDR("10.5.3.0/24")!, publicIP: IPAddress("192.168.0.3")!)])
        #expect(FlannelPeer.peers(of: [], backendType: "vxlan", publicIP: IPAddress("192.168.0.1")!, ownSubnet: nil).isEmpty)
    }

    @Test("a peer's subnet is its network, whatever address the lease key carried")
    func peerSubnetIsMasked() {
        let leases = [Self.lease("10.5.7.9/24", "192.168.0.7", "host-gw")]
        let peers = FlannelPeer.peers(of: leases, backendType: "host-gw", publicIP: IPAddress("192.168.0.1")!, ownSubnet: nil)
        #expect(peers.first?.subnet.description == "10.5.7.0/24")
        #expect(peers.first?.gateway == IPAddress("10.5.7.0"))
        #expect(peers.first?.vxlan == nil)
        // The host's own subnet is recognised by its network too.
        #expect(FlannelPeer.peers(of: leases, backendType: "host-gw", publicIP: IPAddress("192.168.0.1")!, ownSubnet: CIDR("10.5.7.200/24")).isEmpty)
    }
}

/// `IPAMClient.blockAffinities(host:)`: the one reader of a host's affinity keys.
@Suite("block affinities of a host")
struct BlockAffinitiesTests {
    @Test("both families, Calico's values (empty = confirmed), other hosts and foreign keys ignored")
    func readsAffinities() async throws {
        let store = memoryStore()
        let values: [(String, String)] = [
            ("/calico/ipam/v2/host/node1/ipv4/block/10.244.1.0-26", #"{"state":"confirmed","deleted":false}"#),
            ("/calico/ipam/v2/host/node1/ipv4/block/10.244.1.64-26", #"{"state":"pending","deleted":false}"#),
            ("/calico/ipam/v2/host/node1/ipv4/block/10.244.1.128-26", ""),
            ("/calico/ipam/v2/host/node1/ipv4/block/10.244.1.192-26", #"{"state":"pendingDeletion","deleted":true}"#),
            ("/calico/ipam/v2/host/node1/ipv6/block/fd00:1::-122", #"{}"#),
            ("/calico/ipam/v2/host/node1/ipv4/notablock/10.244.9.0-26", #"{"state":"confirmed"}"#),
            ("/calico/ipam/v2/host/node10/ipv4/block/10.244.10.0-26", #"{"state":"confirmed","deleted":false}"#),
            ("/calico/ipam/v2/host/node2/ipv4/block/10.244.2.0-26", #"{"state":"confirmed","deleted":false}"#),
        ]
        for (key, value) in values { try await store.put(Array(key.utf8), value: Array(value.utf8)) }
        let got = try await IPAMClient(store: store).blockAffinities(host: "node1")
        #expect(got == [
            cidr("10.244.1.0/26"): BlockAffinity(state: .confirmed),
            cidr("10.244.1.64/26"): BlockAffinity(state: .pending),
            cidr("10.244.1.128/26"): BlockAffinity(state: .confirmed),
            cidr("10.244.1.192/26"): BlockAffinity(state: .pendingDeletion, deleted: true),
            cidr("fd00:1::/122"): BlockAffinity(state: .confirmed),
        ])
        #expect(try await IPAMClient(store: store).blockAffinities(host: "node3").isEmpty)
    }

    @Test("what auto-assign claims is what the reader returns")
    func matchesAssign() async throws {
        let store = memoryStore()
        try await addPool(store, name: "p", cidr: "10.0.0.0/24", blockSize: 28)
        let ipam = IPAMClient.sequential(store)
        _ = try await ipam.autoAssign(AutoAssignRequest(host: "h", ipv4: 20, handle: "x"))
        let got = try await ipam.blockAffinities(host: "h")
        #expect(got == [cidr("10.0.0.0/28"): BlockAffinity(state: .confirmed), cidr("10.0.0.16/28"): BlockAffinity(state: .confirmed)])
    }

    @Test("a value that does not parse is corruptData; an empty or slashed host name is invalid")
    func errors() async throws {
        let store = memoryStore()
        try await store.put(Array("/calico/ipam/v2/host/n/ipv4/block/10.0.0.0-26".utf8), value: Array(#"{"state":"claimed"}"#.utf8))
        await #expect { try await IPAMClient(store: store).blockAffinities(host: "n") } throws: { ($0 as? IPAMError)?.code == .corruptData }
        try await store.put(Array("/calico/ipam/v2/host/n/ipv4/block/10.0.0.0-26".utf8), value: Array("not json".utf8))
        await #expect { try await IPAMClient(store: store).blockAffinities(host: "n") } throws: { ($0 as? IPAMError)?.code == .corruptData }
        for bad in ["", "a/b"] {
            await #expect { try await IPAMClient(store: store).blockAffinities(host: bad) } throws: { ($0 as? IPAMError)?.code == .invalidArgument }
        }
    }
}
