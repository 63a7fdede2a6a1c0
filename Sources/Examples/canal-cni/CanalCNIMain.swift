#if canImport(Glibc)
import Glibc
#endif
import CanalCNI
import CanalDatastore
import CanalIPAM
import CanalModel
import Foundation

/// canal-cni: a CNI plugin that attaches containers the way Calico's plugin does, on Canal's
/// datastore (etcd from `etcd_endpoints` or the environment; else the embedded state file).
@main
enum CanalCNIMain {
    static func main() async {
        // A delegate that exits without reading its input must not kill the plugin (EPIPE instead).
        signal(SIGPIPE, SIG_IGN)
        let environment = ProcessInfo.processInfo.environment
        var cniVersion: String?
        do {
            let invocation = try CNIInvocation(environment: environment)
            let stdin = Array(FileHandle.standardInput.readDataToEndOfFile())
            if invocation.command == .version {
                print(CNIVersion.versionInfo(cniVersion: Self.versionForVersionCommand(stdin)))
                exit(0)
            }
            let config = try NetworkConfig(json: stdin)
            cniVersion = config.cniVersion
            let log = Log(config: config, invocation: invocation)
            log.debug("config: \(String(decoding: stdin, as: UTF8.self))")
            let output = try await Runner(invocation: invocation, config: config, stdin: stdin, environment: environment, log: log).run()
            if let output { print(output) }
            exit(0)
        } catch {
            print(error.json(cniVersion: cniVersion.flatMap { CNIVersion($0).map { $0 >= .latest } ?? false ? $0 : nil }).jsonText)
            exit(1)
        }
    }

    /// The config's `cniVersion` when it is a supported one, else the latest.
    static func versionForVersionCommand(_ stdin: [UInt8]) -> String {
        if let value = try? JSONValue(parsing: stdin), let text = value["cniVersion"]?.stringValue,
           let v = CNIVersion(text), v.isSupported, !text.isEmpty {
            return text
        }
        return CNIVersion.latest.description
    }
}

/// Resolves the node and the datastore, then runs the command.
struct Runner {
    let invocation: CNIInvocation
    let config: NetworkConfig
    let stdin: [UInt8]
    let environment: [String: String]
    let log: Log

    func run() async throws(CNIError) -> String? {
        let node = try nodeName()
        let identity = WorkloadIdentity(invocation: invocation, network: config.name, node: node)
        let prefix = (environment["FELIX_INTERFACEPREFIX"] ?? "").split(separator: ",").first.map(String.init) ?? "cali"
        var env = environment
        if !config.etcdEndpoints.isEmpty {
            env["DATASTORE_TYPE"] = "etcdv3"
            env["ETCD_ENDPOINTS"] = config.etcdEndpoints
        }
        for (key, value) in [("ETCD_KEY_FILE", config.etcdKeyFile), ("ETCD_CERT_FILE", config.etcdCertFile),
                             ("ETCD_CA_CERT_FILE", config.etcdCACertFile), ("ETCD_USERNAME", config.etcdUsername),
                             ("ETCD_PASSWORD", config.etcdPassword), ("DATASTORE_TYPE", config.datastoreType)] where !value.isEmpty {
            env[key] = value
        }
        let datastore: DatastoreConfiguration
        do {
            datastore = try DatastoreConfiguration(environment: env)
        } catch {
            throw .invalidConfig("invalid datastore configuration", details: "\(error)")
        }
        let dataplane = Dataplane(log: log)
        func plugin<Store: KeyValueStore>(_ store: Store) -> Plugin<Store> {
            Plugin(invocation: invocation, config: config, stdin: stdin, identity: identity, resources: ResourceClient(store: store),
                   ipam: IPAMClient(store: store), dataplane: dataplane, log: log, interfacePrefix: prefix)
        }
        if var etcd = datastore.etcd {
            etcd.requestTimeout = .seconds(10)
            etcd.connectTimeout = .seconds(5)
            return try await execute(plugin(EtcdKeyValueStore(configuration: etcd)))
        }
        let path = StateFile.defaultPath(environment: env)
        do {
            return try await StateFile.withStore(at: path) { store in try await execute(plugin(store)) }
        } catch let error as CNIError {
            throw error
        } catch {
            throw .io("embedded datastore \(path)", details: "\(error)")
        }
    }

    private func execute<Store: KeyValueStore>(_ plugin: Plugin<Store>) async throws(CNIError) -> String? {
        switch invocation.command {
        case .add: return try await plugin.add()
        case .del: try await plugin.del(); return nil
        case .check: try await plugin.check(); return nil
        case .version: return nil
        }
    }

    /// `nodename`, else the `nodename_file`, else the host name (Calico's order). With
    /// `nodename_file_optional: false` a missing file is "try again later": calico-node has not
    /// written it yet.
    private func nodeName() throws(CNIError) -> String {
        let fileName = (try? String(contentsOfFile: config.nodenameFile, encoding: .utf8))?.trimmed ?? ""
        if !config.nodenameFileOptional, fileName.isEmpty {
            throw .tryAgainLater("\(config.nodenameFile) is missing", details: "the node agent writes it; retry when it is running")
        }
        if !config.nodename.isEmpty { return config.nodename }
        if !fileName.isEmpty { return fileName }
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self).lowercased()
    }
}
