import CanalCNI
import Foundation

/// The plugin's log: `log_file_path` (appended to) when set, and standard error for warnings and
/// errors; `log_level` filters (`debug`, `info`, `warning`, `error`; default `info`).
struct Log: Sendable {
    enum Level: Int, Sendable { case debug, info, warning, error }

    let level: Level
    let path: String
    let context: String

    init(config: NetworkConfig?, invocation: CNIInvocation?) {
        switch config?.logLevel.lowercased() ?? "" {
        case "debug", "trace": level = .debug
        case "warning", "warn": level = .warning
        case "error", "fatal", "panic": level = .error
        default: level = .info
        }
        path = config?.logFilePath ?? ""
        if let invocation {
            context = "\(invocation.command.rawValue) \(invocation.containerID.prefix(12)) \(invocation.ifName)"
        } else {
            context = ""
        }
    }

    func debug(_ message: @autoclosure () -> String) { write(.debug, message) }
    func info(_ message: @autoclosure () -> String) { write(.info, message) }
    func warning(_ message: @autoclosure () -> String) { write(.warning, message) }
    func error(_ message: @autoclosure () -> String) { write(.error, message) }

    private func write(_ l: Level, _ message: () -> String) {
        guard l.rawValue >= level.rawValue else { return }
        let names = ["debug", "info", "warning", "error"]
        let line = "\(ISO8601DateFormatter().string(from: Date())) [\(names[l.rawValue])] canal-cni \(context): \(message())\n"
        if l.rawValue >= Level.warning.rawValue { FileHandle.standardError.write(Data(line.utf8)) }
        guard !path.isEmpty else { return }
        let url = URL(fileURLWithPath: path)
        try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        if let handle = FileHandle(forWritingAtPath: path) {
            handle.seekToEndOfFile()
            handle.write(Data(line.utf8))
            try? handle.close()
        }
    }
}
