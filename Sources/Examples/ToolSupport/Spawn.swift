// The one way the tools and the test harnesses run a program: posix_spawn, pipes and poll.
// Not a product and not API: `package` access only.
#if canImport(Glibc)
import Glibc
#endif

/// What a finished child left: its exit status and everything it wrote.
package struct SpawnOutput: Sendable {
    /// The exit code, or 128 + the signal's number when a signal ended it.
    package var status: Int32
    /// Standard output (with standard error in it when the errors were merged).
    package var stdout: [UInt8]
    /// Standard error; empty when the errors were merged into ``stdout``.
    package var stderr: [UInt8]
    /// Whether the timeout passed first: the child, if it still ran, was killed (``status`` 137,
    /// SIGKILL's); the output is what was written until then.
    package var timedOut = false
    /// ``stdout`` decoded as UTF-8.
    package var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    /// ``stderr`` decoded as UTF-8.
    package var stderrText: String { String(decoding: stderr, as: UTF8.self) }
}

/// A program that could not be started (no pipe, or `posix_spawn` failed).
package struct SpawnFailure: Error, Sendable, CustomStringConvertible {
    /// Why, as `strerror` says it (prefixed with `pipe: ` when no pipe could be made).
    package var reason: String
    /// ``reason``.
    package var description: String { reason }
}

/// Runs a program to its end and collects what it wrote (``run(_:input:environment:mergingErrors:timeout:)``),
/// or starts a long-lived one (``start(_:environment:output:)``).
///
/// With `posix_spawn`, pipes and `poll`, not Foundation's `Process`: `Process` learns that a child
/// exited through CoreFoundation's socket machinery, whose wake-ups need a working loopback, so in
/// a network namespace whose `lo` is down it waited forever. The child is born in the calling
/// thread's network namespace (see ``Netns``), with every signal at its default disposition and
/// none blocked (the tools ignore SIGPIPE, SIGTERM or SIGINT themselves), and inherits no other
/// descriptor of this process, so calls may run side by side on several threads.
package enum Spawn {
    /// Runs `arguments` (the first is the program: looked up on `PATH` unless it holds a `/`),
    /// writing `input` to its standard input (`/dev/null` when empty) while reading its standard
    /// output and error, then waits for it. The environment is this process's with `environment`
    /// laid over it. With `mergingErrors`, standard error goes into the same pipe as standard
    /// output, interleaved as written. With a `timeout`, reading stops when it passes and a child
    /// still running is killed (SIGKILL) and reaped; the output says ``SpawnOutput/timedOut``.
    /// (A grandchild that keeps the output open is not waited for, nor killed.)
    ///
    /// - Throws: ``SpawnFailure`` when the program cannot be started; a program that runs and
    ///   fails is an ``SpawnOutput/status`` instead.
    package static func run(_ arguments: [String], input: [UInt8] = [], environment: [String: String] = [:],
                            mergingErrors: Bool = false, timeout: Duration? = nil) throws(SpawnFailure) -> SpawnOutput {
        let deadline = timeout.map { ContinuousClock.now + $0 }
        // Close-on-exec from birth (dup2 onto 0, 1 and 2 clears it in the child): no child started
        // side by side inherits another's pipe.
        var pipes: [[Int32]] = []
        func closeAll() { for fd in pipes.joined() { close(fd) } }
        for _ in 0..<((input.isEmpty ? 0 : 1) + (mergingErrors ? 1 : 2)) {
            var fds: [Int32] = [-1, -1]
            guard makePipe(&fds) == 0 else {
                let reason = String(cString: strerror(errno))
                closeAll()
                throw SpawnFailure(reason: "pipe: " + reason)
            }
            pipes.append(fds)
        }
        let stdinPipe = input.isEmpty ? nil : pipes[0]
        let stdoutPipe = pipes[input.isEmpty ? 0 : 1]
        let stderrPipe = mergingErrors ? nil : pipes[input.isEmpty ? 1 : 2]

        let pid: pid_t
        do throws(SpawnFailure) {
            pid = try launch(arguments, environment: environment) { actions in
                if let stdinPipe {
                    posix_spawn_file_actions_adddup2(&actions, stdinPipe[0], 0)
                } else {
                    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
                }
                posix_spawn_file_actions_adddup2(&actions, stdoutPipe[1], 1)
                posix_spawn_file_actions_adddup2(&actions, (stderrPipe ?? stdoutPipe)[1], 2)
            }
        } catch {
            closeAll()
            throw error
        }
        // The child's ends.
        if let stdinPipe { close(stdinPipe[0]) }
        close(stdoutPipe[1])
        if let stderrPipe { close(stderrPipe[1]) }
        let exchanged = exchange(input: input, stdin: stdinPipe?[1] ?? -1, stdout: stdoutPipe[0],
                                 stderr: stderrPipe?[0] ?? -1, deadline: deadline)
        var timedOut = exchanged.timedOut
        if timedOut { Glibc.kill(pid, SIGKILL) }
        var status = reap(pid, until: timedOut ? nil : deadline)
        if status == nil {
            // The child closed its output but outlived the deadline.
            timedOut = true
            Glibc.kill(pid, SIGKILL)
            status = reap(pid, until: nil)
        }
        return SpawnOutput(status: status ?? 128 + SIGKILL, stdout: exchanged.stdout, stderr: exchanged.stderr, timedOut: timedOut)
    }

    /// Starts `arguments` (looked up as ``run(_:input:environment:mergingErrors:timeout:)`` does)
    /// as a long-lived child — a server, a daemon, a helper script — and returns at once. Its
    /// standard input is `/dev/null`; its output goes where `output` says; its environment is
    /// this process's with `environment` laid over it. The child is born with default signal
    /// dispositions and an empty signal mask, in the calling thread's network namespace.
    ///
    /// The caller stops it with ``SpawnedChild/stop(grace:)``; a ``SpawnedChild`` released while
    /// the child still runs kills and reaps it, so no child outlives its handle as a zombie.
    ///
    /// - Throws: ``SpawnFailure`` when the program cannot be started.
    package static func start(_ arguments: [String], environment: [String: String] = [:],
                              output: SpawnedChild.Output = .discarded) throws(SpawnFailure) -> SpawnedChild {
        var pipe: [Int32] = [-1, -1]
        if case .piped = output {
            guard makePipe(&pipe) == 0 else { throw SpawnFailure(reason: "pipe: " + String(cString: strerror(errno))) }
        }
        let pid: pid_t
        do throws(SpawnFailure) {
            pid = try launch(arguments, environment: environment) { actions in
                posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
                switch output {
                case .discarded:
                    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
                    posix_spawn_file_actions_adddup2(&actions, 1, 2)
                case .appended(let path):
                    posix_spawn_file_actions_addopen(&actions, 1, path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
                    posix_spawn_file_actions_adddup2(&actions, 1, 2)
                case .files(let stdout, let stderr):
                    posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_APPEND, 0o644)
                    posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_APPEND, 0o644)
                case .piped:
                    posix_spawn_file_actions_adddup2(&actions, pipe[1], 1)
                    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
                }
            }
        } catch {
            for fd in pipe where fd >= 0 { close(fd) }
            throw error
        }
        if pipe[1] >= 0 { close(pipe[1]) }
        return SpawnedChild(pid: pid, output: pipe[0])
    }

    /// posix_spawnp with the file actions `configure` adds, default signal dispositions and an
    /// empty mask; returns the child's pid.
    private static func launch(
        _ arguments: [String], environment: [String: String],
        _ configure: (inout posix_spawn_file_actions_t) -> Void
    ) throws(SpawnFailure) -> pid_t {
        guard let program = arguments.first else { throw SpawnFailure(reason: "no program to run") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        configure(&actions)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var all = sigset_t()
        sigfillset(&all)
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?]? = environment.isEmpty ? nil : mergedEnvironment(environment).map { strdup($0) } + [nil]
        defer {
            argv.forEach { free($0) }
            envp?.forEach { free($0) }
        }
        var pid: pid_t = 0
        let spawned = envp.map { posix_spawnp(&pid, program, &actions, &attributes, argv, $0) }
            ?? posix_spawnp(&pid, program, &actions, &attributes, argv, environ)
        guard spawned == 0 else { throw SpawnFailure(reason: String(cString: strerror(spawned))) }
        return pid
    }

    /// Waits for `pid` to end and returns its status (exit code, or 128 + signal); nil when
    /// `deadline` passed first (the child is then still running and not reaped).
    static func reap(_ pid: pid_t, until deadline: ContinuousClock.Instant?) -> Int32? {
        var status: Int32 = 0
        guard let deadline else {
            while waitpid(pid, &status, 0) < 0 {
                if errno != EINTR { return 128 + SIGKILL }
            }
            return decode(status)
        }
        while true {
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid { return decode(status) }
            if reaped < 0 && errno != EINTR { return 128 + SIGKILL }
            if ContinuousClock.now >= deadline { return nil }
            usleep(5_000)
        }
    }

    /// A `waitpid` status as an exit code, or 128 + the signal that ended the child.
    static func decode(_ status: Int32) -> Int32 {
        (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    /// pipe2(2) with O_CLOEXEC, which Swift's Glibc module does not declare; pipe(2) then fcntl
    /// where it is missing.
    private static func makePipe(_ fds: inout [Int32]) -> Int32 {
        if let pipe2 { return fds.withUnsafeMutableBufferPointer { pipe2($0.baseAddress!, O_CLOEXEC) } }
        guard pipe(&fds) == 0 else { return -1 }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        return 0
    }

    private static let pipe2: (@convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32)? = dlsym(nil, "pipe2").map {
        unsafeBitCast($0, to: (@convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32).self)
    }

    /// This process's environment (`NAME=value` entries) with `overrides` laid over it.
    private static func mergedEnvironment(_ overrides: [String: String]) -> [String] {
        var entries: [String] = []
        var cursor: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = environ
        while let entry = cursor?.pointee {
            let text = String(cString: entry)
            let name = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? text
            if overrides[name] == nil { entries.append(text) }
            cursor = cursor?.successor()
        }
        return entries + overrides.map { "\($0.key)=\($0.value)" }
    }

    /// Writes `input` to the child's standard input while reading its standard output and error to
    /// their ends, so that no pipe can fill up and block either side. Closes the descriptors given
    /// (-1 for none). Stops early, saying so, when `deadline` passes. SIGPIPE is blocked on this thread while it writes: a child that exits without
    /// reading its input ends the write with EPIPE, not this process.
    private static func exchange(
        input: [UInt8], stdin: Int32, stdout: Int32, stderr: Int32, deadline: ContinuousClock.Instant?
    ) -> (stdout: [UInt8], stderr: [UInt8], timedOut: Bool) {
        var out: [UInt8] = [], err: [UInt8] = []
        var written = 0
        var inFD = stdin, outFD = stdout, errFD = stderr
        var sigpipe = sigset_t(), previousMask = sigset_t()
        sigemptyset(&sigpipe)
        sigaddset(&sigpipe, SIGPIPE)
        var sigpipeWasPending = false, brokePipe = false
        if inFD >= 0 {
            _ = fcntl(inFD, F_SETFL, fcntl(inFD, F_GETFL) | O_NONBLOCK)
            pthread_sigmask(SIG_BLOCK, &sigpipe, &previousMask)
            var pending = sigset_t()
            sigpending(&pending)
            sigpipeWasPending = sigismember(&pending, SIGPIPE) == 1
        }
        var buffer = [UInt8](repeating: 0, count: 65536)
        var timedOut = false
        while inFD >= 0 || outFD >= 0 || errFD >= 0 {
            var fds = [pollfd(fd: inFD, events: Int16(POLLOUT), revents: 0),
                       pollfd(fd: outFD, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: errFD, events: Int16(POLLIN), revents: 0)]
            var wait: Int32 = -1
            if let deadline {
                let left = ContinuousClock.now.duration(to: deadline)
                guard left > .zero else {
                    timedOut = true
                    break
                }
                wait = Int32(clamping: left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1)
            }
            let ready = poll(&fds, nfds_t(fds.count), wait)
            if ready < 0 {
                if errno == EINTR { continue }
                break
            }
            if inFD >= 0, fds[0].revents != 0 {
                let n = input.withUnsafeBytes { write(inFD, $0.baseAddress! + written, $0.count - written) }
                if n > 0 { written += n }
                if n < 0 && errno == EPIPE { brokePipe = true }
                // Everything written, or the child closed its end.
                if written == input.count || (n < 0 && errno != EAGAIN && errno != EINTR) {
                    close(inFD)
                    inFD = -1
                }
            }
            for (index, fd) in [(1, outFD), (2, errFD)] where fd >= 0 && fds[index].revents != 0 {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n > 0 {
                    if index == 1 { out += buffer[0..<n] } else { err += buffer[0..<n] }
                } else if n == 0 || (errno != EINTR && errno != EAGAIN) {
                    close(fd)
                    if index == 1 { outFD = -1 } else { errFD = -1 }
                }
            }
        }
        for fd in [inFD, outFD, errFD] where fd >= 0 { close(fd) }
        if stdin >= 0 {
            // Take back the SIGPIPE the broken pipe raised (not one that was pending before).
            if brokePipe && !sigpipeWasPending {
                var now = timespec(tv_sec: 0, tv_nsec: 0)
                while sigtimedwait(&sigpipe, nil, &now) < 0 && errno == EINTR {}
            }
            pthread_sigmask(SIG_SETMASK, &previousMask, nil)
        }
        return (out, err, timedOut)
    }
}
