import CanalModel
import Foundation

/// Does what flannel's CNI plugin (`flannel-io/cni-plugin`) does with its config: reads
/// `subnet.env`, builds the delegate network config (host-local IPAM over the host's subnet with a
/// route to the flannel network, `mtu` = FLANNEL_MTU, `ipMasq` = !FLANNEL_IPMASQ), and hands it to
/// the delegate plugin (here canal-cni), saving it per container for DEL as flannel does.
struct FlannelCNIWrapper {
    /// The outer config's `name` and `cniVersion`.
    var name: String
    var cniVersion: String
    /// `subnetFile`.
    var subnetFile: String
    /// `dataDir` (where flannel keeps each container's delegate config).
    var dataDirectory: String
    /// The user's `delegate` block (must not hold `name` or `ipam`); `type` defaults to bridge.
    var delegate: JSONObject
    /// The outer `ipam` block flannel starts the delegate's from (for example a host-local `dataDir`).
    var ipam: JSONObject

    struct Failure: Error, CustomStringConvertible { var description: String }

    /// subnet.env as flannel's plugin reads it: `KEY=VALUE` lines split at the first `=`.
    static func readSubnetFile(_ path: String) throws -> [String: String] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var values: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            values[String(line[..<eq]).trimmingCharacters(in: .whitespaces)] = String(line[line.index(after: eq)...]).trimmingCharacters(in: .whitespaces)
        }
        for required in ["FLANNEL_NETWORK", "FLANNEL_SUBNET", "FLANNEL_MTU", "FLANNEL_IPMASQ"] where values[required] == nil {
            throw Failure(description: "\(path) is missing \(required)")
        }
        return values
    }

    /// The delegate config flannel builds for ADD.
    func delegateConfig() throws -> JSONValue {
        let env = try Self.readSubnetFile(subnetFile)
        guard let network = env["FLANNEL_NETWORK"].flatMap({ CIDR($0) }), let subnet = env["FLANNEL_SUBNET"].flatMap({ CIDR($0) }),
              let mtu = env["FLANNEL_MTU"].flatMap({ Int($0) }) else {
            throw Failure(description: "\(subnetFile): bad FLANNEL_NETWORK, FLANNEL_SUBNET or FLANNEL_MTU")
        }
        if delegate["name"] != nil || delegate["ipam"] != nil { throw Failure(description: "delegate must not set name or ipam") }
        var d = delegate
        d["name"] = .string(name)
        if d["type"] == nil { d["type"] = .string("bridge") }
        if d["ipMasq"] == nil { d["ipMasq"] = .bool(env["FLANNEL_IPMASQ"] != "true") }
        if d["mtu"] == nil { d["mtu"] = .number(String(mtu)) }
        if d["type"] == .string("bridge") { d["isGateway"] = .bool(true) }
        d["cniVersion"] = .string(cniVersion)
        var i = ipam
        if i["type"] == nil { i["type"] = .string("host-local") }
        i["ranges"] = .array([.array([.object(JSONObject([("subnet", .string(subnet.network.description))]))])])
        var routes: [JSONValue] = []
        if case .array(let existing)? = ipam["routes"] { routes = existing }
        routes.append(.object(JSONObject([("dst", .string(network.network.description))])))
        i["routes"] = .array(routes)
        d["ipam"] = .object(i)
        return .object(d)
    }

    /// ADD: builds and saves the delegate config for `containerID`, then runs `invoke` with it.
    func add<T>(containerID: String, _ invoke: (String) throws -> T) throws -> T {
        let text = try delegateConfig().jsonText
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        let path = (dataDirectory as NSString).appendingPathComponent(containerID)
        FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
        return try invoke(text)
    }

    /// DEL: runs `invoke` with the saved delegate config (a missing file is success) and removes
    /// the file when the delegate succeeded.
    func del(containerID: String, _ invoke: (String) throws -> Bool) throws -> Bool {
        let path = (dataDirectory as NSString).appendingPathComponent(containerID)
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return true }
        let ok = try invoke(text)
        if ok { try? FileManager.default.removeItem(atPath: path) }
        return ok
    }
}
