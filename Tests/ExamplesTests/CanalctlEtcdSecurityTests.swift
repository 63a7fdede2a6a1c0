import CanalTesting
import Foundation
import Testing

private let networkSet = """
    apiVersion: projectcalico.org/v3
    kind: GlobalNetworkSet
    metadata:
      name: secure-set
      labels:
        zone: dmz
    spec:
      nets: [10.9.0.0/16]
    """

private let networkSetKey = "/calico/resources/v3/projectcalico.org/globalnetworksets/secure-set"

/// canalctl with nothing from the caller's environment leaking into the datastore settings.
private func canalctl(_ arguments: [String], stdin: String? = nil, environment: [String: String] = [:]) throws -> ToolRunner.Output {
    var base = [
        "DATASTORE_TYPE": "", "ETCD_ENDPOINTS": "", "ETCD_USERNAME": "", "ETCD_PASSWORD": "", "ETCD_KEY_FILE": "",
        "ETCD_CERT_FILE": "", "ETCD_CA_CERT_FILE": "",
    ]
    for (name, value) in environment { base[name] = value }
    return try ToolRunner.run("canalctl", arguments, stdin: stdin, environment: base)
}

@Suite("canalctl against a secured etcd", .serialized, .enabled(if: EtcdServer.shouldRun), .timeLimit(.minutes(3)))
struct CanalctlEtcdSecurityTests {
    @Test("mutual TLS from --etcd-cert-file/--etcd-key-file/--etcd-ca-cert-file; a foreign certificate is refused")
    func tlsFlags() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("canalctl-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let certificates = try TestCertificates.make(in: directory)
        try await EtcdServer.withEtcdServer(tls: certificates.mutualTLS) { server in
            let flags = [
                "--etcd-endpoints", server.endpoint, "--etcd-ca-cert-file", certificates.caFile,
                "--etcd-cert-file", certificates.clientCertFile, "--etcd-key-file", certificates.clientKeyFile,
            ]
            let applied = try canalctl(["apply", "-f", "-"] + flags, stdin: networkSet)
            #expect(applied.status == 0, "\(applied.stderr)")
            let got = try canalctl(["get", "globalnetworkset", "secure-set", "-o", "yaml"] + flags)
            #expect(got.status == 0, "\(got.stderr)")
            #expect(got.stdout.contains("10.9.0.0/16"))
            #expect(try server.etcdctl(["get", "--print-value-only", networkSetKey]).contains("10.9.0.0/16"))

            // The same through calicoctl's environment variables.
            let viaEnvironment = try canalctl(
                ["get", "globalnetworksets", "-o", "name"],
                environment: [
                    "DATASTORE_TYPE": "etcdv3", "ETCD_ENDPOINTS": server.endpoint, "ETCD_CA_CERT_FILE": certificates.caFile,
                    "ETCD_CERT_FILE": certificates.clientCertFile, "ETCD_KEY_FILE": certificates.clientKeyFile,
                ])
            #expect(viaEnvironment.status == 0, "\(viaEnvironment.stderr)")
            #expect(viaEnvironment.stdout.contains("secure-set"))

            let foreign = try canalctl([
                "delete", "globalnetworkset", "secure-set", "--etcd-endpoints", server.endpoint,
                "--etcd-ca-cert-file", certificates.caFile, "--etcd-cert-file", certificates.foreignClientCertFile,
                "--etcd-key-file", certificates.foreignClientKeyFile,
            ])
            #expect(foreign.status != 0)
            // The alert ("refused the client certificate") or, when etcd closes first, the hint with a "?".
            #expect(foreign.stderr.contains("TLS with etcd failed"), "\(foreign.stderr)")
            #expect(foreign.stderr.contains("refuse"), "\(foreign.stderr)")
            let noCA = try canalctl(["get", "globalnetworksets", "--etcd-endpoints", server.endpoint])
            #expect(noCA.status != 0)
            #expect(noCA.stderr.contains("TLS with etcd failed"), "\(noCA.stderr)")
            #expect(try server.etcdctl(["get", "--print-value-only", networkSetKey]).contains("10.9.0.0/16"))
        }
    }

    @Test("ETCD_USERNAME/ETCD_PASSWORD: the user writes under /calico/; a wrong password is refused, nothing written")
    func usernamePassword() async throws {
        try await EtcdServer.withEtcdServer { server in
            try server.enableAuthentication(
                rootPassword: "root-pw", users: [EtcdServer.User(name: "calico", password: "calico-pw", readWritePrefixes: ["/calico/"])])
            let environment = [
                "DATASTORE_TYPE": "etcdv3", "ETCD_ENDPOINTS": server.endpoint, "ETCD_USERNAME": "calico",
                "ETCD_PASSWORD": "calico-pw",
            ]
            let created = try canalctl(["create", "-f", "-"], stdin: networkSet, environment: environment)
            #expect(created.status == 0, "\(created.stderr)")
            let got = try canalctl(["get", "globalnetworkset", "secure-set", "-o", "json"], environment: environment)
            #expect(got.status == 0, "\(got.stderr)")
            #expect(got.stdout.contains("\"zone\" : \"dmz\"") || got.stdout.contains("\"zone\": \"dmz\"") || got.stdout.contains("\"zone\":\"dmz\""), "\(got.stdout)")

            var wrong = environment
            wrong["ETCD_PASSWORD"] = "not-the-password"
            let refused = try canalctl(["delete", "globalnetworkset", "secure-set"], environment: wrong)
            #expect(refused.status != 0)
            #expect(refused.stderr.contains("invalid user ID or password"), "\(refused.stderr)")
            // --etcd-password overrides the environment.
            let overridden = try canalctl(["get", "globalnetworksets", "-o", "name", "--etcd-password", "calico-pw"], environment: wrong)
            #expect(overridden.status == 0, "\(overridden.stderr)")
            #expect(try server.etcdctl(["get", "--print-value-only", networkSetKey], user: "root:root-pw").contains("10.9.0.0/16"))
        }
    }
}
