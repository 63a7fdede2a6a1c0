import ArgumentParser
import CanalDatastore
import CanalModel
import Foundation

/// Where the datastore is: calicoctl's environment (`DATASTORE_TYPE`, `ETCD_*`), overridden by flags;
/// with nothing configured, the embedded datastore persisted to `CANAL_STATE_FILE`.
struct DatastoreOptions: ParsableArguments {
    @Option(name: .customLong("etcd-endpoints"), help: "Comma-separated etcd URLs (overrides ETCD_ENDPOINTS; selects etcdv3).")
    var etcdEndpoints: String?

    @Option(name: .customLong("etcd-username"), help: "etcd user (overrides ETCD_USERNAME).")
    var etcdUsername: String?

    @Option(name: .customLong("etcd-password"), help: "etcd password (overrides ETCD_PASSWORD).")
    var etcdPassword: String?

    @Option(name: .customLong("etcd-key-file"), help: "Client key for etcd TLS (overrides ETCD_KEY_FILE).")
    var etcdKeyFile: String?

    @Option(name: .customLong("etcd-cert-file"), help: "Client certificate for etcd TLS (overrides ETCD_CERT_FILE).")
    var etcdCertFile: String?

    @Option(name: .customLong("etcd-ca-cert-file"), help: "CA to verify etcd with (overrides ETCD_CA_CERT_FILE).")
    var etcdCACertFile: String?

    @Option(name: .customLong("state-file"), help: "The embedded datastore's file (overrides CANAL_STATE_FILE; default ~/.canal/state.json).")
    var stateFile: String?

    @Option(name: .customLong("timeout"), help: "Seconds to wait for each etcd request.")
    var timeout: Int = 10

    /// The effective environment: the process's, with the flags laid over it.
    func environment() -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        let overrides: [(String, String?)] = [
            ("ETCD_ENDPOINTS", etcdEndpoints), ("ETCD_USERNAME", etcdUsername), ("ETCD_PASSWORD", etcdPassword),
            ("ETCD_KEY_FILE", etcdKeyFile), ("ETCD_CERT_FILE", etcdCertFile), ("ETCD_CA_CERT_FILE", etcdCACertFile),
            ("CANAL_STATE_FILE", stateFile),
        ]
        for case (let name, let value?) in overrides { environment[name] = value }
        if etcdEndpoints != nil, (environment["DATASTORE_TYPE"] ?? "").isEmpty { environment["DATASTORE_TYPE"] = "etcdv3" }
        return environment
    }

    /// Runs `command` against the configured datastore. On the embedded datastore the state file is
    /// locked for the whole command and saved afterwards.
    func run<C: DatastoreCommand>(_ command: C) async throws {
        let environment = environment()
        let configuration: DatastoreConfiguration
        do {
            configuration = try DatastoreConfiguration(environment: environment)
        } catch {
            throw CommandError("invalid datastore configuration: \(Self.describe(error))")
        }
        if var etcd = configuration.etcd {
            etcd.requestTimeout = .seconds(max(1, timeout))
            etcd.connectTimeout = .seconds(max(1, min(timeout, 5)))
            try await command.execute(ResourceClient(store: EtcdKeyValueStore(configuration: etcd)))
        } else {
            let path = StateFile.defaultPath(environment: environment)
            do {
                try await StateFile.withStore(at: path) { store in
                    try await command.execute(ResourceClient(store: store))
                }
            } catch let error as DatastoreError {
                throw CommandError("embedded datastore \(path): \(Self.describe(error))")
            }
        }
    }

    /// An error as a user-facing line.
    static func describe(_ error: any Error) -> String {
        switch error {
        case let error as DatastoreError:
            switch error.code {
            case .unavailable, .timeout:
                return "cannot reach the datastore: \(error.message)" + (error.cause.map { " (\($0))" } ?? "")
            default:
                return error.message
            }
        case let error as ModelError:
            if error.fieldErrors.isEmpty { return error.message }
            return error.message + ": " + error.fieldErrors.map(\.description).joined(separator: "; ")
        case let error as CommandError:
            return error.description
        default:
            return "\(error)"
        }
    }
}

/// A command that works on a resource client, whatever the store.
protocol DatastoreCommand: Sendable {
    func execute<Store: KeyValueStore>(_ client: ResourceClient<Store>) async throws
}

extension ResourceClient {
    /// calicoctl's `tryEnsureInitialized` before writes: failures other than an unreachable store are ignored.
    func initializeBeforeWrite() async throws {
        do {
            try await initialize()
        } catch let error as DatastoreError where error.code == .unavailable || error.code == .timeout {
            throw error
        } catch {
            // Calico ignores these: the user may lack permission on tiers or ClusterInformation.
        }
    }
}
