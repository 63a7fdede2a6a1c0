import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// Waits for POSIX signals with dispatch sources (the default action is disabled while waiting).
enum Signals {
    /// Returns the first of `signals` delivered to the process; returns early (with 0) when the
    /// calling task is cancelled.
    static func next(_ signals: [Int32]) async -> Int32 {
        let queue = DispatchQueue(label: "canal-agent.signals")
        let state = SignalWait()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Int32, Never>) in
                var sources: [any DispatchSourceSignal] = []
                for number in signals {
                    signal(number, SIG_IGN)
                    let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
                    source.setEventHandler { state.finish(number) }
                    source.resume()
                    sources.append(source)
                }
                state.start(continuation, sources: sources)
            }
        } onCancel: {
            state.finish(0)
        }
    }
}

import Synchronization

/// The continuation of one ``Signals/next(_:)`` call, resumed once.
private final class SignalWait: Sendable {
    private struct State: @unchecked Sendable {
        // Dispatch sources are thread-safe to cancel; they are only touched under the lock.
        var continuation: CheckedContinuation<Int32, Never>?
        var sources: [any DispatchSourceSignal] = []
        var result: Int32?
    }
    private let state = Mutex(State())

    func start(_ continuation: CheckedContinuation<Int32, Never>, sources: [any DispatchSourceSignal]) {
        let early = state.withLock { s -> Int32? in
            s.sources = sources
            if let result = s.result { return result }
            s.continuation = continuation
            return nil
        }
        if let early {
            for source in sources { source.cancel() }
            continuation.resume(returning: early)
        }
    }

    func finish(_ number: Int32) {
        let (continuation, sources) = state.withLock { s -> (CheckedContinuation<Int32, Never>?, [any DispatchSourceSignal]) in
            guard s.result == nil else { return (nil, []) }
            s.result = number
            defer { s.continuation = nil; s.sources = [] }
            return (s.continuation, s.sources)
        }
        for source in sources { source.cancel() }
        continuation?.resume(returning: number)
    }
}
