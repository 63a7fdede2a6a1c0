public import CanalModel
import CanalDatastore

extension IPAMLeakReport {
    /// The report as JSON: calicoctl's report fields (`version`, `clusterGUID`, `datastoreLocked`,
    /// `clusterInformationRevision`, `clusterType`, `allocations` by address, `leakedHandles`
    /// with `ID` and `Revision`) and Canal's (`revision`, each allocation's `block`,
    /// `blockRevision`, `kind` and `attributes`, and the other findings).
    public var json: JSONValue {
        func string(_ s: String) -> JSONValue { .string(s) }
        func strings(_ list: [String]) -> JSONValue { .array(list.map(JSONValue.string)) }
        var byAddress: [(String, JSONValue)] = []
        var grouped: [IPAddress: [Allocation]] = [:]
        for a in allocations { grouped[a.address, default: []].append(a) }
        for (ip, list) in grouped.sorted(by: { $0.key < $1.key }) {
            byAddress.append((ip.description, .array(list.map(Self.json(allocation:)))))
        }
        let uses: ([InUseAddress]) -> JSONValue = { list in
            .array(list.map { .object(JSONObject([("ip", string($0.address.description)), ("owners", strings($0.owners))])) })
        }
        return .object(JSONObject([
            ("version", string(version)),
            ("clusterGUID", string(clusterGUID)),
            ("datastoreLocked", .bool(datastoreLocked)),
            ("clusterInformationRevision", string(clusterInformationRevision)),
            ("clusterType", string(clusterType)),
            ("revision", string(revision.description)),
            ("allocations", .object(JSONObject(byAddress))),
            ("leakedHandles", .array(leakedHandles.map {
                .object(JSONObject([("ID", string($0.id)), ("UID", .null), ("Revision", string($0.revision.description))]))
            })),
            ("missingHandles", strings(missingHandles)),
            ("inUseNotAllocated", uses(inUseNotAllocated)),
            ("inUseOutsidePools", uses(inUseOutsidePools)),
            ("blocksOfMissingNodes", .array(blocksOfMissingNodes.map {
                .object(JSONObject([("block", string($0.cidr.description)), ("host", string($0.host)), ("allocated", .number("\($0.allocated)"))]))
            })),
            ("affinitiesOfMissingNodes", .array(affinitiesOfMissingNodes.map {
                .object(JSONObject([("block", string($0.cidr.description)), ("host", string($0.host))]))
            })),
            ("duplicates", strings(duplicates)),
            ("corrupt", .array(corrupt.map { .object(JSONObject([("key", string($0.key)), ("reason", string($0.reason))])) })),
            ("problems", .number("\(problemCount)")),
        ]))
    }

    static func json(allocation a: Allocation) -> JSONValue {
        var members: [(String, JSONValue)] = [("ip", .string(a.address.description))]
        if let h = a.handle, !h.isEmpty { members.append(("handle", .string(h))) }
        members.append(("sequenceNumber", .number("\(a.sequenceNumber)")))
        for (field, attribute) in [("pod", "pod"), ("namespace", "namespace"), ("type", "type"), ("creationTimestamp", "timestamp")] {
            if let v = a.attributes[attribute], !v.isEmpty { members.append((field, .string(v))) }
        }
        if let node = a.node { members.append(("node", .string(node))) }
        members.append(("inUse", .bool(a.inUse)))
        if a.borrowed { members.append(("borrowed", .bool(true))) }
        members.append(("owners", .array(a.owners.map(JSONValue.string))))
        members.append(("kind", .string(a.kind.rawValue)))
        members.append(("block", .string(a.block.description)))
        members.append(("blockRevision", .string(a.blockRevision.description)))
        members.append(("ordinal", .number("\(a.ordinal)")))
        members.append((
            "attributes", .object(JSONObject(a.attributes.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.string($0.value)) }))))
        if let r = a.releasedAt { members.append(("releasedAt", .string(r))) }
        return .object(JSONObject(members))
    }

    /// Reads a report file written from ``json``; throws `invalidArgument` naming what is wrong.
    public init(json bytes: [UInt8]) throws(IPAMError) {
        func bad(_ what: String) -> IPAMError { IPAMError(.invalidArgument, "not an IPAM check report: \(what)") }
        guard let value = try? JSONValue(parsing: bytes), let object = value.objectValue else { throw bad("not a JSON object") }
        guard let revisionText = object["revision"]?.stringValue, let revision = Revision(revisionText) else {
            throw bad("\"revision\" is missing (a report of calicoctl, or of an older canalctl?)")
        }
        self.init(revision: revision, clusterGUID: object["clusterGUID"]?.stringValue ?? "")
        version = object["version"]?.stringValue ?? ""
        clusterType = object["clusterType"]?.stringValue ?? ""
        clusterInformationRevision = object["clusterInformationRevision"]?.stringValue ?? ""
        datastoreLocked = object["datastoreLocked"]?.boolValue ?? false
        for (ipText, list) in object["allocations"]?.objectValue ?? JSONObject() {
            guard let ip = IPAddress(ipText), let entries = list.arrayValue else { throw bad("allocations[\(ipText)]") }
            for entry in entries {
                guard let blockText = entry["block"]?.stringValue, let block = CIDR(blockText),
                      let seq = entry["sequenceNumber"]?.uint64Value,
                      let blockRevision = entry["blockRevision"]?.stringValue.flatMap(Revision.init),
                      let ordinal = entry["ordinal"]?.intValue
                else { throw bad("allocations[\(ipText)]: block, blockRevision, ordinal and sequenceNumber are required") }
                var a = Allocation(
                    address: ip, block: block, blockKey: IPAMKeys.block(block), blockRevision: blockRevision, ordinal: ordinal,
                    handle: entry["handle"]?.stringValue, sequenceNumber: seq,
                    attributes: entry["attributes"]?.stringMapValue ?? [:], affinity: nil, releasedAt: entry["releasedAt"]?.stringValue)
                a.kind = entry["kind"]?.stringValue.flatMap(Allocation.Kind.init(rawValue:)) ?? .other
                a.owners = entry["owners"]?.arrayValue?.compactMap(\.stringValue) ?? []
                if a.owners.isEmpty, entry["inUse"]?.boolValue == true { a.owners = ["(in use)"] }
                allocations.append(a)
            }
        }
        for entry in object["leakedHandles"]?.arrayValue ?? [] {
            guard let id = entry["ID"]?.stringValue, let revision = entry["Revision"]?.stringValue.flatMap(Revision.init) else {
                throw bad("leakedHandles: ID and Revision are required")
            }
            leakedHandles.append(LeakedHandle(id: id, revision: revision))
        }
        allocations.sort { ($0.address, $0.block.address) < ($1.address, $1.block.address) }
    }
}
