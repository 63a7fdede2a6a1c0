public import CanalDatastore
import CanalToolSupport
public import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A throwaway etcd for tests: a real `etcd` process on free loopback ports with a temporary data
/// directory, which ``withEtcdServer(tls:listeningAlsoOn:extraArguments:_:)`` stops and deletes in every outcome.
///
/// The binary is `$ETCD_BINARY`, else `/usr/bin/etcd`, else `etcd` on `PATH` (Debian: `apt-get install etcd-server`).
public final class EtcdServer: Sendable {
    /// TLS material for an HTTPS etcd (PEM paths): the server certificate and key, and the CA that
    /// signs client certificates (requiring client certificates when set).
    public struct TLS: Sendable, Hashable {
        /// The server certificate.
        public var certFile: String
        /// The server private key.
        public var keyFile: String
        /// The CA for client certificates; when set, etcd requires a client certificate.
        public var clientCAFile: String?
        /// What ``EtcdServer/configuration()`` gives clients: the CA that signed the server certificate,
        /// and a client certificate and key.
        public var clientCAForServer: String?
        /// The client certificate clients use.
        public var clientCertFile: String?
        /// The client key clients use.
        public var clientKeyFile: String?
        /// Creates TLS settings.
        public init(
            certFile: String, keyFile: String, clientCAFile: String? = nil, clientCAForServer: String? = nil,
            clientCertFile: String? = nil, clientKeyFile: String? = nil
        ) {
            self.certFile = certFile
            self.keyFile = keyFile
            self.clientCAFile = clientCAFile
            self.clientCAForServer = clientCAForServer
            self.clientCertFile = clientCertFile
            self.clientKeyFile = clientKeyFile
        }
    }

    /// The etcd binary found on this machine, if any.
    public static let binary: String? = {
        let fileManager = FileManager.default
        if let path = ProcessInfo.processInfo.environment["ETCD_BINARY"], fileManager.isExecutableFile(atPath: path) {
            return path
        }
        if fileManager.isExecutableFile(atPath: "/usr/bin/etcd") { return "/usr/bin/etcd" }
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let path = "\(directory)/etcd"
            if fileManager.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }()

    /// Whether etcd-backed tests should run: etcd is installed, or `CI=true` (where a missing etcd
    /// must fail the run rather than skip it).
    public static var shouldRun: Bool {
        binary != nil || ProcessInfo.processInfo.environment["CI"] == "true"
    }

    /// The client URL, e.g. `http://127.0.0.1:41234`.
    public let endpoint: String
    /// The temporary data directory (deleted by ``withEtcdServer(tls:listeningAlsoOn:extraArguments:_:)``).
    public let dataDirectory: URL
    private let clientPort: Int
    private let peerPort: Int
    private let tls: TLS?
    private let extraArguments: [String]
    private let extraAddresses: [String]
    /// The running etcd, if any.
    private let process = Mutex<SpawnedChild?>(nil)

    /// An etcd user for ``enableAuthentication(rootPassword:users:)``.
    public struct User: Sendable, Hashable {
        /// The user name.
        public var name: String
        /// The password.
        public var password: String
        /// Key prefixes the user may read and write (through a role named after the user).
        public var readWritePrefixes: [String]
        /// Creates a user.
        public init(name: String, password: String, readWritePrefixes: [String]) {
            self.name = name
            self.password = password
            self.readWritePrefixes = readWritePrefixes
        }
    }

    /// The `etcdctl` next to the etcd binary, else `/usr/bin/etcdctl`.
    public static var etcdctlBinary: String {
        if let binary {
            let sibling = URL(fileURLWithPath: binary).deletingLastPathComponent().appendingPathComponent("etcdctl").path
            if FileManager.default.isExecutableFile(atPath: sibling) { return sibling }
        }
        return "/usr/bin/etcdctl"
    }

    /// Runs `etcdctl` (API v3) against this server — with the TLS client material of
    /// ``configuration()`` and, when given, `user` as `name:password` — and returns its output.
    @discardableResult
    public func etcdctl(_ arguments: [String], user: String? = nil) throws -> String {
        var global = ["--endpoints", endpoint]
        if let ca = tls?.clientCAForServer { global += ["--cacert", ca] }
        if let cert = tls?.clientCertFile, let key = tls?.clientKeyFile { global += ["--cert", cert, "--key", key] }
        if let user { global += ["--user", user] }
        let finished: SpawnOutput
        do throws(SpawnFailure) {
            finished = try Spawn.run([Self.etcdctlBinary] + global + arguments, environment: ["ETCDCTL_API": "3"], timeout: commandTimeout)
        } catch {
            throw EtcdServerError("cannot run \(Self.etcdctlBinary): \(error.reason)")
        }
        guard finished.status == 0, !finished.timedOut else {
            throw EtcdServerError("etcdctl \(arguments.joined(separator: " ")) failed"
                + (finished.timedOut ? " (killed: still running after \(commandTimeout))" : "") + ": \(finished.stderrText)")
        }
        return finished.stdoutText
    }

    /// Turns on etcd authentication: creates `root` (with the root role) and each user with a
    /// role of its own granting read-write access to its prefixes, then runs `auth enable`.
    /// Afterwards every request needs credentials (see ``configuration(username:password:)``).
    public func enableAuthentication(rootPassword: String, users: [User]) throws {
        try etcdctl(["user", "add", "root:\(rootPassword)"])
        try etcdctl(["role", "add", "root"])
        try etcdctl(["user", "grant-role", "root", "root"])
        for user in users {
            try etcdctl(["role", "add", user.name])
            for prefix in user.readWritePrefixes {
                try etcdctl(["role", "grant-permission", user.name, "--prefix=true", "readwrite", prefix])
            }
            try etcdctl(["user", "add", "\(user.name):\(user.password)"])
            try etcdctl(["user", "grant-role", user.name, user.name])
        }
        try etcdctl(["auth", "enable"])
    }

    /// ``configuration()`` with credentials.
    public func configuration(username: String, password: String) -> EtcdConfiguration {
        var configuration = configuration()
        configuration.username = username
        configuration.password = password
        return configuration
    }

    private init(tls: TLS?, extraAddresses: [String] = [], extraArguments: [String] = []) throws {
        guard EtcdServer.binary != nil else {
            throw EtcdServerError("etcd is not installed (apt-get install etcd-server, or set ETCD_BINARY)")
        }
        _ = EtcdServer.orphansReaped
        clientPort = try Self.freePort()
        peerPort = try Self.freePort()
        self.tls = tls
        self.extraAddresses = extraAddresses
        self.extraArguments = extraArguments
        endpoint = "\(tls == nil ? "http" : "https")://127.0.0.1:\(clientPort)"
        dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("canal-etcd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: true)
    }

    /// The client URL on one of the extra addresses given to ``withEtcdServer(tls:listeningAlsoOn:_:)``
    /// (e.g. `http://198.19.7.254:41234`, for processes in other network namespaces).
    public func endpoint(on address: String) -> String {
        "\(tls == nil ? "http" : "https")://\(address):\(clientPort)"
    }

    /// An ``EtcdConfiguration`` for this server, with short timeouts suitable for tests.
    public func configuration() -> EtcdConfiguration {
        EtcdConfiguration(
            endpoints: [endpoint], keyFile: tls?.clientKeyFile, certFile: tls?.clientCertFile,
            caCertFile: tls?.clientCAForServer, requestTimeout: .seconds(5), connectTimeout: .seconds(2),
            watchReconnectTimeout: .seconds(20))
    }

    /// Starts etcd (again, after ``stop()`` or ``kill()``, on the same port and data) and waits until it serves requests.
    public func start() async throws {
        let peer = "http://127.0.0.1:\(peerPort)"
        var arguments = [
            EtcdServer.binary!,
            "--name", "canal-test", "--data-dir", dataDirectory.appendingPathComponent("data").path,
            "--listen-client-urls", ([endpoint] + extraAddresses.map { endpoint(on: $0) }).joined(separator: ","),
            "--advertise-client-urls", endpoint,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--initial-cluster", "canal-test=\(peer)", "--initial-cluster-state", "new",
        ]
        if let tls {
            arguments += ["--cert-file", tls.certFile, "--key-file", tls.keyFile]
            if let clientCA = tls.clientCAFile { arguments += ["--client-cert-auth", "--trusted-ca-file", clientCA] }
        }
        // One etcd at a time: one still running (start without stop) is stopped first.
        stop()
        let child: SpawnedChild
        do throws(SpawnFailure) {
            child = try Spawn.start(arguments + extraArguments, output: .appended(to: dataDirectory.appendingPathComponent("etcd.log").path))
        } catch {
            throw EtcdServerError("cannot start etcd: \(error.reason)")
        }
        process.withLock { $0 = child }
        try await waitUntilHealthy()
    }

    /// Stops etcd gracefully (SIGTERM; SIGKILL if it still runs after 10 s) and waits for it to exit.
    public func stop() { process.withLock { $0.take() }?.stop(grace: .seconds(10)) }

    /// Kills etcd abruptly (SIGKILL), as a crash would, and waits for it to exit.
    public func kill() {
        guard let child = process.withLock({ $0.take() }) else { return }
        child.signal(SIGKILL)
        child.wait()
    }

    /// The server's log so far (for failure messages).
    public var log: String {
        (try? String(contentsOf: dataDirectory.appendingPathComponent("etcd.log"), encoding: .utf8)) ?? ""
    }

    private func waitUntilHealthy() async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        var configuration = configuration()
        configuration.requestTimeout = .seconds(1)
        configuration.connectTimeout = .milliseconds(500)
        let store = EtcdKeyValueStore(configuration: configuration)
        var lastError: (any Error)?
        while ContinuousClock.now < deadline {
            guard process.withLock({ $0?.isRunning ?? false }) else { throw EtcdServerError("etcd exited during startup:\n\(log.suffix(2000))") }
            do {
                _ = try await store.get(Array("/health-probe".utf8))
                return
            } catch let error as DatastoreError where error.code == .unauthorized {
                return  // authentication is enabled: the server answered
            } catch {
                lastError = error
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw EtcdServerError("etcd did not become healthy: \(String(describing: lastError))\n\(log.suffix(2000))")
    }

    /// Stops, once per test process, the test etcds that an earlier, killed test run left behind:
    /// processes started with `--name canal-test` whose parent has gone (they were re-parented to
    /// init), together with their temporary data directories. A live test run's etcds keep their
    /// parent and are left alone.
    private static let orphansReaped: Void = {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return }
        for entry in entries {
            guard let pid = Int32(entry), pid != getpid(),
                let cmdline = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"),
                let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8)
            else { continue }
            let arguments = cmdline.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
            guard let name = arguments.firstIndex(of: "--name"), name + 1 < arguments.count, arguments[name + 1] == "canal-test"
            else { continue }
            // /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold spaces, so read after the last ')'.
            guard let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 1, fields[1] == "1" else { continue }
            Glibc.kill(pid, SIGKILL)
            if let dataFlag = arguments.firstIndex(of: "--data-dir"), dataFlag + 1 < arguments.count {
                let data = URL(fileURLWithPath: arguments[dataFlag + 1])
                let directory = data.deletingLastPathComponent()
                if directory.lastPathComponent.hasPrefix("canal-etcd-") { try? FileManager.default.removeItem(at: directory) }
            }
        }
    }()

    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw EtcdServerError("socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw EtcdServerError("cannot find a free loopback port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    fileprivate func cleanUp() {
        kill()
        try? FileManager.default.removeItem(at: dataDirectory)
    }

    /// Runs `body` with a fresh, started etcd; stops it and deletes its data in every outcome.
    /// `listeningAlsoOn`: further local addresses etcd serves clients on (same port), each of which
    /// must already be assigned to an interface. `extraArguments` are added to etcd's command line
    /// (e.g. `--auth-token-ttl 1`).
    public static func withEtcdServer<T>(
        tls: TLS? = nil, listeningAlsoOn extraAddresses: [String] = [], extraArguments: [String] = [],
        _ body: (EtcdServer) async throws -> T
    ) async throws -> T {
        let server = try EtcdServer(tls: tls, extraAddresses: extraAddresses, extraArguments: extraArguments)
        defer { server.cleanUp() }
        try await server.start()
        return try await body(server)
    }
}

/// A failure of the test harness itself.
public struct EtcdServerError: Error, CustomStringConvertible {
    /// What went wrong.
    public var description: String
    init(_ description: String) { self.description = description }
}
