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
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = ["-p", "-c", file.path]
        let err = dir.appendingPathComponent("err")
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        let handle = try FileHandle(forWritingTo: err)
        defer { try? handle.close() }
        p.standardError = handle
        p.standardOutput = handle
        try p.run()
        p.waitUntilExit()
        if p.terminationStatus == 0 { return nil }
        return String(decoding: try Data(contentsOf: err), as: UTF8.self)
    }
}
