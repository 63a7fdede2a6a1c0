#if canImport(Glibc)
import Glibc
#endif
import CanalCNI
import CanalToolSupport
import Foundation

/// Runs external commands (`ip`, delegate plugins) with the tools' ``Spawn`` and collects their
/// output; failures to start are ``CNIError`` 5.
enum Command {
    typealias Output = SpawnOutput

    /// Runs `executable` with `arguments`, feeding `input`; the environment is the process's with
    /// `environment` laid over it. Throws ``CNIError`` 5 when it cannot be started.
    static func run(_ executable: String, _ arguments: [String], input: [UInt8] = [], environment: [String: String] = [:]) throws(CNIError) -> Output {
        do throws(SpawnFailure) {
            return try Spawn.run([executable] + arguments, input: input, environment: environment)
        } catch {
            throw .io("cannot run \(executable)", details: error.reason)
        }
    }

    /// The first executable `name` in `PATH` or the system folders.
    static func find(_ name: String) -> String {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
        for dir in path + ["/usr/sbin", "/sbin", "/usr/bin", "/bin"] {
            let candidate = dir + "/" + name
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return "/usr/bin/" + name
    }
}

extension Netns {
    /// Runs `body` on a thread inside the network namespace at `path` (the tools' ``Netns``).
    ///
    /// - Throws: ``CNIError`` 3 when `path` cannot be opened or is not a network namespace,
    ///   ``CNIError`` 5 when no thread starts; otherwise what `body` throws.
    static func run<T>(in path: String, _ body: @escaping () throws(CNIError) -> T) throws(CNIError) -> T {
        try run(in: path, entryFailure: { failure in
            failure.step == .thread ? .io(failure.description, details: failure.reason)
                : .unknownContainer(failure.description, details: failure.reason)
        }, body)
    }
}
