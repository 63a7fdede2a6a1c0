import Synchronization

/// A bounded single-producer, single-consumer hand-off of ``SyncBatch``es.
///
/// The producer's `send` suspends while `limit` updates are buffered (a status-only batch counts as
/// one), so a slow consumer slows the syncer's reads instead of growing memory. While the consumer is
/// behind, a batch with the same status as the last buffered one is merged into it (up to
/// `maxBatch` updates), which is how live updates get batched.
final class BatchChannel: Sendable {
    private struct State {
        var buffer: [SyncBatch] = []
        var head = 0
        var buffered = 0
        var consumer: CheckedContinuation<Result<SyncBatch?, any Error>, Never>?
        var producer: CheckedContinuation<Void, Never>?
        var end: Result<Void, any Error>?

        var isEmpty: Bool { head == buffer.count }

        mutating func takeFirst() -> SyncBatch {
            let batch = buffer[head]
            head += 1
            if head == buffer.count {
                buffer.removeAll(keepingCapacity: true)
                head = 0
            }
            buffered -= Swift.max(1, batch.updates.count)
            return batch
        }
    }

    private let state = Mutex(State())
    private let limit: Int
    private let maxBatch: Int

    init(limit: Int, maxBatch: Int) {
        self.limit = max(1, limit)
        self.maxBatch = max(1, maxBatch)
    }

    /// Buffers `batch` (merging it when possible), waiting for room first. Throws `CancellationError`
    /// when the sending task is cancelled while waiting.
    func send(_ batch: SyncBatch) async throws {
        while true {
            try Task.checkCancellation()
            let (sent, consumer): (Bool, (CheckedContinuation<Result<SyncBatch?, any Error>, Never>, SyncBatch)?) =
                state.withLock { state in
                    guard state.end == nil else { return (true, nil) }
                    guard state.buffered < limit || state.isEmpty else { return (false, nil) }
                    if let last = state.buffer.indices.last, last >= state.head, state.buffer[last].status == batch.status,
                        state.buffer[last].updates.count + batch.updates.count <= maxBatch, !batch.updates.isEmpty
                    {
                        state.buffer[last].updates += batch.updates
                    } else {
                        state.buffer.append(batch)
                    }
                    state.buffered += max(1, batch.updates.count)
                    if let waiting = state.consumer {
                        state.consumer = nil
                        return (true, (waiting, state.takeFirst()))
                    }
                    return (true, nil)
                }
            if let (continuation, first) = consumer { continuation.resume(returning: .success(first)) }
            if sent { return }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let now = state.withLock { state -> Bool in
                        if state.buffered < limit || state.isEmpty || state.end != nil || Task.isCancelled { return true }
                        state.producer = continuation
                        return false
                    }
                    if now { continuation.resume() }
                }
            } onCancel: {
                state.withLock { state in defer { state.producer = nil }; return state.producer }?.resume()
            }
        }
    }

    /// The next batch; `nil` when the producer finished (after the buffer drained) or the reading
    /// task is cancelled; throws the producer's error.
    func next() async throws -> SyncBatch? {
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result<SyncBatch?, any Error>, Never>) in
                let (now, producer): (Result<SyncBatch?, any Error>?, CheckedContinuation<Void, Never>?) =
                    state.withLock { state in
                        if !state.isEmpty {
                            let batch = state.takeFirst()
                            defer { state.producer = nil }
                            return (.success(batch), state.producer)
                        }
                        if let end = state.end { return (end.map { nil }, nil) }
                        if Task.isCancelled { return (.success(nil), nil) }
                        state.consumer = continuation
                        return (nil, nil)
                    }
                producer?.resume()
                if let now { continuation.resume(returning: now) }
            }
        } onCancel: {
            state.withLock { state in defer { state.consumer = nil }; return state.consumer }?.resume(returning: .success(nil))
        }
        let batch = try result.get()
        if batch != nil {
            // Room was made: let a waiting producer go on.
            state.withLock { state in defer { state.producer = nil }; return state.producer }?.resume()
        }
        return batch
    }

    /// Ends the channel: the consumer gets what is buffered, then `nil` (or `error`).
    func finish(_ error: (any Error)? = nil) {
        let (consumer, producer) = state.withLock { state in
            if state.end == nil { state.end = error.map { .failure($0) } ?? .success(()) }
            defer {
                state.producer = nil
                if state.isEmpty { state.consumer = nil }
            }
            return (state.isEmpty ? state.consumer : nil, state.producer)
        }
        producer?.resume()
        if let consumer {
            consumer.resume(returning: error.map { .failure($0) } ?? .success(nil))
        }
    }
}
