import Foundation

/// Runs the kernel tools (`iptables-restore`, `ipset`, `nft`, …), optionally through a prefix
/// such as `ip netns exec NAME`, without blocking the caller's thread while they run.
public struct KernelCommands: Sendable {
    /// Words put before every command (e.g. `["ip", "netns", "exec", "node1"]`); empty to run
    /// the tools directly.
    public var prefix: [String]

    /// Commands run directly, or through `prefix`.
    public init(prefix: [String] = []) { self.prefix = prefix }

    /// Runs `arguments` (found on `PATH`) with `input` on standard input and returns standard output.
    ///
    /// - Throws: ``KernelCommandError`` when the command cannot start or exits non-zero.
    func run(_ arguments: [String], input: String? = nil) async throws -> String {
        let full = prefix + arguments
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("canal-agent-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let outURL = directory.appendingPathComponent("out")
        let errURL = directory.appendingPathComponent("err")
        let inURL = directory.appendingPathComponent("in")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: inURL.path, contents: Data((input ?? "").utf8))
        let outHandle = try FileHandle(forWritingTo: outURL)
        let errHandle = try FileHandle(forWritingTo: errURL)
        let inHandle = try FileHandle(forReadingFrom: inURL)
        defer {
            try? outHandle.close()
            try? errHandle.close()
            try? inHandle.close()
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = full
        process.standardOutput = outHandle
        process.standardError = errHandle
        process.standardInput = inHandle
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: KernelCommandError(command: full, status: -1, output: "\(error)"))
            }
        }
        let output = String(decoding: (try? Data(contentsOf: outURL)) ?? Data(), as: UTF8.self)
        guard status == 0 else {
            let errors = String(decoding: (try? Data(contentsOf: errURL)) ?? Data(), as: UTF8.self)
            throw KernelCommandError(command: full, status: status, output: errors + output)
        }
        return output
    }
}

/// A kernel tool failed.
public struct KernelCommandError: Error, Sendable, CustomStringConvertible {
    /// The command line.
    public let command: [String]
    /// Its exit status (-1 when it could not start).
    public let status: Int32
    /// What it printed.
    public let output: String

    /// `` `iptables-restore --noflush` exited 1: … ``.
    public var description: String {
        "`\(command.joined(separator: " "))` exited \(status): \(output.trimmingCharacters(in: .whitespacesAndNewlines).prefix(2000))"
    }
}
