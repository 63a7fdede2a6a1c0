#if canImport(Glibc)
import Glibc
#endif
import CanalCNI
import CanalModel
import CanalToolSupport
import Foundation

/// ADD, DEL and CHECK as flannel's plugin runs them, with the delegate's config kept per container
/// in `dataDir` (`<dataDir>/<CNI_CONTAINERID>`, mode 0600) between ADD and DEL.
struct FlannelPlugin {
    let invocation: CNIInvocation
    let config: FlannelNetConf

    private var scratchPath: String { config.dataDirectory + "/" + invocation.containerID }

    /// Builds and saves the delegate config, then runs the delegate's ADD and returns its result.
    /// When the delegate fails, its DEL runs with the same config (so nothing it half-made stays)
    /// and the saved config is removed once that DEL succeeds.
    func add() throws(CNIError) -> String {
        let subnets = try readSubnetFile()
        let delegate = JSONValue.object(config.delegateConfig(subnets: subnets)).jsonText
        let type = config.delegateType
        _ = try Delegate.find(type, path: invocation.path)
        try saveScratch(delegate)
        let out: SpawnOutput
        do {
            out = try Delegate.run(type, command: .add, config: Array(delegate.utf8), path: invocation.path)
        } catch {
            unlink(scratchPath)
            throw error
        }
        guard out.status == 0 else {
            // The kept config stays when the rollback fails too: the runtime's DEL needs it.
            let error = Delegate.error(type, out)
            let rollback = try? Delegate.run(type, command: .del, config: Array(delegate.utf8), path: invocation.path)
            if rollback?.status == 0 { unlink(scratchPath) }
            throw error
        }
        let value: JSONValue
        do throws(ModelError) {
            value = try JSONValue(parsing: out.stdout)
        } catch {
            throw .decode("cannot parse the result of delegate \(type)", details: error.message)
        }
        _ = try CNIResult(json: value)
        return out.stdoutText.trimmed
    }

    /// Runs the delegate's DEL with the config saved at ADD and removes it when that succeeds; no
    /// saved config means nothing to delete (success, as flannel does).
    func del() throws(CNIError) -> String? {
        guard let saved = FileManager.default.contents(atPath: scratchPath) else { return nil }
        guard let type = (try? JSONValue(parsing: Array(saved)))?["type"]?.stringValue, !type.isEmpty else {
            FileHandle.standardError.write(Data("canal-flannel: \(scratchPath) is not a network config; removing it\n".utf8))
            unlink(scratchPath)
            return nil
        }
        let out = try Delegate.run(type, command: .del, config: Array(saved), path: invocation.path)
        guard out.status == 0 else { throw Delegate.error(type, out) }
        unlink(scratchPath)
        return nil
    }

    /// Runs the delegate's CHECK with the config saved at ADD and this call's `prevResult`.
    func check() throws(CNIError) -> String? {
        guard let saved = FileManager.default.contents(atPath: scratchPath),
              case .object(var delegate)? = try? JSONValue(parsing: Array(saved)), let type = delegate["type"]?.stringValue else {
            throw .unknownContainer("no delegate config for container \(invocation.containerID)", details: "\(scratchPath) is missing: was ADD run?")
        }
        if let prev = config.prevResult { delegate["prevResult"] = prev }
        let out = try Delegate.run(type, command: .check, config: Array(JSONValue.object(delegate).jsonText.utf8), path: invocation.path)
        guard out.status == 0 else { throw Delegate.error(type, out) }
        return nil
    }

    /// The host's lease. A missing file is "try again later" (11): flanneld writes it once it
    /// holds a lease; an unreadable one is 5, a malformed one 7.
    private func readSubnetFile() throws(CNIError) -> FlannelSubnetFile {
        let path = config.subnetFile
        guard let data = FileManager.default.contents(atPath: path) else {
            if access(path, F_OK) != 0 && errno == ENOENT {
                throw .tryAgainLater("\(path) does not exist", details: "flanneld writes it once it holds a lease for this host")
            }
            throw .io("cannot read \(path)", details: String(cString: strerror(errno)))
        }
        return try FlannelSubnetFile(text: String(decoding: data, as: UTF8.self), path: path)
    }

    private func saveScratch(_ text: String) throws(CNIError) {
        let dir = config.dataDirectory
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw .io("cannot create \(dir)", details: "\(error)")
        }
        let temporary = scratchPath + ".tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]),
              rename(temporary, scratchPath) == 0 else {
            unlink(temporary)
            throw .io("cannot write \(scratchPath)", details: String(cString: strerror(errno)))
        }
    }
}

/// Runs a delegate plugin found in `CNI_PATH`, as `invoke.DelegateAdd`/`DelegateDel` do: the same
/// environment with `CNI_COMMAND` set, the config on standard input.
enum Delegate {
    /// The first executable `type` in `path`; ``CNIError`` 7 when there is none.
    static func find(_ type: String, path: [String]) throws(CNIError) -> String {
        guard let plugin = path.map({ $0 + "/" + type }).first(where: { access($0, X_OK) == 0 }) else {
            throw .invalidConfig("failed to find plugin \"\(type)\" in path \(path)")
        }
        return plugin
    }

    static func run(_ type: String, command: CNICommand, config: [UInt8], path: [String]) throws(CNIError) -> SpawnOutput {
        let plugin = try find(type, path: path)
        do throws(SpawnFailure) {
            return try Spawn.run([plugin], input: config, environment: ["CNI_COMMAND": command.rawValue])
        } catch {
            throw .io("cannot run \(plugin)", details: error.reason)
        }
    }

    /// The delegate's error object when it printed one, else a code 5 error with its output.
    static func error(_ type: String, _ out: SpawnOutput) -> CNIError {
        if let value = try? JSONValue(parsing: out.stdout), let error = CNIError(json: value) { return error }
        return .io("delegate \(type) failed (exit \(out.status))", details: (out.stdoutText + out.stderrText).trimmed)
    }
}

extension String {
    var trimmed: String { trimmingCharacters(in: .whitespacesAndNewlines) }
}
