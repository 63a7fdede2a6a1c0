import CanalToolSupport
import Foundation

/// Runs BIRD's own parser (`bird -p -c FILE`) on a configuration.
enum BIRDParser {
    static let path: String? = ["/usr/sbin/bird", "/usr/local/sbin/bird", "/sbin/bird"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Whether tests must run the parser: CI requires it; locally it is skipped when bird is missing.
    static var isRequired: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// nil when BIRD accepts the text, else its message.
    static func check(_ config: String) throws -> String? {
        guard let path else { return "bird is not installed" }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("canal-bird-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("bird.conf")
        try config.write(to: file, atomically: true, encoding: .utf8)
        let parsed = try Spawn.run([path, "-p", "-c", file.path], mergingErrors: true, timeout: .seconds(60))
        return parsed.status == 0 ? nil : parsed.stdoutText
    }
}
