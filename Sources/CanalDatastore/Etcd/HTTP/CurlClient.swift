internal import CCurl
import Foundation
package import Synchronization

/// TLS material for HTTPS endpoints (PEM file paths).
struct CurlTLS: Sendable, Hashable {
    var caFile: String?
    var certFile: String?
    var keyFile: String?
}

/// One HTTP POST to make.
struct HTTPRequest: Sendable {
    var url: String
    var body: [UInt8]
    var headers: [String] = ["Content-Type: application/json"]
    /// Total time limit; `nil` for streams, which rely on TCP keep-alive instead.
    var timeout: Duration?
}

/// A complete response.
struct HTTPResponse: Sendable {
    var status: Int
    var body: [UInt8]
}

/// An HTTP client on libcurl's multi interface.
///
/// One multi handle is driven by a dedicated thread (blocking curl calls never run on Swift's
/// cooperative pool). The multi handle keeps a connection cache, so successive requests to an
/// endpoint reuse connections. Other threads talk to the loop only through a Mutex-protected
/// command queue and `curl_multi_wakeup`, which libcurl documents as callable from any thread.
/// The loop stops (and frees every handle) when the client is deinitialized.
final class CurlClient: Sendable {
    private let loop: CurlLoop

    init(tls: CurlTLS, connectTimeout: Duration) {
        curlGlobalInit
        loop = CurlLoop(tls: tls, connectTimeout: connectTimeout)
        let loop = self.loop
        let thread = Thread { loop.run() }
        thread.name = "canal-curl"
        thread.start()
    }

    deinit { loop.submit(.shutdown) }

    /// Performs a request and returns the whole response. Throws ``CurlError`` or `CancellationError`.
    func perform(_ request: HTTPRequest) async throws -> HTTPResponse {
        let sink = BufferSink()
        let transfer = CurlTransfer(request: request, sink: sink)
        return try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { continuation in
                sink.setContinuation(continuation)
                loop.submit(.add(transfer))
            }
        } onCancel: {
            loop.submit(.cancel(transfer))
        }
    }

    /// Starts a streaming request; read its body with ``CurlStream/read()``.
    func stream(_ request: HTTPRequest, highWatermark: Int, statistics: StreamStatistics = StreamStatistics()) -> CurlStream {
        let sink = StreamSink(highWatermark: highWatermark, statistics: statistics)
        let transfer = CurlTransfer(request: request, sink: sink)
        let stream = CurlStream(transfer: transfer, sink: sink, loop: loop)
        loop.submit(.add(transfer))
        return stream
    }
}

private let curlGlobalInit: Void = { _ = curl_global_init(canal_curl_global_all()) }()

/// Receives a transfer's body on the loop thread and its completion.
protocol CurlSink: Sendable {
    /// Takes a chunk; returns false to pause the transfer (curl then delivers the chunk again on resume).
    func receive(_ bytes: UnsafeRawBufferPointer) -> Bool
    /// Called once: with the HTTP status, or the failure.
    func complete(_ result: Result<Int, any Error>)
}

/// Collects a whole (bounded) response body for `perform`.
final class BufferSink: CurlSink {
    private struct State {
        var body: [UInt8] = []
        var continuation: UnsafeContinuation<HTTPResponse, any Error>?
        var done = false
    }
    private let state = Mutex(State())
    private static let limit = 256 << 20

    func setContinuation(_ continuation: UnsafeContinuation<HTTPResponse, any Error>) {
        state.withLock { $0.continuation = continuation }
    }

    func receive(_ bytes: UnsafeRawBufferPointer) -> Bool {
        state.withLock { state in
            guard state.body.count + bytes.count <= Self.limit else { return false }
            state.body.append(contentsOf: bytes)
            return true
        }
    }

    func complete(_ result: Result<Int, any Error>) {
        let (continuation, body) = state.withLock { state in
            defer { state.continuation = nil }
            return (state.continuation, state.body)
        }
        continuation?.resume(with: result.map { HTTPResponse(status: $0, body: body) })
    }
}

/// Counters of a streaming transfer's flow control, for tests and diagnostics.
package final class StreamStatistics: Sendable {
    /// Times the transfer was paused because the reader had not drained the buffer.
    package let pauses = Atomic<Int>(0)
    /// Body bytes accepted into the buffer so far.
    package let receivedBytes = Atomic<Int>(0)
    /// Bytes buffered now, not yet taken by the reader.
    package let bufferedBytes = Atomic<Int>(0)
    /// The most bytes ever buffered at once.
    package let peakBufferedBytes = Atomic<Int>(0)

    package init() {}
}

/// Buffers a streaming body up to a high watermark; above it the transfer is paused until the
/// reader drains the buffer.
final class StreamSink: CurlSink {
    private struct State {
        var buffer: [UInt8] = []
        var paused = false
        var finished: Result<Int, any Error>?
        var waiter: CheckedContinuation<Void, Never>?
    }
    private let state = Mutex(State())
    let highWatermark: Int
    let statistics: StreamStatistics

    init(highWatermark: Int, statistics: StreamStatistics) {
        self.highWatermark = max(1, highWatermark)
        self.statistics = statistics
    }

    func receive(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let (accepted, waiter, buffered): (Bool, CheckedContinuation<Void, Never>?, Int) = state.withLock { state in
            if state.buffer.count >= highWatermark {
                state.paused = true
                return (false, nil, state.buffer.count)
            }
            state.buffer.append(contentsOf: bytes)
            defer { state.waiter = nil }
            return (true, state.waiter, state.buffer.count)
        }
        if accepted {
            statistics.receivedBytes.add(bytes.count, ordering: .relaxed)
            statistics.bufferedBytes.store(buffered, ordering: .relaxed)
            statistics.peakBufferedBytes.max(buffered, ordering: .relaxed)
        } else {
            statistics.pauses.add(1, ordering: .relaxed)
        }
        waiter?.resume()
        return accepted
    }

    func complete(_ result: Result<Int, any Error>) {
        let waiter = state.withLock { state in
            state.finished = result
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    enum Take {
        case bytes([UInt8], resume: Bool)
        case finished(Result<Int, any Error>)
        case wait
    }

    func take() -> Take {
        state.withLock { state in
            if !state.buffer.isEmpty {
                let bytes = state.buffer
                state.buffer = []
                let resume = state.paused
                state.paused = false
                statistics.bufferedBytes.store(0, ordering: .relaxed)
                return .bytes(bytes, resume: resume)
            }
            if let finished = state.finished { return .finished(finished) }
            return .wait
        }
    }

    func wait() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { state -> Bool in
                    if !state.buffer.isEmpty || state.finished != nil || Task.isCancelled { return true }
                    state.waiter = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
    }
}

/// The reading end of a streaming transfer. Deinitializing it cancels the transfer.
final class CurlStream: Sendable {
    private let transfer: CurlTransfer
    private let sink: StreamSink
    private let loop: CurlLoop

    fileprivate init(transfer: CurlTransfer, sink: StreamSink, loop: CurlLoop) {
        self.transfer = transfer
        self.sink = sink
        self.loop = loop
    }

    deinit { loop.submit(.cancel(transfer)) }

    /// The next bytes of the body; `nil` at its end (with the HTTP status available as `finalStatus`).
    /// Throws ``CurlError`` when the transfer fails. Returns `nil` when the task is cancelled.
    func read() async throws -> [UInt8]? {
        while true {
            switch sink.take() {
            case .bytes(let bytes, let resume):
                if resume { loop.submit(.resume(transfer)) }
                return bytes
            case .finished(let result):
                _ = try result.get()
                return nil
            case .wait:
                if Task.isCancelled { return nil }
                await sink.wait()
                if Task.isCancelled { return nil }
            }
        }
    }
}

/// One transfer and what it needs while it runs.
///
/// `@unchecked Sendable`: the handle and error buffer are used only on the loop thread (configured,
/// added, paused, removed and recycled there); other threads only pass the reference around inside
/// loop commands. The sink is itself Sendable.
final class CurlTransfer: @unchecked Sendable {
    let request: HTTPRequest
    let sink: any CurlSink
    let isStream: Bool
    var easy: UnsafeMutableRawPointer?
    let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
    var cancelled = false
    var done = false

    init(request: HTTPRequest, sink: any CurlSink) {
        self.request = request
        self.sink = sink
        isStream = sink is StreamSink
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    }

    deinit {
        if let easy { curl_easy_cleanup(easy) }
        errorBuffer.deallocate()
    }

    var errorMessage: String { String(cString: errorBuffer) }
}

/// The multi handle and its thread's state.
///
/// `@unchecked Sendable`: `multi`, `active`, the handle pool and the header lists are touched only by
/// the loop thread (`run()` and the functions it calls); the command queue is a Mutex, and
/// `curl_multi_wakeup` is thread-safe.
///
/// Per request the loop avoids what it can: easy handles are recycled (`curl_easy_reset`, not
/// `curl_easy_init`), header lists are built once per distinct header set, and a submitter wakes
/// the loop only when it is asleep in `curl_multi_poll`.
final class CurlLoop: @unchecked Sendable {
    enum Command {
        case add(CurlTransfer)
        case resume(CurlTransfer)
        case cancel(CurlTransfer)
        case shutdown
    }

    private struct Queue {
        var commands: [Command] = []
        /// The loop is (about to be) blocked in `curl_multi_poll` and needs a wake-up for new commands.
        var sleeping = false
    }

    private let multi: UnsafeMutableRawPointer
    private let queue = Mutex(Queue())
    private var active: [UInt: CurlTransfer] = [:]
    private var idleHandles: [UnsafeMutableRawPointer] = []
    private var headerLists: [[String]: UnsafeMutablePointer<curl_slist>] = [:]
    private let tls: CurlTLS
    private let connectTimeout: Duration
    private static let idleHandleLimit = 64
    private static let connectionCacheLimit = 256
    private static let headerListLimit = 16

    init(tls: CurlTLS, connectTimeout: Duration) {
        self.tls = tls
        self.connectTimeout = connectTimeout
        multi = curl_multi_init()
        // Keep idle connections for reuse. By default the cache holds 4 connections per easy handle
        // *currently added*; handles leave the multi when their transfer ends, so the limit shrank
        // between bursts and connections were closed and made again (2% of requests at 16 callers).
        canal_curl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, Self.connectionCacheLimit)
    }

    func submit(_ command: Command) {
        let wake = queue.withLock { queue in
            queue.commands.append(command)
            defer { queue.sleeping = false }
            return queue.sleeping
        }
        if wake { curl_multi_wakeup(multi) }
    }

    func run() {
        var running: Int32 = 0
        var commands: [Command] = []
        var spinDeadline = ContinuousClock.now
        loop: while true {
            queue.withLock { queue in swap(&commands, &queue.commands) }
            for command in commands {
                switch command {
                case .add(let transfer): add(transfer)
                case .resume(let transfer):
                    if let easy = transfer.easy, !transfer.done { curl_easy_pause(easy, canal_curl_pause_cont()) }
                case .cancel(let transfer):
                    transfer.cancelled = true
                    finish(transfer, .failure(CancellationError()))
                case .shutdown: break loop
                }
            }
            commands.removeAll(keepingCapacity: true)
            curl_multi_perform(multi, &running)
            var queued: Int32 = 0
            while let message = curl_multi_info_read(multi, &queued) {
                guard canal_curl_msg_is_done(message) != 0, let easy = message.pointee.easy_handle,
                    let transfer = active[UInt(bitPattern: easy)]
                else { continue }
                let code = canal_curl_msg_result(message)
                completed += 1
                if code == CURLE_OK {
                    var status = 0
                    canal_curl_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
                    finish(transfer, .success(status))
                } else {
                    finish(transfer, .failure(CurlError(code: code, message: transfer.errorMessage)))
                }
            }
            if completed > 0 {
                completed = 0
                spinDeadline = ContinuousClock.now + Self.spin
            }
            if spinForCommand(until: spinDeadline) { continue }
            let idle = queue.withLock { queue in
                queue.sleeping = queue.commands.isEmpty
                return queue.sleeping
            }
            if idle { curl_multi_poll(multi, nil, 0, 1000, nil) }
            queue.withLock { $0.sleeping = false }
        }
        for transfer in Array(active.values) { finish(transfer, .failure(CancellationError())) }
        for command in queue.withLock({ queue in defer { queue.commands = [] }; return queue.commands }) {
            if case .add(let transfer) = command { finish(transfer, .failure(CancellationError())) }
        }
        for easy in idleHandles { curl_easy_cleanup(easy) }
        idleHandles = []
        curl_multi_cleanup(multi)
        for list in headerLists.values { curl_slist_free_all(list) }
        headerLists = [:]
    }

    /// How long the loop keeps checking for a new command after it completed a transfer before it
    /// blocks in `curl_multi_poll`. A caller that just got its answer usually sends its next request
    /// within microseconds; catching it here saves the wake-up through `curl_multi_wakeup`, which
    /// on a busy machine can cost more than the request itself. Yields the CPU while it waits.
    private static let spin = Duration.microseconds(50)
    private var completed = 0

    private func spinForCommand(until deadline: ContinuousClock.Instant) -> Bool {
        while ContinuousClock.now < deadline {
            if queue.withLock({ !$0.commands.isEmpty }) { return true }
            sched_yield()
        }
        return false
    }

    private func headerList(_ headers: [String]) -> UnsafeMutablePointer<curl_slist>? {
        if let list = headerLists[headers] { return list }
        var list: UnsafeMutablePointer<curl_slist>?
        for header in headers { list = curl_slist_append(list, header) }
        // Header sets change only when an auth token does; keep the cache small. A list may still
        // be in use by a running transfer, so evicted lists are dropped only when nothing runs.
        if headerLists.count >= Self.headerListLimit, active.isEmpty {
            for old in headerLists.values { curl_slist_free_all(old) }
            headerLists = [:]
        }
        if let list { headerLists[headers] = list }
        return list
    }

    private func add(_ transfer: CurlTransfer) {
        guard !transfer.cancelled, !transfer.done else {
            finish(transfer, .failure(CancellationError()))
            return
        }
        guard let easy = idleHandles.popLast() ?? curl_easy_init() else {
            finish(transfer, .failure(CurlError(code: CURLE_OUT_OF_MEMORY, message: "curl_easy_init failed")))
            return
        }
        transfer.easy = easy
        let request = transfer.request
        _ = request.url.withCString { canal_curl_easy_setopt_ptr(easy, CURLOPT_URL, $0) }
        canal_curl_easy_setopt_long(easy, CURLOPT_POST, 1)
        canal_curl_easy_setopt_off_t(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.count))
        _ = request.body.withUnsafeBytes { canal_curl_easy_setopt_ptr(easy, CURLOPT_COPYPOSTFIELDS, $0.baseAddress ?? UnsafeRawPointer(transfer.errorBuffer)) }
        canal_curl_easy_setopt_ptr(easy, CURLOPT_HTTPHEADER, headerList(request.headers))
        canal_curl_easy_setopt_ptr(easy, CURLOPT_ERRORBUFFER, transfer.errorBuffer)
        canal_curl_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1)
        canal_curl_easy_setopt_long(easy, CURLOPT_TCP_NODELAY, 1)
        canal_curl_easy_setopt_long(easy, CURLOPT_TCP_KEEPALIVE, 1)
        canal_curl_easy_setopt_long(easy, CURLOPT_TCP_KEEPIDLE, 10)
        canal_curl_easy_setopt_long(easy, CURLOPT_TCP_KEEPINTVL, 5)
        canal_curl_easy_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, Self.milliseconds(connectTimeout))
        if let timeout = request.timeout {
            canal_curl_easy_setopt_long(easy, CURLOPT_TIMEOUT_MS, Self.milliseconds(timeout))
        }
        if let ca = tls.caFile { _ = ca.withCString { canal_curl_easy_setopt_ptr(easy, CURLOPT_CAINFO, $0) } }
        if let cert = tls.certFile { _ = cert.withCString { canal_curl_easy_setopt_ptr(easy, CURLOPT_SSLCERT, $0) } }
        if let key = tls.keyFile { _ = key.withCString { canal_curl_easy_setopt_ptr(easy, CURLOPT_SSLKEY, $0) } }
        canal_curl_easy_setopt_write_function(easy, curlWriteCallback)
        canal_curl_easy_setopt_ptr(easy, CURLOPT_WRITEDATA, Unmanaged.passUnretained(transfer).toOpaque())
        active[UInt(bitPattern: easy)] = transfer
        curl_multi_add_handle(multi, easy)
    }

    private func finish(_ transfer: CurlTransfer, _ result: Result<Int, any Error>) {
        guard !transfer.done else { return }
        transfer.done = true
        if let easy = transfer.easy {
            curl_multi_remove_handle(multi, easy)
            active.removeValue(forKey: UInt(bitPattern: easy))
            transfer.easy = nil
            // Recycle the handle: reset drops every option (and so every pointer into the transfer).
            if idleHandles.count < Self.idleHandleLimit {
                curl_easy_reset(easy)
                idleHandles.append(easy)
            } else {
                curl_easy_cleanup(easy)
            }
        }
        transfer.sink.complete(result)
    }

    private static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return max(1, Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000))
    }
}

/// The write callback: hands each chunk to the transfer's sink, pausing the transfer when it declines.
private let curlWriteCallback: curl_write_callback = { pointer, size, count, userData in
    guard let userData else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(userData).takeUnretainedValue()
    let length = size * count
    if transfer.sink.receive(UnsafeRawBufferPointer(start: pointer, count: length)) { return length }
    return transfer.isStream ? canal_curl_writefunc_pause() : 0
}
