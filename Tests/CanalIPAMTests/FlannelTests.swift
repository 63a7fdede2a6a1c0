import CanalDatastore
@testable import CanalIPAM
import CanalModel
import Testing

@Suite("flannel config, leases, subnet.env")
struct FlannelTests {
    @Test("defaults and validation as flannel's CheckNetworkConfig")
    func config() throws {
        let c = try FlannelNetworkConfig(json: Array(#"{"network":"10.3.0.0/16","Backend":{"Type":"vxlan"}}"#.utf8)).validated()
        #expect(c.subnetLength == 24 && c.subnetMin == IPAddress("10.3.1.0") && c.subnetMax == IPAddress("10.3.255.0"))
        #expect(c.candidateSubnets().count == 255)
        #expect(c.backendType == "vxlan")
        #expect(try FlannelNetworkConfig(network: CIDR("10.0.0.0/25")).validated().subnetLength == 27)
        #expect(FlannelNetworkConfig(network: CIDR("10.0.0.0/16")).backendType == "udp")
        for bad in [
            FlannelNetworkConfig(network: CIDR("10.0.0.0/29")), FlannelNetworkConfig(network: CIDR("10.0.0.0/16"), subnetLength: 31),
            FlannelNetworkConfig(network: CIDR("10.0.0.0/24"), subnetLength: 25),
            FlannelNetworkConfig(network: CIDR("10.0.0.0/16"), subnetMin: IPAddress("10.0.1.5")),
            FlannelNetworkConfig(network: CIDR("10.0.0.0/16"), subnetMax: IPAddress("10.1.0.0")), FlannelNetworkConfig(network: nil),
        ] {
            #expect(throws: IPAMError.self) { try bad.validated() }
        }
    }

    @Test("leases: the first subnet is skipped, a host keeps its subnet, out of subnets, release")
    func leases() async throws {
        let store = memoryStore()
        let manager = FlannelSubnetManager(store: store)
        try await manager.setConfig(FlannelNetworkConfig(network: CIDR("10.5.0.0/22"), backend: .object(JSONObject([("Type", .string("host-gw"))]))))
        var got: [FlannelLease] = []
        for i in 1...3 {
            got.append(try await manager.acquire(FlannelLeaseAttributes(publicIP: IPAddress("192.168.0.\(i)")!, backendType: "host-gw")))
        }
        #expect(Set(got.map(\.subnet)) == [CIDR("10.5.1.0/24")!, CIDR("10.5.2.0/24")!, CIDR("10.5.3.0/24")!])
        #expect(got.allSatisfy { $0.lease != nil })
        let kv = try #require(try await store.get(Array("/coreos.com/network/subnets/\(IPAMKeys.cidrSegment(got[0].subnet))".utf8)))
        #expect(String(decoding: kv.value, as: UTF8.self) == #"{"PublicIP":"192.168.0.1","PublicIPv6":null,"BackendType":"host-gw"}"#)
        #expect(kv.lease == got[0].lease)
        // The same PublicIP gets its subnet back (renewed on a fresh lease).
        let again = try await manager.acquire(FlannelLeaseAttributes(publicIP: IPAddress("192.168.0.1")!, backendType: "host-gw"))
        #expect(again.subnet == got[0].subnet && again.lease != got[0].lease)
        do {
            _ = try await manager.acquire(FlannelLeaseAttributes(publicIP: IPAddress("192.168.0.9")!))
            Issue.record("leased past SubnetMax")
        } catch {
            #expect(error.code == .outOfSubnets)
        }
        try await manager.release(again)
        #expect(try await manager.leases().count == 2)
        let fourth = try await manager.acquire(FlannelLeaseAttributes(publicIP: IPAddress("192.168.0.9")!))
        #expect(fourth.subnet == got[0].subnet)
    }

    @Test("random among free subnets; an expired etcd lease frees the subnet")
    func randomChoice() async throws {
        let store = memoryStore()
        let manager = FlannelSubnetManager(store: store)
        try await manager.setConfig(FlannelNetworkConfig(network: CIDR("10.6.0.0/16")))
        let picked = try await manager.acquire(FlannelLeaseAttributes(publicIP: IPAddress("1.1.1.1")!)) { free in
            #expect(free.count == 100 && free[0] == CIDR("10.6.1.0/24"))
            return free[42]
        }
        #expect(picked.subnet == CIDR("10.6.43.0/24"))
        try await store.revokeLease(picked.lease!)
        #expect(try await manager.leases().isEmpty)
    }

    @Test("subnet.env and the host-local range, as flannel writes and hands them out")
    func subnetEnv() throws {
        let env = FlannelSubnetEnvironment(network: CIDR("10.5.0.0/16")!, subnet: CIDR("10.5.52.0/24")!, mtu: 1450, ipMasquerade: false)
        #expect(env.text == "FLANNEL_NETWORK=10.5.0.0/16\nFLANNEL_SUBNET=10.5.52.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n")
        #expect(try FlannelSubnetEnvironment(parsing: env.text) == env)
        let range = env.hostLocalRange
        #expect(range.gateway == IPAddress("10.5.52.1") && range.rangeStart == IPAddress("10.5.52.2") && range.rangeEnd == IPAddress("10.5.52.254"))
        #expect(range.ipamConfiguration.jsonText
            == #"{"type":"host-local","ranges":[[{"subnet":"10.5.52.0/24","rangeStart":"10.5.52.2","rangeEnd":"10.5.52.254","gateway":"10.5.52.1"}]],"routes":[{"dst":"10.5.0.0/16"}]}"#)
        #expect(throws: IPAMError.self) { try FlannelSubnetEnvironment(parsing: "FLANNEL_NETWORK=10.0.0.0/8\n") }
    }
}
