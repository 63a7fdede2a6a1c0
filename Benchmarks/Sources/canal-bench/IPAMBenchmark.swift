// The IPAM benchmark: `canal-bench ipam` starts its own etcd and runs, side by side, Canal's
// autoAssign of one address per call and the raw compare-and-swap txn rate of the same client
// (EtcdKeyValueStore.update on one key per worker), at concurrency 1 and 8. It reports
// allocations/s, etcd round trips per allocation (counted), and
// ratio = allocations/s ÷ (raw txn/s ÷ round trips per allocation); and the same ratio against a CAS
// of a value as large as the blocks written (`vs-block-sized-txn`): an allocation rewrites its whole
// block (Calico's format), which costs etcd more than a 16-byte CAS, so that ratio is what Canal
// adds. Workers move to a new host every 1,000 allocations (a host may own 20 blocks of 64). Then
// 1,000 assignments on the in-memory backend, one address per call and all in one call
// (`canal-bench ipam-memory` runs only these, repeated, for profiling).
import CanalDatastore
import CanalIPAM
import CanalModel
import Foundation
import Synchronization

/// Counts the requests made through a store.
final class CountingKV<Base: KeyValueStore>: KeyValueStore {
    typealias Watch = Base.Watch
    let base: Base
    let counter = Atomic<Int>(0)
    /// Lease requests (grant, keep-alive, revoke), counted apart so the IPAM figures stay comparable.
    let leaseCounter = Atomic<Int>(0)
    init(_ base: Base) { self.base = base }
    func get(_ key: [UInt8], at revision: Revision?) async throws -> KeyValue? { counter.add(1, ordering: .relaxed); return try await base.get(key, at: revision) }
    func list(prefix: [UInt8], at revision: Revision?) async throws -> ListResult { counter.add(1, ordering: .relaxed); return try await base.list(prefix: prefix, at: revision) }
    func transaction(_ transaction: Transaction) async throws -> TransactionResult { counter.add(1, ordering: .relaxed); return try await base.transaction(transaction) }
    func grantLease(ttl: Duration) async throws -> Lease { leaseCounter.add(1, ordering: .relaxed); return try await base.grantLease(ttl: ttl) }
    func keepAlive(_ lease: LeaseID) async throws -> Duration { leaseCounter.add(1, ordering: .relaxed); return try await base.keepAlive(lease) }
    func revokeLease(_ lease: LeaseID) async throws { leaseCounter.add(1, ordering: .relaxed); try await base.revokeLease(lease) }
    func compact(to revision: Revision) async throws { try await base.compact(to: revision) }
    func watch(prefix: [UInt8], fromRevision: Revision?) -> Base.Watch { base.watch(prefix: prefix, fromRevision: fromRevision) }
}

enum IPAMBenchmark {
    static func pool<S: KeyValueStore>(_ store: S, cidr: String) async throws {
        let json = #"{"kind":"IPPool","apiVersion":"projectcalico.org/v3","metadata":{"name":"bench"},"spec":{"cidr":"\#(cidr)","blockSize":26}}"#
        try await store.put(Array("/calico/resources/v3/projectcalico.org/ippools/bench".utf8), value: Array(json.utf8))
    }

    /// `concurrency` workers, each its own host, one address per call for `seconds`: (allocations/s, round trips per allocation).
    static func allocate(_ store: CountingKV<EtcdKeyValueStore>, concurrency: Int, seconds: Double, tag: String) async throws -> (Double, Double) {
        let ipam = IPAMClient(store: store)
        // Warm up: each host claims its first block (not measured).
        for w in 0..<concurrency { _ = try await ipam.autoAssign(AutoAssignRequest(host: "\(tag)-\(w)", ipv4: 1, handle: "\(tag)-warm-\(w)")) }
        let before = store.counter.load(ordering: .relaxed)
        let start = ContinuousClock.now
        let deadline = start + .milliseconds(Int(seconds * 1000))
        let total = try await withThrowingTaskGroup(of: Int.self) { group in
            for w in 0..<concurrency {
                group.addTask {
                    var n = 0
                    while ContinuousClock.now < deadline {
                        // A host owns at most 20 blocks of 64 (1,280 addresses): move on to a new host every 1,000.
                        let host = n < 1000 ? "\(tag)-\(w)" : "\(tag)-\(w)-\(n / 1000)"
                        let r = try await ipam.autoAssign(AutoAssignRequest(host: host, ipv4: 1, handle: "\(tag)-\(w)-\(n)"))
                        guard r.ipv4.addresses.count == 1 else { fail("short allocation: \(r.ipv4.messages)") }
                        n += 1
                    }
                    return n
                }
            }
            return try await group.reduce(0, +)
        }
        let elapsed = (ContinuousClock.now - start) / .seconds(1)
        let trips = Double(store.counter.load(ordering: .relaxed) - before) / Double(total)
        return (Double(total) / elapsed, trips)
    }

    /// Compare-and-swap of a `size`-byte value, one key per worker: (txn/s).
    static func sizedCAS(_ store: EtcdKeyValueStore, concurrency: Int, seconds: Double, size: Int) async throws -> Double {
        let value = Array(repeating: UInt8(ascii: "7"), count: size)
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        let total = try await withThrowingTaskGroup(of: Int.self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    let key = Array("/bench/ipam/sized/\(worker)".utf8)
                    var revision = try await store.put(key, value: value)
                    var count = 0
                    while ContinuousClock.now < deadline {
                        // As the allocation's write: compare-and-swap, no previous value sent back.
                        let result = try await store.transaction(
                            Transaction(if: [.modRevision(key, is: revision)], then: [.put(key: key, value: value, lease: nil)],
                                        returnsPreviousValues: false))
                        guard result.succeeded else { fail("sized CAS conflict") }
                        revision = result.revision
                        count += 1
                    }
                    return count
                }
            }
            return try await group.reduce(0, +)
        }
        return Double(total) / seconds
    }

    static func run(seconds: Double) async throws -> Bool {
        let (etcd, endpoint, directory) = try await startEtcd()
        defer {
            etcd.terminate()
            etcd.waitUntilExit()
            try? FileManager.default.removeItem(at: directory)
        }
        let raw = EtcdKeyValueStore(configuration: EtcdConfiguration(endpoints: [endpoint]))
        let store = CountingKV(raw)
        try await pool(raw, cidr: "10.0.0.0/8")
        var ok = true
        for concurrency in [1, 8] {
            let txn1 = try await canalOps(raw, op: "cas", concurrency: concurrency, seconds: seconds / 2)
            let (allocs, trips) = try await allocate(store, concurrency: concurrency, seconds: seconds, tag: "c\(concurrency)")
            let txn2 = try await canalOps(raw, op: "cas", concurrency: concurrency, seconds: seconds / 2)
            let txn = (txn1 + txn2) / 2
            bench("ipam.autoassign.c\(concurrency).allocations", allocs, "allocs/s")
            bench("ipam.autoassign.c\(concurrency).roundtrips", trips, "trips/alloc")
            bench("ipam.autoassign.c\(concurrency).raw-txn", txn, "txn/s")
            let r = allocs / (txn / trips)
            ratio("ipam.autoassign.c\(concurrency)", r)
            if !(r > 0) { ok = false }
            // The same with a reference whose value is as large as the blocks written (an allocation
            // rewrites its whole block, Calico's format): what Canal adds over etcd's cost of that write.
            let blocks = try await raw.list(prefix: Array("/calico/ipam/v2/assignment/ipv4/block/".utf8)).items
            let size = blocks.isEmpty ? 16 : blocks.map(\.value.count).reduce(0, +) / blocks.count
            let sized = try await sizedCAS(raw, concurrency: concurrency, seconds: seconds / 2, size: size)
            bench("ipam.autoassign.c\(concurrency).raw-txn-block-sized", sized, "txn/s (\(size) B)")
            ratio("ipam.autoassign.c\(concurrency).vs-block-sized-txn", allocs / (sized / trips))
        }
        try await memory(rounds: 5)
        return ok
    }

    /// The in-memory backend: 1,000 assignments, one address per call, and 1,000 in one call (best of `rounds`).
    static func memory(rounds: Int) async throws {
        for (name, calls, per) in [("memory.1000x1", 1000, 1), ("memory.1x1000", 1, 1000)] {
            var best = 0.0
            for _ in 0..<rounds {
                let memory = InMemoryKeyValueStore(clock: ContinuousClock())
                try await pool(memory, cidr: "10.0.0.0/16")
                let ipam = IPAMClient(store: memory)
                let start = ContinuousClock.now
                var count = 0
                for i in 0..<calls {
                    count += try await ipam.autoAssign(AutoAssignRequest(host: "n", ipv4: per, handle: "h\(i)")).ipv4.addresses.count
                }
                let elapsed = (ContinuousClock.now - start) / .seconds(1)
                guard count == 1000 else { fail("assigned \(count) of 1000") }
                best = max(best, 1000 / elapsed)
            }
            bench("ipam.\(name)", best, "assignments/s")
        }
    }
}
