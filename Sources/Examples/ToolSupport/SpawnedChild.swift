// A long-lived child started with Spawn.start. Not a product and not API: `package` access only.
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A child started by ``Spawn/start(_:environment:output:)``: signal it, wait for it, stop it.
///
/// The child is reaped exactly once, by whichever call first sees it ended, under a lock, so a
/// signal never reaches a recycled pid and calls may come from several threads. Released while
/// the child still runs, the handle kills (SIGKILL) and reaps it.
package final class SpawnedChild: Sendable {
    /// Where a started child's standard output and error go (its standard input is `/dev/null`).
    package enum Output: Sendable {
        /// To `/dev/null`.
        case discarded
        /// Both appended to the file at this path, created (mode 0644) when missing.
        case appended(to: String)
        /// Standard output appended to the first file, standard error to the second (each
        /// created, mode 0644, when missing).
        case files(stdout: String, stderr: String)
        /// Standard output into a pipe read with ``SpawnedChild/readLine(timeout:)``; standard
        /// error to `/dev/null`. For a few lines (a "ready", a port): a child that writes more
        /// than the pipe holds (64 KiB) waits until they are read.
        case piped
    }

    /// The child's process id.
    package let pid: Int32
    /// The exit status once reaped (exit code, or 128 + the signal that ended it).
    private let status = Mutex<Int32?>(nil)
    /// The read end of the ``Output/piped`` output, or -1.
    private let output: Mutex<Int32>

    init(pid: Int32, output: Int32) {
        self.pid = pid
        self.output = Mutex(output)
    }

    deinit {
        let reaped = status.withLock { $0 != nil }
        if !reaped {
            kill(pid, SIGKILL)
            _ = Spawn.reap(pid, until: nil)
        }
        output.withLock { fd in if fd >= 0 { close(fd) } }
    }

    /// The exit status (exit code, or 128 + the signal that ended it), or nil while it runs.
    package var exitStatus: Int32? { poll() }

    /// Whether the child still runs (it has not been seen to end).
    package var isRunning: Bool { poll() == nil }

    /// Sends `signal` to the child unless it has been reaped already.
    package func signal(_ signal: Int32) {
        status.withLock { if $0 == nil { _ = kill(pid, signal) } }
    }

    /// Waits until the child ends and returns its status; with a `timeout`, nil when it still
    /// runs once the timeout has passed. Blocks the calling thread (polling every 5 ms).
    @discardableResult
    package func wait(timeout: Duration? = nil) -> Int32? {
        let deadline = timeout.map { ContinuousClock.now + $0 }
        while true {
            if let finished = poll() { return finished }
            if let deadline, ContinuousClock.now >= deadline { return nil }
            usleep(5_000)
        }
    }

    /// Stops the child: SIGTERM, then SIGKILL when it still runs after `grace`; waits for it and
    /// returns its status. Returns the status at once when it had already ended.
    @discardableResult
    package func stop(grace: Duration = .seconds(3)) -> Int32 {
        signal(SIGTERM)
        if let finished = wait(timeout: grace) { return finished }
        signal(SIGKILL)
        return wait() ?? 128 + SIGKILL
    }

    /// Reads one line of the ``Output/piped`` output (without its newline), waiting up to
    /// `timeout`; nil at the end of the output, on timeout, or when the output is not piped.
    package func readLine(timeout: Duration) -> String? {
        let deadline = ContinuousClock.now + timeout
        return output.withLock { fd -> String? in
            guard fd >= 0 else { return nil }
            var line: [UInt8] = []
            while true {
                let left = ContinuousClock.now.duration(to: deadline)
                guard left > .zero else { return nil }
                var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                let milliseconds = Int32(clamping: left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1)
                let ready = Glibc.poll(&entry, 1, milliseconds)
                if ready < 0 && errno == EINTR { continue }
                guard ready > 0 else { return nil }
                var byte: UInt8 = 0
                let n = read(fd, &byte, 1)
                if n < 0 && errno == EINTR { continue }
                guard n == 1 else { return line.isEmpty ? nil : String(decoding: line, as: UTF8.self) }
                if byte == UInt8(ascii: "\n") { return String(decoding: line, as: UTF8.self) }
                line.append(byte)
            }
        }
    }

    /// Reaps the child if it has ended; its status, or nil while it runs.
    private func poll() -> Int32? {
        status.withLock { status in
            if let status { return status }
            var raw: Int32 = 0
            let reaped = waitpid(pid, &raw, WNOHANG)
            if reaped == pid {
                status = Spawn.decode(raw)
            } else if reaped < 0 && errno == ECHILD {
                // Not ours to wait for any more (reaped elsewhere): it has ended.
                status = 128 + SIGKILL
            }
            return status
        }
    }
}
