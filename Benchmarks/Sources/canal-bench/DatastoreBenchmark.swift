// The datastore benchmark: `canal-bench datastore` starts its own etcd and
// compares Canal's etcd client (KeyValueStore level) with a raw libcurl keep-alive loop over the same
// gateway (raw_etcd.c, compiled at run time), for put, range and compare-and-swap txn at concurrency
// 1 and 16, and watch delivery latency against `etcdctl watch`.
import CanalDatastore
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

func bench(_ name: String, _ value: Double, _ unit: String) { print("bench \(name) \(String(format: "%.1f", value)) \(unit)") }
func ratio(_ name: String, _ value: Double) { print("ratio \(name) \(String(format: "%.3f", value))") }

/// Wall-clock nanoseconds (shared with the etcdctl reader, so both sides use one clock).
func realtimeNanos() -> Int64 {
    var t = timespec()
    clock_gettime(CLOCK_REALTIME, &t)
    return Int64(t.tv_sec) * 1_000_000_000 + Int64(t.tv_nsec)
}

func runProgram(_ path: String, _ arguments: [String], environment: [String: String] = [:]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    for (k, v) in environment { env[k] = v }
    process.environment = env
    let out = Pipe()
    process.standardOutput = out
    try process.run()
    let running = Cleanup.add(process: process)
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    running.run()
    guard process.terminationStatus == 0 else { fail("\(path) \(arguments) exited with \(process.terminationStatus)") }
    return String(decoding: data, as: UTF8.self)
}

func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// A throwaway etcd on free loopback ports, with its data folder. Both are registered with
/// ``Cleanup``: running the handle stops etcd and removes the folder (`fail()` and signals run it too).
func startEtcd() async throws -> (handle: Cleanup.Handle, endpoint: String) {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("canal-bench-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let removeDirectory = Cleanup.add(directory: directory)
    let client = "http://127.0.0.1:\(freePort())", peer = "http://127.0.0.1:\(freePort())"
    let process = Process()
    process.executableURL = URL(fileURLWithPath: ProcessInfo.processInfo.environment["ETCD_BINARY"] ?? "/usr/bin/etcd")
    process.arguments = [
        "--name", "bench", "--data-dir", directory.appendingPathComponent("data").path, "--listen-client-urls", client,
        "--advertise-client-urls", client, "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
        "--initial-cluster", "bench=\(peer)", "--quota-backend-bytes", "8589934592",
    ]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    do {
        try process.run()
    } catch {
        removeDirectory.run()
        throw error
    }
    let stop = Cleanup.add(process: process)
    // One handle for both, stopping etcd before removing its data.
    let handle = Cleanup.add {
        stop.run()
        removeDirectory.run()
    }
    let store = EtcdKeyValueStore(configuration: EtcdConfiguration(endpoints: [client], requestTimeout: .seconds(1)))
    for _ in 0..<100 {
        if (try? await store.list(prefix: Array("/probe".utf8))) != nil { return (handle, client) }
        try await Task.sleep(for: .milliseconds(100))
    }
    fail("etcd did not start")
}

/// Canal's side: `concurrency` tasks, each on its own key, for `seconds`; returns ops/s. With
/// `onStoreExecutor` the tasks prefer the store's I/O thread as their executor.
func canalOps(_ store: EtcdKeyValueStore, op: String, concurrency: Int, seconds: Double, onStoreExecutor: Bool) async throws -> Double {
    let value = Array("value-0123456789".utf8)
    let start = ContinuousClock.now
    let deadline = start + .milliseconds(Int(seconds * 1000))
    let total = try await withThrowingTaskGroup(of: Int.self) { group in
        for worker in 0..<concurrency {
            group.addTask(executorPreference: onStoreExecutor ? store.taskExecutor : nil) {
                let key = Array("/bench/canal/\(op)/\(worker)".utf8)
                var revision = try await store.put(key, value: value)
                var count = 0
                while ContinuousClock.now < deadline {
                    switch op {
                    case "put": _ = try await store.put(key, value: value)
                    case "range": _ = try await store.get(key)
                    default: revision = try await store.update(key, value: value, ifRevision: revision)
                    }
                    count += 1
                }
                return count
            }
        }
        return try await group.reduce(0, +)
    }
    return Double(total) / seconds
}

/// CPU seconds (user + system) used so far by this process, or by its waited-for children.
func cpuSeconds(children: Bool = false) -> Double {
    var usage = rusage()
    getrusage(children ? RUSAGE_CHILDREN.rawValue : RUSAGE_SELF.rawValue, &usage)
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return .nan }
    return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
}

/// Watch delivery latency: Canal's watch and `etcdctl watch` follow the same puts (value = send time).
func watchLatency(_ store: EtcdKeyValueStore, endpoint: String, count: Int) async throws -> (canal: [Double], etcdctl: [Double]) {
    let prefix = "/bench/watch/"
    let etcdctl = Process()
    etcdctl.executableURL = URL(fileURLWithPath: "/usr/bin/etcdctl")
    etcdctl.arguments = ["--endpoints", endpoint, "watch", "--prefix", prefix]
    etcdctl.environment = ProcessInfo.processInfo.environment.merging(["ETCDCTL_API": "3"]) { $1 }
    let pipe = Pipe()
    etcdctl.standardOutput = pipe
    try etcdctl.run()
    let stopEtcdctl = Cleanup.add(process: etcdctl)
    defer { stopEtcdctl.run() }
    let etcdctlLatencies = Mutex<[Double]>([])
    let reader = Thread {
        var pending = Data()
        let handle = pipe.fileHandleForReading
        while true {
            let chunk = handle.availableData
            if chunk.isEmpty { return }
            pending.append(chunk)
            let now = realtimeNanos()
            while let newline = pending.firstIndex(of: 10) {
                let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                pending.removeSubrange(pending.startIndex...newline)
                if line.hasPrefix("ts:"), let sent = Int64(line.dropFirst(3)) {
                    etcdctlLatencies.withLock { $0.append(Double(now - sent) / 1e6) }
                }
            }
        }
    }
    reader.start()
    try await Task.sleep(for: .milliseconds(500))  // let etcdctl connect

    return try await withThrowingTaskGroup(of: [Double].self) { group in
        group.addTask {
            var latencies: [Double] = []
            for try await event in store.watch(prefix: Array(prefix.utf8)) {
                let now = realtimeNanos()
                let text = String(decoding: event.current?.value ?? [], as: UTF8.self)
                if text.hasPrefix("ts:"), let sent = Int64(text.dropFirst(3)) { latencies.append(Double(now - sent) / 1e6) }
                if latencies.count == count { break }
            }
            return latencies
        }
        try await Task.sleep(for: .milliseconds(300))  // let the Canal watch connect
        for i in 0..<count {
            _ = try await store.put(Array("\(prefix)\(i % 10)".utf8), value: Array("ts:\(realtimeNanos())".utf8))
            try await Task.sleep(for: .milliseconds(5))
        }
        let canal = try await group.next()!
        try await Task.sleep(for: .milliseconds(300))
        return (canal, etcdctlLatencies.withLock { $0 })
    }
}

enum DatastoreBenchmark {
    /// Runs the comparison for `seconds` per side and case; returns false when a side fails.
    static func run(seconds: Double) async throws -> Bool {

        // Compile the raw reference at run time.
        guard let source = Bundle.module.path(forResource: "raw_etcd", ofType: "c") else { fail("raw_etcd.c missing") }
        let binary = FileManager.default.temporaryDirectory.appendingPathComponent("canal-raw-etcd-\(getpid())").path
        let flags = try runProgram("/usr/bin/pkg-config", ["--cflags", "--libs", "libcurl"]).split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
        let removeBinary = Cleanup.add { unlink(binary) }
        defer { removeBinary.run() }
        _ = try runProgram("/usr/bin/cc", ["-O2", "-o", binary, source] + flags + ["-lpthread"])

        let (etcd, endpoint) = try await startEtcd()
        defer { etcd.run() }
        let store = EtcdKeyValueStore(configuration: EtcdConfiguration(endpoints: [endpoint]))
        // CANAL_BENCH_CASES=put.c1,range.c16 limits the run to those cases (and skips the watch).
        let only = ProcessInfo.processInfo.environment["CANAL_BENCH_CASES"].map { Set($0.split(separator: ",").map(String.init)) }
        for op in ["put", "range", "cas"] {
            for concurrency in [1, 16] where only?.contains("\(op).c\(concurrency)") ?? true {
                // Interleave the sides to spread drift: raw, Canal, raw, Canal on its executor, raw.
                // Client CPU per operation (user + system) on each side: on a shared machine it
                // varies much less than throughput and shows what the client itself costs.
                var rawOps = 0.0, rawCPU = 0.0
                func rawRun() throws {
                    let cpu = cpuSeconds(children: true)
                    rawOps += Double(try runProgram(binary, [endpoint, op, "\(concurrency)", "\(seconds / 3)"]).trimmingCharacters(in: .whitespacesAndNewlines))!
                    rawCPU += cpuSeconds(children: true) - cpu
                }
                func canalRun(onStoreExecutor: Bool) async throws -> (ops: Double, cpu: Double) {
                    let cpu = cpuSeconds()
                    let ops = try await canalOps(store, op: op, concurrency: concurrency, seconds: seconds, onStoreExecutor: onStoreExecutor)
                    return (ops, (cpuSeconds() - cpu) / (ops * seconds) * 1e6)
                }
                try rawRun()
                let canal = try await canalRun(onStoreExecutor: false)
                try rawRun()
                let executor = try await canalRun(onStoreExecutor: true)
                try rawRun()
                let raw = rawOps / seconds
                let name = "datastore.\(op).c\(concurrency)"
                bench("\(name).raw", raw, "ops/s")
                bench("\(name).canal", canal.ops, "ops/s")
                bench("\(name).canal.executor", executor.ops, "ops/s")
                bench("\(name).raw.cpu", rawCPU / rawOps * 1e6, "us/op")
                bench("\(name).canal.cpu", canal.cpu, "us/op")
                bench("\(name).canal.executor.cpu", executor.cpu, "us/op")
                ratio(name, canal.ops / raw)
                ratio("\(name).executor", executor.ops / raw)
            }
        }
        if only != nil { return true }
        let (canal, reference) = try await watchLatency(store, endpoint: endpoint, count: 300)
        bench("datastore.watch.latency.canal.p50", percentile(canal, 0.5), "ms")
        bench("datastore.watch.latency.canal.p99", percentile(canal, 0.99), "ms")
        bench("datastore.watch.latency.etcdctl.p50", percentile(reference, 0.5), "ms")
        bench("datastore.watch.latency.etcdctl.p99", percentile(reference, 0.99), "ms")
        ratio("datastore.watch.latency.p50", percentile(reference, 0.5) / percentile(canal, 0.5))
        return true
    }
}
