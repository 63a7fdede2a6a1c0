package import ArgumentParser
package import CanalDatastore
import Foundation

/// The etcd flags of every tool that talks to the datastore (canalctl, canal-agent, canal-confd,
/// canal-flanneld), named as calicoctl's environment variables they override (`ETCD_ENDPOINTS`,
/// `ETCD_USERNAME`, …). Giving `--etcd-endpoints` selects the etcd datastore unless `DATASTORE_TYPE`
/// says otherwise. flannel's spellings of the TLS flags (`--etcd-keyfile`, `--etcd-certfile`,
/// `--etcd-cafile`) are accepted too.
package struct EtcdFlags: ParsableArguments {
    @Option(
        name: .customLong("etcd-endpoints"),
        help: "Comma-separated etcd URLs (overrides ETCD_ENDPOINTS; selects etcdv3; default http://127.0.0.1:2379).")
    package var etcdEndpoints: String?

    @Option(name: .customLong("etcd-username"), help: "etcd user (overrides ETCD_USERNAME).")
    package var etcdUsername: String?

    @Option(name: .customLong("etcd-password"), help: "etcd password (overrides ETCD_PASSWORD).")
    package var etcdPassword: String?

    @Option(name: [.customLong("etcd-key-file"), .customLong("etcd-keyfile")], help: "Client key for etcd TLS (overrides ETCD_KEY_FILE).")
    package var etcdKeyFile: String?

    @Option(name: [.customLong("etcd-cert-file"), .customLong("etcd-certfile")], help: "Client certificate for etcd TLS (overrides ETCD_CERT_FILE).")
    package var etcdCertFile: String?

    @Option(name: [.customLong("etcd-ca-cert-file"), .customLong("etcd-cafile")], help: "CA to verify etcd with (overrides ETCD_CA_CERT_FILE).")
    package var etcdCACertFile: String?

    package init() {}

    /// A malformed `--etcd-endpoints` is a usage error naming the flag (a malformed `ETCD_ENDPOINTS`
    /// is reported by ``datastore(overriding:)``, naming the variable).
    package func validate() throws {
        guard let etcdEndpoints else { return }
        for endpoint in Self.endpoints(etcdEndpoints) where !(endpoint.hasPrefix("http://") || endpoint.hasPrefix("https://")) {
            throw ValidationError("--etcd-endpoints entry \"\(endpoint)\" is not an http:// or https:// URL")
        }
    }

    /// The process environment with these flags laid over it (calicoctl's precedence), plus `extra`
    /// overrides (nil values leave the environment's).
    package func environment(overriding extra: [(String, String?)] = []) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        let overrides: [(String, String?)] = [
            ("ETCD_ENDPOINTS", etcdEndpoints), ("ETCD_USERNAME", etcdUsername), ("ETCD_PASSWORD", etcdPassword),
            ("ETCD_KEY_FILE", etcdKeyFile), ("ETCD_CERT_FILE", etcdCertFile), ("ETCD_CA_CERT_FILE", etcdCACertFile),
        ] + extra
        for case (let name, let value?) in overrides { environment[name] = value }
        if etcdEndpoints != nil, (environment["DATASTORE_TYPE"] ?? "").isEmpty { environment["DATASTORE_TYPE"] = "etcdv3" }
        return environment
    }

    /// The datastore calicoctl would choose from ``environment(overriding:)``: `DATASTORE_TYPE`
    /// (`etcdv3` or `memory`, `memory` when unset unless `--etcd-endpoints` is given) and the
    /// `ETCD_*` variables; also returns that environment (for `CANAL_STATE_FILE`).
    ///
    /// Throws ``EtcdFlagsError`` naming the variable at fault (`DATASTORE_TYPE`, `ETCD_ENDPOINTS`).
    package func datastore(
        overriding extra: [(String, String?)] = []
    ) throws(EtcdFlagsError) -> (configuration: DatastoreConfiguration, environment: [String: String]) {
        let environment = environment(overriding: extra)
        do {
            return (try DatastoreConfiguration(environment: environment), environment)
        } catch {
            throw EtcdFlagsError(message: "invalid datastore configuration: \((error as? DatastoreError)?.message ?? "\(error)")")
        }
    }

    /// For a tool that only speaks etcd (canal-flanneld): the etcd settings from the flags and the
    /// environment, without needing `DATASTORE_TYPE` (when set, it must be `etcdv3`).
    ///
    /// Throws ``EtcdFlagsError`` naming the variable at fault (`DATASTORE_TYPE`, `ETCD_ENDPOINTS`).
    package func etcdOnly(tool: String) throws(EtcdFlagsError) -> EtcdConfiguration {
        let type = environment()["DATASTORE_TYPE"]?.lowercased() ?? ""
        guard type.isEmpty || type == "etcdv3" else {
            throw EtcdFlagsError(message: "invalid datastore configuration: \(tool) needs etcd, but DATASTORE_TYPE is \"\(type)\" (unset it or use etcdv3)")
        }
        let (configuration, _) = try datastore(overriding: [("DATASTORE_TYPE", "etcdv3")])
        guard let etcd = configuration.etcd else {
            throw EtcdFlagsError(message: "invalid datastore configuration: \(tool) needs etcd")
        }
        return etcd
    }

    private static func endpoints(_ list: String) -> [String] {
        list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}

/// A datastore configuration the tools cannot use, as one line for the user.
package struct EtcdFlagsError: Error, Sendable, CustomStringConvertible {
    /// The line to print, naming the flag or variable at fault.
    package var message: String
    package var description: String { message }
}
