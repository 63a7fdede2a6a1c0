import CanalTesting
import Foundation
import Testing

/// canal-confd and canal-flanneld take the etcd flags and calicoctl's environment as canalctl does
/// (one `EtcdFlags` declaration), and keep the spellings they accepted before (flannel's
/// `--etcd-cafile`, `--etcd-certfile`, `--etcd-keyfile`).

/// Runs `tool` with none of the caller's datastore settings, then `environment` laid over. A tool
/// that misses its etcd would retry for ever (canal-flanneld does): `timeout` ends it (status 124).
private func run(_ tool: String, _ arguments: [String], environment: [String: String] = [:]) throws -> ToolRunner.Output {
    var base = [
        "DATASTORE_TYPE": "", "ETCD_ENDPOINTS": "", "ETCD_USERNAME": "", "ETCD_PASSWORD": "", "ETCD_KEY_FILE": "",
        "ETCD_CERT_FILE": "", "ETCD_CA_CERT_FILE": "", "CALICO_ROUTER_ID": "",
    ]
    for (name, value) in environment { base[name] = value }
    return try ToolRunner.run(tool, arguments, environment: base, launcher: ["timeout", "30"])
}

/// A scratch folder, removed afterwards.
private func withDirectory<T>(_ body: (URL) async throws -> T) async throws -> T {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("canal-etcdflags-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try await body(directory)
}

private let node = """
    apiVersion: projectcalico.org/v3
    kind: Node
    metadata:
      name: flags-node
    spec:
      bgp:
        ipv4Address: 198.18.40.7/24
    """

/// A flannel network config whose backend canal-flanneld refuses right after reading it: the
/// refusal proves the config came from the etcd under test, and nothing touches the kernel.
private let udpConfig = #"{"Network":"10.5.0.0/16","Backend":{"Type":"udp"}}"#

@Suite("canal-confd and canal-flanneld: the shared etcd flags", .serialized, .timeLimit(.minutes(3)))
struct SharedEtcdFlagsTests {
    @Test("canal-confd --once from calicoctl's environment alone, and from the flags, with etcd authentication", .enabled(if: EtcdServer.shouldRun))
    func confdEnvironmentAndFlags() async throws {
        try await withDirectory { directory in
            try await EtcdServer.withEtcdServer { server in
                try server.enableAuthentication(
                    rootPassword: "root-pw", users: [EtcdServer.User(name: "calico", password: "calico-pw", readWritePrefixes: ["/calico/"])])
                let environment = [
                    "DATASTORE_TYPE": "etcdv3", "ETCD_ENDPOINTS": server.endpoint, "ETCD_USERNAME": "calico", "ETCD_PASSWORD": "calico-pw",
                    // Must stay unused: the datastore is etcd.
                    "CANAL_STATE_FILE": directory.appendingPathComponent("state.json").path,
                ]
                let applied = try ToolRunner.run("canalctl", ["apply", "-f", "-"], stdin: node, environment: environment)
                #expect(applied.status == 0, "\(applied.stderr)")

                let confd = ["--node", "flags-node", "--once", "--no-check"]
                let viaEnvironment = directory.appendingPathComponent("env.cfg").path
                let fromEnvironment = try run("canal-confd", confd + ["--config-file", viaEnvironment], environment: environment)
                #expect(fromEnvironment.status == 0, "\(fromEnvironment.stderr)")
                let text = try String(contentsOfFile: viaEnvironment, encoding: .utf8)
                #expect(text.contains("198.18.40.7"), "\(text)")
                #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("state.json").path))

                // The same from the flags only (--etcd-endpoints selects etcd), as canalctl takes them.
                let viaFlags = directory.appendingPathComponent("flags.cfg").path
                let fromFlags = try run(
                    "canal-confd",
                    confd + ["--config-file", viaFlags, "--etcd-endpoints", server.endpoint, "--etcd-username", "calico", "--etcd-password", "calico-pw"])
                #expect(fromFlags.status == 0, "\(fromFlags.stderr)")
                #expect(try String(contentsOfFile: viaFlags, encoding: .utf8) == text)

                // A wrong ETCD_PASSWORD is refused and nothing is written; --etcd-password overrides it.
                var wrong = environment
                wrong["ETCD_PASSWORD"] = "not-the-password"
                let refusedFile = directory.appendingPathComponent("refused.cfg").path
                let refused = try run("canal-confd", confd + ["--config-file", refusedFile], environment: wrong)
                #expect(refused.status != 0)
                #expect(refused.stderr.contains("invalid user ID or password"), "\(refused.stderr)")
                #expect(!FileManager.default.fileExists(atPath: refusedFile))
                let overridden = try run("canal-confd", confd + ["--config-file", refusedFile, "--etcd-password", "calico-pw"], environment: wrong)
                #expect(overridden.status == 0, "\(overridden.stderr)")
            }
        }
    }

    @Test("canal-flanneld from ETCD_ENDPOINTS alone, and ETCD_USERNAME/--etcd-username", .enabled(if: EtcdServer.shouldRun))
    func flanneldEnvironment() async throws {
        try await withDirectory { directory in
            try await EtcdServer.withEtcdServer { server in
                _ = try server.etcdctl(["put", "/calico/flags-test/network/config", udpConfig])
                let flanneld = ["--etcd-prefix", "/calico/flags-test/network", "--subnet-file", directory.appendingPathComponent("subnet.env").path]
                let refusal = #"backend type "udp" is not supported"#

                // ETCD_ENDPOINTS alone (no DATASTORE_TYPE, no flag): flanneld only speaks etcd.
                let fromEnvironment = try run("canal-flanneld", flanneld, environment: ["ETCD_ENDPOINTS": server.endpoint])
                #expect(fromEnvironment.status == 1)
                #expect(fromEnvironment.stderr.contains(refusal), "\(fromEnvironment.stderr)")
                // DATASTORE_TYPE=etcdv3 (calicoctl's setting) is accepted too.
                let typed = try run("canal-flanneld", flanneld, environment: ["DATASTORE_TYPE": "etcdv3", "ETCD_ENDPOINTS": server.endpoint])
                #expect(typed.stderr.contains(refusal), "\(typed.stderr)")

                try server.enableAuthentication(
                    rootPassword: "root-pw", users: [EtcdServer.User(name: "calico", password: "calico-pw", readWritePrefixes: ["/calico/"])])
                let withUser = try run(
                    "canal-flanneld", flanneld,
                    environment: ["ETCD_ENDPOINTS": server.endpoint, "ETCD_USERNAME": "calico", "ETCD_PASSWORD": "calico-pw"])
                #expect(withUser.stderr.contains(refusal), "\(withUser.stderr)")
                let withFlags = try run(
                    "canal-flanneld", flanneld + ["--etcd-endpoints", server.endpoint, "--etcd-username", "calico", "--etcd-password", "calico-pw"])
                #expect(withFlags.stderr.contains(refusal), "\(withFlags.stderr)")
                #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("subnet.env").path))
            }
        }
    }

    @Test("canal-flanneld TLS: flannel's --etcd-cafile/--etcd-certfile/--etcd-keyfile, canalctl's spellings, and ETCD_*_FILE", .enabled(if: EtcdServer.shouldRun))
    func flanneldTLS() async throws {
        try await withDirectory { directory in
            let certificates = try TestCertificates.make(in: directory)
            try await EtcdServer.withEtcdServer(tls: certificates.mutualTLS) { server in
                _ = try server.etcdctl(["put", "/flags-test/network/config", udpConfig])
                let flanneld = ["--etcd-prefix", "/flags-test/network", "--subnet-file", directory.appendingPathComponent("subnet.env").path]
                let refusal = #"backend type "udp" is not supported"#
                let spellings = [
                    ["--etcd-cafile", certificates.caFile, "--etcd-certfile", certificates.clientCertFile, "--etcd-keyfile", certificates.clientKeyFile],
                    ["--etcd-ca-cert-file", certificates.caFile, "--etcd-cert-file", certificates.clientCertFile, "--etcd-key-file", certificates.clientKeyFile],
                ]
                for flags in spellings {
                    let out = try run("canal-flanneld", flanneld + ["--etcd-endpoints", server.endpoint] + flags)
                    #expect(out.status == 1)
                    #expect(out.stderr.contains(refusal), "\(flags): \(out.stderr)")
                }
                let fromEnvironment = try run(
                    "canal-flanneld", flanneld,
                    environment: [
                        "ETCD_ENDPOINTS": server.endpoint, "ETCD_CA_CERT_FILE": certificates.caFile,
                        "ETCD_CERT_FILE": certificates.clientCertFile, "ETCD_KEY_FILE": certificates.clientKeyFile,
                    ])
                #expect(fromEnvironment.stderr.contains(refusal), "\(fromEnvironment.stderr)")
            }
        }
    }

    @Test("a malformed endpoint or datastore type is refused, naming the flag or the variable", arguments: ["canal-confd", "canal-flanneld"])
    func malformed(tool: String) throws {
        let extra = tool == "canal-confd" ? ["--node", "flags-node", "--once", "--no-check", "--config-file", "/nonexistent/bird.cfg"] : []
        let flag = try run(tool, extra + ["--etcd-endpoints", "127.0.0.1:2379"])
        #expect(flag.status != 0)
        #expect(flag.stderr.contains("--etcd-endpoints entry \"127.0.0.1:2379\" is not an http:// or https:// URL"), "\(flag.stderr)")

        let variable = try run(tool, extra, environment: ["DATASTORE_TYPE": "etcdv3", "ETCD_ENDPOINTS": "http://127.0.0.1:1,etcd-2:2379"])
        #expect(variable.status == 1)
        #expect(variable.stderr.contains("ETCD_ENDPOINTS entry \"etcd-2:2379\" is not an http:// or https:// URL"), "\(variable.stderr)")

        let type = try run(tool, extra, environment: ["DATASTORE_TYPE": "kubernetes", "ETCD_ENDPOINTS": "http://127.0.0.1:1"])
        #expect(type.status == 1)
        #expect(type.stderr.contains("DATASTORE_TYPE") && type.stderr.contains("\"kubernetes\""), "\(type.stderr)")
    }

    @Test("canal-flanneld needs etcd: DATASTORE_TYPE=memory is refused; canal-confd says ETCD_ENDPOINTS alone does not select etcd")
    func etcdOnly() throws {
        let flanneld = try run("canal-flanneld", [], environment: ["DATASTORE_TYPE": "memory"])
        #expect(flanneld.status == 1)
        #expect(flanneld.stderr.contains("canal-flanneld needs etcd, but DATASTORE_TYPE is \"memory\""), "\(flanneld.stderr)")

        let confd = try run("canal-confd", ["--node", "flags-node", "--no-check"], environment: ["ETCD_ENDPOINTS": "http://127.0.0.1:1"])
        #expect(confd.status == 1)
        #expect(confd.stderr.contains("ETCD_ENDPOINTS alone does not select etcd"), "\(confd.stderr)")
    }

    @Test("both tools list every shared etcd flag", arguments: ["canal-confd", "canal-flanneld"])
    func help(tool: String) throws {
        let out = try run(tool, ["--help"])
        #expect(out.status == 0)
        for flag in ["--etcd-endpoints", "--etcd-username", "--etcd-password", "--etcd-key-file", "--etcd-cert-file", "--etcd-ca-cert-file", "--etcd-cafile"] {
            #expect(out.stdout.contains(flag), "\(tool) --help lacks \(flag)")
        }
    }
}
