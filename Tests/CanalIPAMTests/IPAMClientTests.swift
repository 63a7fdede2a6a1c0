import CanalDatastore
@testable import CanalIPAM
import CanalModel
import Testing

@Suite("Calico block IPAM on the in-memory store")
struct IPAMClientTests {
    @Test("a whole /26 pool: .0 first, then all 64 addresses, then a short result")
    func wholeBlockAndExhaustion() async throws {
        let store = memoryStore()
        try await addPool(store, name: "p", cidr: "10.0.0.0/26", blockSize: 26)
        let ipam = IPAMClient.sequential(store)
        let one = try await ipam.autoAssign(AutoAssignRequest(host: "a", ipv4: 1, handle: "h0"))
        #expect(one.ipv4.addresses == [cidr("10.0.0.0/26")])
        let rest = try await ipam.autoAssign(AutoAssignRequest(host: "a", ipv4: 64, handle: "h1"))
        #expect(rest.ipv4.addresses.count == 63)
        #expect(Set(rest.ipv4.addresses.map(\.address)).count == 63)
        #expect(!rest.isComplete)
        #expect(rest.partialFulfillmentError != nil)
        #expect(rest.ipv4.messages.contains { $0.contains("No IPs available") })
        #expect(try await ipam.check().isClean)
    }

    @Test("reservations are skipped: 58 of 64, .0 then .2")
    func reservations() async throws {
        let store = memoryStore()
        try await addPool(store, name: "p", cidr: "10.0.0.0/26", blockSize: 26)
        try await addReservation(store, name: "r", ["10.0.0.1/32", "10.0.0.32/30", "10.0.0.17"])
        let result = try await IPAMClient.sequential(store).autoAssign(AutoAssignRequest(host: "a", ipv4: 64))
        #expect(result.ipv4.addresses.count == 58)
        #expect(result.ipv4.addresses.prefix(2).map(\.address) == [ip("10.0.0.0"), ip("10.0.0.2")])
        // A wholly reserved pool gives nothing.
        let store2 = memoryStore()
        try await addPool(store2, name: "p", cidr: "10.0.0.0/26", blockSize: 26)
        try await addReservation(store2, name: "r", ["10.0.0.0/24"])
        #expect(try await IPAMClient.sequential(store2).autoAssign(AutoAssignRequest(host: "a", ipv4: 1)).ipv4.addresses.isEmpty)
    }

    @Test("release is FIFO: the fifth allocation reuses the first address")
    func fifoWrap() async throws {
        let store = memoryStore()
        try await addPool(store, name: "p", cidr: "10.0.0.0/24", blockSize: 30)
        let ipam = IPAMClient.sequential(store)
        var seen: [IPAddress] = []
        for _ in 0..<4 {
            let a = try await ipam.autoAssign(AutoAssignRequest(host: "a", ipv4: 1)).ipv4.addresses[0].address
            seen.append(a)
            let r = try await ipam.releaseIPs([ReleaseRequest(address: a)])
            #expect(r.released == [a])
        }
        #expect(Set(seen).count == 4)
        #expect(try await ipam.autoAssign(AutoAssignRequest(host: "a", ipv4: 1)).ipv4.addresses[0].address == seen[0])
    }

    @Test("borrowing without strict affinity; none with it")
    func borrowingAndStrict() async throws {
        for strict in [false, true] {
            let store = memoryStore()
            try await addPool(store, name: "p", cidr: "10.0.0.0/28", blockSize: 28)
            let ipam = IPAMClient.sequential(store)
            if strict { try await ipam.setConfig(IPAMConfig(strictAffinity: true)) }
            let owner = try await ipam.autoAssign(AutoAssignRequest(host: "host1", ipv4: 1, handle: "a"))
            #expect(owner.ipv4.addresses.count == 1)
            let other = try await ipam.autoAssign(AutoAssignRequest(host: "host2", ipv4: 1, handle: "b"))
            #expect(other.ipv4.addresses.count == (strict ? 0 : 1))
            if !strict {
                // The borrowed address stays in host1's block.
                let allocation = try #require(try await ipam.allocation(of: other.ipv4.addresses[0].address))
                #expect(allocation.blockAffinity == "host:host1")
                #expect(allocation.attribute.handleID == "b")
            } else {
                #expect(other.ipv4.messages.contains { $0.contains("strict affinity") })
                await #expect(throws: IPAMError.self) {
                    try await ipam.assignIP(ip("10.0.0.5"), host: "host2")
                }
            }
        }
    }

    @Test("the block limit: the stricter limit wins, no borrowing at the cap")
    func blockLimit() async throws {
        let store = memoryStore()
        try await addPool(store, name: "p", cidr: "10.0.0.0/28", blockSize: 30)
        let ipam = IPAMClient.sequential(store)
        try await ipam.setConfig(IPAMConfig(strictAffinity: true, maxBlocksPerHost: 2))
        #expect(try await ipam.autoAssign(AutoAssignRequest(host: "h1", ipv4: 8)).ipv4.addresses.count == 8)
        let ninth = try await ipam.autoAssign(AutoAssignRequest(host: "h1", ipv4: 1, maxBlocksPerHost: 3))
        #expect(ninth.ipv4.addresses.isEmpty)
        #expect(ninth.ipv4.messages.contains { $0.contains("ErrBlockLimit") })
        try await ipam.setConfig(IPAMConfig(strictAffinity: true, maxBlocksPerHost: 3))
        #expect(try await ipam.autoAssign(AutoAssignRequest(host: "h1", ipv4: 1)).ipv4.addresses.count == 1)
        // Calico's config rules.
        await #expect(throws: IPAMError.self) { try await ipam.setConfig(IPAMConfig(strictAffinity: false, autoAllocateBlocks: false)) }
        await #expect(throws: IPAMError.self) { try await ipam.setConfig(IPAMConfig(strictAffinity: false, maxBlocksPerHost: 1)) }
    }

    @Test("disabled pools, node selectors, named pools")
    func poolSelection() async throws {
        let store = memoryStore()
        try await addPool(store, name: "a-off", cidr: "10.1.0.0/24", disabled: true)
        try await addPool(store, name: "b-zone", cidr: "10.2.0.0/24", nodeSelector: "zone == 'east'")
        try await addPool(store, name: "c-all", cidr: "10.3.0.0/24")
        try await addNode(store, name: "east1", labels: ["zone": "east"])
        let ipam = IPAMClient.sequential(store)
        let east = try await ipam.autoAssign(AutoAssignRequest(host: "east1", ipv4: 1))
        #expect(cidr("10.2.0.0/24").contains(east.ipv4.addresses[0].address))
        let west = try await ipam.autoAssign(AutoAssignRequest(host: "west1", ipv4: 1))
        #expect(cidr("10.3.0.0/24").contains(west.ipv4.addresses[0].address))
        await #expect(throws: IPAMError.self) {
            _ = try await ipam.autoAssign(AutoAssignRequest(host: "west1", ipv4: 1, ipv4Pools: [cidr("10.1.0.0/24")]))
        }
        do {
            try await ipam.assignIP(ip("10.1.0.7"), host: "west1")
            Issue.record("assigned from a disabled pool")
        } catch {
            #expect(error.code == .poolDisabled)
        }
        // A disabled pool only: nothing, and the result says so.
        let store2 = memoryStore()
        try await addPool(store2, name: "off", cidr: "10.1.0.0/24", disabled: true)
        let none = try await IPAMClient.sequential(store2).autoAssign(AutoAssignRequest(host: "x", ipv4: 1))
        #expect(none.ipv4.addresses.isEmpty && none.partialFulfillmentError != nil)
    }

    @Test("handles count per block; release by handle frees all and deletes the handle")
    func handles() async throws {
        let store = memoryStore()
        try await addPool(store, name: "p", cidr: "10.0.0.0/24", blockSize: 26)
        let ipam = IPAMClient.sequential(store)
        let result = try await ipam.autoAssign(AutoAssignRequest(host: "a", ipv4: 2, handle: "h"))
        let kv = try #require(try await store.get(Array(IPAMKeys.handle("h").utf8)))
        #expect(String(decoding: kv.value, as: UTF8.self) == #"{"block":{"10.0.0.0/26":2},"deleted":false}"#)
        #expect(Set(try await ipam.ipsByHandle("h")) == Set(result.addresses.map(\.address)))
        try await ipam.assignIP(ip("10.0.0.200"), handle: "h", host: "a")
        do {
            try await ipam.assignIP(ip("10.0.0.200"), handle: "h", host: "a")
            Issue.record("assigned twice")
        } catch {
            #expect(error.code == .alreadyAssigned)
        }
        try await ipam.releaseByHandle("h")
        #expect(try await store.get(Array(IPAMKeys.handle("h").utf8)) == nil)
        await #expect(throws: IPAMError.self) { try await ipam.releaseByHandle("h") }
        #expect(try await ipam.usage().pools[0].used == 0)
        #expect(try await ipam.check().isClean)
    }

    @Test("release edge cases: unallocated, twice in one call, wrong handle, wrong sequence number")
    func releaseEdges() async throws {
        let store = memoryStore()
        try await addPool(store, name: "p", cidr: "10.0.0.0/24", blockSize: 26)
        let ipam = IPAMClient.sequential(store)
        let a = try await ipam.autoAssign(AutoAssignRequest(host: "a", ipv4: 1, handle: "h")).ipv4.addresses[0].address
        let free = try await ipam.releaseIPs([ReleaseRequest(address: ip("10.0.0.50")), ReleaseRequest(address: ip("10.9.9.9"))])
        #expect(Set(free.unallocated) == [ip("10.0.0.50"), ip("10.9.9.9")] && free.errors.isEmpty)
        let wrongHandle = try await ipam.releaseIPs([ReleaseRequest(address: a, handle: "other")])
        #expect(wrongHandle.errors.first?.code == .badHandle && wrongHandle.released.isEmpty)
        let seq = try #require(try await ipam.allocation(of: a)?.sequenceNumber)
        let wrongSeq = try await ipam.releaseIPs([ReleaseRequest(address: a, sequenceNumber: seq + 7)])
        #expect(wrongSeq.errors.first?.code == .badSequenceNumber)
        let twice = try await ipam.releaseIPs([ReleaseRequest(address: a, handle: "h", sequenceNumber: seq), ReleaseRequest(address: a)])
        #expect(twice.released == [a])
        #expect(try await store.get(Array(IPAMKeys.handle("h").utf8)) == nil)
    }

    @Test("block release: an affine block stays when emptied; releasing the host's affinities deletes empty blocks and un-owns used ones")
    func blockRelease() async throws {
        let store = memoryStore()
        try await addPool(store, name: "p", cidr: "10.0.0.0/24", blockSize: 26)
        let ipam = IPAMClient.sequential(store)
        let a = try await ipam.autoAssign(AutoAssignRequest(host: "n1", ipv4: 65, handle: "h"))
        #expect(a.ipv4.addresses.count == 65)  // two blocks
        _ = try await ipam.releaseIPs(a.ipv4.addresses.prefix(64).map { ReleaseRequest(address: $0.address) })
        #expect(try await store.get(Array(IPAMKeys.block(cidr("10.0.0.0/26")).utf8)) != nil)  // affine: kept
        let released = try await ipam.releaseHostAffinities(host: "n1")
        #expect(Set(released) == [cidr("10.0.0.0/26"), cidr("10.0.0.64/26")])
        #expect(try await store.get(Array(IPAMKeys.block(cidr("10.0.0.0/26")).utf8)) == nil)
        let used = try AllocationBlock(json: try #require(try await store.get(Array(IPAMKeys.block(cidr("10.0.0.64/26")).utf8))).value)
        #expect(used.affinity == nil && used.allocatedOrdinals.count == 1)
        #expect(try await store.list(prefix: Array("/calico/ipam/v2/host/n1/".utf8)).items.isEmpty)
        // The last release from an un-owned block deletes it.
        _ = try await ipam.releaseIPs([ReleaseRequest(address: a.ipv4.addresses[64].address)])
        #expect(try await store.get(Array(IPAMKeys.block(cidr("10.0.0.64/26")).utf8)) == nil)
        #expect(try await ipam.check().isClean)
    }

    @Test("deleting a pool as Calico does: disabled first, its blocks' affinities released, empty blocks deleted, other pools untouched")
    func poolDeletion() async throws {
        let store = memoryStore()
        try await addPool(store, name: "p", cidr: "10.0.0.0/24", blockSize: 26)
        try await addPool(store, name: "q", cidr: "10.1.0.0/24", blockSize: 26)
        let ipam = IPAMClient.sequential(store)
        let kept = try await ipam.autoAssign(AutoAssignRequest(host: "n1", ipv4: 1, handle: "kept", ipv4Pools: [cidr("10.0.0.0/24")]))
        let freed = try await ipam.autoAssign(AutoAssignRequest(host: "n2", ipv4: 1, handle: "freed", ipv4Pools: [cidr("10.0.0.0/24")]))
        _ = try await ipam.autoAssign(AutoAssignRequest(host: "n1", ipv4: 1, handle: "other", ipv4Pools: [cidr("10.1.0.0/24")]))
        let keptAddress = try #require(kept.ipv4.addresses.first).address
        let freedAddress = try #require(freed.ipv4.addresses.first).address
        let usedBlock = try #require(try await ipam.allocation(of: keptAddress)).block
        let emptyBlock = try #require(try await ipam.allocation(of: freedAddress)).block
        try await ipam.releaseByHandle("freed")

        // A stale resourceVersion changes nothing.
        let pool = try await ResourceClient(store: store).get(IPPool.self, name: "p")
        let version = try #require(pool.metadata.resourceVersion)
        let staleVersion = String(try #require(Int(version)) - 1)
        await #expect(throws: DatastoreError.self) { try await ipam.deletePool(named: "p", resourceVersion: staleVersion) }
        #expect(try await ResourceClient(store: store).get(IPPool.self, name: "p").spec.disabled == false)
        #expect(try await ipam.blockAffinities(host: "n2").keys.contains(emptyBlock))

        let deleted = try await ipam.deletePool(named: "p", resourceVersion: pool.metadata.resourceVersion)
        #expect(deleted.spec.disabled)
        await #expect(throws: DatastoreError.self) { try await ResourceClient(store: store).get(IPPool.self, name: "p") }
        #expect(try await store.get(Array(IPAMKeys.block(emptyBlock).utf8)) == nil)
        let used = try AllocationBlock(json: try #require(try await store.get(Array(IPAMKeys.block(usedBlock).utf8))).value)
        #expect(used.affinity == nil && used.allocatedOrdinals.count == 1)  // the address stays valid
        #expect(try await ipam.blockAffinities(host: "n2").isEmpty)
        #expect(try await ipam.blockAffinities(host: "n1").keys.map(\.description) == ["10.1.0.0/26"])  // pool q's
        #expect(try await ipam.ipsByHandle("kept") == [keptAddress])
    }

    @Test("a pending affinity from Calico is confirmed; a stale one is deleted")
    func pendingAffinities() async throws {
        let store = memoryStore()
        try await addPool(store, name: "p", cidr: "10.0.0.0/24", blockSize: 26)
        let ipam = IPAMClient.sequential(store)
        // A crashed claim: pending affinity, no block.
        try await store.put(Array(IPAMKeys.affinity(host: "n1", cidr: cidr("10.0.0.128/26")).utf8), value: BlockAffinity(state: .pending).jsonBytes)
        // A stale affinity to a block n2 owns.
        _ = try await ipam.autoAssign(AutoAssignRequest(host: "n2", ipv4: 1, handle: "x"))
        try await store.put(Array(IPAMKeys.affinity(host: "n1", cidr: cidr("10.0.0.0/26")).utf8), value: BlockAffinity(state: .pending).jsonBytes)
        let got = try await ipam.autoAssign(AutoAssignRequest(host: "n1", ipv4: 1, handle: "y"))
        #expect(got.ipv4.addresses == [cidr("10.0.0.128/26")])
        let affinity = try #require(try await store.get(Array(IPAMKeys.affinity(host: "n1", cidr: cidr("10.0.0.128/26")).utf8)))
        #expect(try BlockAffinity(json: affinity.value).state == .confirmed)
        #expect(try await store.get(Array(IPAMKeys.affinity(host: "n1", cidr: cidr("10.0.0.0/26")).utf8)) == nil)
        #expect(try await ipam.check().isClean)
    }

    @Test("round trips: 5 for a client's first call for a host, then 1 from an affine block; N addresses one write")
    func roundTrips() async throws {
        let base = memoryStore()
        try await addPool(base, name: "p", cidr: "10.0.0.0/16", blockSize: 26)
        let store = CountingStore(base)
        let ipam = IPAMClient.sequential(store)
        _ = try await ipam.autoAssign(AutoAssignRequest(host: "n", ipv4: 1, handle: "h"))  // claims (5 + list)
        store.reset()
        _ = try await IPAMClient.sequential(store).autoAssign(AutoAssignRequest(host: "n", ipv4: 1, handle: "h1"))
        #expect(store.count == 5)  // the full path
        store.reset()
        _ = try await ipam.autoAssign(AutoAssignRequest(host: "n", ipv4: 1, handle: "h"))
        #expect(store.count == 2)  // the block changed under the snapshot: one failed compare returns it
        store.reset()
        _ = try await ipam.autoAssign(AutoAssignRequest(host: "n", ipv4: 40, handle: "h2"))
        #expect(store.count == 1)  // forty addresses, one validated block write
        store.reset()
        _ = try await ipam.autoAssign(AutoAssignRequest(host: "n", ipv4: 1, ipv6: 0, handle: "h3"))
        #expect(store.count == 1)
        store.reset()
        _ = try await ipam.autoAssign(AutoAssignRequest(host: "n", ipv4: 1, handle: "h3"))
        #expect(store.count == 1)  // a handle this client wrote: its value is known
        store.reset()
        _ = try await ipam.autoAssign(AutoAssignRequest(host: "n", ipv4: 1, handle: "h1"))
        #expect(store.count == 2)  // a handle written elsewhere: the compare fails once and returns it
        store.reset()
        try await ipam.releaseByHandle("h2")
        #expect(store.count == 3)
        store.reset()
        try await ipam.assignIP(ip("10.0.0.60"), handle: "h4", host: "n")
        #expect(store.count == 4)
        // Claiming a new block keeps the snapshot: the next call is one write again.
        _ = try await ipam.autoAssign(AutoAssignRequest(host: "n", ipv4: 64, handle: "h5"))
        store.reset()
        _ = try await ipam.autoAssign(AutoAssignRequest(host: "n", ipv4: 1, handle: "h6"))
        #expect(store.count == 1)
        #expect(try await ipam.check().isClean)
    }

    @Test("round trips with both families: 6 on the full path, then 1")
    func dualStackRoundTrips() async throws {
        let base = memoryStore()
        try await addPool(base, name: "v4", cidr: "10.0.0.0/24")
        try await addPool(base, name: "v6", cidr: "fd00::/120")
        let store = CountingStore(base)
        let ipam = IPAMClient.sequential(store)
        _ = try await ipam.autoAssign(AutoAssignRequest(host: "n", ipv4: 1, ipv6: 1, handle: "a"))  // claims two blocks
        store.reset()
        _ = try await IPAMClient.sequential(store).autoAssign(AutoAssignRequest(host: "n", ipv4: 1, ipv6: 1, handle: "b"))
        #expect(store.count == 6)  // another client: the full path
        store.reset()
        _ = try await ipam.autoAssign(AutoAssignRequest(host: "n", ipv4: 1, ipv6: 1, handle: "b2"))
        #expect(store.count == 2)  // both blocks changed since this client's claim: one failed compare returns both
        store.reset()
        let third = try await ipam.autoAssign(AutoAssignRequest(host: "n", ipv4: 2, ipv6: 2, handle: "c"))
        #expect(store.count == 1)
        #expect(third.ipv4.addresses.map(\.description) == ["10.0.0.3/26", "10.0.0.4/26"])
        #expect(third.ipv6.addresses.map(\.description) == ["fd00::3/122", "fd00::4/122"])
        let handle = try IPAMHandle(json: try #require(try await base.get(Array(IPAMKeys.handle("c").utf8))).value)
        #expect(handle.blocks == ["10.0.0.0/26": 2, "fd00::/122": 2])
        #expect(try await ipam.check().isClean)
    }

    @Test("IPv6 and IPv4 in one request")
    func dualStack() async throws {
        let store = memoryStore()
        try await addPool(store, name: "v4", cidr: "10.0.0.0/24")
        try await addPool(store, name: "v6", cidr: "fd00::/120")
        let result = try await IPAMClient.sequential(store).autoAssign(AutoAssignRequest(host: "n", ipv4: 2, ipv6: 3, handle: "h"))
        #expect(result.ipv4.addresses.map(\.description) == ["10.0.0.0/26", "10.0.0.1/26"])
        #expect(result.ipv6.addresses.map(\.description) == ["fd00::/122", "fd00::1/122", "fd00::2/122"])
        #expect(result.isComplete)
    }
}
