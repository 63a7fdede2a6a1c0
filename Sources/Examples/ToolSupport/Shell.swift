// Shared by the host daemons (canal-flanneld, canal-confd): running host commands and logging.
// Not a product and not API: `package` access only.
#if canImport(Glibc)
import Glibc
#endif
import Dispatch
package import Foundation

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
        let (status, output, errors) = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: spawnAndCapture(arguments, input: input))
            }
        }
        guard status == 0 else {
            throw CommandFailure(description: "`\(arguments.joined(separator: " "))` exited \(status): "
                + (errors + output).trimmingCharacters(in: .whitespacesAndNewlines).prefix(2000))
        }
        return output
    }

    /// posix_spawnp with standard input from a temporary file holding `input`, standard output
    /// into a pipe (read to the end) and standard error into a temporary file, then waitpid.
    package static func spawnAndCapture(_ arguments: [String], input: String?) -> (status: Int32, output: String, errors: String) {
        func temporaryFile(_ contents: String) -> Int32 {
            var template = Array("/tmp/canal-shell-XXXXXX".utf8CString)
            let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
            guard fd >= 0 else { return -1 }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
            var bytes = Array(contents.utf8)[...]
            while !bytes.isEmpty {
                let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { break }
                bytes = bytes.dropFirst(n)
            }
            lseek(fd, 0, SEEK_SET)
            return fd
        }
        // Every descriptor is close-on-exec (dup2 onto 0, 1 and 2 clears that), so commands run
        // side by side do not inherit each other's pipes.
        let inputFD = input.map(temporaryFile) ?? open("/dev/null", O_RDONLY | O_CLOEXEC)
        let errorFD = temporaryFile("")
        defer {
            if inputFD >= 0 { close(inputFD) }
            if errorFD >= 0 { close(errorFD) }
        }
        guard inputFD >= 0, errorFD >= 0 else { return (127, "", "cannot create a temporary file") }
        var fds: [Int32] = [0, 0]
        // The pipe exists, without close-on-exec, only under the lock: no concurrent spawn inherits it.
        spawnLock.lock()
        guard pipe(&fds) == 0 else {
            spawnLock.unlock()
            return (127, "", "pipe() failed")
        }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inputFD, 0)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errorFD, 2)
        posix_spawn_file_actions_addclose(&actions, fds[0])
        posix_spawn_file_actions_addclose(&actions, fds[1])
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, arguments[0], &actions, nil, &argv, environ)
        close(fds[1])
        spawnLock.unlock()
        guard spawned == 0 else {
            close(fds[0])
            return (127, "", "cannot run \(arguments[0]): \(String(cString: strerror(spawned)))")
        }
        let output = readToEnd(fds[0])
        close(fds[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        lseek(errorFD, 0, SEEK_SET)
        let errors = readToEnd(errorFD)
        let exited = (status & 0x7f) == 0
        return (exited ? (status >> 8) & 0xff : 128 + (status & 0x7f), String(decoding: output, as: UTF8.self),
                String(decoding: errors, as: UTF8.self))
    }

    private static let spawnLock = NSLock()

    private static func readToEnd(_ fd: Int32) -> [UInt8] {
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                output += buffer[0..<n]
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                return output
            }
        }
    }

    /// posix_spawnp with standard output and error into one pipe, read to the end, then waitpid.
    /// (Not Foundation's `Process`: the daemon's children are reaped here, synchronously.)
    package static func spawnAndWait(_ arguments: [String]) -> (status: Int32, output: String) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return (127, "pipe() failed") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 2)
        posix_spawn_file_actions_addclose(&actions, fds[0])
        posix_spawn_file_actions_addclose(&actions, fds[1])
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, arguments[0], &actions, nil, &argv, environ)
        close(fds[1])
        guard spawned == 0 else {
            close(fds[0])
            return (127, "cannot run \(arguments[0]): \(String(cString: strerror(spawned)))")
        }
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
            if n > 0 {
                output += buffer[0..<n]
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                break
            }
        }
        close(fds[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exited = (status & 0x7f) == 0
        return (exited ? (status >> 8) & 0xff : 128 + (status & 0x7f), String(decoding: output, as: UTF8.self))
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
