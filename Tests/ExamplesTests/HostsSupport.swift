import CanalTesting
import Foundation
import Testing

/// Shared pieces of the tests across namespace hosts.
enum Hosts {
    /// Kernel, etcd (and for BGP, BIRD) tests run as root or when CI=true (where anything missing fails).
    static var kernelAndEtcd: Bool { KernelTestGate.shouldRun && EtcdServer.shouldRun }
    /// BIRD 2 is installed (or CI requires it).
    static var bird: Bool {
        FileManager.default.isExecutableFile(atPath: "/usr/sbin/bird") || KernelTestGate.isCI
    }

    /// The path of a built tool.
    static func tool(_ name: String) -> String { ToolRunner.binDirectory.appendingPathComponent(name).path }

    /// A temporary directory removed after `body`.
    static func withTemporaryDirectory<T>(_ name: String, _ body: (URL) async throws -> T) async throws -> T {
        let directory = URL(fileURLWithPath: "/tmp").appendingPathComponent("canal-\(name)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        return try await body(directory)
    }

    /// The IPv4 routes of a host, `ip -4 route` lines.
    static func routes(_ fabric: NetnsFabric, _ host: NetnsFabric.Host) -> [String] {
        ((try? fabric.exec(on: host, ["ip", "-4", "route"])) ?? "").split(separator: "\n").map(String.init)
    }

    /// The route line for `destination` on `host`, if any.
    static func route(_ fabric: NetnsFabric, _ host: NetnsFabric.Host, to destination: String) -> String? {
        routes(fabric, host).first { $0.hasPrefix(destination + " ") }
    }
}
