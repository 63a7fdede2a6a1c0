import CanalToolSupport
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

    /// Runs `tool` with arguments and optional standard input, and waits for it (``Spawn``: its
    /// output is read as it comes, so a chatty tool never blocks on a full pipe). `launcher` runs
    /// it through another command (for example `["ip", "netns", "exec", ns]`); `removing` drops
    /// variables from the inherited environment. A tool still running after `timeout` is killed
    /// (status 137, a note at the end of `stderr`).
    static func run(
        _ tool: String, _ arguments: [String], stdin: String? = nil, environment: [String: String] = [:],
        launcher: [String] = [], removing: [String] = [], timeout: Duration = .seconds(300)
    ) throws -> Output {
        // `env -u` drops inherited variables; Spawn only lays variables over the environment.
        let unset = removing.isEmpty ? [] : ["env"] + removing.flatMap { ["-u", $0] }
        let command = launcher + unset + [binDirectory.appendingPathComponent(tool).path] + arguments
        let finished: SpawnOutput
        do throws(SpawnFailure) {
            finished = try Spawn.run(command, input: Array((stdin ?? "").utf8), environment: environment, timeout: timeout)
        } catch {
            throw ToolRunnerError(description: "cannot run \(tool): \(error.reason)")
        }
        return Output(status: finished.status, stdout: finished.stdoutText,
                      stderr: finished.stderrText + (finished.timedOut ? "\n(killed: still running after \(timeout))" : ""))
    }
}

/// A tool that could not be started.
struct ToolRunnerError: Error, CustomStringConvertible {
    let description: String
}
