#if canImport(Glibc)
import Glibc
#endif
import CanalCNI
import Foundation

/// Runs external commands (`ip`, `nsenter`, `sysctl`, delegate plugins) and collects their output.
///
/// With `posix_spawn`, pipes and `poll`, not Foundation's `Process`: `Process` learns that a child
/// exited through CoreFoundation's socket machinery, whose wake-ups need a working loopback, so in
/// a network namespace whose `lo` is down it waited forever. Nothing here touches the network.
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
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        var stdinPipe: [Int32] = [-1, -1], stdoutPipe: [Int32] = [-1, -1], stderrPipe: [Int32] = [-1, -1]
        for i in 0..<3 {
            var fds: [Int32] = [-1, -1]
            guard pipe(&fds) == 0, fcntl(fds[0], F_SETFD, FD_CLOEXEC) == 0, fcntl(fds[1], F_SETFD, FD_CLOEXEC) == 0 else {
                for fd in stdinPipe + stdoutPipe + stderrPipe where fd >= 0 { close(fd) }
                throw .io("cannot run \(executable)", details: "pipe: \(String(cString: strerror(errno)))")
            }
            switch i {
            case 0: stdinPipe = fds
            case 1: stdoutPipe = fds
            default: stderrPipe = fds
            }
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdinPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, stdoutPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, stderrPipe[1], 2)
        // The child starts with default signal handling (this process ignores SIGPIPE).
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        close(stdinPipe[0])
        close(stdoutPipe[1])
        close(stderrPipe[1])
        guard spawned == 0 else {
            close(stdinPipe[1])
            close(stdoutPipe[0])
            close(stderrPipe[0])
            throw .io("cannot run \(executable)", details: String(cString: strerror(spawned)))
        }
        let (stdout, stderr) = exchange(input: input, stdin: stdinPipe[1], stdout: stdoutPipe[0], stderr: stderrPipe[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exited = (status & 0x7f) == 0
        return Output(status: exited ? (status >> 8) & 0xff : 128 + (status & 0x7f), stdout: stdout,
                      stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// Writes `input` to the child's standard input while reading its standard output and error to
    /// their ends, so that no pipe can fill up and block either side. Closes the three descriptors.
    private static func exchange(input: [UInt8], stdin: Int32, stdout: Int32, stderr: Int32) -> ([UInt8], [UInt8]) {
        var out: [UInt8] = [], err: [UInt8] = []
        var written = 0
        var inFD = stdin, outFD = stdout, errFD = stderr
        if input.isEmpty {
            close(inFD)
            inFD = -1
        } else {
            _ = fcntl(inFD, F_SETFL, fcntl(inFD, F_GETFL) | O_NONBLOCK)
        }
        var buffer = [UInt8](repeating: 0, count: 65536)
        while inFD >= 0 || outFD >= 0 || errFD >= 0 {
            var fds = [pollfd(fd: inFD, events: Int16(POLLOUT), revents: 0),
                       pollfd(fd: outFD, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: errFD, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&fds, nfds_t(fds.count), -1)
            if ready < 0 {
                if errno == EINTR { continue }
                break
            }
            if inFD >= 0, fds[0].revents != 0 {
                let n = input.withUnsafeBytes { write(inFD, $0.baseAddress! + written, $0.count - written) }
                if n > 0 { written += n }
                // Everything written, or the child closed its end (EPIPE: SIGPIPE is ignored).
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
        return (out, err)
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

/// Work inside a container's network namespace without `nsenter`: a dedicated thread joins the
/// namespace (`setns`), runs the body (commands it starts are born in that namespace, and
/// `/proc/sys/net` opened there is the namespace's) and ends. The rest of the plugin, its etcd
/// connections included, stays in the namespace it was started in.
enum Netns {
    /// Runs `body` on a thread inside the network namespace at `path`.
    ///
    /// - Throws: ``CNIError`` 3 when `path` cannot be opened or is not a network namespace;
    ///   otherwise what `body` throws.
    static func run<T>(in path: String, _ body: @escaping () throws(CNIError) -> T) throws(CNIError) -> T {
        let job = Job(path: path, body: body)
        var thread = pthread_t()
        let created = pthread_create(&thread, nil, { raw in
            Unmanaged<AnyJob>.fromOpaque(raw!).takeRetainedValue().execute()
            return nil
        }, Unmanaged.passRetained(job as AnyJob).toOpaque())
        guard created == 0 else { throw .io("cannot start a thread", details: String(cString: strerror(created))) }
        pthread_join(thread, nil)
        return try job.result!.get()
    }

    /// setns(2), which Swift's Glibc module does not declare.
    private static let setns: (@convention(c) (Int32, Int32) -> Int32)? = dlsym(nil, "setns").map {
        unsafeBitCast($0, to: (@convention(c) (Int32, Int32) -> Int32).self)
    }

    private class AnyJob {
        func execute() {}
    }

    /// Crosses to the namespace thread as a raw pointer: that thread alone touches it until it
    /// ends, and `run` reads `result` only after `pthread_join`.
    private final class Job<T>: AnyJob {
        let path: String
        let body: () throws(CNIError) -> T
        var result: Result<T, CNIError>?

        init(path: String, body: @escaping () throws(CNIError) -> T) {
            self.path = path
            self.body = body
        }

        override func execute() {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                result = .failure(.unknownContainer("cannot open the network namespace \(path)", details: String(cString: strerror(errno))))
                return
            }
            let joined = Netns.setns?(fd, 0x4000_0000) ?? -1  // CLONE_NEWNET
            let reason = String(cString: strerror(errno))
            close(fd)
            guard joined == 0 else {
                result = .failure(.unknownContainer("cannot enter the network namespace \(path)", details: reason))
                return
            }
            do throws(CNIError) {
                result = .success(try body())
            } catch {
                result = .failure(error)
            }
        }
    }
}
