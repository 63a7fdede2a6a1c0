import ArgumentParser
import CanalDatastore
import CanalModel
import CanalToolSupport
import Foundation

/// Where the datastore is: calicoctl's environment (`DATASTORE_TYPE`, `ETCD_*`), overridden by flags;
/// with nothing configured, the embedded datastore persisted to `CANAL_STATE_FILE`.
struct DatastoreOptions: ParsableArguments {
    @OptionGroup var etcdFlags: EtcdFlags

    @Option(name: .customLong("state-file"), help: "The embedded datastore's file (overrides CANAL_STATE_FILE; default ~/.canal/state.json).")
    var stateFile: String?

    @Option(name: .customLong("timeout"), help: "Seconds to wait for each etcd request.")
    var timeout: Int = 10

    /// The effective environment: the process's, with the flags laid over it.
    func environment() -> [String: String] {
        etcdFlags.environment(overriding: [("CANAL_STATE_FILE", stateFile)])
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
