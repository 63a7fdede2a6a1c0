// The flannel lease benchmark: `canal-bench leases` starts its own etcd, writes a network config
// (10.0.0.0/8, /24 subnets: 65,535 candidates), and acquires one lease for each of 250 hosts in
// turn, as 250 flanneld starting one after another would: each acquisition reads the config, lists
// the existing leases, grants an etcd lease and creates the key. It reports the time per lease,
// the etcd round trips per lease (KV requests and lease requests, counted), and the time of the
// last 25 acquisitions (the list grows with the number of hosts). Then each host renews once.
import CanalDatastore
import CanalIPAM
import CanalModel
import Foundation
import Synchronization

enum LeasesBenchmark {
    static let hosts = 250

    static func run() async throws -> Bool {
        let (etcd, endpoint) = try await startEtcd()
        defer { etcd.run() }
        let store = CountingKV(EtcdKeyValueStore(configuration: EtcdConfiguration(endpoints: [endpoint])))
        let manager = FlannelSubnetManager(store: store, prefix: "/bench/network")
        try await manager.setConfig(FlannelNetworkConfig(
            network: CIDR("10.0.0.0/8")!, subnetLength: 24, backend: .object(JSONObject([("Type", .string("vxlan"))]))))
        store.counter.store(0, ordering: .relaxed)
        var leases: [FlannelLease] = []
        let start = ContinuousClock.now
        var tailStart = start
        for i in 0..<hosts {
            if i == hosts - 25 { tailStart = .now }
            let ip = IPAddress("192.168.\(i / 250).\(i % 250 + 1)")!
            let data = FlannelVXLANData(vni: 1, vtepMAC: FlannelVXLANData.randomMAC()).json
            leases.append(try await manager.acquire(FlannelLeaseAttributes(publicIP: ip, backendType: "vxlan", backendData: data)))
        }
        let elapsed = (ContinuousClock.now - start) / .milliseconds(1)
        let tail = (ContinuousClock.now - tailStart) / .milliseconds(1)
        let kvTrips = Double(store.counter.load(ordering: .relaxed)) / Double(hosts)
        let leaseTrips = Double(store.leaseCounter.load(ordering: .relaxed)) / Double(hosts)
        guard Set(leases.map(\.subnet)).count == hosts, try await manager.leases().count == hosts else {
            fail("expected \(hosts) distinct leases")
        }
        bench("leases.acquire.250", elapsed / Double(hosts), "ms/lease")
        bench("leases.acquire.last25", tail / 25, "ms/lease")
        bench("leases.acquire.roundtrips", kvTrips + leaseTrips, "trips/lease")
        bench("leases.acquire.kv-roundtrips", kvTrips, "trips/lease")
        // Renewal: a fresh etcd lease, the key re-written (CAS), the old lease revoked.
        store.counter.store(0, ordering: .relaxed)
        store.leaseCounter.store(0, ordering: .relaxed)
        let renewStart = ContinuousClock.now
        for lease in leases { _ = try await manager.renew(lease) }
        let renewElapsed = (ContinuousClock.now - renewStart) / .milliseconds(1)
        bench("leases.renew.250", renewElapsed / Double(hosts), "ms/lease")
        bench("leases.renew.roundtrips",
              Double(store.counter.load(ordering: .relaxed) + store.leaseCounter.load(ordering: .relaxed)) / Double(hosts), "trips/lease")
        return true
    }
}
