import CanalDatastore
import CanalModel
import Foundation
import Testing

private func pool(_ name: String, _ cidr: String, blockSize: Int = 0, uses: [IPPoolSpec.AllowedUse] = []) -> IPPool {
    IPPool(metadata: ObjectMeta(name: name), spec: IPPoolSpec(cidr: cidr, blockSize: blockSize, allowedUses: uses))
}

/// Runs `body` with the concrete client of `client` (the rules are written once, generically).
private func withTyped(
    _ client: AnyClient,
    _ body: (ResourceClient<InMemoryKeyValueStore<ContinuousClock>>?, ResourceClient<EtcdKeyValueStore>?) async throws -> Void
) async throws {
    try await body(client.memory, client.etcd)
}

private let poolPrefix = "/calico/resources/v3/projectcalico.org/ippools/"

/// The events on the pool keys after `revision` (`count` of them).
private func poolEvents<S: KeyValueStore>(_ store: S, after revision: Revision, count: Int) async throws -> [WatchEvent] {
    try await collect(count, from: store.watch(prefix: bytes(poolPrefix), fromRevision: revision.next))
}

@Suite("ResourceClient: IPPool rules", .timeLimit(.minutes(3)))
struct IPPoolRulesTests {
    @Test("a new pool may not overlap another; the error names both pools at spec.cidr", arguments: Backend.available)
    func overlapOnCreate(backend: Backend) async throws {
        try await withClient(backend) { client in
            _ = try await client.create(pool("pool-a", "10.10.0.0/16"))
            _ = try await client.create(pool("pool-v6", "fd00:10::/48"))
            for (name, cidr) in [("pool-b", "10.10.5.0/24"), ("pool-c", "10.0.0.0/8"), ("pool-d", "10.10.0.0/16")] {
                let error = try #require(await expectModelError { try await client.create(pool(name, cidr)) })
                #expect(error.code == .invalid)
                let field = try #require(error.fieldErrors.first)
                #expect(error.fieldErrors.count == 1)
                #expect(field.path.description == "spec.cidr")
                #expect(field.message.contains("IPPool(\(name))") && field.message.contains("IPPool(pool-a)"), "\(field)")
                #expect(field.message.contains(cidr) && field.message.contains("10.10.0.0/16"), "\(field)")
                #expect(try await client.raw(poolPrefix + name) == nil, "nothing written for \(name)")
            }
            // Overlapping two pools: both named.
            _ = try await client.create(pool("pool-e", "10.20.0.0/16"))
            let both = try #require(await expectModelError { try await client.create(pool("wide", "10.0.0.0/8")) })
            #expect(Set(both.fieldErrors.compactMap { $0.message.contains("IPPool(pool-a)") ? "a" : $0.message.contains("IPPool(pool-e)") ? "e" : nil }) == ["a", "e"])
            // Neighbours, other families and the same pool again are not overlaps.
            _ = try await client.create(pool("pool-f", "10.11.0.0/16"))
            _ = try await client.create(pool("pool-g", "fd00:11::/48"))
            await expectError(.alreadyExists) { try await client.create(pool("pool-a", "10.10.0.0/16")) }
            // apply of an existing pool is a replace, not an overlap with itself.
            var again = pool("pool-a", "10.10.0.0/16")
            again.spec.natOutgoing = true
            #expect(try await client.apply(again).spec.natOutgoing)
            #expect(try await client.list(IPPool.self).items.count == 5)
        }
    }

    @Test("a new pool's block size must match IPAM blocks already inside it", arguments: Backend.available)
    func blockSizeAgainstExistingBlocks(backend: Backend) async throws {
        try await withClient(backend) { client in
            try await client.put("/calico/ipam/v2/assignment/ipv4/block/10.70.3.0-26", "{}")
            try await client.put("/calico/ipam/v2/assignment/ipv6/block/fd00:70::-122", "{}")
            let error = try #require(await expectModelError { try await client.create(pool("small-blocks", "10.70.0.0/16", blockSize: 28)) })
            #expect(error.fieldErrors.map(\.path.description) == ["spec.blockSize"])
            #expect(error.fieldErrors.first?.message.contains("10.70.3.0/26") ?? false, "\(error)")
            let v6 = try #require(await expectModelError { try await client.create(pool("v6", "fd00:70::/48", blockSize: 120)) })
            #expect(v6.fieldErrors.map(\.path.description) == ["spec.blockSize"])
            // The same size, or blocks outside the pool, are fine.
            _ = try await client.create(pool("default-blocks", "10.70.0.0/16"))
            _ = try await client.create(pool("elsewhere", "10.71.0.0/16", blockSize: 28))
        }
    }

    @Test("concurrent creates of overlapping pools: exactly one is written", arguments: Backend.available)
    func concurrentOverlappingCreates(backend: Backend) async throws {
        try await withClient(backend) { client in
            let outcomes = await withTaskGroup(of: String.self) { group in
                for index in 0..<6 {
                    group.addTask {
                        do {
                            _ = try await client.create(pool("race-\(index)", "10.30.0.0/\(16 + index)"))
                            return "created"
                        } catch let error as ModelError where error.fieldErrors.first?.path.description == "spec.cidr" {
                            return "overlap"
                        } catch {
                            return "\(error)"
                        }
                    }
                }
                return await group.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 == "created" }.count == 1, "\(outcomes)")
            #expect(outcomes.allSatisfy { $0 == "created" || $0 == "overlap" }, "\(outcomes)")
            let stored = try await client.list(IPPool.self).items
            #expect(stored.count == 1)
        }
    }

    @Test("an existing pool's CIDR, block size and LoadBalancer use cannot change", arguments: Backend.available)
    func immutableOnUpdate(backend: Backend) async throws {
        try await withClient(backend) { client in
            let created = try await client.create(pool("pool-a", "10.40.0.0/16"))
            var moved = created
            moved.spec.cidr = "10.41.0.0/16"
            let cidrError = try #require(await expectModelError { try await client.update(moved) })
            #expect(cidrError.fieldErrors.map(\.path.description) == ["spec.cidr"])
            #expect(cidrError.fieldErrors.first?.message.contains("10.40.0.0/16") ?? false)
            await expectModelError { try await client.replace(moved) }

            var resized = created
            resized.spec.blockSize = 28
            let sizeError = try #require(await expectModelError { try await client.update(resized) })
            #expect(sizeError.fieldErrors.map(\.path.description) == ["spec.blockSize"])
            #expect(try await client.get(IPPool.self, "pool-a").spec.cidr == "10.40.0.0/16")

            var changed = created
            changed.spec.natOutgoing = true
            changed.spec.cidr = "10.40.0.0/16"
            let updated = try await client.update(changed)
            #expect(updated.spec.natOutgoing)

            let balancer = try await client.create(pool("lb", "10.50.0.0/16", uses: [.loadBalancer]))
            var reused = balancer
            reused.spec.allowedUses = [.workload]
            let useError = try #require(await expectModelError { try await client.update(reused) })
            #expect(useError.fieldErrors.map(\.path.description) == ["spec.allowedUses"])

            // A stale resourceVersion is still a conflict, not a rule error.
            var stale = created
            stale.spec.cidr = "10.42.0.0/16"
            await expectError(.conflict) { try await client.update(stale) }
        }
    }

    @Test("deleting a pool disables it first, then deletes it; a stale resourceVersion changes nothing", arguments: Backend.available)
    func deleteDisablesFirst(backend: Backend) async throws {
        try await withClient(backend) { client in
            try await withTyped(client) { memory, etcd in
                let created = try await client.create(pool("pool-a", "10.60.0.0/16"))
                _ = try await client.update({ var p = created; p.spec.natOutgoing = true; return p }())
                await expectError(.conflict) { try await client.delete(IPPool.self, "pool-a", rv: created.metadata.resourceVersion) }
                let kept = try await client.get(IPPool.self, "pool-a")
                #expect(!kept.spec.disabled, "a refused delete leaves the pool enabled")

                let before = try #require(Revision(kept.metadata.resourceVersion ?? ""))
                let deleted = try await client.delete(IPPool.self, "pool-a", rv: kept.metadata.resourceVersion)
                #expect(deleted.spec.disabled)
                #expect(try await client.raw(poolPrefix + "pool-a") == nil)
                let events =
                    if let memory { try await poolEvents(memory.store, after: before, count: 2) } else { try await poolEvents(etcd!.store, after: before, count: 2) }
                #expect(events.map(\.kind) == [.put, .delete])
                let disabled = try JSONValue(parsing: try #require(events.first?.current).value)
                #expect(disabled["spec"]?["disabled"] == .bool(true))

                // A pool already disabled is deleted at once (one event).
                var off = pool("pool-b", "10.61.0.0/16")
                off.spec.disabled = true
                let offCreated = try await client.create(off)
                let offRevision = try #require(Revision(offCreated.metadata.resourceVersion ?? ""))
                try await client.delete(IPPool.self, "pool-b")
                let offEvents =
                    if let memory { try await poolEvents(memory.store, after: offRevision, count: 1) } else { try await poolEvents(etcd!.store, after: offRevision, count: 1) }
                #expect(offEvents.map(\.kind) == [.delete])
                await expectError(.notFound) { try await client.delete(IPPool.self, "pool-b") }
            }
        }
    }
}
