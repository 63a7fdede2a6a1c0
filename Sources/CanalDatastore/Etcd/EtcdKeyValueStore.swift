import Foundation
import Synchronization

/// A ``KeyValueStore`` on etcd v3, through its HTTP/JSON gateway over libcurl.
///
/// Requests go to the first healthy endpoint; a request that could not connect moves on to the
/// next endpoint (and the store remembers which one worked). Connections are reused across
/// requests. With a username, the store authenticates (`/v3/auth/authenticate`) and sends the token
/// in the `Authorization` header, re-authenticating once when etcd reports the token invalid.
///
/// The HTTP client's thread stops when the store is deinitialized; running watches keep it alive.
public final class EtcdKeyValueStore: KeyValueStore {
    let configuration: EtcdConfiguration
    let client: CurlClient
    private let preferredEndpoint = Mutex(0)
    private let token = Mutex<String?>(nil)

    /// Creates a store for `configuration`. No connection is made until the first request.
    public init(configuration: EtcdConfiguration) {
        self.configuration = configuration
        self.client = CurlClient(
            tls: CurlTLS(
                caFile: configuration.caCertFile, certFile: configuration.certFile, keyFile: configuration.keyFile),
            connectTimeout: configuration.connectTimeout)
    }

    // MARK: KeyValueStore

    public func get(_ key: [UInt8], at revision: Revision?) async throws -> KeyValue? {
        let response: WireRangeResponse = try await call(
            "/v3/kv/range", WireRangeRequest(key: Wire.encode(key), revision: revision.map(\.description)), key: key)
        return response.kvs?.first.map(Wire.keyValue)
    }

    public func list(prefix: [UInt8], at revision: Revision?) async throws -> ListResult {
        let start = prefix.isEmpty ? [0] : prefix
        let response: WireRangeResponse = try await call(
            "/v3/kv/range",
            WireRangeRequest(
                key: Wire.encode(start), range_end: Wire.encode(prefix.prefixRangeEnd),
                revision: revision.map(\.description)),
            key: prefix)
        return ListResult(
            items: (response.kvs ?? []).map(Wire.keyValue), revision: Revision(Wire.int(response.header?.revision)))
    }

    public func transaction(_ transaction: Transaction) async throws -> TransactionResult {
        let request = WireTxnRequest(
            compare: transaction.comparisons.map(Self.wire),
            success: transaction.success.map { Self.wire($0, previous: transaction.returnsPreviousValues) },
            failure: transaction.failure.map { Self.wire($0, previous: transaction.returnsPreviousValues) })
        let response: WireTxnResponse = try await call(
            "/v3/kv/txn", request, key: transaction.comparisons.first?.key)
        let succeeded = response.succeeded ?? false
        let branch = succeeded ? transaction.success : transaction.failure
        let responses = response.responses ?? []
        var results: [KeyValue?] = []
        for (index, operation) in branch.enumerated() {
            let reply = index < responses.count ? responses[index] : WireResponseOp()
            switch operation {
            case .get: results.append(reply.response_range?.kvs?.first.map(Wire.keyValue))
            case .put: results.append(transaction.returnsPreviousValues ? reply.response_put?.prev_kv.map(Wire.keyValue) : nil)
            case .delete: results.append(transaction.returnsPreviousValues ? reply.response_delete_range?.prev_kvs?.first.map(Wire.keyValue) : nil)
            }
        }
        return TransactionResult(
            succeeded: succeeded, revision: Revision(Wire.int(response.header?.revision)), results: results)
    }

    public func grantLease(ttl: Duration) async throws -> Lease {
        guard ttl > .zero else { throw DatastoreError(.invalidArgument, "a lease needs a positive TTL") }
        let (seconds, attoseconds) = ttl.components
        let whole = max(1, seconds + (attoseconds > 0 ? 1 : 0))
        let response: WireLeaseGrantResponse = try await call(
            "/v3/lease/grant", WireLeaseGrantRequest(TTL: String(whole)), key: nil)
        if let error = response.error, !error.isEmpty {
            throw DatastoreError(.unavailable, "lease grant failed: \(error)")
        }
        return Lease(id: LeaseID(rawValue: Wire.int(response.ID)), ttl: .seconds(Wire.int(response.TTL)))
    }

    public func keepAlive(_ lease: LeaseID) async throws -> Duration {
        let response: WireKeepAliveResponse = try await call(
            "/v3/lease/keepalive", WireLeaseIDRequest(ID: lease.description), key: nil)
        let ttl = Wire.int(response.result?.TTL)
        // etcd answers a keep-alive of an unknown (expired, revoked) lease with TTL 0, not an error.
        guard ttl > 0 else { throw DatastoreError(.notFound, "lease \(lease) not found") }
        return .seconds(ttl)
    }

    public func revokeLease(_ lease: LeaseID) async throws {
        let _: WireEmptyResponse = try await call(
            "/v3/lease/revoke", WireLeaseIDRequest(ID: lease.description), key: nil)
    }

    public func compact(to revision: Revision) async throws {
        let _: WireEmptyResponse = try await call(
            "/v3/kv/compaction", WireCompactionRequest(revision: revision.description, physical: true), key: nil)
    }

    public func watch(prefix: [UInt8], fromRevision: Revision?) -> EtcdWatch {
        EtcdWatch(store: self, prefix: prefix, start: fromRevision)
    }

    // MARK: Requests

    /// Posts `body` to `path` on the endpoints in turn and decodes the answer, mapping every failure
    /// to a ``DatastoreError``.
    func call<Request: Encodable, Response: Decodable>(
        _ path: String, _ body: Request, key: [UInt8]?, authenticating: Bool = false
    ) async throws -> Response {
        let payload = try [UInt8](JSONEncoder().encode(body))
        var reauthenticated = false
        while true {
            let headers = try await requestHeaders(authenticating: authenticating)
            let (response, _) = try await send(path, payload, headers: headers, key: key)
            if response.status == 200 {
                do {
                    return try JSONDecoder().decode(Response.self, from: Data(response.body))
                } catch {
                    throw DatastoreError(.unavailable, "cannot decode etcd's answer to \(path)", key: key, cause: error)
                }
            }
            let wireError = (try? JSONDecoder().decode(WireError.self, from: Data(response.body)))
                ?? WireError(error: nil, message: String(decoding: response.body.prefix(200), as: UTF8.self))
            if !authenticating, !reauthenticated, configuration.username != nil, Self.isInvalidToken(wireError) {
                reauthenticated = true
                token.withLock { $0 = nil }
                continue
            }
            throw Self.map(wireError, status: response.status, key: key)
        }
    }

    /// Sends one request, failing over between endpoints when a connection cannot be made.
    /// Returns the response and the endpoint that answered.
    func send(_ path: String, _ payload: [UInt8], headers: [String], key: [UInt8]?, timeout: Duration? = nil)
        async throws -> (HTTPResponse, String)
    {
        let endpoints = configuration.endpoints
        guard !endpoints.isEmpty else { throw DatastoreError(.invalidArgument, "no etcd endpoints configured") }
        let first = preferredEndpoint.withLock { $0 } % endpoints.count
        var lastError: CurlError?
        for offset in 0..<endpoints.count {
            let index = (first + offset) % endpoints.count
            let url = Self.join(endpoints[index], path)
            do {
                let response = try await client.perform(
                    HTTPRequest(url: url, body: payload, headers: headers, timeout: timeout ?? configuration.requestTimeout))
                preferredEndpoint.withLock { $0 = index }
                return (response, endpoints[index])
            } catch let error as CurlError where error.isConnectFailure {
                lastError = error
                continue
            } catch let error as CurlError {
                throw Self.map(error, key: key)
            }
        }
        throw DatastoreError(
            .unavailable, "no etcd endpoint could be reached (\(endpoints.joined(separator: ", ")))", key: key,
            cause: lastError)
    }

    /// The headers for a request: JSON, plus the auth token when a username is configured.
    func requestHeaders(authenticating: Bool = false) async throws -> [String] {
        var headers = ["Content-Type: application/json"]
        guard !authenticating, let username = configuration.username else { return headers }
        if let token = token.withLock({ $0 }) {
            headers.append("Authorization: \(token)")
            return headers
        }
        let response: WireAuthResponse = try await call(
            "/v3/auth/authenticate", WireAuthRequest(name: username, password: configuration.password ?? ""),
            key: nil, authenticating: true)
        guard let fresh = response.token, !fresh.isEmpty else {
            throw DatastoreError(.unauthorized, "etcd returned no token for user \(username)")
        }
        token.withLock { $0 = fresh }
        headers.append("Authorization: \(fresh)")
        return headers
    }

    func forgetToken() { token.withLock { $0 = nil } }

    static func join(_ endpoint: String, _ path: String) -> String {
        endpoint.hasSuffix("/") ? String(endpoint.dropLast()) + path : endpoint + path
    }

    // MARK: Error mapping

    static func isInvalidToken(_ error: WireError) -> Bool {
        (error.code ?? error.grpc_code) == 16 || (error.message ?? "").contains("invalid auth token")
    }

    /// Maps an etcd (gRPC status) error to a ``DatastoreError``.
    static func map(_ error: WireError, status: Int, key: [UInt8]?) -> DatastoreError {
        let message = error.message ?? error.error ?? "HTTP status \(status)"
        let code: DatastoreError.Code
        switch error.code ?? error.grpc_code {
        case 3: code = .invalidArgument  // InvalidArgument
        case 4: code = .timeout  // DeadlineExceeded
        case 5: code = .notFound  // NotFound (e.g. lease not found)
        case 6: code = .alreadyExists
        case 7, 16: code = .unauthorized  // PermissionDenied, Unauthenticated
        case 9:  // FailedPrecondition: auth not enabled, and similar
            code = message.contains("auth") ? .unauthorized : .invalidArgument
        case 11:  // OutOfRange: compacted or future revision
            code = message.contains("compacted") ? .compacted : .invalidArgument
        case 14: code = .unavailable
        default:
            code = status == 401 || status == 403 ? .unauthorized : .unavailable
        }
        return DatastoreError(code, message, key: key, cause: error)
    }

    /// Maps a curl failure to a ``DatastoreError``.
    static func map(_ error: any Error, key: [UInt8]?) -> any Error {
        guard let error = error as? CurlError else { return error }
        if error.isTimeout { return DatastoreError(.timeout, "etcd did not answer in time", key: key, cause: error) }
        if error.isTLSFailure {
            return DatastoreError(.unavailable, "TLS with etcd failed: \(error.message)", key: key, cause: error)
        }
        return DatastoreError(.unavailable, "etcd request failed: \(error.message)", key: key, cause: error)
    }

    // MARK: Wire conversion

    static func wire(_ comparison: Transaction.Comparison) -> WireCompare {
        var compare = WireCompare(key: Wire.encode(comparison.key), target: "", result: "")
        compare.range_end = comparison.rangeEnd.map(Wire.encode)
        switch comparison.target {
        case .modRevision(let r):
            compare.target = "MOD"
            compare.mod_revision = r.description
        case .createRevision(let r):
            compare.target = "CREATE"
            compare.create_revision = r.description
        case .version(let v):
            compare.target = "VERSION"
            compare.version = String(v)
        case .value(let value):
            compare.target = "VALUE"
            compare.value = Wire.encode(value)
        }
        compare.result = switch comparison.relation {
        case .equal: "EQUAL"
        case .notEqual: "NOT_EQUAL"
        case .less: "LESS"
        case .greater: "GREATER"
        }
        return compare
    }

    static func wire(_ operation: Transaction.Operation, previous: Bool = true) -> WireRequestOp {
        switch operation {
        case .get(let key):
            WireRequestOp(request_range: WireRangeRequest(key: Wire.encode(key)))
        case .put(let key, let value, let lease):
            WireRequestOp(
                request_put: WirePutRequest(
                    key: Wire.encode(key), value: Wire.encode(value), lease: lease?.description, prev_kv: previous ? true : nil))
        case .delete(let key):
            WireRequestOp(request_delete_range: WireDeleteRequest(key: Wire.encode(key), prev_kv: previous ? true : nil))
        }
    }
}
