import Foundation

/// Runs the built example tools as a user would, from the build folder next to the test bundle.
struct ToolRunner {
    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// The folder holding the built products (the test bundle's own folder).
    static let binDirectory: URL = {
        let exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var dir = exe.deletingLastPathComponent()
        // `swift test` runs `<bin>/canalPackageTests.xctest`; on some set-ups it is a bundle folder.
        while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("canalctl").path), dir.path != "/" {
            dir.deleteLastPathComponent()
        }
        return dir
    }()

    /// The repository root (for example manifests).
    static let repoRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// Runs `tool` with arguments and optional standard input, and waits for it. `launcher` runs it
    /// through another command (for example `["ip", "netns", "exec", ns]`); `removing` drops
    /// variables from the inherited environment.
    static func run(
        _ tool: String, _ arguments: [String], stdin: String? = nil, environment: [String: String] = [:],
        launcher: [String] = [], removing: [String] = []
    ) throws -> Output {
        let p = Process()
        let toolURL = binDirectory.appendingPathComponent(tool)
        if launcher.isEmpty {
            p.executableURL = toolURL
            p.arguments = arguments
        } else {
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = launcher + [toolURL.path] + arguments
        }
        var env = ProcessInfo.processInfo.environment
        for k in removing { env[k] = nil }
        for (k, v) in environment { env[k] = v }
        p.environment = env
        // Output goes to files, so a chatty tool can never block on a full pipe.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("canal-tool-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let outURL = dir.appendingPathComponent("out"), errURL = dir.appendingPathComponent("err")
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let outHandle = try FileHandle(forWritingTo: outURL), errHandle = try FileHandle(forWritingTo: errURL)
        defer { try? outHandle.close(); try? errHandle.close() }
        let inPipe = Pipe()
        p.standardOutput = outHandle
        p.standardError = errHandle
        p.standardInput = inPipe
        try p.run()
        if let stdin { inPipe.fileHandleForWriting.write(Data(stdin.utf8)) }
        try inPipe.fileHandleForWriting.close()
        p.waitUntilExit()
        let outData = try Data(contentsOf: outURL), errData = try Data(contentsOf: errURL)
        return Output(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }
}
