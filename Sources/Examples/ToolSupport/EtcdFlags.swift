package import ArgumentParser
import Foundation

/// The etcd flags of every tool that talks to the datastore, named as calicoctl's environment
/// variables they override (`ETCD_ENDPOINTS`, `ETCD_USERNAME`, …). Giving `--etcd-endpoints`
/// selects the etcd datastore unless `DATASTORE_TYPE` says otherwise.
package struct EtcdFlags: ParsableArguments {
    @Option(name: .customLong("etcd-endpoints"), help: "Comma-separated etcd URLs (overrides ETCD_ENDPOINTS; selects etcdv3).")
    package var etcdEndpoints: String?

    @Option(name: .customLong("etcd-username"), help: "etcd user (overrides ETCD_USERNAME).")
    package var etcdUsername: String?

    @Option(name: .customLong("etcd-password"), help: "etcd password (overrides ETCD_PASSWORD).")
    package var etcdPassword: String?

    @Option(name: .customLong("etcd-key-file"), help: "Client key for etcd TLS (overrides ETCD_KEY_FILE).")
    package var etcdKeyFile: String?

    @Option(name: .customLong("etcd-cert-file"), help: "Client certificate for etcd TLS (overrides ETCD_CERT_FILE).")
    package var etcdCertFile: String?

    @Option(name: .customLong("etcd-ca-cert-file"), help: "CA to verify etcd with (overrides ETCD_CA_CERT_FILE).")
    package var etcdCACertFile: String?

    package init() {}

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
}
