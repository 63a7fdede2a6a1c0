import Foundation
package import Synchronization

/// A ``KeyValueStore`` on etcd v3, through its HTTP/JSON gateway over libcurl.
///
/// Requests go to the first healthy endpoint; a request that could not connect moves on to the
/// next endpoint (and the store remembers which one worked). Connections are reused across
/// requests. With a username, the store authenticates (`/v3/auth/authenticate`) and sends the token
/// in the `Authorization` header, re-authenticating (at most twice per request) when etcd reports the token invalid.
///
/// All stores of a process share one HTTP loop (``taskExecutor``), which lives as long as the process.
public final class EtcdKeyValueStore: KeyValueStore {
    let configuration: EtcdConfiguration
    let client: CurlClient
    private let preferredEndpoint = Mutex(0)
    /// The auth headers in use (with the current token), or the authentication under way.
    private let auth = Mutex<AuthState>(.none)
    /// Authentications made so far (tests observe re-authentication through it).
    package let authenticationCount = Atomic<Int>(0)

    enum AuthState {
        case none
        case authenticating(Task<[String], any Error>)
        case authenticated([String])
    }

    static let jsonHeaders = ["Content-Type: application/json"]

    /// Creates a store for `configuration`. No connection is made until the first request.
    public init(configuration: EtcdConfiguration) {
        self.configuration = configuration
        self.client = CurlClient(
            tls: CurlTLS(
                caFile: configuration.caCertFile, certFile: configuration.certFile, keyFile: configuration.keyFile),
            connectTimeout: configuration.connectTimeout)
    }

    /// The thread that waits on etcd's answers, as a task executor.
    ///
    /// A request is sent from the calling task's thread; its answer arrives on this thread, and an
    /// ordinary task then resumes on Swift's global pool — one thread hop per request. A task that
    /// prefers this executor (`Task(executorPreference:)`, `withTaskExecutorPreference(_:operation:)`)
    /// resumes right here, with no hop: worth it for work that is mostly datastore calls in a row
    /// (bulk loads, IPAM loops). Such a task must not block or compute for long, because every
    /// etcd answer of the process waits while it runs. All stores share the one thread.
    public var taskExecutor: any TaskExecutor { client.executor }

    // MARK: KeyValueStore

    public func get(_ key: [UInt8], at revision: Revision?) async throws -> KeyValue? {
        let response: WireRangeResponse = try await call(
            "/v3/kv/range", WireRequest.range(key: key, revision: revision), key: key)
        return response.kvs.first
    }

    public func list(prefix: [UInt8], at revision: Revision?) async throws -> ListResult {
        let response: WireRangeResponse = try await call(
            "/v3/kv/range",
            WireRequest.range(key: prefix.isEmpty ? [0] : prefix, rangeEnd: prefix.prefixRangeEnd, revision: revision),
            key: prefix)
        return ListResult(items: response.kvs, revision: Revision(response.revision))
    }

    public func transaction(_ transaction: Transaction) async throws -> TransactionResult {
        // An unconditional single put (Calico's Apply) is etcd's plain Put: one simpler request
        // that etcd serves without the txn machinery.
        if transaction.comparisons.isEmpty, transaction.success.count == 1,
            case .put(let key, let value, let lease) = transaction.success[0]
        {
            let response: WirePutResponse = try await call(
                "/v3/kv/put",
                WireRequest.put(key: key, value: value, lease: lease, prevKV: transaction.returnsPreviousValues),
                key: key)
            return TransactionResult(succeeded: true, revision: Revision(response.revision), results: [response.previous])
        }
        let response: WireTxnResponse = try await call(
            "/v3/kv/txn", WireRequest.txn(transaction, previousValues: transaction.returnsPreviousValues),
            key: transaction.comparisons.first?.key)
        let branch = response.succeeded ? transaction.success : transaction.failure
        var results: [KeyValue?] = []
        results.reserveCapacity(branch.count)
        for (index, operation) in branch.enumerated() {
            let reply = index < response.responses.count ? response.responses[index] : .none
            switch (operation, reply) {
            case (.get, .range(let kvs)): results.append(kvs.first)
            case (.put, .put(let previous)): results.append(previous)
            case (.delete, .delete(let previous)): results.append(previous.first)
            default: results.append(nil)
            }
        }
        return TransactionResult(succeeded: response.succeeded, revision: Revision(response.revision), results: results)
    }

    public func grantLease(ttl: Duration) async throws -> Lease {
        guard ttl > .zero else { throw DatastoreError(.invalidArgument, "a lease needs a positive TTL") }
        let (seconds, attoseconds) = ttl.components
        let whole = max(1, seconds + (attoseconds > 0 ? 1 : 0))
        let response: WireLeaseGrantResponse = try await call(
            "/v3/lease/grant", WireRequest.leaseGrant(ttlSeconds: whole), key: nil)
        if let error = response.error, !error.isEmpty {
            throw DatastoreError(.unavailable, "lease grant failed: \(error)")
        }
        return Lease(id: LeaseID(rawValue: response.id), ttl: .seconds(response.ttl))
    }

    public func keepAlive(_ lease: LeaseID) async throws -> Duration {
        let response: WireKeepAliveResponse = try await call(
            "/v3/lease/keepalive", WireRequest.leaseID(lease), key: nil)
        // etcd answers a keep-alive of an unknown (expired, revoked) lease with TTL 0, not an error.
        guard response.ttl > 0 else { throw DatastoreError(.notFound, "lease \(lease) not found") }
        return .seconds(response.ttl)
    }

    public func revokeLease(_ lease: LeaseID) async throws {
        let _: WireEmptyResponse = try await call("/v3/lease/revoke", WireRequest.leaseID(lease), key: nil)
    }

    public func compact(to revision: Revision) async throws {
        let _: WireEmptyResponse = try await call("/v3/kv/compaction", WireRequest.compaction(revision), key: nil)
    }

    public func watch(prefix: [UInt8], fromRevision: Revision?) -> EtcdWatch {
        EtcdWatch(store: self, prefix: prefix, start: fromRevision)
    }

    // MARK: Requests

    /// The store's current revision, from the header of a count of one key (cheap at any size).
    func currentRevision() async throws -> Revision {
        let response: WireRangeResponse = try await call("/v3/kv/range", WireRequest.countOnly(key: [0]), key: nil)
        return Revision(response.revision)
    }

    /// Posts `body` to `path` on the endpoints in turn and decodes the answer, mapping every failure
    /// to a ``DatastoreError``.
    func call<Response: WireDecodable>(
        _ path: String, _ payload: [UInt8], key: [UInt8]?, authenticating: Bool = false
    ) async throws -> Response {
        var reauthentications = 0
        while true {
            let headers = try await requestHeaders(authenticating: authenticating)
            let (response, _) = try await send(path, payload, headers: headers, key: key)
            if response.status == 200 {
                do {
                    return try Response.decode(response.body)
                } catch {
                    throw DatastoreError(.unavailable, "cannot decode etcd's answer to \(path)", key: key, cause: error)
                }
            }
            let wireError = (try? WireError.decode(response.body))
                ?? WireError(error: nil, message: String(decoding: response.body.prefix(200), as: UTF8.self))
            // Twice at most: a token can expire again before a slow request carries it to etcd.
            if !authenticating, reauthentications < 2, configuration.username != nil, Self.isInvalidToken(wireError) {
                reauthentications += 1
                forgetToken(headers)
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
                throw Self.map(error, key: key, overTLS: url.hasPrefix("https://"))
            }
        }
        throw DatastoreError(
            .unavailable, "no etcd endpoint could be reached (\(endpoints.joined(separator: ", ")))", key: key,
            cause: lastError)
    }

    /// The headers for a request: JSON, plus the auth token when a username is configured. Concurrent
    /// requests share one authentication (etcd's password check is deliberately slow).
    func requestHeaders(authenticating: Bool = false) async throws -> [String] {
        guard !authenticating, let username = configuration.username else { return Self.jsonHeaders }
        let password = configuration.password ?? ""
        enum Next {
            case ready([String])
            case wait(Task<[String], any Error>)
        }
        let next: Next = auth.withLock { state in
            switch state {
            case .authenticated(let headers): return .ready(headers)
            case .authenticating(let task): return .wait(task)
            case .none:
                let task = Task { [self] in
                    authenticationCount.add(1, ordering: .relaxed)
                    let response: WireAuthResponse = try await call(
                        "/v3/auth/authenticate", WireRequest.authenticate(name: username, password: password),
                        key: nil, authenticating: true)
                    guard let token = response.token, !token.isEmpty else {
                        throw DatastoreError(.unauthorized, "etcd returned no token for user \(username)")
                    }
                    return Self.jsonHeaders + ["Authorization: \(token)"]
                }
                state = .authenticating(task)
                return .wait(task)
            }
        }
        let task: Task<[String], any Error>
        switch next {
        case .ready(let headers): return headers
        case .wait(let pending): task = pending
        }
        do {
            let headers = try await task.value
            auth.withLock { state in
                if case .authenticating = state { state = .authenticated(headers) }
            }
            return headers
        } catch {
            auth.withLock { state in
                if case .authenticating = state { state = .none }
            }
            if let error = error as? DatastoreError, error.code == .unauthorized {
                throw DatastoreError(
                    .unauthorized, "etcd refused the credentials of user \(username): \(error.message)", cause: error.cause)
            }
            throw error
        }
    }

    /// Drops the token sent in `headers` (etcd found it invalid, e.g. expired) so the next request
    /// authenticates again; a newer token fetched meanwhile is kept.
    func forgetToken(_ headers: [String]) {
        auth.withLock { state in
            if case .authenticated(let current) = state, current == headers { state = .none }
        }
    }

    static func join(_ endpoint: String, _ path: String) -> String {
        endpoint.hasSuffix("/") ? String(endpoint.dropLast()) + path : endpoint + path
    }

    // MARK: Error mapping

    /// etcd's messages for a request without a user or with a wrong password.
    static func isCredentialFailure(_ message: String) -> Bool {
        message.contains("user name is empty") || message.contains("authentication failed")
            || message.contains("invalid user ID or password")
    }

    static func isInvalidToken(_ error: WireError) -> Bool {
        (error.code ?? error.grpc_code) == 16 || (error.message ?? "").contains("invalid auth token")
    }

    /// Maps an etcd (gRPC status) error to a ``DatastoreError``.
    static func map(_ error: WireError, status: Int, key: [UInt8]?) -> DatastoreError {
        let message = error.message ?? error.error ?? "HTTP status \(status)"
        let code: DatastoreError.Code
        switch error.code ?? error.grpc_code {
        case 3:  // InvalidArgument, which etcd also uses for missing or wrong credentials
            code = Self.isCredentialFailure(message) ? .unauthorized : .invalidArgument
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
    static func map(_ error: any Error, key: [UInt8]?, overTLS: Bool = false) -> any Error {
        guard let error = error as? CurlError else { return error }
        if error.isTimeout { return DatastoreError(.timeout, "etcd did not answer in time", key: key, cause: error) }
        if error.isTLSFailure {
            let hint = error.isClientCertificateRefused ? " (etcd refused the client certificate)" : ""
            return DatastoreError(.unavailable, "TLS with etcd failed\(hint): \(error.message)", key: key, cause: error)
        }
        if overTLS, error.isSendOrReceiveFailure {
            // With TLS 1.3 a refused client certificate can also show as the server just closing the
            // connection after the handshake, before curl sees its alert.
            return DatastoreError(
                .unavailable,
                "TLS with etcd failed: the server closed the connection after the handshake (did it refuse the client certificate?): \(error.message)",
                key: key, cause: error)
        }
        return DatastoreError(.unavailable, "etcd request failed: \(error.message)", key: key, cause: error)
    }
}
