import Synchronization

/// A clock that moves only when a test advances it, for lease expiry and other timeouts.
///
/// Sleepers wake when ``advance(by:)`` moves the clock past their deadline.
public final class ManualClock: Clock, Sendable {
    /// An instant of a ``ManualClock``: a duration since the clock's start.
    public struct Instant: InstantProtocol, Sendable, Hashable {
        /// Time since the clock's start.
        public var offset: Duration
        /// Creates an instant.
        public init(offset: Duration) { self.offset = offset }
        public func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        public func duration(to other: Instant) -> Duration { other.offset - offset }
        public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    private struct State {
        var now = Instant(offset: .zero)
        var sleepers: [(deadline: Instant, continuation: CheckedContinuation<Void, Never>)] = []
    }
    private let state = Mutex(State())

    /// Creates a clock at offset zero.
    public init() {}

    /// The current instant.
    public var now: Instant { state.withLock { $0.now } }
    /// The smallest step a sleeper can observe.
    public var minimumResolution: Duration { .nanoseconds(1) }

    /// Moves the clock forward and wakes the sleepers whose deadline has passed.
    public func advance(by duration: Duration) {
        let due = state.withLock { state in
            state.now = state.now.advanced(by: duration)
            let now = state.now
            let due = state.sleepers.filter { $0.deadline <= now }
            state.sleepers.removeAll { $0.deadline <= now }
            return due.map(\.continuation)
        }
        for continuation in due { continuation.resume() }
    }

    /// Sleeps until the clock is advanced past `deadline` (cancellation is checked afterwards).
    public func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Bool in
                if deadline <= state.now { return true }
                state.sleepers.append((deadline, continuation))
                return false
            }
            if ready { continuation.resume() }
        }
        try Task.checkCancellation()
    }
}
