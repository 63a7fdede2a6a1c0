import Foundation

// The etcd v3 HTTP/JSON gateway's messages (grpc-gateway's JSON mapping of etcdserverpb):
// bytes are base64 strings, int64/uint64 are decimal strings, fields at their zero value are
// omitted (so every response field is optional). See ../README.md.

struct WireHeader: Codable {
    var revision: String?
}

struct WireKV: Codable {
    var key: String?
    var value: String?
    var create_revision: String?
    var mod_revision: String?
    var version: String?
    var lease: String?
}

struct WireRangeRequest: Codable {
    var key: String
    var range_end: String?
    var revision: String?
}

struct WireRangeResponse: Codable {
    var header: WireHeader?
    var kvs: [WireKV]?
}

struct WirePutRequest: Codable {
    var key: String
    var value: String
    var lease: String?
    var prev_kv: Bool?
}

struct WireDeleteRequest: Codable {
    var key: String
    var prev_kv: Bool?
}

struct WireCompare: Codable {
    var key: String
    var target: String
    var result: String
    var mod_revision: String?
    var create_revision: String?
    var version: String?
    var value: String?
    var range_end: String?
}

struct WireRequestOp: Codable {
    var request_range: WireRangeRequest?
    var request_put: WirePutRequest?
    var request_delete_range: WireDeleteRequest?
}

struct WireTxnRequest: Codable {
    var compare: [WireCompare]
    var success: [WireRequestOp]
    var failure: [WireRequestOp]
}

struct WirePutResponse: Codable {
    var prev_kv: WireKV?
}

struct WireDeleteResponse: Codable {
    var deleted: String?
    var prev_kvs: [WireKV]?
}

struct WireResponseOp: Codable {
    var response_range: WireRangeResponse?
    var response_put: WirePutResponse?
    var response_delete_range: WireDeleteResponse?
}

struct WireTxnResponse: Codable {
    var header: WireHeader?
    var succeeded: Bool?
    var responses: [WireResponseOp]?
}

struct WireLeaseGrantRequest: Codable {
    var TTL: String
    var ID: String = "0"
}

struct WireLeaseGrantResponse: Codable {
    var ID: String?
    var TTL: String?
    var error: String?
}

struct WireLeaseIDRequest: Codable {
    var ID: String
}

struct WireKeepAliveResponse: Codable {
    struct Result: Codable {
        var ID: String?
        var TTL: String?
    }
    var result: Result?
}

struct WireEmptyResponse: Codable {
    var header: WireHeader?
}

struct WireCompactionRequest: Codable {
    var revision: String
    var physical: Bool
}

struct WireAuthRequest: Codable {
    var name: String
    var password: String
}

struct WireAuthResponse: Codable {
    var token: String?
}

/// The gateway's error body (also the `error` member of a watch frame).
struct WireError: Codable, Error, Hashable, CustomStringConvertible {
    var error: String?
    var message: String?
    var code: Int?
    /// Stream errors (watch) carry the gRPC code here instead of in `code`.
    var grpc_code: Int?
    var description: String { "etcd error \(code ?? grpc_code ?? -1): \(message ?? error ?? "")" }
}

struct WireWatchCreate: Codable {
    struct Request: Codable {
        var key: String
        var range_end: String
        var start_revision: String?
        var prev_kv: Bool
        var progress_notify: Bool
    }
    var create_request: Request
}

struct WireWatchFrame: Codable {
    struct Event: Codable {
        var type: String?
        var kv: WireKV?
        var prev_kv: WireKV?
    }
    struct Result: Codable {
        var header: WireHeader?
        var created: Bool?
        var canceled: Bool?
        var compact_revision: String?
        var cancel_reason: String?
        var events: [Event]?
    }
    var result: Result?
    var error: WireError?
}

enum Wire {
    static func encode(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }

    static func decode(_ text: String?) -> [UInt8] {
        guard let text, let data = Data(base64Encoded: text) else { return [] }
        return [UInt8](data)
    }

    static func int(_ text: String?) -> Int64 { text.flatMap { Int64($0) } ?? 0 }

    static func keyValue(_ kv: WireKV) -> KeyValue {
        let lease = int(kv.lease)
        return KeyValue(
            key: decode(kv.key), value: decode(kv.value), createRevision: Revision(int(kv.create_revision)),
            modRevision: Revision(int(kv.mod_revision)), version: int(kv.version),
            lease: lease == 0 ? nil : LeaseID(rawValue: lease))
    }
}
