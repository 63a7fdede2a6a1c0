#if canImport(Glibc)
import Glibc
#endif
import CanalCNI
import CanalModel
import Foundation

/// canal-flannel: flannel's CNI plugin role. Reads the host's lease from `subnet.env`, builds the
/// delegate's network config (default `canal-cni`, host-local IPAM over the host's subnets), keeps
/// it under `dataDir` for DEL and runs the delegate from `CNI_PATH`.
@main
enum CanalFlannelMain {
    static func main() {
        signal(SIGPIPE, SIG_IGN)
        let environment = ProcessInfo.processInfo.environment
        var cniVersion: String?
        do {
            let invocation = try CNIInvocation(environment: environment)
            let stdin = Array(FileHandle.standardInput.readDataToEndOfFile())
            if invocation.command == .version {
                let text = (try? JSONValue(parsing: stdin))?["cniVersion"]?.stringValue
                let version = text.flatMap { t in CNIVersion(t).flatMap { $0.isSupported && !t.isEmpty ? t : nil } }
                print(CNIVersion.versionInfo(cniVersion: version ?? CNIVersion.latest.description))
                exit(0)
            }
            let config = try FlannelNetConf(json: stdin)
            cniVersion = config.cniVersion
            let plugin = FlannelPlugin(invocation: invocation, config: config)
            let output: String?
            switch invocation.command {
            case .add: output = try plugin.add()
            case .del: output = try plugin.del()
            case .check: output = try plugin.check()
            case .version: output = nil
            }
            if let output { print(output) }
            exit(0)
        } catch {
            print(error.json(cniVersion: cniVersion.flatMap { CNIVersion($0).map { $0 >= .latest } ?? false ? $0 : nil }).jsonText)
            exit(1)
        }
    }
}
