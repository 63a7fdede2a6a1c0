#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Makes a TCP port of this process's loopback reachable on the loopback of a network namespace:
/// a process inside the namespace listens on `127.0.0.1:<port>` and forwards each connection to
/// `127.0.0.1:<port>` here (one of its threads joins this process's network namespace to connect).
///
/// So a tool run with `ip netns exec` (an agent in a node namespace) reaches a test's etcd. The
/// forwarder lives in the namespace, so deleting the namespace kills it; ``stop()`` kills it
/// earlier (and with it every forwarded connection), which cuts the namespace off from the
/// port as a network partition would; ``start()`` again restores it.
public final class LoopbackForwarder: Sendable {
    /// The namespace.
    public let namespace: String
    /// The port, the same on both sides.
    public let port: Int
    private let process = LockedForwarderProcess()

    /// A forwarder of `port` into `namespace` (not started).
    public init(namespace: String, port: Int) {
        self.namespace = namespace
        self.port = port
    }

    /// Starts forwarding; returns once the namespace side listens.
    public func start() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["ip", "netns", "exec", namespace, "python3", "-u", "-c", Self.script, String(port),
                       "/proc/\(getpid())/ns/net"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        process.set(p)
        let line = out.fileHandleForReading.availableLine()
        guard line == "ready" else {
            stop()
            throw NetnsError(description: "the loopback forwarder into \(namespace) did not start (\(line ?? "no output"))")
        }
    }

    /// Stops forwarding, dropping the forwarded connections.
    public func stop() { process.kill() }

    static let script = """
        import ctypes, os, queue, socket, sys, threading
        port, host_ns = int(sys.argv[1]), sys.argv[2]
        srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", port)); srv.listen(128)
        pending = queue.Queue(); ready = threading.Event()
        def pump(a, b):
            try:
                while True:
                    d = a.recv(65536)
                    if not d: break
                    b.sendall(d)
            except OSError: pass
            for s in (a, b):
                try: s.shutdown(socket.SHUT_RDWR)
                except OSError: pass
        def connector():
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open(host_ns, os.O_RDONLY)
            if libc.setns(fd, 0x40000000) != 0: os._exit(3)
            ready.set()
            while True:
                c = pending.get()
                try:
                    u = socket.create_connection(("127.0.0.1", port), timeout=2); u.settimeout(None)
                    u.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                except OSError:
                    c.close(); continue
                for a, b in ((c, u), (u, c)): threading.Thread(target=pump, args=(a, b), daemon=True).start()
        threading.Thread(target=connector, daemon=True).start(); ready.wait()
        print("ready", flush=True)
        while True:
            c, _ = srv.accept()
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            pending.put(c)
        """
}

extension FileHandle {
    /// Reads up to the first newline (or the end), without the newline.
    fileprivate func availableLine() -> String? {
        var bytes: [UInt8] = []
        while true {
            let data = readData(ofLength: 1)
            guard let byte = data.first else { break }
            if byte == UInt8(ascii: "\n") { break }
            bytes.append(byte)
        }
        return bytes.isEmpty ? nil : String(decoding: bytes, as: UTF8.self)
    }
}

/// `@unchecked Sendable`: `Process` is not Sendable; it is only touched under the lock.
private final class LockedForwarderProcess: @unchecked Sendable {
    private let lock = NSLock()
    private var process: Process?

    func set(_ process: Process) { lock.withLock { self.process = process } }

    func kill() {
        let p = lock.withLock { () -> Process? in defer { process = nil }; return process }
        guard let p else { return }
        if p.isRunning {
            // `ip netns exec` execs python3, so the pid is the forwarder itself.
            Glibc.kill(p.processIdentifier, SIGKILL)
        }
        p.waitUntilExit()
    }
}
