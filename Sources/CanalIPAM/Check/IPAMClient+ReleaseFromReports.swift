import CanalDatastore
import CanalModel

/// The outcome of ``IPAMClient/releaseFromReports(_:)``.
public struct ReportReleaseResult: Sendable {
    /// The addresses: released, found in use, found changed.
    public var addresses: UnusedReleaseResult
    /// Leaked handles deleted.
    public var deletedHandles: [String]
    /// Leaked handles left alone (changed or gone since the report).
    public var skippedHandles: [String]
}

extension IPAMClient {
    /// calicoctl's `ipam release --from-report`: releases the addresses every report found
    /// allocated but not in use, and deletes the handles every report found with no address.
    ///
    /// Refused (`invalidArgument`) when a report is of another cluster (its `clusterGUID`), and
    /// when every report is older than the data it describes: a report is current only while no
    /// IPAM key, WorkloadEndpoint, Node or IP pool has been created or modified since the
    /// revision it was read at (calicoctl compares ClusterInformation's revision and wants the
    /// datastore locked; Canal compares the data itself, so no lock is needed). With several
    /// reports (taken some time apart, for certainty), only what all of them found is released,
    /// and at least one must be current.
    ///
    /// Each address is then released by ``releaseUnused(_:)`` — only if its handle and sequence
    /// number are still the report's and nothing uses it at the write — and each handle is deleted
    /// only at the revision the report read.
    public func releaseFromReports(_ reports: [IPAMLeakReport]) async throws(IPAMError) -> ReportReleaseResult {
        try await ipam { try await releaseFromReportsUntyped(reports) }
    }

    /// Why `report` is older than the data, or nil when it is current.
    public func staleness(of report: IPAMLeakReport) async throws(IPAMError) -> String? {
        try await ipam {
            let prefixes: [(String, String)] = [
                (IPAMSnapshot.ipamPrefix, "IPAM data"), (IPAMSnapshot.endpointPrefix, "WorkloadEndpoints"),
                (IPAMSnapshot.nodePrefix, "Nodes"), (Pool.poolPrefix, "IP pools"),
            ]
            for (prefix, what) in prefixes {
                let result = try await run(Transaction(if: [.unmodified(prefix: prefix.bytes, since: report.revision.next)], then: []))
                if !result.succeeded {
                    let newest = try await store.list(prefix: prefix.bytes).items.map(\.modRevision).max() ?? .zero
                    return "the \(what) changed after the report (revision \(newest), the report read revision \(report.revision))"
                }
            }
            return nil
        }
    }

    private func releaseFromReportsUntyped(_ reports: [IPAMLeakReport]) async throws -> ReportReleaseResult {
        guard !reports.isEmpty else { throw IPAMError(.invalidArgument, "no report given") }
        let info = try await store.get(IPAMSnapshot.clusterInformationKey.bytes)
        let guid = info.flatMap { try? JSONValue(parsing: $0.value) }?["spec"]?["clusterGUID"]?.stringValue ?? ""
        var reasons: [String] = []
        for report in reports {
            guard report.clusterGUID == guid else {
                throw IPAMError(
                    .invalidArgument,
                    "the cluster does not match the report: cluster GUID \"\(report.clusterGUID)\", this cluster's is \"\(guid)\"; refusing to release")
            }
            if let reason = try await staleness(of: report) { reasons.append(reason) }
        }
        guard reasons.count < reports.count else {
            throw IPAMError(
                .invalidArgument,
                "the report is older than the data it describes: \(reasons[0]); run ipam check again and release from the new report")
        }
        // What every report found.
        func leakKey(_ a: IPAMLeakReport.Allocation) -> String { "\(a.address)|\(a.handle ?? "")|\(a.sequenceNumber)|\(a.block)" }
        var leaks = Dictionary(reports[0].notInUse.map { (leakKey($0), $0) }, uniquingKeysWith: { a, _ in a })
        var handles = Dictionary(reports[0].leakedHandles.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        for report in reports.dropFirst() {
            let keys = Set(report.notInUse.map(leakKey))
            leaks = leaks.filter { keys.contains($0.key) }
            let theirs = Dictionary(report.leakedHandles.map { ($0.id, $0.revision) }, uniquingKeysWith: { a, _ in a })
            handles = handles.filter { theirs[$0.key] == $0.value.revision }
        }
        let released = try await releaseUnused(leaks.values.sorted { $0.address < $1.address })
        var deleted: [String] = []
        var skipped: [String] = []
        for handle in handles.values.sorted(by: { $0.id < $1.id }) {
            let key = IPAMKeys.handle(handle.id).bytes
            let result = try await run(Transaction(if: [.modRevision(key, is: handle.revision)], then: [.delete(key: key)], returnsPreviousValues: false))
            if result.succeeded { deleted.append(handle.id) } else { skipped.append(handle.id) }
        }
        return ReportReleaseResult(addresses: released, deletedHandles: deleted, skippedHandles: skipped)
    }
}
