import Foundation

/// A watch on etcd (`POST /v3/watch`, a stream of newline-separated JSON frames).
///
/// Backpressure: the HTTP layer buffers at most ``EtcdConfiguration/watchBufferLimit`` bytes and
/// pauses the transfer above that until the reader drains it; the iterator decodes only what it has
/// taken. When the connection drops (etcd restarted, endpoint down), the iterator reconnects —
/// to the next endpoint, with backoff — and resumes from the revision after the last event it
/// delivered, so no event is lost or repeated; after ``EtcdConfiguration/watchReconnectTimeout`` of
/// failures it throws `unavailable`. When etcd cancels the watch because its start revision is
/// compacted, it throws `compacted` with the compaction revision.
public struct EtcdWatch: AsyncSequence, Sendable {
    /// Events.
    public typealias Element = WatchEvent
    /// Failures are ``DatastoreError``s.
    public typealias Failure = any Error

    let store: EtcdKeyValueStore
    let prefix: [UInt8]
    let start: Revision?

    /// Creates an iterator; it connects on the first `next()`.
    public func makeAsyncIterator() -> Iterator {
        Iterator(store: store, prefix: prefix, nextRevision: start)
    }

    /// Iterates a watch; returns `nil` once the task is cancelled.
    public struct Iterator: AsyncIteratorProtocol {
        let store: EtcdKeyValueStore
        let prefix: [UInt8]
        /// The revision to resume from after a reconnect: one past the last delivered event.
        var nextRevision: Revision?
        var stream: CurlStream?
        var lines: [UInt8] = []
        /// How much of ``lines`` is known to hold no newline (a long frame arrives in many chunks).
        var scanned = 0
        var pending: [WatchEvent] = []
        var pendingIndex = 0
        var attempt = 0
        var failingSince: ContinuousClock.Instant?
        var lastFailure: (any Error)?
        /// The revision of the last decoded event and how many of its events were decoded.
        var openRevision: Revision?
        var openCount = 0
        /// The last frame was a fragment: ``openRevision`` may have more events.
        var fragmentOpen = false
        /// Events at ``nextRevision`` to skip after a reconnect (delivered before it, in a fragment).
        var skipAtResume = 0
        /// Re-authentications since the last established stream (two are allowed, as for requests).
        var reauthentications = 0
        /// A failure to wait out (with backoff) before the next connection attempt.
        var backoffCause: DatastoreError?
        /// The auth headers the current stream was opened with.
        var headers: [String]?
        /// Backpressure counters shared by the streams of this iterator.
        package let statistics = StreamStatistics()

        init(store: EtcdKeyValueStore, prefix: [UInt8], nextRevision: Revision?) {
            self.store = store
            self.prefix = prefix
            self.nextRevision = nextRevision
        }

        /// The next event.
        public mutating func next() async throws -> WatchEvent? {
            while pendingIndex == pending.count {
                if Task.isCancelled { return nil }
                pending = []
                pendingIndex = 0
                if let cause = backoffCause {
                    backoffCause = nil
                    try await dropConnection(cause)
                }
                if stream == nil { try await connect() }
                guard let stream else { continue }
                let chunk: [UInt8]?
                do {
                    chunk = try await stream.read()
                } catch {
                    try await dropConnection(error)
                    continue
                }
                guard let chunk else {
                    if Task.isCancelled { return nil }
                    try await dropConnection(DatastoreError(.unavailable, "etcd closed the watch stream"))
                    continue
                }
                lines.append(contentsOf: chunk)
                try decodeFrames()
            }
            defer { pendingIndex += 1 }
            return pending[pendingIndex]
        }

        private mutating func connect() async throws {
            let endpoints = store.configuration.endpoints
            guard !endpoints.isEmpty else { throw DatastoreError(.invalidArgument, "no etcd endpoints configured") }
            let headers: [String]
            do {
                headers = try await store.requestHeaders()
                if nextRevision == nil {
                    // Pin the start before the watch exists: the changes after the store's current
                    // revision. Were it pinned only by the `created` reply, a connection lost before
                    // that reply would restart "from now" and silently skip what happened between.
                    nextRevision = try await store.currentRevision().next
                }
            } catch let error as DatastoreError where error.code == .unavailable || error.code == .timeout {
                try await dropConnection(error)
                return
            }
            // Resuming inside a fragmented revision: etcd replays it whole, so skip what was delivered.
            skipAtResume = fragmentOpen && openRevision == nextRevision ? openCount : 0
            let url = EtcdKeyValueStore.join(endpoints[attempt % endpoints.count], "/v3/watch")
            lines = []
            scanned = 0
            self.headers = headers
            stream = store.client.stream(
                HTTPRequest(
                    url: url, body: WireRequest.watchCreate(prefix: prefix, startRevision: nextRevision),
                    headers: headers, timeout: nil),
                highWatermark: store.configuration.watchBufferLimit, statistics: statistics)
        }

        /// Forgets the connection and waits before the next attempt; throws `unavailable` once the
        /// reconnect budget is spent.
        private mutating func dropConnection(_ error: any Error) async throws {
            stream = nil
            lines = []
            scanned = 0
            attempt += 1
            let now = ContinuousClock.now
            let since = failingSince ?? now
            failingSince = since
            lastFailure = error
            if now - since > store.configuration.watchReconnectTimeout {
                throw DatastoreError(
                    .unavailable, "the watch could not reconnect to etcd", key: prefix,
                    cause: (error as? DatastoreError)?.cause ?? error)
            }
            let delay = Swift.min(Duration.milliseconds(50) * (1 << Swift.min(attempt - 1, 5)), .seconds(1))
            try? await Task.sleep(for: delay)
        }

        private mutating func decodeFrames() throws {
            var start = 0
            defer {
                if start > 0, !lines.isEmpty { lines.removeSubrange(..<Swift.min(start, lines.count)) }
                scanned = lines.count  // no newline in what is left: search only new bytes next time
            }
            var from = Swift.min(scanned, lines.count)
            while let newline = lines[from...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(lines[start..<newline])
                start = newline + 1
                from = start
                guard !line.allSatisfy({ $0 == 0x20 || $0 == 0x0d }) else { continue }
                let frame: WireWatchFrame
                do {
                    frame = try WireWatchFrame.decode(line)
                } catch {
                    throw DatastoreError(.unavailable, "cannot decode a watch frame from etcd", key: prefix, cause: error)
                }
                if let error = frame.error {
                    let mapped = EtcdKeyValueStore.map(error, status: 200, key: prefix)
                    if mapped.code == .unavailable || mapped.code == .timeout {
                        stream = nil
                        lines = []
                        scanned = 0
                        return
                    }
                    if mapped.code == .unauthorized, let headers { store.forgetToken(headers) }
                    throw mapped
                }
                guard let result = frame.result else { continue }
                if result.canceled {
                    if result.compactRevision > 0 {
                        throw DatastoreError(
                            .compacted, "watch start revision \(nextRevision?.description ?? "?") has been compacted",
                            key: prefix, revision: Revision(result.compactRevision))
                    }
                    let reason = result.cancelReason ?? "no reason given"
                    if reason.contains("invalid auth token") || reason.contains("Unauthenticated") {
                        // The token expired (e.g. while reconnecting): authenticate again and reconnect.
                        if let headers { store.forgetToken(headers) }
                        stream = nil
                        lines = []
                        scanned = 0
                        if reauthentications < 2 {
                            reauthentications += 1
                        } else {
                            // Fresh tokens refused too (etcd just restarted and its auth is not ready,
                            // or a very slow path): retry with backoff within the reconnect budget.
                            backoffCause = DatastoreError(.unauthorized, "etcd refused the watch: \(reason)", key: prefix)
                        }
                        return
                    }
                    if reason.contains("permission denied") {
                        throw DatastoreError(.unauthorized, "etcd refused the watch: \(reason)", key: prefix)
                    }
                    throw DatastoreError(.unavailable, "etcd cancelled the watch: \(reason)", key: prefix)
                }
                if result.created {
                    // The stream is established: reset the failure budget.
                    failingSince = nil
                    attempt = 0
                    reauthentications = 0
                }
                for event in result.events {
                    // After a reconnect in the middle of a fragmented revision, skip what was delivered.
                    if skipAtResume > 0 {
                        if event.revision == nextRevision {
                            skipAtResume -= 1
                            continue
                        }
                        skipAtResume = 0
                    }
                    pending.append(event)
                    if event.revision == openRevision {
                        openCount += 1
                    } else {
                        openRevision = event.revision
                        openCount = 1
                    }
                }
                // A frame that is not a fragment ends on a revision boundary; a fragment may not, so
                // a reconnect then restarts at that revision and skips the events already seen.
                if let open = openRevision {
                    if result.fragment {
                        nextRevision = open
                        fragmentOpen = true
                    } else {
                        fragmentOpen = false
                        nextRevision = open.next
                        openRevision = nil
                        openCount = 0
                    }
                }
            }
        }
    }
}
