// How the harnesses run commands: CanalToolSupport's Spawn (posix_spawn and poll), never
// Foundation's `Process`, which waits forever in a network namespace whose loopback is down.
import CanalToolSupport

/// How long a harness command may run before it is killed and reported as failed.
let commandTimeout: Duration = .seconds(120)

/// Runs a command (the first argument is looked up on `PATH`) with `input` on its standard input,
/// and returns its exit status and its standard output and error together, as written. A command
/// still running after `timeout` is killed: status 137 and a note at the end of the output.
///
/// - Throws: ``NetnsError`` when the program cannot be started.
@discardableResult
func run(_ arguments: [String], input: String? = nil, timeout: Duration = commandTimeout) throws -> (status: Int32, output: String) {
    let finished: SpawnOutput
    do throws(SpawnFailure) {
        finished = try Spawn.run(arguments, input: Array((input ?? "").utf8), mergingErrors: true, timeout: timeout)
    } catch {
        throw NetnsError(description: "cannot run `\(arguments.joined(separator: " "))`: \(error.reason)")
    }
    return (finished.status, finished.stdoutText + (finished.timedOut ? "\n(killed: still running after \(timeout))" : ""))
}

/// Runs a command as ``run(_:input:timeout:)`` does, throwing with its output when it fails.
@discardableResult
func check(_ arguments: [String], input: String? = nil, timeout: Duration = commandTimeout) throws -> String {
    let (status, output) = try run(arguments, input: input, timeout: timeout)
    guard status == 0 else {
        throw NetnsError(description: "`\(arguments.joined(separator: " "))` exited \(status): \(output)"
            + (input.map { "\n--- input ---\n\($0)" } ?? ""))
    }
    return output
}

/// Starts a long-lived child (a server, a daemon, a helper script) with its output going where
/// `output` says; the caller stops it (``SpawnedChild/stop(grace:)``) in every outcome.
///
/// - Throws: ``NetnsError`` when the program cannot be started.
func start(_ arguments: [String], environment: [String: String] = [:], output: SpawnedChild.Output = .discarded) throws -> SpawnedChild {
    do throws(SpawnFailure) {
        return try Spawn.start(arguments, environment: environment, output: output)
    } catch {
        throw NetnsError(description: "cannot start `\(arguments.joined(separator: " "))`: \(error.reason)")
    }
}
