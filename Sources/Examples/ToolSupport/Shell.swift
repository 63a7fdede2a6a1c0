// Shared by the tools (canal-agent, canal-flanneld, canal-confd): running host commands and logging.
// Not a product and not API: `package` access only.
import Dispatch
import Foundation

/// A command that failed.
package struct CommandFailure: Error, CustomStringConvertible {
    package var description: String
    package init(description: String) { self.description = description }
}

/// Runs external commands (iproute2, bird, birdc) off the cooperative thread pool.
package enum Shell {
    /// One command at a time (route changes are applied in order).
    private static let queue = DispatchQueue(label: "canal.shell")
    /// Runs `arguments` (the first is looked up on `PATH`), returning the exit status and the combined output.
    package static func run(_ arguments: [String]) async -> (status: Int32, output: String) {
        await withCheckedContinuation { continuation in
            queue.async {
                continuation.resume(returning: spawnAndWait(arguments))
            }
        }
    }

    /// Runs `arguments`, throwing with the output when it exits non-zero.
    @discardableResult
    package static func check(_ arguments: [String]) async throws -> String {
        let (status, output) = await run(arguments)
        guard status == 0 else {
            throw CommandFailure(description: "`\(arguments.joined(separator: " "))` exited \(status): \(output.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return output
    }

    /// Runs an `ip -j …` (or `bridge -j …`) query and returns its objects.
    package static func json(_ arguments: [String]) async throws -> [[String: Any]] {
        let output = try await check(arguments)
        let trimmed = output.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty { return [] }
        guard let objects = try JSONSerialization.jsonObject(with: Data(trimmed.utf8)) as? [[String: Any]] else {
            throw CommandFailure(description: "`\(arguments.joined(separator: " "))` did not print a JSON array")
        }
        return objects
    }

    /// Runs `arguments` with `input` on standard input (none when nil) and returns standard
    /// output, throwing with standard error when it exits non-zero. Unlike ``run(_:)``, calls
    /// run side by side (on Dispatch's global queue, not on Swift's cooperative pool).
    package static func output(_ arguments: [String], input: String?) async throws -> String {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<SpawnOutput, SpawnFailure>, Never>) in
            DispatchQueue.global().async {
                continuation.resume(returning: Result { () throws(SpawnFailure) in
                    try Spawn.run(arguments, input: Array((input ?? "").utf8))
                })
            }
        }
        let finished: SpawnOutput
        switch result {
        case .success(let output): finished = output
        case .failure(let failure): throw CommandFailure(description: "`\(arguments.joined(separator: " "))` exited 127: cannot run \(arguments[0]): \(failure.reason)")
        }
        guard finished.status == 0 else {
            throw CommandFailure(description: "`\(arguments.joined(separator: " "))` exited \(finished.status): "
                + (finished.stderrText + finished.stdoutText).trimmingCharacters(in: .whitespacesAndNewlines).prefix(2000))
        }
        return finished.stdoutText
    }

    /// Runs `arguments` (``Spawn``) with standard output and error together, as written, and
    /// returns the exit status and that output; 127 and the reason when it cannot be started.
    package static func spawnAndWait(_ arguments: [String]) -> (status: Int32, output: String) {
        do throws(SpawnFailure) {
            let finished = try Spawn.run(arguments, mergingErrors: true)
            return (finished.status, finished.stdoutText)
        } catch {
            return (127, "cannot run \(arguments.first ?? ""): \(error.reason)")
        }
    }
}

/// Log lines on standard error, flannel-style: `I0102 15:04:05.000 message` (info), `W…`, `E…`.
package enum Log {
    package static func info(_ message: String) { write("I", message) }
    package static func warning(_ message: String) { write("W", message) }
    package static func error(_ message: String) { write("E", message) }

    private static func write(_ level: String, _ message: String) {
        let now = Date()
        let formatter = DateFormatter()
        formatter.dateFormat = "MMdd HH:mm:ss.SSS"
        formatter.timeZone = TimeZone(identifier: "UTC")
        FileHandle.standardError.write(Data("\(level)\(formatter.string(from: now)) \(message)\n".utf8))
    }
}
