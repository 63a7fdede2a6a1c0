import Dispatch
import Foundation

/// A command that failed.
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
}

/// Runs external commands (iproute2) off the cooperative thread pool.
enum Shell {
    /// Runs `arguments` (the first is looked up on `PATH`), returning the exit status and the combined output.
    static func run(_ arguments: [String]) async -> (status: Int32, output: String) {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: runBlocking(arguments))
            }
        }
    }

    /// Runs `arguments`, throwing with the output when it exits non-zero.
    @discardableResult
    static func check(_ arguments: [String]) async throws -> String {
        let (status, output) = await run(arguments)
        guard status == 0 else {
            throw CommandFailure(description: "`\(arguments.joined(separator: " "))` exited \(status): \(output.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return output
    }

    /// Runs an `ip -j …` (or `bridge -j …`) query and returns its objects.
    static func json(_ arguments: [String]) async throws -> [[String: Any]] {
        let output = try await check(arguments)
        let trimmed = output.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty { return [] }
        guard let objects = try JSONSerialization.jsonObject(with: Data(trimmed.utf8)) as? [[String: Any]] else {
            throw CommandFailure(description: "`\(arguments.joined(separator: " "))` did not print a JSON array")
        }
        return objects
    }

    private static func runBlocking(_ arguments: [String]) -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            return (127, "cannot run \(arguments.first ?? ""): \(error)")
        }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

/// Log lines on standard error, flannel-style: `I0102 15:04:05 message` (info) or `E…` (error).
enum Log {
    static func info(_ message: String) { write("I", message) }
    static func warning(_ message: String) { write("W", message) }
    static func error(_ message: String) { write("E", message) }

    private static func write(_ level: String, _ message: String) {
        let now = Date()
        let formatter = DateFormatter()
        formatter.dateFormat = "MMdd HH:mm:ss.SSS"
        formatter.timeZone = TimeZone(identifier: "UTC")
        FileHandle.standardError.write(Data("\(level)\(formatter.string(from: now)) \(message)\n".utf8))
    }
}
