#if canImport(Glibc)
import Glibc
#endif
import CanalToolSupport
import Synchronization

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
    private let process = Mutex<SpawnedChild?>(nil)

    /// A forwarder of `port` into `namespace` (not started).
    public init(namespace: String, port: Int) {
        self.namespace = namespace
        self.port = port
    }

    /// Starts forwarding; returns once the namespace side listens (or throws after 30 s).
    public func start() throws {
        let child = try CanalTesting.start(
            ["ip", "netns", "exec", namespace, "python3", "-u", "-c", Self.script, String(port), "/proc/\(getpid())/ns/net"],
            output: .piped)
        process.withLock { $0 = child }
        let line = child.readLine(timeout: .seconds(30))
        guard line == "ready" else {
            stop()
            throw NetnsError(description: "the loopback forwarder into \(namespace) did not start (\(line ?? "no output"))")
        }
    }

    /// Stops forwarding, dropping the forwarded connections.
    public func stop() {
        // `ip netns exec` execs python3, so the pid is the forwarder itself.
        guard let child = process.withLock({ $0.take() }) else { return }
        child.signal(SIGKILL)
        child.wait()
    }

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
