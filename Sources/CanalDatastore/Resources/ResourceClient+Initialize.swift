import CanalModel
import Foundation

extension ResourceClient {
    /// Creates what Calico's `EnsureInitialized` creates, so a fresh datastore accepts policies at
    /// once: the built-in tiers `default` (order 1,000,000, Deny), `kube-admin` (1,000, Pass) and
    /// `kube-baseline` (10,000,000, Pass), and the ClusterInformation `default` with a new
    /// `clusterGUID` (32 hex digits) and `datastoreReady: true`.
    ///
    /// Idempotent: what exists is kept (an existing ClusterInformation only gets a missing GUID or
    /// ready flag filled in), and concurrent initializations agree.
    public func initialize() async throws {
        try await ensureClusterInformation()
        for (name, spec) in TierSpec.builtInTiers {
            do {
                _ = try await create(Tier(metadata: ObjectMeta(name: name), spec: spec))
            } catch let error as DatastoreError where error.code == .alreadyExists {
                continue
            }
        }
    }

    private func ensureClusterInformation() async throws {
        for _ in 0..<10 {
            let existing: ClusterInformation
            do {
                existing = try await get(ClusterInformation.self, name: "default")
            } catch let error as DatastoreError where error.code == .notFound {
                let info = ClusterInformation(
                    metadata: ObjectMeta(name: "default"),
                    spec: ClusterInformationSpec(clusterGUID: Self.newClusterGUID(), datastoreReady: true))
                do {
                    _ = try await create(info)
                    return
                } catch let error as DatastoreError where error.code == .alreadyExists {
                    continue  // another initializer got there first: read theirs
                }
            }
            var updated = existing
            if updated.spec.clusterGUID.isEmpty { updated.spec.clusterGUID = Self.newClusterGUID() }
            if updated.spec.datastoreReady == nil { updated.spec.datastoreReady = true }
            guard updated != existing else { return }
            do {
                _ = try await update(updated)
                return
            } catch let error as DatastoreError where error.code == .conflict {
                continue
            }
        }
        throw DatastoreError(.conflict, "could not initialize ClusterInformation(default): it kept changing")
    }

    /// A random 128-bit id as 32 lowercase hex digits, as Calico writes `clusterGUID`.
    static func newClusterGUID() -> String {
        let uuid = UUID().uuid
        return withUnsafeBytes(of: uuid) { bytes in bytes.map { String(format: "%02x", $0) }.joined() }
    }
}
