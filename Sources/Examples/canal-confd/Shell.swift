import Dispatch
import Foundation

/// Runs external commands (bird, birdc) off the cooperative thread pool.
enum Shell {
    /// Runs `arguments` (the first is a path or looked up on `PATH`), returning the exit status and the combined output.
    static func run(_ arguments: [String]) async -> (status: Int32, output: String) {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
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
                    continuation.resume(returning: (127, "cannot run \(arguments.first ?? ""): \(error)"))
                    return
                }
                let data = pipe.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                continuation.resume(returning: (process.terminationStatus, String(decoding: data, as: UTF8.self)))
            }
        }
    }
}

/// Log lines on standard error: `I0102 15:04:05.000 message`.
enum Log {
    static func info(_ message: String) { write("I", message) }
    static func warning(_ message: String) { write("W", message) }
    static func error(_ message: String) { write("E", message) }

    private static func write(_ level: String, _ message: String) {
        let formatter = DateFormatter()
        formatter.dateFormat = "MMdd HH:mm:ss.SSS"
        formatter.timeZone = TimeZone(identifier: "UTC")
        FileHandle.standardError.write(Data("\(level)\(formatter.string(from: Date())) \(message)\n".utf8))
    }
}
