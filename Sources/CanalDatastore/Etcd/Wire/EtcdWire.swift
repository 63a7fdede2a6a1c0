// The etcd v3 HTTP/JSON gateway's messages (grpc-gateway's JSON mapping of etcdserverpb):
// bytes are base64 strings, int64/uint64 are decimal strings, fields at their zero value are
// omitted (so every response field is optional). See ../README.md.
//
// Requests are written with `JSONWriter` and responses read with `JSONScanner` (WireJSON.swift),
// straight into the store's own types.

/// A gateway response body.
protocol WireDecodable {
    init(from scanner: inout JSONScanner) throws
}

extension WireDecodable {
    /// Decodes a whole body.
    static func decode(_ body: [UInt8]) throws -> Self { try JSONScanner.read(body) { try Self(from: &$0) } }
}

// MARK: Requests

enum WireRequest {
    static func range(key: [UInt8], rangeEnd: [UInt8]? = nil, revision: Revision? = nil) -> [UInt8] {
        var json = JSONWriter()
        json.openObject()
        writeRange(&json, key: key, rangeEnd: rangeEnd, revision: revision)
        json.closeObject()
        return json.bytes
    }

    /// A range that only counts `key`: its header still carries the store revision.
    static func countOnly(key: [UInt8]) -> [UInt8] {
        var json = JSONWriter()
        json.openObject()
        json.base64("key", key)
        json.bool("count_only", true)
        json.closeObject()
        return json.bytes
    }

    private static func writeRange(_ json: inout JSONWriter, key: [UInt8], rangeEnd: [UInt8]?, revision: Revision?) {
        json.base64("key", key)
        if let rangeEnd { json.base64("range_end", rangeEnd) }
        if let revision { json.int64("revision", revision.rawValue) }
    }

    private static func writePut(_ json: inout JSONWriter, key: [UInt8], value: [UInt8], lease: LeaseID?, prevKV: Bool) {
        json.base64("key", key)
        json.base64("value", value)
        if let lease { json.int64("lease", lease.rawValue) }
        if prevKV { json.bool("prev_kv", true) }
    }

    static func put(key: [UInt8], value: [UInt8], lease: LeaseID?, prevKV: Bool) -> [UInt8] {
        var json = JSONWriter(capacity: 64 + (key.count + value.count) * 4 / 3)
        json.openObject()
        writePut(&json, key: key, value: value, lease: lease, prevKV: prevKV)
        json.closeObject()
        return json.bytes
    }

    /// A txn; puts and deletes ask for the previous value only when `previousValues` (the caller reads it).
    static func txn(_ transaction: Transaction, previousValues: Bool) -> [UInt8] {
        var json = JSONWriter(capacity: 256)
        json.openObject()
        if !transaction.comparisons.isEmpty {
            json.openArray("compare")
            for comparison in transaction.comparisons {
                json.openObject()
                json.base64("key", comparison.key)
                switch comparison.target {
                case .modRevision(let revision):
                    json.string("target", "MOD")
                    json.int64("mod_revision", revision.rawValue)
                case .createRevision(let revision):
                    json.string("target", "CREATE")
                    json.int64("create_revision", revision.rawValue)
                case .version(let version):
                    json.string("target", "VERSION")
                    json.int64("version", version)
                case .value(let value):
                    json.string("target", "VALUE")
                    json.base64("value", value)
                }
                let result =
                    switch comparison.relation {
                    case .equal: "EQUAL"
                    case .notEqual: "NOT_EQUAL"
                    case .less: "LESS"
                    case .greater: "GREATER"
                    }
                json.string("result", result)
                if let rangeEnd = comparison.rangeEnd { json.base64("range_end", rangeEnd) }
                json.closeObject()
            }
            json.closeArray()
        }
        func branch(_ name: StaticString, _ operations: [Transaction.Operation]) {
            guard !operations.isEmpty else { return }
            json.openArray(name)
            for operation in operations {
                json.openObject()
                switch operation {
                case .get(let key):
                    json.openObject("request_range")
                    writeRange(&json, key: key, rangeEnd: nil, revision: nil)
                case .put(let key, let value, let lease):
                    json.openObject("request_put")
                    writePut(&json, key: key, value: value, lease: lease, prevKV: previousValues)
                case .delete(let key):
                    json.openObject("request_delete_range")
                    json.base64("key", key)
                    if previousValues { json.bool("prev_kv", true) }
                }
                json.closeObject()
                json.closeObject()
            }
            json.closeArray()
        }
        branch("success", transaction.success)
        branch("failure", transaction.failure)
        json.closeObject()
        return json.bytes
    }

    static func leaseGrant(ttlSeconds: Int64) -> [UInt8] {
        var json = JSONWriter()
        json.openObject()
        json.int64("TTL", ttlSeconds)
        json.int64("ID", 0)
        json.closeObject()
        return json.bytes
    }

    static func leaseID(_ id: LeaseID) -> [UInt8] {
        var json = JSONWriter()
        json.openObject()
        json.int64("ID", id.rawValue)
        json.closeObject()
        return json.bytes
    }

    static func compaction(_ revision: Revision) -> [UInt8] {
        var json = JSONWriter()
        json.openObject()
        json.int64("revision", revision.rawValue)
        json.bool("physical", true)
        json.closeObject()
        return json.bytes
    }

    static func authenticate(name: String, password: String) -> [UInt8] {
        var json = JSONWriter()
        json.openObject()
        json.string("name", name)
        json.string("password", password)
        json.closeObject()
        return json.bytes
    }

    static func watchCreate(prefix: [UInt8], startRevision: Revision?) -> [UInt8] {
        var json = JSONWriter()
        json.openObject()
        json.openObject("create_request")
        json.base64("key", prefix.isEmpty ? [0] : prefix)
        json.base64("range_end", prefix.prefixRangeEnd)
        if let startRevision { json.int64("start_revision", startRevision.rawValue) }
        json.bool("prev_kv", true)
        json.bool("progress_notify", true)
        // Split responses larger than etcd's --max-request-bytes (a catch-up from history batches up
        // to 1,000 revisions into one response otherwise, of any size).
        json.bool("fragment", true)
        json.closeObject()
        json.closeObject()
        return json.bytes
    }
}

// MARK: Responses

enum WireRead {
    /// `header.revision`.
    static func headerRevision(_ scanner: inout JSONScanner) throws -> Int64 {
        var revision: Int64 = 0
        try scanner.object { scanner, key in
            if key == "revision" { revision = try scanner.int64() } else { try scanner.skip() }
        }
        return revision
    }

    static func keyValue(_ scanner: inout JSONScanner) throws -> KeyValue {
        var kv = KeyValue(key: [], value: [], createRevision: .zero, modRevision: .zero, version: 0)
        try scanner.object { scanner, key in
            if key == "key" {
                kv.key = try scanner.base64()
            } else if key == "value" {
                kv.value = try scanner.base64()
            } else if key == "create_revision" {
                kv.createRevision = Revision(try scanner.int64())
            } else if key == "mod_revision" {
                kv.modRevision = Revision(try scanner.int64())
            } else if key == "version" {
                kv.version = try scanner.int64()
            } else if key == "lease" {
                let lease = try scanner.int64()
                kv.lease = lease == 0 ? nil : LeaseID(rawValue: lease)
            } else {
                try scanner.skip()
            }
        }
        return kv
    }

    static func keyValues(_ scanner: inout JSONScanner) throws -> [KeyValue] {
        var kvs: [KeyValue] = []
        try scanner.array { kvs.append(try keyValue(&$0)) }
        return kvs
    }
}

/// `/v3/kv/range` (and a txn's `response_range`).
struct WireRangeResponse: WireDecodable {
    var revision: Int64 = 0
    var kvs: [KeyValue] = []

    init(from scanner: inout JSONScanner) throws {
        try scanner.object { scanner, key in
            if key == "header" {
                revision = try WireRead.headerRevision(&scanner)
            } else if key == "kvs" {
                kvs = try WireRead.keyValues(&scanner)
            } else {
                try scanner.skip()
            }
        }
    }
}

/// `/v3/kv/put` (and a txn's `response_put`).
struct WirePutResponse: WireDecodable {
    var revision: Int64 = 0
    var previous: KeyValue?

    init(from scanner: inout JSONScanner) throws {
        try scanner.object { scanner, key in
            if key == "header" {
                revision = try WireRead.headerRevision(&scanner)
            } else if key == "prev_kv" {
                if !scanner.null() { previous = try WireRead.keyValue(&scanner) }
            } else {
                try scanner.skip()
            }
        }
    }
}

/// One entry of a txn's `responses`.
enum WireResponseOp {
    case range([KeyValue])
    case put(KeyValue?)
    case delete([KeyValue])
    case none

    static func read(_ scanner: inout JSONScanner) throws -> WireResponseOp {
        var result = WireResponseOp.none
        try scanner.object { scanner, key in
            if key == "response_range" {
                result = .range(try WireRangeResponse(from: &scanner).kvs)
            } else if key == "response_put" {
                result = .put(try WirePutResponse(from: &scanner).previous)
            } else if key == "response_delete_range" {
                var previous: [KeyValue] = []
                try scanner.object { scanner, key in
                    if key == "prev_kvs" { previous = try WireRead.keyValues(&scanner) } else { try scanner.skip() }
                }
                result = .delete(previous)
            } else {
                try scanner.skip()
            }
        }
        return result
    }
}

/// `/v3/kv/txn`.
struct WireTxnResponse: WireDecodable {
    var revision: Int64 = 0
    var succeeded = false
    var responses: [WireResponseOp] = []

    init(from scanner: inout JSONScanner) throws {
        try scanner.object { scanner, key in
            if key == "header" {
                revision = try WireRead.headerRevision(&scanner)
            } else if key == "succeeded" {
                succeeded = try scanner.bool()
            } else if key == "responses" {
                try scanner.array { responses.append(try WireResponseOp.read(&$0)) }
            } else {
                try scanner.skip()
            }
        }
    }
}

/// `/v3/lease/grant`.
struct WireLeaseGrantResponse: WireDecodable {
    var id: Int64 = 0
    var ttl: Int64 = 0
    var error: String?

    init(from scanner: inout JSONScanner) throws {
        try scanner.object { scanner, key in
            if key == "ID" {
                id = try scanner.int64()
            } else if key == "TTL" {
                ttl = try scanner.int64()
            } else if key == "error" {
                error = scanner.null() ? nil : try scanner.string()
            } else {
                try scanner.skip()
            }
        }
    }
}

/// `/v3/lease/keepalive`: `{"result":{"ID","TTL"}}`.
struct WireKeepAliveResponse: WireDecodable {
    var ttl: Int64 = 0

    init(from scanner: inout JSONScanner) throws {
        try scanner.object { scanner, key in
            guard key == "result" else { return try scanner.skip() }
            try scanner.object { scanner, key in
                if key == "TTL" { ttl = try scanner.int64() } else { try scanner.skip() }
            }
        }
    }
}

/// Any response whose content is not needed beyond its header.
struct WireEmptyResponse: WireDecodable {
    init(from scanner: inout JSONScanner) throws { try scanner.skip() }
}

/// `/v3/auth/authenticate`.
struct WireAuthResponse: WireDecodable {
    var token: String?

    init(from scanner: inout JSONScanner) throws {
        try scanner.object { scanner, key in
            if key == "token" { token = scanner.null() ? nil : try scanner.string() } else { try scanner.skip() }
        }
    }
}

/// The gateway's error body (also the `error` member of a watch frame).
struct WireError: Error, Hashable, CustomStringConvertible, WireDecodable {
    var error: String?
    var message: String?
    var code: Int?
    /// Stream errors (watch) carry the gRPC code here instead of in `code`.
    var grpc_code: Int?

    init(error: String?, message: String?, code: Int? = nil, grpc_code: Int? = nil) {
        self.error = error
        self.message = message
        self.code = code
        self.grpc_code = grpc_code
    }

    init(from scanner: inout JSONScanner) throws {
        try scanner.object { scanner, key in
            if key == "error" {
                error = scanner.null() ? nil : try scanner.string()
            } else if key == "message" {
                message = scanner.null() ? nil : try scanner.string()
            } else if key == "code" {
                code = Int(try scanner.int64())
            } else if key == "grpc_code" {
                grpc_code = Int(try scanner.int64())
            } else {
                try scanner.skip()
            }
        }
    }

    var description: String { "etcd error \(code ?? grpc_code ?? -1): \(message ?? error ?? "")" }
}

/// One line of the `/v3/watch` stream.
struct WireWatchFrame: WireDecodable {
    struct Result {
        var revision: Int64 = 0
        var created = false
        var canceled = false
        /// More events of this response follow in the next frame (possibly of the same revision).
        var fragment = false
        var compactRevision: Int64 = 0
        var cancelReason: String?
        var events: [WatchEvent] = []
    }
    var result: Result?
    var error: WireError?

    init(from scanner: inout JSONScanner) throws {
        try scanner.object { scanner, key in
            if key == "result" {
                result = try Self.readResult(&scanner)
            } else if key == "error" {
                error = try WireError(from: &scanner)
            } else {
                try scanner.skip()
            }
        }
    }

    private static func readResult(_ scanner: inout JSONScanner) throws -> Result {
        var result = Result()
        try scanner.object { scanner, key in
            if key == "header" {
                result.revision = try WireRead.headerRevision(&scanner)
            } else if key == "created" {
                result.created = try scanner.bool()
            } else if key == "canceled" {
                result.canceled = try scanner.bool()
            } else if key == "fragment" {
                result.fragment = try scanner.bool()
            } else if key == "compact_revision" {
                result.compactRevision = try scanner.int64()
            } else if key == "cancel_reason" {
                result.cancelReason = scanner.null() ? nil : try scanner.string()
            } else if key == "events" {
                try scanner.array { scanner in
                    if let event = try readEvent(&scanner) { result.events.append(event) }
                }
            } else {
                try scanner.skip()
            }
        }
        return result
    }

    private static func readEvent(_ scanner: inout JSONScanner) throws -> WatchEvent? {
        var isDelete = false
        var current: KeyValue?
        var previous: KeyValue?
        try scanner.object { scanner, key in
            if key == "type" {
                isDelete = try scanner.string() == "DELETE"
            } else if key == "kv" {
                if !scanner.null() { current = try WireRead.keyValue(&scanner) }
            } else if key == "prev_kv" {
                if !scanner.null() { previous = try WireRead.keyValue(&scanner) }
            } else {
                try scanner.skip()
            }
        }
        guard let kv = current else { return nil }
        return isDelete
            ? WatchEvent(kind: .delete, key: kv.key, current: nil, previous: previous, revision: kv.modRevision)
            : WatchEvent(kind: .put, key: kv.key, current: kv, previous: previous, revision: kv.modRevision)
    }
}
