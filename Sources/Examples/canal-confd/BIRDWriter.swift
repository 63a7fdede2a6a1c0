import CanalToolSupport
import Foundation

/// Writes a rendered configuration as confd does: compare with the file, check a candidate with
/// `bird -p -c`, rename it into place (atomic), then ask the running BIRD to reload.
struct BIRDWriter: Sendable {
    var configFile: String
    var bird: String
    var birdc: String
    var socket: String
    var check: Bool

    enum Outcome: Equatable {
        case unchanged
        case written(reloaded: Bool)
        case rejected
    }

    /// Writes `text` when it differs from the file; reloads BIRD when `reload` and it changed.
    func write(_ text: String, reload: Bool) async throws -> Outcome {
        let url = URL(fileURLWithPath: configFile)
        if let current = try? String(contentsOf: url, encoding: .utf8), current == text { return .unchanged }
        let directory = url.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let candidate = directory.appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        try Data(text.utf8).write(to: candidate)
        defer { try? FileManager.default.removeItem(at: candidate) }
        if check {
            let (status, output) = await Shell.run([bird, "-p", "-c", candidate.path])
            guard status == 0 else {
                Log.error("`\(bird) -p` rejected the new configuration; keeping \(configFile): \(output.trimmingCharacters(in: .whitespacesAndNewlines))")
                return .rejected
            }
        }
        guard rename(candidate.path, url.path) == 0 else {
            throw ConfdError("cannot move the new configuration into \(configFile): \(String(cString: strerror(errno)))")
        }
        Log.info("wrote \(configFile) (\(text.utf8.count) bytes)")
        guard reload else { return .written(reloaded: false) }
        guard FileManager.default.fileExists(atPath: socket) else {
            Log.warning("BIRD is not running (no control socket \(socket)); it reads \(configFile) when it starts")
            return .written(reloaded: false)
        }
        let (status, output) = await Shell.run([birdc, "-s", socket, "configure"])
        let text = output.trimmingCharacters(in: .whitespacesAndNewlines)
        guard status == 0, text.contains("Reconfigured") || text.contains("Reconfiguration in progress") || text.contains("Reconfiguration already in progress") else {
            Log.error("`\(birdc) -s \(socket) configure` failed (\(status)): \(text)")
            return .written(reloaded: false)
        }
        Log.info("BIRD reconfigured")
        return .written(reloaded: true)
    }
}

/// An error that ends canal-confd with status 1 and one clear line.
struct ConfdError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
