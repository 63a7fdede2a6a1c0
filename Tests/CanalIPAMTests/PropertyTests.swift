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
        }
    }
}

/// A random run: steps of (host, action, size), and whether strict affinity is on.
struct Scenario: Sendable, CustomStringConvertible {
    var steps: [(Int, Int, Int)]
    var strict: Bool
    var description: String { "strict=\(strict) steps=\(steps)" }
}
