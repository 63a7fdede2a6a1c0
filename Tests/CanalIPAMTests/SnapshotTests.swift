import CanalDatastore
import CanalIPAM
import CanalModel
import Synchronization
import Testing

/// A client keeps what its last full autoAssign read for a host and assigns from it in one
/// validated write; these tests change the datastore behind its back.
@Suite("the per-host snapshot: changes by others are seen, conflicts retried")
struct SnapshotTests {
    @Test("a pool disabled by another client is not used")
    func disabledPool() async throws {
        let store = memoryStore()
        try await addPool(store, name: "p", cidr: "10.0.0.0/24", blockSize: 26)
        let ipam = IPAMClient.sequential(store)
        for i in 0..<2 { #expect(try await ipam.autoAssign(AutoAssignRequest(host: "n", ipv4: 1, handle: "a\(i)")).ipv4.addresses.count == 1) }
        let resources = ResourceClient(store: store)
        var pool = try await resources.get(IPPool.self, name: "p")
        pool.spec.disabled = true
        _ = try await resources.update(pool)
        let after = try await ipam.autoAssign(AutoAssignRequest(host: "n", ipv4: 1, handle: "b"))
        #expect(after.ipv4.addresses.isEmpty)
        #expect(after.partialFulfillmentError != nil)
    }

    @Test("a reservation made by another client is skipped")
    func newReservation() async throws {
        let store = memoryStore()
        try await addPool(store, name: "p", cidr: "10.0.0.0/24", blockSize: 26)
        let ipam = IPAMClient.sequential(store)
        var got: [IPAddress] = []
        for i in 0..<2 { got += try await ipam.autoAssign(AutoAssignRequest(host: "n", ipv4: 1, handle: "a\(i)")).addresses.map(\.address) }
        #expect(got == [ip("10.0.0.0"), ip("10.0.0.1")])
        try await addReservation(store, name: "r", ["10.0.0.2/32"])
        let next = try await ipam.autoAssign(AutoAssignRequest(host: "n", ipv4: 1, handle: "b")).addresses.map(\.address)
        #expect(next == [ip("10.0.0.3")])
        // Deleting it frees the address again.
        _ = try await ResourceClient(store: store).delete(.ipReservation, name: "r")
        #expect(try await ipam.autoAssign(AutoAssignRequest(host: "n", ipv4: 1, handle: "c")).addresses.map(\.address) == [ip("10.0.0.2")])
    }

    @Test("a node relabelled by another client loses the pool that selected it")
    func nodeLabels() async throws {
        let store = memoryStore()
        try await addPool(store, name: "east", cidr: "10.0.0.0/24", blockSize: 26, nodeSelector: "zone == 'east'")
        try await addNode(store, name: "n", labels: ["zone": "east"])
        let ipam = IPAMClient.sequential(store)
        for i in 0..<2 { #expect(try await ipam.autoAssign(AutoAssignRequest(host: "n", ipv4: 1, handle: "a\(i)")).ipv4.addresses.count == 1) }
        try await addNode(store, name: "n", labels: ["zone": "west"])
        let after = try await ipam.autoAssign(AutoAssignRequest(host: "n", ipv4: 1, handle: "b"))
        #expect(after.ipv4.addresses.isEmpty)
    }

    @Test("affinities released by another client: the host claims a new block")
    func affinitiesReleased() async throws {
        let store = memoryStore()
        try await addPool(store, name: "p", cidr: "10.0.0.0/24", blockSize: 26)
        let ipam = IPAMClient.sequential(store)
        for i in 0..<2 { _ = try await ipam.autoAssign(AutoAssignRequest(host: "n", ipv4: 1, handle: "a\(i)")) }
        let other = IPAMClient.sequential(store)
        #expect(try await other.releaseHostAffinities(host: "n") == [cidr("10.0.0.0/26")])
        let after = try await ipam.autoAssign(AutoAssignRequest(host: "n", ipv4: 1, handle: "b")).addresses.map(\.address)
        #expect(after == [ip("10.0.0.64")])
        #expect(try await ipam.allocation(of: ip("10.0.0.64"))?.blockAffinity == "host:n")
        #expect(try await ipam.check().isClean)
    }

    @Test("a config change by another client applies to the next claim")
    func configChange() async throws {
        let store = memoryStore()
        try await addPool(store, name: "p", cidr: "10.0.0.0/24", blockSize: 30)
        let ipam = IPAMClient.sequential(store)
        for i in 0..<2 { _ = try await ipam.autoAssign(AutoAssignRequest(host: "n", ipv4: 1, handle: "a\(i)")) }
        try await IPAMClient.sequential(store).setConfig(IPAMConfig(strictAffinity: true, maxBlocksPerHost: 1))
        let result = try await ipam.autoAssign(AutoAssignRequest(host: "n", ipv4: 3, handle: "b"))
        #expect(result.ipv4.addresses.count == 2)  // the rest of its one block, no second block
        #expect(result.ipv4.messages.contains { $0.contains("ErrBlockLimit") })
    }

    @Test("another client assigning from the same block between the snapshot and the write: retried, nothing twice")
    func blockConflict() async throws {
        let base = memoryStore()
        try await addPool(base, name: "p", cidr: "10.0.0.0/24", blockSize: 26)
        let store = InterposingStore(base)
        let ipam = IPAMClient.sequential(store)
        for i in 0..<2 { _ = try await ipam.autoAssign(AutoAssignRequest(host: "n", ipv4: 1, handle: "w\(i)")) }
        let other = IPAMClient.sequential(base)
        let taken = Mutex<[IPAddress]>([])
        store.beforeNextTransaction {
            let got = try await other.autoAssign(AutoAssignRequest(host: "n", ipv4: 2, handle: "other")).addresses.map(\.address)
            taken.withLock { $0 = got }
        }
        let before = store.transactionCount
        let mine = try await ipam.autoAssign(AutoAssignRequest(host: "n", ipv4: 3, handle: "mine")).addresses.map(\.address)
        #expect(store.transactionCount - before == 2)  // the failed compare, then the write on the fresh block
        let theirs = taken.withLock { $0 }
        #expect(mine.count == 3 && theirs.count == 2)
        #expect(Set(mine).isDisjoint(with: theirs))
        #expect(Set(try await ipam.ipsByHandle("mine")) == Set(mine))
        #expect(Set(try await ipam.ipsByHandle("other")) == Set(theirs))
        #expect(try await ipam.check().isClean)
    }

    @Test("another client writing the same handle between the snapshot and the write: both counted")
    func handleConflict() async throws {
        let base = memoryStore()
        try await addPool(base, name: "p", cidr: "10.0.0.0/24", blockSize: 26)
        let store = InterposingStore(base)
        let ipam = IPAMClient.sequential(store)
        for i in 0..<2 { _ = try await ipam.autoAssign(AutoAssignRequest(host: "n", ipv4: 1, handle: "w\(i)")) }
        let other = IPAMClient.sequential(base)
        store.beforeNextTransaction {
            _ = try await other.autoAssign(AutoAssignRequest(host: "m", ipv4: 1, handle: "shared"))
        }
        _ = try await ipam.autoAssign(AutoAssignRequest(host: "n", ipv4: 2, handle: "shared"))
        let handle = try IPAMHandle(json: try #require(try await base.get(Array(IPAMKeys.handle("shared").utf8))).value)
        #expect(handle.blocks == ["10.0.0.0/26": 2, "10.0.0.64/26": 1])
        #expect(try await ipam.ipsByHandle("shared").count == 3)
        #expect(try await ipam.check().isClean)
    }

    @Test("a block emptied and deleted by another client: the host claims again")
    func blockDeleted() async throws {
        let store = memoryStore()
        try await addPool(store, name: "p", cidr: "10.0.0.0/24", blockSize: 26)
        let ipam = IPAMClient.sequential(store)
        for i in 0..<2 { _ = try await ipam.autoAssign(AutoAssignRequest(host: "n", ipv4: 1, handle: "a\(i)")) }
        let other = IPAMClient.sequential(store)
        for i in 0..<2 { try await other.releaseByHandle("a\(i)") }
        #expect(try await other.releaseHostAffinities(host: "n") == [cidr("10.0.0.0/26")])
        #expect(try await store.get(Array(IPAMKeys.block(cidr("10.0.0.0/26")).utf8)) == nil)
        let after = try await ipam.autoAssign(AutoAssignRequest(host: "n", ipv4: 1, handle: "b")).addresses.map(\.address)
        #expect(after == [ip("10.0.0.0")])
        #expect(try await ipam.check().isClean)
    }

    @Test("a full block: the host's next block is claimed from the snapshot in one write, as the full path would")
    func claimFromSnapshot() async throws {
        let base = memoryStore()
        try await addPool(base, name: "p", cidr: "10.0.0.0/24", blockSize: 26)
        let store = CountingStore(base)
        let ipam = IPAMClient.sequential(store)
        _ = try await ipam.autoAssign(AutoAssignRequest(host: "n", ipv4: 1, handle: "a"))  // full path: lists the blocks
        _ = try await ipam.autoAssign(AutoAssignRequest(host: "n", ipv4: 63, handle: "b"))  // fills the block
        store.reset()
        let next = try await ipam.autoAssign(AutoAssignRequest(host: "n", ipv4: 2, handle: "c"))
        #expect(store.count == 1)
        #expect(next.addresses.map(\.address) == [ip("10.0.0.64"), ip("10.0.0.65")])
        let affinity = try #require(try await base.get(Array(IPAMKeys.affinity(host: "n", cidr: cidr("10.0.0.64/26")).utf8)))
        #expect(try BlockAffinity(json: affinity.value).state == .confirmed)
        let block = try AllocationBlock(json: try #require(try await base.get(Array(IPAMKeys.block(cidr("10.0.0.64/26")).utf8))).value)
        #expect(block.affinity == "host:n")
        #expect(block.allocatedOrdinals == [0, 1])
        // The claimed block is the snapshot's: the next call is one write from it.
        store.reset()
        #expect(try await ipam.autoAssign(AutoAssignRequest(host: "n", ipv4: 1, handle: "d")).addresses.map(\.address) == [ip("10.0.0.66")])
        #expect(store.count == 1)
        #expect(try await ipam.check().isClean)
    }

    @Test("a block another client created since the list: the claim's failed compare moves on to the next")
    func claimFindsBlockTaken() async throws {
        let base = memoryStore()
        try await addPool(base, name: "p", cidr: "10.0.0.0/24", blockSize: 26)
        let store = CountingStore(base)
        let ipam = IPAMClient.sequential(store)
        _ = try await ipam.autoAssign(AutoAssignRequest(host: "n", ipv4: 64, handle: "a"))  // n's block, full
        let other = IPAMClient.sequential(base)
        #expect(try await other.autoAssign(AutoAssignRequest(host: "m", ipv4: 1, handle: "m")).addresses.map(\.address) == [ip("10.0.0.64")])
        store.reset()
        let next = try await ipam.autoAssign(AutoAssignRequest(host: "n", ipv4: 1, handle: "b"))
        #expect(next.addresses.map(\.address) == [ip("10.0.0.128")])
        #expect(store.count == 2)  // the first claim finds 10.0.0.64/26 existing, the second lands
        let mine = try AllocationBlock(json: try #require(try await base.get(Array(IPAMKeys.block(cidr("10.0.0.64/26")).utf8))).value)
        #expect(mine.affinity == "host:m")
        #expect(mine.allocatedOrdinals == [0])
        #expect(try await ipam.check().isClean)
    }

    @Test("claims from the snapshot keep the block limit and automatic allocation")
    func claimLimits() async throws {
        let store = memoryStore()
        try await addPool(store, name: "p", cidr: "10.0.0.0/24", blockSize: 26)
        let ipam = IPAMClient.sequential(store)
        try await ipam.setConfig(IPAMConfig(strictAffinity: true, maxBlocksPerHost: 1))
        _ = try await ipam.autoAssign(AutoAssignRequest(host: "n", ipv4: 1, handle: "a"))
        _ = try await ipam.autoAssign(AutoAssignRequest(host: "n", ipv4: 63, handle: "b"))
        let limited = try await ipam.autoAssign(AutoAssignRequest(host: "n", ipv4: 1, handle: "c"))
        #expect(limited.ipv4.addresses.isEmpty)
        #expect(limited.ipv4.messages.contains { $0.contains("ErrBlockLimit") })
        try await ipam.setConfig(IPAMConfig(strictAffinity: true, autoAllocateBlocks: false))
        let manual = try await ipam.autoAssign(AutoAssignRequest(host: "n", ipv4: 1, handle: "d"))
        #expect(manual.ipv4.addresses.isEmpty)
        #expect(try await store.list(prefix: Array(IPAMKeys.blockPrefix(.v4).utf8)).items.count == 1)
        #expect(try await ipam.check().isClean)
    }

    @Test("an address freed by another client in a full block ahead: used before any new block is claimed")
    func freedInFullBlock() async throws {
        let store = memoryStore()
        try await addPool(store, name: "p", cidr: "10.0.0.0/24", blockSize: 26)
        let ipam = IPAMClient.sequential(store)
        _ = try await ipam.autoAssign(AutoAssignRequest(host: "n", ipv4: 64, handle: "a"))
        #expect(try await ipam.autoAssign(AutoAssignRequest(host: "n", ipv4: 1, handle: "b")).addresses.map(\.address) == [ip("10.0.0.64")])
        let other = IPAMClient.sequential(store)
        _ = try await other.releaseIPs([ReleaseRequest(address: ip("10.0.0.7"), handle: "a")])
        // An assignment from the block in use does not depend on the full blocks ahead of it (the
        // write compares its own block only): the next address of that block.
        #expect(try await ipam.autoAssign(AutoAssignRequest(host: "n", ipv4: 1, handle: "c")).addresses.map(\.address) == [ip("10.0.0.65")])
        _ = try await ipam.autoAssign(AutoAssignRequest(host: "n", ipv4: 62, handle: "d"))
        // Every block the client knows is full: a claim compares them all, finds the freed address
        // and the full path takes it instead of a new block.
        #expect(try await ipam.autoAssign(AutoAssignRequest(host: "n", ipv4: 1, handle: "e")).addresses.map(\.address) == [ip("10.0.0.7")])
        #expect(try await store.list(prefix: Array(IPAMKeys.blockPrefix(.v4).utf8)).items.count == 2)
        #expect(try await ipam.check().isClean)
    }

    @Test("one client, concurrent calls for one host, some writes failing: the in-place assignments are taken back, nothing twice or leaked")
    func concurrentInPlace() async throws {
        let base = memoryStore()
        try await addPool(base, name: "p", cidr: "10.0.0.0/24", blockSize: 26)
        // Transactions suspend first (so concurrent calls interleave at the write), and every fifth
        // fails with `unavailable` before reaching the store.
        let store = InterposingStore(base)
        let failures = Mutex(0)
        store.onEveryTransaction { number in
            await Task.yield()
            if number % 5 == 0 {
                failures.withLock { $0 += 1 }
                throw DatastoreError(.unavailable, "injected failure")
            }
        }
        let ipam = IPAMClient.sequential(store)
        _ = try await ipam.autoAssign(AutoAssignRequest(host: "n", ipv4: 1, handle: "first"))
        let got = try await withThrowingTaskGroup(of: [IPAddress].self) { group in
            for worker in 0..<6 {
                group.addTask {
                    var mine: [IPAddress] = []
                    var call = 0
                    while mine.count < 20 {
                        call += 1
                        // (The injected failures never reach the store: a failed call assigned nothing.)
                        if let r = try? await ipam.autoAssign(AutoAssignRequest(host: "n", ipv4: 1, handle: "w\(worker)-\(call)")) {
                            mine += r.addresses.map(\.address)
                        }
                    }
                    return mine
                }
            }
            var all: [IPAddress] = []
            for try await part in group { all += part }
            return all
        }
        #expect(got.count == 120)
        #expect(Set(got).count == 120)
        #expect(failures.withLock { $0 } > 0)
        // Every address handed out is held by its handle, and nothing else is allocated.
        #expect(try await IPAMClient.sequential(base).check().isClean)
        var held: Set<IPAddress> = []
        for kv in try await base.list(prefix: Array(IPAMKeys.blockPrefix(.v4).utf8)).items {
            let block = try AllocationBlock(json: kv.value)
            for o in block.allocatedOrdinals { held.insert(block.address(ordinal: o)) }
        }
        #expect(held == Set(got).union([ip("10.0.0.0")]))
    }
}
