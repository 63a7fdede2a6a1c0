import Foundation

/// How to reach etcd: calicoctl's `ETCD_*` settings.
public struct EtcdConfiguration: Sendable, Hashable {
    /// Client URLs (`http://` or `https://`), tried in order with failover.
    public var endpoints: [String]
    /// The user for etcd authentication, if enabled.
    public var username: String?
    /// The password for ``username``.
    public var password: String?
    /// PEM client private key, for TLS client authentication.
    public var keyFile: String?
    /// PEM client certificate, for TLS client authentication.
    public var certFile: String?
    /// PEM CA bundle to verify the server with (else the system's).
    public var caCertFile: String?
    /// The time limit of one unary request, per endpoint attempt.
    public var requestTimeout: Duration
    /// The time limit for establishing a connection.
    public var connectTimeout: Duration
    /// How long a watch keeps trying to reconnect, after its connection drops, before it fails with `unavailable`.
    public var watchReconnectTimeout: Duration
    /// The bytes a watch buffers before it pauses its transfer until the reader catches up.
    public var watchBufferLimit: Int

    /// Creates a configuration.
    public init(
        endpoints: [String] = ["http://127.0.0.1:2379"], username: String? = nil, password: String? = nil,
        keyFile: String? = nil, certFile: String? = nil, caCertFile: String? = nil,
        requestTimeout: Duration = .seconds(10), connectTimeout: Duration = .seconds(5),
        watchReconnectTimeout: Duration = .seconds(60), watchBufferLimit: Int = 1 << 20
    ) {
        self.endpoints = endpoints
        self.username = username
        self.password = password
        self.keyFile = keyFile
        self.certFile = certFile
        self.caCertFile = caCertFile
        self.requestTimeout = requestTimeout
        self.connectTimeout = connectTimeout
        self.watchReconnectTimeout = watchReconnectTimeout
        self.watchBufferLimit = watchBufferLimit
    }

    /// Reads `ETCD_ENDPOINTS` (comma-separated), `ETCD_USERNAME`, `ETCD_PASSWORD`, `ETCD_KEY_FILE`,
    /// `ETCD_CERT_FILE` and `ETCD_CA_CERT_FILE`; empty values count as unset.
    ///
    /// Throws `invalidArgument` when an endpoint is not an `http://` or `https://` URL.
    public init(environment: [String: String]) throws {
        func value(_ name: String) -> String? {
            guard let text = environment[name]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
            return text
        }
        let endpoints = (value("ETCD_ENDPOINTS") ?? "http://127.0.0.1:2379")
            .split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        for endpoint in endpoints where !(endpoint.hasPrefix("http://") || endpoint.hasPrefix("https://")) {
            throw DatastoreError(.invalidArgument, "ETCD_ENDPOINTS entry \"\(endpoint)\" is not an http:// or https:// URL")
        }
        self.init(
            endpoints: endpoints, username: value("ETCD_USERNAME"), password: value("ETCD_PASSWORD"),
            keyFile: value("ETCD_KEY_FILE"), certFile: value("ETCD_CERT_FILE"), caCertFile: value("ETCD_CA_CERT_FILE"))
    }
}

/// Which backend to use: calicoctl's `DATASTORE_TYPE`.
public struct DatastoreConfiguration: Sendable, Hashable {
    private enum Base: Sendable, Hashable {
        case memory
        case etcd(EtcdConfiguration)
    }
    private let base: Base

    /// The embedded in-memory store.
    public static let memory = DatastoreConfiguration(base: .memory)
    /// etcd v3 with the given settings.
    public static func etcdv3(_ configuration: EtcdConfiguration) -> DatastoreConfiguration {
        DatastoreConfiguration(base: .etcd(configuration))
    }

    /// The etcd settings, when the backend is etcd.
    public var etcd: EtcdConfiguration? {
        if case .etcd(let configuration) = base { return configuration }
        return nil
    }

    /// Reads `DATASTORE_TYPE` (`etcdv3` or `memory`; `memory` when unset) and, for etcd, the `ETCD_*` variables.
    ///
    /// Throws `invalidArgument` for another type (Calico's `kubernetes` is not supported) or a bad endpoint.
    public init(environment: [String: String]) throws {
        switch environment["DATASTORE_TYPE"]?.lowercased() ?? "" {
        case "", "memory": base = .memory
        case "etcdv3": base = .etcd(try EtcdConfiguration(environment: environment))
        case let other:
            throw DatastoreError(.invalidArgument, "DATASTORE_TYPE \"\(other)\" is not supported (use etcdv3 or memory)")
        }
    }

    private init(base: Base) { self.base = base }

    /// Opens the configured store: a fresh ``InMemoryKeyValueStore`` or an ``EtcdKeyValueStore``.
    public func makeStore() -> any KeyValueStore {
        switch base {
        case .memory: InMemoryKeyValueStore()
        case .etcd(let configuration): EtcdKeyValueStore(configuration: configuration)
        }
    }
}
