#if canImport(Glibc)
import Glibc
#endif
import CanalCNI
import Foundation

/// Runs external commands (`ip`, `nsenter`, delegate plugins) and collects their output.
struct Command {
    struct Output {
        var status: Int32
        var stdout: [UInt8]
        var stderr: String
        var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    }

    /// Runs `executable` with `arguments`, feeding `input`; the environment is the process's with
    /// `environment` laid over it. Throws ``CNIError`` 5 when it cannot be started.
    static func run(_ executable: String, _ arguments: [String], input: [UInt8] = [], environment: [String: String] = [:]) throws(CNIError) -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if !environment.isEmpty {
            var env = ProcessInfo.processInfo.environment
            for (k, v) in environment { env[k] = v }
            process.environment = env
        }
        let out = Pipe(), err = Pipe(), inPipe = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = inPipe
        do {
            try process.run()
        } catch {
            throw .io("cannot run \(executable)", details: "\(error)")
        }
        // Errors go to a reader thread so neither pipe can fill up and block the child.
        let errData = ErrorCollector(err.fileHandleForReading)
        if !input.isEmpty { inPipe.fileHandleForWriting.write(Data(input)) }
        try? inPipe.fileHandleForWriting.close()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(status: process.terminationStatus, stdout: Array(stdout), stderr: errData.wait())
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

/// Reads a pipe to its end on its own thread.
private final class ErrorCollector: @unchecked Sendable {
    // Written once by the reader thread before the semaphore is signalled, read after waiting.
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            data = handle.readDataToEndOfFile()
            done.signal()
        }
    }

    func wait() -> String {
        done.wait()
        return String(decoding: data, as: UTF8.self)
    }
}
