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
/// Every client shares the process's one ``CurlLoop``: a multi handle whose connection cache
/// gives connection reuse. The caller's thread starts its own transfer (so the request leaves at
/// once, without a hand-off); the loop's thread waits for responses and completes them.
final class CurlClient: Sendable {
    private let tls: CurlTLS
    private let connectTimeout: Duration

    init(tls: CurlTLS, connectTimeout: Duration) {
        self.tls = tls
        self.connectTimeout = connectTimeout
    }

    /// The loop's thread as a task executor.
    var executor: any TaskExecutor { CurlLoop.shared }

    /// Performs a request and returns the whole response. Throws ``CurlError`` or `CancellationError`.
    func perform(_ request: HTTPRequest) async throws -> HTTPResponse {
        let sink = BufferSink()
        let transfer = CurlTransfer(request: request, sink: sink, tls: tls, connectTimeout: connectTimeout)
        let loop = CurlLoop.shared
        return try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { continuation in
                sink.setContinuation(continuation)
                loop.start(transfer)
            }
        } onCancel: {
            loop.cancel(transfer)
        }
    }

    /// Starts a streaming request; read its body with ``CurlStream/read()``.
    func stream(_ request: HTTPRequest, highWatermark: Int, statistics: StreamStatistics = StreamStatistics()) -> CurlStream {
        let sink = StreamSink(highWatermark: highWatermark, statistics: statistics)
        let transfer = CurlTransfer(request: request, sink: sink, tls: tls, connectTimeout: connectTimeout)
        let stream = CurlStream(transfer: transfer, sink: sink, loop: CurlLoop.shared)
        CurlLoop.shared.start(transfer)
        return stream
    }
}

private let curlGlobalInit: Void = { _ = curl_global_init(canal_curl_global_all()) }()

/// Receives a transfer's body (under the loop's lock, on whichever thread let curl read) and its completion.
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
        /// The outcome, when the transfer ended before the continuation was set (a cancellation).
        var result: Result<HTTPResponse, any Error>?
    }
    private let state = Mutex(State())
    private static let limit = 256 << 20

    func setContinuation(_ continuation: UnsafeContinuation<HTTPResponse, any Error>) {
        let early = state.withLock { state in
            if state.result == nil { state.continuation = continuation }
            return state.result
        }
        if let early { continuation.resume(with: early) }
    }

    func receive(_ bytes: UnsafeRawBufferPointer) -> Bool {
        state.withLock { state in
            guard state.body.count + bytes.count <= Self.limit else { return false }
            state.body.append(contentsOf: bytes)
            return true
        }
    }

    func complete(_ result: Result<Int, any Error>) {
        let (continuation, response) = state.withLock { state in
            defer { state.continuation = nil }
            let response = result.map { HTTPResponse(status: $0, body: state.body) }
            if state.continuation == nil { state.result = response }
            return (state.continuation, response)
        }
        continuation?.resume(with: response)
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

    deinit { loop.cancel(transfer) }

    /// The next bytes of the body; `nil` at its end (with the HTTP status available as `finalStatus`).
    /// Throws ``CurlError`` when the transfer fails. Returns `nil` when the task is cancelled.
    func read() async throws -> [UInt8]? {
        while true {
            switch sink.take() {
            case .bytes(let bytes, let resume):
                if resume { loop.resume(transfer) }
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
/// `@unchecked Sendable`: the handle, the error buffer and the flags are used only while holding the
/// loop's lock (configured, added, paused, removed and recycled under it). The sink is itself Sendable.
final class CurlTransfer: @unchecked Sendable {
    let request: HTTPRequest
    let sink: any CurlSink
    let tls: CurlTLS
    let connectTimeout: Duration
    let isStream: Bool
    var easy: UnsafeMutableRawPointer?
    let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
    var cancelled = false
    var done = false

    init(request: HTTPRequest, sink: any CurlSink, tls: CurlTLS, connectTimeout: Duration) {
        self.request = request
        self.sink = sink
        self.tls = tls
        self.connectTimeout = connectTimeout
        isStream = sink is StreamSink
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    }

    deinit {
        if let easy { curl_easy_cleanup(easy) }
        errorBuffer.deallocate()
    }

    var errorMessage: String { String(cString: errorBuffer) }
}

/// The process's multi handle, and the thread that waits on its sockets.
///
/// A transfer is started and cancelled on the caller's thread, under `lock`: the request goes out
/// during `start` (`curl_multi_socket_action`), with no hand-off to another thread. A caller that
/// finds the lock taken does not wait: it leaves its command, and the holder runs it right after
/// releasing the lock. The loop's thread sleeps in `epoll_wait` on the sockets curl asks to watch
/// (the socket callback registers them), on a timerfd for curl's timer and on an eventfd for
/// wake-ups; when something is ready it takes the lock, lets curl read, and completes the
/// transfers that ended. Completions (continuation resumes) run after the lock is released.
///
/// The loop is also a `TaskExecutor`: a task that prefers it runs on the loop's thread between
/// rounds of I/O, so its requests and their answers need no thread hop at all. Such tasks must not
/// block or compute for long: every transfer of the process waits while they run.
///
/// `@unchecked Sendable`: `multi` and everything below `lock` are touched only while holding
/// `lock` (curl's callbacks run inside curl calls made under it); the job queue is its own Mutex;
/// the file descriptors are fixed at init.
final class CurlLoop: @unchecked Sendable, TaskExecutor {
    static let shared: CurlLoop = {
        curlGlobalInit
        let loop = CurlLoop()
        let thread = Thread { loop.run() }
        thread.name = "canal-curl"
        thread.start()
        return loop
    }()

    private let multi: UnsafeMutableRawPointer
    private let epoll: Int32
    private let wakeFD: Int32
    private let timerFD: Int32
    private let lock = Mutex(())

    // Guarded by `lock`.
    private var active: [UInt: CurlTransfer] = [:]
    private var idleHandles: [UnsafeMutableRawPointer] = []
    private var headerLists: [[String]: UnsafeMutablePointer<curl_slist>] = [:]
    /// The epoll events registered per socket. A socket curl stops watching (an idle connection back
    /// in the cache) stays registered, to save two `epoll_ctl` per request; an event on it removes it.
    private var registered: [Int32: UInt32] = [:]
    /// The sockets curl currently wants watched.
    private var watched: Set<Int32> = []
    /// curl's timer: when it wants `curl_multi_socket_action(CURL_SOCKET_TIMEOUT)` (monotonic ns).
    private var timerDeadline: Int64?
    /// When the timerfd fires; it may fire early (curl then sets its timer again), never late.
    private var armedDeadline: Int64?
    private typealias Ended = (any CurlSink, Result<Int, any Error>)
    private var finished: [Ended] = []
    /// Commands of callers that found the lock taken (its own Mutex: never held with `lock` waited for).
    private let pending = Mutex<[Command]>([])

    private struct Jobs {
        var jobs: [UnownedJob] = []
        /// The loop is (about to be) asleep in `epoll_wait` and needs the eventfd to see new jobs.
        var sleeping = false
    }
    private let jobs = Mutex(Jobs())

    private static let idleHandleLimit = 64
    private static let connectionCacheLimit = 256
    private static let headerListLimit = 16
    private static let eventsPerWait = 64

    private init() {
        multi = curl_multi_init()
        epoll = canal_epoll_create()
        wakeFD = canal_eventfd()
        timerFD = canal_timerfd()
        _ = canal_epoll_set(epoll, wakeFD, 0, canal_epoll_in())
        _ = canal_epoll_set(epoll, timerFD, 0, canal_epoll_in())
        // Keep idle connections for reuse. By default the cache holds 4 connections per easy handle
        // *currently added*; handles leave the multi when their transfer ends, so the limit shrank
        // between bursts and connections were closed and made again (2% of requests at 16 callers).
        canal_curl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, Self.connectionCacheLimit)
        let me = Unmanaged.passUnretained(self).toOpaque()
        canal_curl_multi_setopt_socket_function(multi, curlSocketCallback)
        canal_curl_multi_setopt_ptr(multi, CURLMOPT_SOCKETDATA, me)
        canal_curl_multi_setopt_timer_function(multi, curlTimerCallback)
        canal_curl_multi_setopt_ptr(multi, CURLMOPT_TIMERDATA, me)
    }

    // MARK: Called from any thread

    /// Starts `transfer` (its request is sent before this returns, when a connection is at hand).
    func start(_ transfer: CurlTransfer) { submit(.start(transfer)) }

    /// Ends `transfer` with `CancellationError` unless it has ended already.
    func cancel(_ transfer: CurlTransfer) { submit(.cancel(transfer)) }

    /// Resumes a paused stream (its reader made room).
    func resume(_ transfer: CurlTransfer) { submit(.resume(transfer)) }

    /// What a caller asks of the multi handle.
    private enum Command {
        case start(CurlTransfer)
        case cancel(CurlTransfer)
        case resume(CurlTransfer)
    }

    /// Runs `command` now if the lock is free; otherwise leaves it for the lock's holder, who runs
    /// it right after releasing the lock (a caller never waits for the loop's round of reading).
    private func submit(_ command: Command) {
        let ran = lock.withLockIfAvailable { _ -> [Ended] in
            execute(command)
            return settle()
        }
        if let ran {
            complete(ran)
        } else {
            pending.withLock { $0.append(command) }
        }
        drainPending()
    }

    /// Runs the commands left by callers that found the lock taken. Every holder calls it after
    /// releasing the lock, and so does a caller after leaving a command: when taking the lock
    /// fails here, its holder has not released it yet and will find the command itself.
    private func drainPending() {
        while pending.withLock({ !$0.isEmpty }) {
            guard
                let ran = lock.withLockIfAvailable({ _ -> [Ended] in
                    for command in pending.withLock({ queue in defer { queue = [] }; return queue }) {
                        execute(command)
                    }
                    return settle()
                })
            else { return }
            complete(ran)
        }
    }

    /// Under the lock.
    private func execute(_ command: Command) {
        switch command {
        case .start(let transfer):
            if transfer.cancelled || transfer.done {
                finish(transfer, .failure(CancellationError()))
            } else {
                add(transfer)
                socketAction(canal_curl_socket_timeout(), 0)
            }
        case .cancel(let transfer):
            transfer.cancelled = true
            finish(transfer, .failure(CancellationError()))
        case .resume(let transfer):
            if let easy = transfer.easy, !transfer.done { curl_easy_pause(easy, canal_curl_pause_cont()) }
        }
    }

    private func complete(_ ended: [Ended]) {
        for (sink, result) in ended { sink.complete(result) }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let wake = jobs.withLock { queue in
            queue.jobs.append(job)
            defer { queue.sleeping = false }
            return queue.sleeping
        }
        if wake { canal_eventfd_signal(wakeFD) }
    }

    /// Runs `body` under the lock (waiting for it), then lets curl act on an expired timer, completes
    /// the transfers that ended (after releasing the lock) and runs commands left meanwhile.
    private func withMulti(_ body: () -> Void) {
        let ended = lock.withLock { _ -> [Ended] in
            body()
            return settle()
        }
        complete(ended)
        drainPending()
    }

    // MARK: The loop's thread

    private func run() {
        let executor = asUnownedTaskExecutor()
        var fds = [Int32](repeating: 0, count: Self.eventsPerWait)
        var flags = [Int32](repeating: 0, count: Self.eventsPerWait)
        var ran: [UnownedJob] = []
        while true {
            jobs.withLock { queue in
                swap(&ran, &queue.jobs)
                queue.sleeping = ran.isEmpty
            }
            for job in ran { job.runSynchronously(on: executor) }
            // After running jobs, only look (their requests are out; answers may already be in).
            let count = Int(canal_epoll_wait(epoll, &fds, &flags, Int32(Self.eventsPerWait), ran.isEmpty ? -1 : 0))
            ran.removeAll(keepingCapacity: true)
            jobs.withLock { $0.sleeping = false }
            guard count > 0 else { continue }
            withMulti {
                for index in 0..<count {
                    let fd = fds[index]
                    if fd == wakeFD {
                        canal_fd_drain(wakeFD)
                    } else if fd == timerFD {
                        canal_fd_drain(timerFD)
                        armedDeadline = nil
                        socketAction(canal_curl_socket_timeout(), 0)
                    } else if !watched.contains(fd) {
                        // An idle connection (closed by the server, or data nobody asked for): stop
                        // watching it; curl notices when it next takes the connection from its cache.
                        _ = canal_epoll_set(epoll, fd, 1, 0)
                        registered[fd] = nil
                    } else {
                        socketAction(fd, flags[index])
                    }
                }
            }
        }
    }

    // MARK: Under the lock

    private func socketAction(_ fd: Int32, _ flags: Int32) {
        var running: Int32 = 0
        curl_multi_socket_action(multi, fd, flags, &running)
    }

    /// Acts on curl's timer when it has expired (curl asks for 0 right after a handle is added),
    /// arms the timerfd, and returns the ended transfers (to complete once the lock is released).
    private func settle() -> [Ended] {
        var rounds = 0
        while let deadline = timerDeadline, deadline <= canal_monotonic_nanos(), rounds < 8 {
            timerDeadline = nil
            socketAction(canal_curl_socket_timeout(), 0)
            rounds += 1
        }
        var queued: Int32 = 0
        while let message = curl_multi_info_read(multi, &queued) {
            guard canal_curl_msg_is_done(message) != 0, let easy = message.pointee.easy_handle,
                let transfer = active[UInt(bitPattern: easy)]
            else { continue }
            let code = canal_curl_msg_result(message)
            if code == CURLE_OK {
                var status = 0
                canal_curl_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
                finish(transfer, .success(status))
            } else {
                finish(transfer, .failure(CurlError(code: code, message: transfer.errorMessage)))
            }
        }
        if let deadline = timerDeadline, armedDeadline.map({ $0 > deadline }) ?? true {
            canal_timerfd_arm(timerFD, deadline)
            armedDeadline = deadline
        }
        defer { finished = [] }
        return finished
    }

    /// curl's socket callback: watch `fd` for `what` (CURL_POLL_*).
    fileprivate func watch(_ fd: Int32, _ what: Int32) {
        var events: UInt32 = 0
        if what == CURL_POLL_IN || what == CURL_POLL_INOUT { events |= canal_epoll_in() }
        if what == CURL_POLL_OUT || what == CURL_POLL_INOUT { events |= canal_epoll_out() }
        if what == CURL_POLL_REMOVE {
            watched.remove(fd)
            return
        }
        watched.insert(fd)
        let current = registered[fd]
        if current != events {
            _ = canal_epoll_set(epoll, fd, current == nil ? 0 : 1, events)
            registered[fd] = events
        }
    }

    /// curl's timer callback: `-1` stops the timer, otherwise it should fire in `milliseconds`.
    fileprivate func setTimer(_ milliseconds: Int) {
        timerDeadline = milliseconds < 0 ? nil : canal_monotonic_nanos() + Int64(milliseconds) * 1_000_000
    }

    /// curl's close-socket callback: forget the socket before its descriptor can be reused.
    fileprivate func closing(_ fd: Int32) {
        if registered.removeValue(forKey: fd) != nil { _ = canal_epoll_set(epoll, fd, 1, 0) }
        watched.remove(fd)
        close(fd)
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
        canal_curl_easy_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, Self.milliseconds(transfer.connectTimeout))
        if let timeout = request.timeout {
            canal_curl_easy_setopt_long(easy, CURLOPT_TIMEOUT_MS, Self.milliseconds(timeout))
        }
        let tls = transfer.tls
        if let ca = tls.caFile { _ = ca.withCString { canal_curl_easy_setopt_ptr(easy, CURLOPT_CAINFO, $0) } }
        if let cert = tls.certFile { _ = cert.withCString { canal_curl_easy_setopt_ptr(easy, CURLOPT_SSLCERT, $0) } }
        if let key = tls.keyFile { _ = key.withCString { canal_curl_easy_setopt_ptr(easy, CURLOPT_SSLKEY, $0) } }
        canal_curl_easy_setopt_write_function(easy, curlWriteCallback)
        canal_curl_easy_setopt_ptr(easy, CURLOPT_WRITEDATA, Unmanaged.passUnretained(transfer).toOpaque())
        canal_curl_easy_setopt_closesocket_function(easy, curlCloseSocketCallback)
        canal_curl_easy_setopt_ptr(easy, CURLOPT_CLOSESOCKETDATA, Unmanaged.passUnretained(self).toOpaque())
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
        finished.append((transfer.sink, result))
    }

    private static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return max(1, Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000))
    }
}

private let curlSocketCallback: curl_socket_callback = { _, fd, what, loop, _ in
    guard let loop else { return 0 }
    Unmanaged<CurlLoop>.fromOpaque(loop).takeUnretainedValue().watch(fd, what)
    return 0
}

private let curlTimerCallback: curl_multi_timer_callback = { _, milliseconds, loop in
    guard let loop else { return 0 }
    Unmanaged<CurlLoop>.fromOpaque(loop).takeUnretainedValue().setTimer(milliseconds)
    return 0
}

private let curlCloseSocketCallback: curl_closesocket_callback = { loop, fd in
    guard let loop else { return close(fd) }
    Unmanaged<CurlLoop>.fromOpaque(loop).takeUnretainedValue().closing(fd)
    return 0
}

/// The write callback: hands each chunk to the transfer's sink, pausing the transfer when it declines.
private let curlWriteCallback: curl_write_callback = { pointer, size, count, userData in
    guard let userData else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(userData).takeUnretainedValue()
    let length = size * count
    if transfer.sink.receive(UnsafeRawBufferPointer(start: pointer, count: length)) { return length }
    return transfer.isStream ? canal_curl_writefunc_pause() : 0
}
