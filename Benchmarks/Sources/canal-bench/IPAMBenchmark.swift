// The IPAM benchmark: `canal-bench ipam` starts its own etcd and runs, side by side against it,
// Canal's autoAssign of one address per call and raw compare-and-swap txns of the same client
// (EtcdKeyValueStore), at concurrency 1 and 8, interleaved in 0.25 s slices so that load on the
// shared machine hits all alike (in a rotating order). The raw references, one key per worker, no prev_kv:
// - `raw-txn` (16 B): Txn{if mod_revision(key) == r then put a 16-byte value else get key};
// - `raw-txn-block-sized`: the same with a value as large as the block values allocations write
//   (Calico's block JSON is rewritten whole by every allocation);
// - `raw-txn-alloc-shaped`: exactly an allocation's write — the compares of a captured allocation
//   txn (config, node, pools, the pool and affinity "unmodified since" ranges, the block's
//   affinity; the block's and handle's own compares on the reference's keys), the block put with
//   the captured block value and a new handle put with the captured handle value, cycling through
//   the warm-up's allocations so the block values have the sizes allocations write;
// - `raw-txn-alloc-shaped+full-blocks`: that plus one compare per full block ahead of the block in
//   use (what a write comparing the host's earlier full blocks would carry: their mean number in
//   this benchmark), to price those compares.
// It reports allocations/s, etcd round trips per allocation (counted), ratio = allocations/s ÷
// (reference txn/s ÷ round trips) for each reference, and the client's CPU time per operation
// (getrusage RUSAGE_SELF of this process — etcd is another process — over each kind's slices):
// CPU per allocation minus CPU per reference txn is what Canal's IPAM logic costs the client on top
// of the etcd request, independent of the machine's load. Workers move to a new host every 1,000
// allocations (a host may own 20 blocks of 64). Then 1,000 assignments on the in-memory backend,
// one address per call and all in one call (`canal-bench ipam-memory` runs only these, repeated,
// for profiling).
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
    /// While set (warm-up only), the allocation writes are kept as templates for the shaped reference.
    let capturing = Atomic<Bool>(false)
    let captured = Mutex<[Transaction]>([])
    func transaction(_ transaction: Transaction) async throws -> TransactionResult {
        counter.add(1, ordering: .relaxed)
        guard capturing.load(ordering: .relaxed) else { return try await base.transaction(transaction) }
        for case .put(let key, let value, _) in transaction.success where key.starts(with: Self.blockPrefix) {
            blockBytes.add(value.count, ordering: .relaxed)
            blockPuts.add(1, ordering: .relaxed)
        }
        // An assignment from an existing block: block put + handle put, the block compared by revision.
        if transaction.success.count == 2, case .put(let blockKey, _, _) = transaction.success[0], blockKey.starts(with: Self.blockPrefix),
           transaction.comparisons.contains(where: { $0.key == blockKey && $0.rangeEnd == nil && $0.target != .createRevision(.zero) }) {
            captured.withLock { $0.append(transaction) }
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

    /// CPU time (user + system) of this process so far, in seconds: every thread (RUSAGE_SELF), not etcd.
    static func processCPU() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// A reference txn that did not run as intended.
    struct ReferenceFailure: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    /// One worker's keys of the allocation-shaped reference.
    struct ShapedWorker: Sendable {
        var blockKey: [UInt8]
        var blockRevision: Revision
        var handlePrefix: String
        var handles = 0
        /// Keys standing for the full blocks ahead of the one in use, with their revisions.
        var fullBlocks: [([UInt8], Revision)]
    }

    /// One slice of allocation-shaped txns (see the file comment): the captured allocation writes in
    /// turn (so their block values have the sizes allocations write, from an empty block to a full
    /// one), each with its block and handle compares moved to the worker's keys and its ranges'
    /// revision made current, plus `extra` full-block compares. Returns (txns, seconds).
    static func shapedSlice(
        _ store: EtcdKeyValueStore, templates: [Transaction], workers: inout [ShapedWorker], extra: Int, seconds: Double
    ) async throws -> (Int, Double) {
        // The store's revision now: the ranges' "since" (outside the timed part).
        let current = try await store.list(prefix: Array("/bench/ipam/none/".utf8)).revision
        let start = ContinuousClock.now
        let deadline = start + .milliseconds(Int(seconds * 1000))
        let before = workers
        var total = 0
        workers = try await withThrowingTaskGroup(of: (Int, ShapedWorker, Int).self) { group in
            for (index, first) in before.enumerated() {
                group.addTask {
                    var worker = first
                    var count = 0
                    while ContinuousClock.now < deadline {
                        let template = templates[worker.handles % templates.count]
                        guard case .put(let templateBlock, let blockValue, _) = template.success[0],
                              case .put(let templateHandle, let handleValue, _) = template.success[1]
                        else { throw ReferenceFailure(message: "the captured allocation is not a block put and a handle put") }
                        let handleKey = Array("\(worker.handlePrefix)\(worker.handles)".utf8)
                        worker.handles += 1
                        var compares: [Transaction.Comparison] = []
                        for c in template.comparisons {
                            if c.key == templateBlock {
                                compares.append(.modRevision(worker.blockKey, is: worker.blockRevision))
                            } else if c.key == templateHandle {
                                compares.append(.absent(handleKey))
                            } else if c.rangeEnd != nil {
                                // "Nothing in range modified since": since the last write known, as an
                                // allocation's is since the client's last write (nothing in those ranges is
                                // written during these slices).
                                compares.append(Transaction.Comparison(key: c.key, .modRevision(max(current, worker.blockRevision).next), .less, rangeEnd: c.rangeEnd))
                            } else {
                                compares.append(c)
                            }
                        }
                        for (key, revision) in worker.fullBlocks.prefix(extra) { compares.append(.modRevision(key, is: revision)) }
                        let result = try await store.transaction(
                            Transaction(
                                if: compares,
                                then: [.put(key: worker.blockKey, value: blockValue, lease: nil), .put(key: handleKey, value: handleValue, lease: nil)],
                                else: [.get(key: worker.blockKey), .get(key: handleKey)], returnsPreviousValues: false))
                        // Thrown (not exit): `run` must stop its etcd on the way out.
                        guard result.succeeded else { throw ReferenceFailure(message: "an allocation-shaped reference txn failed its compares") }
                        worker.blockRevision = result.revision
                        count += 1
                    }
                    return (index, worker, count)
                }
            }
            var out = before
            for try await (index, worker, count) in group {
                out[index] = worker
                total += count
            }
            return out
        }
        return (total, (ContinuousClock.now - start) / .seconds(1))
    }

    /// Totals of one kind of slice: operations, wall seconds, CPU seconds.
    struct Tally {
        var operations = 0
        var seconds = 0.0
        var cpu = 0.0
        var rate: Double { Double(operations) / seconds }
        /// CPU microseconds per operation.
        var cpuPerOperation: Double { cpu / Double(max(1, operations)) * 1e6 }

        mutating func measure(_ body: () async throws -> (Int, Double)) async rethrows {
            let before = IPAMBenchmark.processCPU()
            let (n, t) = try await body()
            cpu += IPAMBenchmark.processCPU() - before
            operations += n
            seconds += t
        }
    }

    /// The mean number of full blocks ahead of the block in use over a host's 1,000 allocations
    /// from blocks of 64 (what a write comparing them would carry).
    static var meanFullBlocksAhead: Int { Int((Double((0..<1000).map { $0 / 64 }.reduce(0, +)) / 1000).rounded()) }

    static func run(seconds: Double) async throws -> Bool {
        let (etcd, endpoint) = try await startEtcd()
        defer { etcd.run() }
        let raw = EtcdKeyValueStore(configuration: EtcdConfiguration(endpoints: [endpoint]))
        let store = CountingKV(raw)
        try await pool(raw, cidr: "10.0.0.0/8")
        var ok = true
        print("# allocation = autoAssign(ipv4: 1, a new handle); each worker its own host, a new host every 1,000")
        print("# references (same EtcdKeyValueStore client, one key per worker, no prev_kv), all interleaved in 0.25 s slices:")
        print("#   raw-txn: Txn{if mod_revision(key) == r then put 16 B else get}")
        print("#   raw-txn-block-sized: the same with a value of the mean block value size the allocations wrote")
        print("#   raw-txn-alloc-shaped: an allocation's write exactly (its compares, the block put, a new handle put)")
        print("#   raw-txn-alloc-shaped+full-blocks: that plus \(meanFullBlocksAhead) compares, the mean full blocks ahead of the block in use")
        print("# cpu = this process's CPU time (RUSAGE_SELF; etcd excluded) per operation over each kind's slices")
        for concurrency in [1, 8] {
            let tag = "c\(concurrency)"
            let ipam = IPAMClient(store: store)
            var counts = Array(repeating: 0, count: concurrency)
            // Warm-up, not measured: each host claims its first block and fills it, which gives the
            // average size of the block values an allocation writes and an allocation txn to copy.
            store.blockBytes.store(0, ordering: .relaxed)
            store.blockPuts.store(0, ordering: .relaxed)
            store.captured.withLock { $0 = [] }
            store.capturing.store(true, ordering: .relaxed)
            _ = try await allocSlice(ipam, counts: &counts, tag: tag, seconds: 3600, limit: 64)
            store.capturing.store(false, ordering: .relaxed)
            let templates = store.captured.withLock { $0 }
            guard !templates.isEmpty else { throw ReferenceFailure(message: "no allocation txn captured") }
            let size = max(16, store.blockBytes.load(ordering: .relaxed) / max(1, store.blockPuts.load(ordering: .relaxed)))
            var rawRevisions: [Revision] = []
            var sizedRevisions: [Revision] = []
            var shaped: [ShapedWorker] = []
            let blockSized = Array(repeating: UInt8(55), count: size)
            for w in 0..<concurrency {
                rawRevisions.append(try await raw.put(Array("/bench/ipam/raw/\(w)".utf8), value: Array(repeating: 55, count: 16)))
                sizedRevisions.append(try await raw.put(Array("/bench/ipam/sized/\(w)".utf8), value: blockSized))
                let blockKey = Array("/bench/ipam/shaped/\(tag)/\(w)/block".utf8)
                var full: [([UInt8], Revision)] = []
                for i in 0..<meanFullBlocksAhead {
                    let key = Array("/bench/ipam/shaped/\(tag)/\(w)/full/\(i)".utf8)
                    full.append((key, try await raw.put(key, value: blockSized)))
                }
                shaped.append(
                    ShapedWorker(
                        blockKey: blockKey, blockRevision: try await raw.put(blockKey, value: blockSized),
                        handlePrefix: "/bench/ipam/shaped/\(tag)/\(w)/handle/", fullBlocks: full))
            }
            let slices = max(4, Int((seconds / 0.25).rounded()))
            let slice = seconds / Double(slices)
            var (alloc, raw16, sized, same, sameFull) = (Tally(), Tally(), Tally(), Tally(), Tally())
            let tripsBefore = store.counter.load(ordering: .relaxed)
            for round in 0..<slices {
                // The kinds in a rotating order, so none always follows the same one.
                for kind in 0..<5 {
                    switch (kind + round) % 5 {
                    case 0: try await raw16.measure { try await casSlice(raw, revisions: &rawRevisions, name: "raw", size: 16, seconds: slice) }
                    case 1: try await alloc.measure { try await allocSlice(ipam, counts: &counts, tag: tag, seconds: slice) }
                    case 2: try await sized.measure { try await casSlice(raw, revisions: &sizedRevisions, name: "sized", size: size, seconds: slice) }
                    case 3: try await same.measure { try await shapedSlice(raw, templates: templates, workers: &shaped, extra: 0, seconds: slice) }
                    default:
                        try await sameFull.measure {
                            try await shapedSlice(raw, templates: templates, workers: &shaped, extra: meanFullBlocksAhead, seconds: slice)
                        }
                    }
                }
            }
            let trips = Double(store.counter.load(ordering: .relaxed) - tripsBefore) / Double(max(1, alloc.operations))
            let name = "ipam.autoassign.c\(concurrency)"
            bench("\(name).allocations", alloc.rate, "allocs/s")
            print(String(format: "bench %@.roundtrips %.3f trips/alloc", name, trips))
            bench("\(name).raw-txn", raw16.rate, "txn/s (16 B)")
            bench("\(name).raw-txn-block-sized", sized.rate, "txn/s (\(size) B)")
            bench("\(name).raw-txn-alloc-shaped", same.rate, String(format: "txn/s (%.1f compares, 2 puts)", Double(templates.map(\.comparisons.count).reduce(0, +)) / Double(templates.count)))
            bench("\(name).raw-txn-alloc-shaped+full-blocks", sameFull.rate, "txn/s (+\(meanFullBlocksAhead) compares)")
            let r = alloc.rate / (raw16.rate / trips)
            ratio("\(name).vs-raw-txn-16B", r)
            if !(r > 0) { ok = false }
            ratio("\(name).vs-raw-txn-block-sized", alloc.rate / (sized.rate / trips))
            ratio("\(name).vs-raw-txn-alloc-shaped", alloc.rate / (same.rate / trips))
            ratio("\(name).full-block-compares-cost", 1 - sameFull.rate / same.rate)
            print(String(format: "bench %@.cpu.allocation %.1f us/alloc", name, alloc.cpuPerOperation))
            print(String(format: "bench %@.cpu.raw-txn %.1f us/txn (16 B)", name, raw16.cpuPerOperation))
            print(String(format: "bench %@.cpu.raw-txn-block-sized %.1f us/txn", name, sized.cpuPerOperation))
            print(String(format: "bench %@.cpu.raw-txn-alloc-shaped %.1f us/txn", name, same.cpuPerOperation))
            print(String(format: "bench %@.cpu.ipam-over-raw-txn %.1f us/alloc (allocation − raw 16 B txn × round trips)", name, alloc.cpuPerOperation - raw16.cpuPerOperation * trips))
            print(String(format: "bench %@.cpu.ipam-over-alloc-shaped %.1f us/alloc (allocation − allocation-shaped txn × round trips)", name, alloc.cpuPerOperation - same.cpuPerOperation * trips))
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
