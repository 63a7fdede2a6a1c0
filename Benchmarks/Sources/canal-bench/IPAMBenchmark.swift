// The IPAM benchmark: `canal-bench ipam` starts its own etcd and runs, side by side, Canal's
// autoAssign of one address per call and the raw compare-and-swap txn rate of the same client
// (EtcdKeyValueStore.update on one key per worker: Txn{if mod_revision(key) == r then put a 16-byte
// value else get key}, no prev_kv — the client, request path and txn shape of IPAM's writes), at
// concurrency 1 and 8, interleaved in 0.25 s slices so that load on the shared machine hits both
// alike. It reports allocations/s, etcd round trips per allocation (counted), and
// ratio = allocations/s ÷ (raw txn/s ÷ round trips per allocation); and the same ratio against that
// CAS with a value as large as the block values the allocations write (`vs-block-sized-txn`): an
// allocation rewrites its whole block (Calico's format), which costs etcd more than a 16-byte CAS,
// so that ratio is what Canal adds. Workers move to a new host every 1,000 allocations (a host may
// own 20 blocks of 64). Then 1,000 assignments on the in-memory backend, one address per call and
// all in one call (`canal-bench ipam-memory` runs only these, repeated, for profiling).
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
    /// The bytes and number of block values put (the size of what an allocation writes).
    let blockBytes = Atomic<Int>(0)
    let blockPuts = Atomic<Int>(0)
    init(_ base: Base) { self.base = base }
    func get(_ key: [UInt8], at revision: Revision?) async throws -> KeyValue? { counter.add(1, ordering: .relaxed); return try await base.get(key, at: revision) }
    func list(prefix: [UInt8], at revision: Revision?) async throws -> ListResult { counter.add(1, ordering: .relaxed); return try await base.list(prefix: prefix, at: revision) }
    func transaction(_ transaction: Transaction) async throws -> TransactionResult {
        counter.add(1, ordering: .relaxed)
        for case .put(let key, let value, _) in transaction.success where key.starts(with: Self.blockPrefix) {
            blockBytes.add(value.count, ordering: .relaxed)
            blockPuts.add(1, ordering: .relaxed)
        }
        return try await base.transaction(transaction)
    }
    static var blockPrefix: [UInt8] { Array("/calico/ipam/v2/assignment/ipv4/block/".utf8) }
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

    /// One slice of allocations: each worker its own host, one address per call, until `deadline`
    /// or until it made `limit` calls; `counts` carries each worker's calls from slice to slice.
    /// Returns (allocations, seconds).
    static func allocSlice(
        _ ipam: IPAMClient<CountingKV<EtcdKeyValueStore>>, counts: inout [Int], tag: String, seconds: Double, limit: Int = .max
    ) async throws -> (Int, Double) {
        let start = ContinuousClock.now
        let deadline = start + .milliseconds(Int(seconds * 1000))
        let before = counts
        counts = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            for (w, first) in before.enumerated() {
                group.addTask {
                    var n = first
                    while ContinuousClock.now < deadline, n - first < limit {
                        // A host owns at most 20 blocks of 64 (1,280 addresses): move on to a new host every 1,000.
                        let host = n < 1000 ? "\(tag)-\(w)" : "\(tag)-\(w)-\(n / 1000)"
                        let r = try await ipam.autoAssign(AutoAssignRequest(host: host, ipv4: 1, handle: "\(tag)-\(w)-\(n)"))
                        guard r.ipv4.addresses.count == 1 else { fail("short allocation: \(r.ipv4.messages)") }
                        n += 1
                    }
                    return (w, n)
                }
            }
            var out = before
            for try await (w, n) in group { out[w] = n }
            return out
        }
        return (zip(counts, before).map { $0 - $1 }.reduce(0, +), (ContinuousClock.now - start) / .seconds(1))
    }

    /// One slice of raw compare-and-swap txns of a `size`-byte value, one key per worker, through
    /// the same client (`EtcdKeyValueStore.update`: Txn{if mod_revision == r then put else get}, no
    /// prev_kv); `revisions` carries each worker's key revision. Returns (txns, seconds).
    static func casSlice(
        _ store: EtcdKeyValueStore, revisions: inout [Revision], name: String, size: Int, seconds: Double
    ) async throws -> (Int, Double) {
        let value = Array(repeating: UInt8(ascii: "7"), count: size)
        let start = ContinuousClock.now
        let deadline = start + .milliseconds(Int(seconds * 1000))
        let before = revisions
        var total = 0
        revisions = try await withThrowingTaskGroup(of: (Int, Revision, Int).self) { group in
            for (worker, first) in before.enumerated() {
                group.addTask {
                    let key = Array("/bench/ipam/\(name)/\(worker)".utf8)
                    var revision = first
                    var count = 0
                    while ContinuousClock.now < deadline {
                        revision = try await store.update(key, value: value, ifRevision: revision)
                        count += 1
                    }
                    return (worker, revision, count)
                }
            }
            var out = before
            for try await (worker, revision, count) in group {
                out[worker] = revision
                total += count
            }
            return out
        }
        return (total, (ContinuousClock.now - start) / .seconds(1))
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
        print("# raw = the same EtcdKeyValueStore client as IPAM's: Txn{if mod_revision(key) == r then put a 16-byte value else get key}, no prev_kv, one key per worker")
        print("# raw-txn-block-sized = that txn with a value as large as the average block value the allocations wrote (Calico's block JSON is rewritten whole by every allocation)")
        print("# allocation = autoAssign(ipv4: 1, a new handle); each worker its own host, a new host every 1,000")
        print("# the three run interleaved in 0.25 s slices, so load changes on the machine hit them alike")
        for concurrency in [1, 8] {
            let tag = "c\(concurrency)"
            let ipam = IPAMClient(store: store)
            var counts = Array(repeating: 0, count: concurrency)
            // Warm-up, not measured: each host claims its first block and fills it, which gives the
            // average size of the block values an allocation writes.
            store.blockBytes.store(0, ordering: .relaxed)
            store.blockPuts.store(0, ordering: .relaxed)
            _ = try await allocSlice(ipam, counts: &counts, tag: tag, seconds: 3600, limit: 64)
            let size = max(16, store.blockBytes.load(ordering: .relaxed) / max(1, store.blockPuts.load(ordering: .relaxed)))
            var rawRevisions: [Revision] = []
            var sizedRevisions: [Revision] = []
            for w in 0..<concurrency {
                rawRevisions.append(try await raw.put(Array("/bench/ipam/raw/\(w)".utf8), value: Array(repeating: 55, count: 16)))
                sizedRevisions.append(try await raw.put(Array("/bench/ipam/sized/\(w)".utf8), value: Array(repeating: 55, count: size)))
            }
            let slices = max(4, Int((seconds / 0.25).rounded()))
            let slice = seconds / Double(slices)
            var (allocs, allocTime, txns, txnTime, sized, sizedTime) = (0, 0.0, 0, 0.0, 0, 0.0)
            let tripsBefore = store.counter.load(ordering: .relaxed)
            for _ in 0..<slices {
                let (t, tt) = try await casSlice(raw, revisions: &rawRevisions, name: "raw", size: 16, seconds: slice)
                let (a, at) = try await allocSlice(ipam, counts: &counts, tag: tag, seconds: slice)
                let (z, zt) = try await casSlice(raw, revisions: &sizedRevisions, name: "sized", size: size, seconds: slice)
                (txns, txnTime, allocs, allocTime, sized, sizedTime) = (txns + t, txnTime + tt, allocs + a, allocTime + at, sized + z, sizedTime + zt)
            }
            let trips = Double(store.counter.load(ordering: .relaxed) - tripsBefore) / Double(max(1, allocs))
            let allocRate = Double(allocs) / allocTime
            let txnRate = Double(txns) / txnTime
            let sizedRate = Double(sized) / sizedTime
            bench("ipam.autoassign.c\(concurrency).allocations", allocRate, "allocs/s")
            print(String(format: "bench ipam.autoassign.c%d.roundtrips %.3f trips/alloc", concurrency, trips))
            bench("ipam.autoassign.c\(concurrency).raw-txn", txnRate, "txn/s (16 B)")
            let r = allocRate / (txnRate / trips)
            ratio("ipam.autoassign.c\(concurrency)", r)
            if !(r > 0) { ok = false }
            bench("ipam.autoassign.c\(concurrency).raw-txn-block-sized", sizedRate, "txn/s (\(size) B)")
            ratio("ipam.autoassign.c\(concurrency).vs-block-sized-txn", allocRate / (sizedRate / trips))
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
