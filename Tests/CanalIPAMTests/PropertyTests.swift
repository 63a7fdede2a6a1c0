import CanalDatastore
@testable import CanalIPAM
import CanalModel
import PropertyBased
import Testing

@Suite("IPAM invariants under random assign and release")
struct PropertyTests {
    @Test("no address twice, counts conserved, handles agree with blocks")
    func randomSequences() async throws {
        // Each step: (host 0-3, action 0-9, size 1-9). Small pools, so blocks fill, borrow and empty.
        let scenarios = Generator<Scenario, Shrink.None<Scenario>>(run: { rng in
            let steps = (0..<Int.random(in: 1...40, using: &rng)).map { _ in
                (Int.random(in: 0...3, using: &rng), Int.random(in: 0...9, using: &rng), Int.random(in: 1...9, using: &rng))
            }
            return Scenario(steps: steps, strict: Bool.random(using: &rng))
        })
        await propertyCheck(count: 60, input: scenarios) { scenario in
            let (steps, strict) = (scenario.steps, scenario.strict)
            let store = memoryStore()
            try await addPool(store, name: "p", cidr: "10.0.0.0/26", blockSize: 29)
            let ipam = IPAMClient(store: store)
            if strict { try await ipam.setConfig(IPAMConfig(strictAffinity: true)) }
            var held: [String: Set<IPAddress>] = [:]  // handle → addresses the model says it holds
            var next = 0
            for (host, action, size) in steps {
                if action < 6 || held.isEmpty {
                    let handle = "h\(next)"
                    next += 1
                    let result = try await ipam.autoAssign(AutoAssignRequest(host: "host\(host)", ipv4: size, handle: handle))
                    let got = Set(result.ipv4.addresses.map(\.address))
                    #expect(got.count == result.ipv4.addresses.count)
                    for other in held.values { #expect(other.isDisjoint(with: got)) }
                    if !got.isEmpty { held[handle] = got }
                } else if action < 8 {
                    let handle = held.keys.sorted()[size % held.count]
                    try await ipam.releaseByHandle(handle)
                    held[handle] = nil
                } else {
                    let handle = held.keys.sorted()[size % held.count]
                    let victim = held[handle]!.sorted()[0]
                    let released = try await ipam.releaseIPs([ReleaseRequest(address: victim, handle: handle)])
                    #expect(released.released == [victim])
                    held[handle]!.remove(victim)
                    if held[handle]!.isEmpty { held[handle] = nil }
                }
                // Counts conserved: what the blocks hold is what the model holds.
                let usage = try await ipam.usage()
                #expect(usage.pools[0].used == held.values.reduce(0) { $0 + $1.count })
            }
            for (handle, addresses) in held {
                #expect(Set(try await ipam.ipsByHandle(handle)) == addresses)
            }
            let report = try await ipam.check()
            #expect(report.isClean, "\(report)")
            // Every block as stored (patched or written whole) is its full encoding.
            for kv in try await store.list(prefix: Array(IPAMKeys.blockPrefix(.v4).utf8)).items {
                #expect(try AllocationBlock(json: kv.value).jsonBytes == kv.value)
            }
        }
    }
}

@Suite("block JSON patched in place")
struct BlockPatchTests {
    @Test("an assignment's JSON patched from the previous JSON is the full encoding, byte for byte")
    func patchedIsFull() async throws {
        // Steps of (action 0-9, size 1-6, handle 0-3); blocks of 4 to 256 addresses; some addresses reserved.
        let runs = Generator<PatchRun, Shrink.None<PatchRun>>(run: { rng in
            let steps = (0..<Int.random(in: 1...60, using: &rng)).map { _ in
                (Int.random(in: 0...9, using: &rng), Int.random(in: 1...6, using: &rng), Int.random(in: 0...3, using: &rng))
            }
            return PatchRun(bits: Int.random(in: 2...8, using: &rng), reserved: Int.random(in: 0...3, using: &rng), steps: steps)
        })
        await propertyCheck(count: 100, input: runs) { run in
            let cidr = CIDR("10.1.0.0/\(32 - run.bits)")!
            var block = AllocationBlock(cidr: cidr, affinity: "host:a<&>", sequenceNumber: 1_700_000_000_000_000_000, claimTime: "2024-05-01T10:00:00Z")
            // A reservation of the block's second address in some runs: assignments skip it.
            let reservations = ReservationFilter(networks: run.reserved == 0 ? [CIDR("10.1.0.1/32")!] : [])
            var (bytes, layout) = block.encodedJSON()
            for (action, size, handle) in run.steps {
                if action < 7 {
                    var next = block
                    let attributes = handle == 3 ? ["pod": "p\"\(size)", "namespace": "n"] : [:]
                    let taken = next.autoAssign(count: size, handle: handle == 0 ? nil : "h\(handle)", attributes: attributes, reservations: reservations)
                    guard !taken.isEmpty else { continue }
                    next.sequenceNumber &+= 1
                    let full = next.encodedJSON()
                    let patched = next.patchedJSON(from: bytes, layout: layout, old: block, taken: taken)
                    if reservations.isEmpty { #expect(patched != nil) }
                    if let patched {
                        #expect(String(decoding: patched.bytes, as: UTF8.self) == String(decoding: full.bytes, as: UTF8.self))
                        #expect(patched.layout == full.layout)
                    }
                    block = next
                    (bytes, layout) = patched ?? full
                } else {
                    let allocated = block.allocatedOrdinals
                    guard !allocated.isEmpty else { continue }
                    block.release(ordinals: Array(allocated.shuffled().prefix(size)), clearSequenceNumbers: action == 9)
                    block.sequenceNumber &+= 1
                    (bytes, layout) = block.encodedJSON()
                }
                #expect((try? AllocationBlock(json: bytes)) == block)
            }
        }
    }
}

/// A random block run: the block's host bits, whether an address is reserved (0), steps of (action, size, handle).
struct PatchRun: Sendable, CustomStringConvertible {
    var bits: Int
    var reserved: Int
    var steps: [(Int, Int, Int)]
    var description: String { "bits=\(bits) reserved=\(reserved) steps=\(steps)" }
}

/// A random run: steps of (host, action, size), and whether strict affinity is on.
struct Scenario: Sendable, CustomStringConvertible {
    var steps: [(Int, Int, Int)]
    var strict: Bool
    var description: String { "strict=\(strict) steps=\(steps)" }
}
