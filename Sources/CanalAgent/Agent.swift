public import CanalDatastore
import CanalModel
import CanalPolicy
import Foundation
public import Logging
import Synchronization

/// Settings of an ``Agent``.
public struct AgentConfiguration: Sendable {
    /// The node whose endpoints the agent polices (`spec.node` of its endpoints).
    public var node: String
    /// The kernel interface to program.
    public var dataplane: DataplaneKind
    /// How the kernel's tools are run (the agent starts no process itself).
    public var tools: any KernelTools
    /// Sync once, apply, and return (instead of following the datastore).
    public var once: Bool
    /// How often the kernel is read back and repaired even when nothing changed.
    public var refreshInterval: Duration
    /// How long after the last of a run of writes the kernel is read back to check them (Felix's
    /// post-write check); each write pushes the check back.
    public var postWriteCheckDelay: Duration
    /// Whether ``ApplyReport/fullBytes`` is measured (renders the full state after each write).
    public var reportsFullSize: Bool
    /// Where to write the health status (JSON), if anywhere.
    public var healthFile: String?
    /// The first wait after a failed apply; doubled after each further failure.
    public var minimumRetryInterval: Duration
    /// The longest wait between retries.
    public var maximumRetryInterval: Duration
    /// Called after every successful dataplane sync (for measurements).
    public var onApply: (@Sendable (ApplyReport) -> Void)?

    /// A configuration for `node` programming the kernel through `tools`; other settings have
    /// working defaults.
    public init(
        node: String, dataplane: DataplaneKind = .iptables, tools: any KernelTools,
        once: Bool = false, refreshInterval: Duration = .seconds(90), postWriteCheckDelay: Duration = .seconds(5),
        reportsFullSize: Bool = false, healthFile: String? = nil,
        minimumRetryInterval: Duration = .milliseconds(200), maximumRetryInterval: Duration = .seconds(30),
        onApply: (@Sendable (ApplyReport) -> Void)? = nil
    ) {
        self.node = node
        self.dataplane = dataplane
        self.tools = tools
        self.once = once
        self.refreshInterval = refreshInterval
        self.postWriteCheckDelay = postWriteCheckDelay
        self.reportsFullSize = reportsFullSize
        self.healthFile = healthFile
        self.minimumRetryInterval = minimumRetryInterval
        self.maximumRetryInterval = maximumRetryInterval
        self.onApply = onApply
    }
}

/// A failure that ends ``Agent/run()`` (in `once` mode, or when the kernel tools are missing).
public struct AgentError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public let description: String
}

/// The per-host policy agent (Felix's role): follows the datastore with a ``Syncer``, compiles the
/// node's policy, and keeps the kernel's rules equal to it.
///
/// Order of events, all fail-closed:
/// 1. On a host without Canal state, an empty policy is applied first: the dispatch chains then
///    drop traffic of every workload interface until the real policy is in place.
/// 2. After the syncer is in sync, the compiled state is applied as a delta against what the
///    kernel holds (one `iptables-restore --noflush` transaction per table and family, or one
///    `nft -f` transaction), so restarting over existing rules replaces them atomically.
/// 3. Each later change (updates arriving together are coalesced) is compiled and applied the
///    same way. A policy that does not compile, or a value that does not decode, leaves the last
///    good state in force and is logged; a failed apply is retried with backoff.
/// 4. Every apply and every ``AgentConfiguration/refreshInterval`` the kernel is read back, and
///    chains, hooks and sets that were deleted or edited are restored.
public struct Agent<Store: KeyValueStore>: Sendable {
    private let store: Store
    private let configuration: AgentConfiguration
    private let logger: Logger

    /// An agent over `store`.
    public init(store: Store, configuration: AgentConfiguration, logger: Logger) {
        self.store = store
        self.configuration = configuration
        self.logger = logger
    }

    private struct Shared: Sendable {
        var cache = ClusterCache()
        var status = SyncStatus.waitingForDatastore
        var everInSync = false
        /// The kernel should be read back at the next sync.
        var readBackDue = false
        /// When the next periodic read-back is due.
        var nextRefresh = ContinuousClock.now
        /// When the post-write check of the last write is due.
        var postWriteCheck: ContinuousClock.Instant?
        /// A finished read-back: the writer's write count when it was requested, and what it
        /// found (nil when it failed).
        var reading: (writes: Int, result: KernelReading?)?
    }

    /// What the apply loop takes from the cache: the changes since the last compile, and the
    /// whole cache when the compiler session starts over.
    private struct Snapshot {
        var generation: Int
        var changes: [ClusterChange]
        var cache: ClusterCache?
    }

    private final class Box: Sendable {
        let state = Mutex(Shared())
    }

    /// Runs until the calling task is cancelled (then returns, leaving the rules in force), or in
    /// `once` mode until the state is applied.
    ///
    /// - Throws: ``AgentError`` in `once` mode when the policy does not compile or cannot be
    ///   applied; kernel tool errors when the first read of the kernel fails.
    public func run() async throws {
        var dataplane = Dataplane(kind: configuration.dataplane, tools: configuration.tools, logger: logger,
                                  reportsFullSize: configuration.reportsFullSize)
        if try await !dataplane.hasCanalState() {
            let empty = try PolicyCompiler.compile(ClusterState(), node: configuration.node)
            _ = try await dataplane.sync(v4: empty.ipv4, v6: empty.ipv6, readBack: true)
            logger.info("no Canal state in the kernel: workload traffic is dropped until the policy is applied")
        }
        let syncer = Syncer(store: store, prefixes: ClusterCache.kinds.map { ResourceKey.prefix(kind: $0) } + ClusterCache.rawPrefixes)
        let box = Box()
        box.state.withLock { $0.nextRefresh = .now + configuration.refreshInterval }
        let (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        // Read-back requests, carrying the writer's write count (at most one outstanding).
        let (readRequests, requestRead) = AsyncStream.makeStream(of: Int.self, bufferingPolicy: .bufferingNewest(1))
        let health = HealthFile(path: configuration.healthFile, logger: logger)
        health.write(inSync: false, detail: "waiting for the datastore")
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await syncer.run() }
                group.addTask {
                    defer { wake.finish() }
                    for try await batch in syncer.updates {
                        let (problems, changed) = box.state.withLock { state in
                            var problems: [(String, String)] = []
                            for update in batch.updates {
                                if let problem = state.cache.apply(update) { problems.append((update.key, problem)) }
                            }
                            let changed = state.status != batch.status
                            state.status = batch.status
                            if batch.status == .inSync { state.everInSync = true }
                            return (problems, changed)
                        }
                        for (key, problem) in problems {
                            logger.error("cannot decode \(key): \(problem); keeping its last good value")
                        }
                        if changed { logger.info("datastore \(batch.status)") }
                        wake.yield()
                    }
                }
                group.addTask { [configuration] in
                    // Periodic read-backs, and the post-write check after each write.
                    let tick = min(configuration.refreshInterval, configuration.postWriteCheckDelay, .milliseconds(250))
                    while true {
                        try await Task.sleep(for: tick)
                        let now = ContinuousClock.now
                        let due = box.state.withLock { state -> Bool in
                            var due = false
                            if let check = state.postWriteCheck, check <= now {
                                state.postWriteCheck = nil
                                due = true
                            }
                            if state.nextRefresh <= now {
                                state.nextRefresh = now + configuration.refreshInterval
                                due = true
                            }
                            if due { state.readBackDue = true }
                            return due
                        }
                        if due { wake.yield() }
                    }
                }
                group.addTask { [reader = dataplane.reader, logger] in
                    // Read-backs run beside the writer: a large table takes a while to list.
                    for await writes in readRequests {
                        var result: KernelReading?
                        do {
                            result = try await reader.read()
                        } catch {
                            logger.error("cannot read the kernel's state back: \(error)")
                        }
                        box.state.withLock { $0.reading = (writes, result) }
                        wake.yield()
                    }
                }
                group.addTask { try await workloadNetworkingLoop(box: box) }
                group.addTask { [dataplane] in
                    var dataplane = dataplane
                    try await applyLoop(wakeups: wakeups, wake: wake, requestRead: requestRead, box: box,
                                        dataplane: &dataplane, health: health)
                }
                try await group.next()
                group.cancelAll()
            }
        } catch is CancellationError {
            // Shutdown: the rules stay in force.
        }
        health.write(inSync: false, detail: "stopped")
    }

    private func applyLoop(
        wakeups: AsyncStream<Void>, wake: AsyncStream<Void>.Continuation, requestRead: AsyncStream<Int>.Continuation,
        box: Box, dataplane: inout Dataplane, health: HealthFile
    ) async throws {
        var target: (v4: RuleSet, v6: RuleSet)?
        // The compiler session: updated with each batch of changes, so a change costs what it
        // touches. Started over (a full compile of the cache) at the first sync, when the
        // dataplane settings change, and after a compile error.
        var session: IncrementalPolicyCompiler?
        // What changed since the state last applied; nil: plan everything.
        var scope: ChangeScope?
        var compiledGeneration = -1
        var compileError: String?
        // Host networking's rules (outgoing NAT), merged into the compiled policy before each sync.
        var network: HostNetworkRules?, appliedNetwork: HostNetworkRules?
        var networkGeneration = -1
        var networkError: String?
        var retry = configuration.minimumRetryInterval
        var readInFlight = false, readWanted = false
        for await _ in wakeups {
            let rebuildWanted = session == nil || compileError != nil
            let (snapshot, status, everInSync, readBackDue, reading, networkUpdate) = box.state.withLock { state in
                defer {
                    state.readBackDue = false
                    state.reading = nil
                }
                var snapshot: Snapshot?
                if state.everInSync && state.cache.generation != compiledGeneration {
                    let (changes, configurationChanged) = state.cache.takeChanges()
                    snapshot = Snapshot(generation: state.cache.generation, changes: changes,
                                        cache: rebuildWanted || configurationChanged ? state.cache : nil)
                }
                var networkUpdate: (Int, Result<HostNetworkRules, PolicyCompileError>)?
                if state.everInSync && state.cache.networkGeneration != networkGeneration {
                    networkUpdate = (state.cache.networkGeneration,
                                     Result { () throws(PolicyCompileError) in try HostNetworkRules(state.cache, node: configuration.node) })
                }
                return (snapshot, state.status, state.everInSync, state.readBackDue, state.reading, networkUpdate)
            }
            if let (generation, result) = networkUpdate {
                networkGeneration = generation
                switch result {
                case .success(let rules):
                    network = rules
                    networkError = nil
                case .failure(let error):
                    networkError = error.description
                    logger.error("host networking of node \(configuration.node): \(error); keeping its last good rules")
                }
            }
            // A read-back is adopted only if nothing was written while it was taken.
            if let reading {
                readInFlight = false
                if let result = reading.result, reading.writes == dataplane.writes {
                    dataplane.adopt(result)
                } else {
                    // Taken across a write (or failed): try again once writes pause.
                    box.state.withLock { state in
                        if state.postWriteCheck == nil { state.postWriteCheck = .now + configuration.postWriteCheckDelay }
                    }
                }
            }
            if readBackDue { readWanted = true }
            if readWanted && !readInFlight {
                readWanted = false
                readInFlight = true
                requestRead.yield(dataplane.writes)
            }
            guard everInSync else { continue }
            var compileDuration = Duration.zero
            if let snapshot {
                compiledGeneration = snapshot.generation
                let compileStart = ContinuousClock.now
                defer { compileDuration = ContinuousClock.now - compileStart }
                do {
                    if let cache = snapshot.cache {
                        let settings = try cache.dataplaneConfiguration(node: configuration.node)
                        let fresh = try IncrementalPolicyCompiler(cache.clusterState(), node: configuration.node, configuration: settings)
                        session = fresh
                        target = (fresh.compiled.ipv4, fresh.compiled.ipv6)
                        scope = nil
                    } else if var current = session {
                        session = nil  // uniquely referenced while it is updated
                        let update = try current.apply(snapshot.changes)
                        session = consume current
                        target = (update.compiled.ipv4, update.compiled.ipv6)
                        scope?.formUnion(ChangeScope(update.ipv4, update.ipv6))
                    }
                    compileError = nil
                } catch {
                    // The session (if any) keeps the last good state; the next change starts over
                    // from the cache, which holds the offending resource until it is fixed.
                    session = nil
                    compileError = error.description
                    logger.error("cannot compile the policy of node \(configuration.node): \(error); keeping the last good state")
                }
            }
            if let compileError, configuration.once { throw AgentError(description: "cannot compile: \(compileError)") }
            guard let target else {
                health.write(inSync: false, detail: "policy does not compile: \(compileError ?? "")")
                continue
            }
            do {
                let desired = network.map { $0.merged(into: target) } ?? target
                var report = try await dataplane.sync(v4: desired.v4, v6: desired.v6, scope: network == appliedNetwork ? scope : nil)
                appliedNetwork = network
                report.compileDuration = compileDuration
                scope = ChangeScope()
                retry = configuration.minimumRetryInterval
                if report.changed {
                    // Checked once writes pause for `postWriteCheckDelay`: a read-back of a large
                    // table takes a while and competes with the writes, and one taken across a
                    // write is discarded anyway. (The periodic read-back still bounds the wait.)
                    box.state.withLock { state in state.postWriteCheck = .now + configuration.postWriteCheckDelay }
                }
                configuration.onApply?(report)
                if report.changed {
                    logger.info("applied \(report.bytesWritten) bytes (full state: \(report.fullBytes)) in \(report.duration)")
                }
                let undecodable = box.state.withLock { $0.cache.undecodable.keys.sorted() }
                let problems = (compileError.map { ["policy does not compile: \($0)"] } ?? [])
                    + (networkError.map { ["host networking: \($0)"] } ?? [])
                    + (undecodable.isEmpty ? [] : ["undecodable: \(undecodable.joined(separator: ", "))"])
                let inSync = status == .inSync && problems.isEmpty
                health.write(inSync: inSync, detail: inSync ? "in sync" : (problems.first ?? "datastore \(status)"))
                if configuration.once { return }
            } catch {
                if configuration.once { throw AgentError(description: "apply failed: \(error)") }
                logger.error("apply failed: \(error); the previous rules stay; retrying in \(retry)")
                health.write(inSync: false, detail: "apply failed: \(error)")
                try await Task.sleep(for: retry)
                retry = min(retry * 2, configuration.maximumRetryInterval)
                wake.yield()
            }
        }
    }

    /// Keeps the local workloads' routes and rp_filter in place (``WorkloadNetworking``): after
    /// each change of the cache, and every refresh interval (repairing what was changed behind
    /// the agent's back). Failures are logged and retried at the next pass.
    private func workloadNetworkingLoop(box: Box) async throws {
        let networking = WorkloadNetworking(tools: configuration.tools, logger: logger)
        var seen = -1
        var nextPass = ContinuousClock.now
        while true {
            let (generation, desired) = box.state.withLock { state -> (Int, [String: WorkloadNetworking.Interface]?) in
                guard state.everInSync else { return (-1, nil) }
                let changed = state.cache.generation != seen
                return (state.cache.generation, changed || ContinuousClock.now >= nextPass
                    ? WorkloadNetworking.desired(state.cache, node: configuration.node) : nil)
            }
            if let desired {
                seen = generation
                nextPass = .now + configuration.refreshInterval
                do {
                    let report = try await networking.reconcile(desired)
                    if report != WorkloadNetworking.Report() {
                        logger.info("workload networking: \(report.routesRepaired) routes repaired, rp_filter set on \(report.rpFilterSet) interfaces")
                    }
                } catch {
                    logger.error("cannot program the workloads' routes or rp_filter: \(error)")
                }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Removes every chain, hook and IP set Canal owns, in both dataplanes, leaving everything
    /// else (other rules in the kernel chains, other chains and sets) as it is.
    public static func cleanup(tools: any KernelTools, logger: Logger) async throws {
        try await Dataplane.cleanup(tools: tools, logger: logger)
    }
}

/// The health file: `{"inSync": true, "detail": "in sync", "time": …}`, replaced atomically.
final class HealthFile: Sendable {
    let path: String?
    let logger: Logger
    private let last = Mutex<String?>(nil)

    init(path: String?, logger: Logger) {
        self.path = path
        self.logger = logger
    }

    func write(inSync: Bool, detail: String) {
        guard let path else { return }
        let escaped = detail.unicodeScalars.map { s -> String in
            switch s {
            case "\"": "\\\""
            case "\\": "\\\\"
            default: s.value < 0x20 ? " " : String(s)
            }
        }.joined()
        let body = "{\"inSync\": \(inSync), \"detail\": \"\(escaped)\"}"
        let unchanged = last.withLock { previous in
            defer { previous = body }
            return previous == body
        }
        if unchanged { return }
        let text = body.dropLast() + ", \"time\": \(Date().timeIntervalSince1970)}\n"
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            logger.warning("cannot write the health file \(path): \(error)")
        }
    }
}
