// What the benchmarks start (etcd, child processes, namespaces, scratch folders) is registered
// here as an undo action. The normal path runs its action itself (`defer { handle.run() }`);
// `fail()`, and SIGINT or SIGTERM, run every action still pending, newest first, before the
// process exits, so a failed or interrupted run leaves nothing behind.
import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

enum Cleanup {
    /// One registered undo action; ``run()`` runs it at most once, whoever calls first.
    struct Handle: Sendable {
        fileprivate let id: Int

        /// Runs the action now, unless it already ran (the normal path's `defer`).
        func run() { Cleanup.take(id)?() }

        /// Forgets the action without running it (its owner cleaned up by other means).
        func dismiss() { _ = Cleanup.take(id) }
    }

    private struct State {
        var next = 0
        var actions: [(id: Int, action: @Sendable () -> Void)] = []
    }

    private static let state = Mutex(State())

    /// Registers `action` (kill a process and wait for it, remove a folder, …).
    static func add(_ action: @escaping @Sendable () -> Void) -> Handle {
        state.withLock { state in
            state.next += 1
            state.actions.append((state.next, action))
            return Handle(id: state.next)
        }
    }

    /// Registers a started process: SIGKILL (etcd needs no graceful stop here) and reap.
    static func add(process: Process) -> Handle {
        let box = UncheckedProcess(process)
        return add {
            if box.process.isRunning { kill(box.process.processIdentifier, SIGKILL) }
            box.process.waitUntilExit()
        }
    }

    /// Registers a folder (or file) to remove.
    static func add(directory: URL) -> Handle {
        add { try? FileManager.default.removeItem(at: directory) }
    }

    private static func take(_ id: Int) -> (@Sendable () -> Void)? {
        state.withLock { state in
            guard let index = state.actions.firstIndex(where: { $0.id == id }) else { return nil }
            return state.actions.remove(at: index).action
        }
    }

    /// Runs every pending action, newest first (a folder is removed after the process using it stopped).
    static func runAll() {
        while let action = state.withLock({ $0.actions.popLast()?.action }) { action() }
    }

    private static let exiting = Mutex(false)

    /// Runs every pending action, then exits with `status`. The first caller does it; a later one
    /// (`fail()` on the main path while a signal's cleanup runs, whose kills make it fail) waits
    /// for that exit instead of exiting before the cleanup has finished.
    static func exitAfterCleanup(_ status: Int32) -> Never {
        if exiting.withLock({ (exiting: inout Bool) -> Bool in defer { exiting = true }; return exiting }) {
            while true { pause() }
        }
        runAll()
        exit(status)
    }

    /// SIGINT and SIGTERM clean up, then end the process as the signal would (status 128 + signal).
    static func installSignalHandlers() {
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                writeStandardError("canal-bench: interrupted (signal \(number)): stopping what was started\n")
                exitAfterCleanup(128 + number)
            }
            source.resume()
            signalSources.withLock { $0.append(UncheckedSource(source)) }
        }
    }

    private static let signalSources = Mutex<[UncheckedSource]>([])

    /// Deletes the network namespaces called `name` or `name-…`, killing what still runs in them
    /// (for a benchmark's namespaces, whose names carry its pid).
    static func deleteNamespaces(named name: String) {
        func ip(_ arguments: [String]) -> String {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["ip"] + arguments
            let out = Pipe()
            process.standardOutput = out
            process.standardError = FileHandle.nullDevice
            guard (try? process.run()) != nil else { return "" }
            let data = out.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return String(decoding: data, as: UTF8.self)
        }
        let names = ip(["netns", "list"]).split(separator: "\n").map { String($0.split(separator: " ").first ?? "") }
        for ns in names where ns == name || ns.hasPrefix(name + "-") {
            for pid in ip(["netns", "pids", ns]).split(whereSeparator: \.isWhitespace).compactMap({ Int32($0) }) { kill(pid, SIGKILL) }
            _ = ip(["netns", "delete", ns])
        }
    }
}

/// `Process` is not Sendable; the cleanup only kills and reaps it.
private final class UncheckedProcess: @unchecked Sendable {
    let process: Process
    init(_ process: Process) { self.process = process }
}

/// Keeps a signal source alive for the life of the process.
private struct UncheckedSource: @unchecked Sendable {
    let source: any DispatchSourceSignal
    init(_ source: any DispatchSourceSignal) { self.source = source }
}

/// Writes `text` to standard error (unbuffered).
func writeStandardError(_ text: String) {
    var text = text
    text.withUTF8 { buffer in _ = write(2, buffer.baseAddress, buffer.count) }
}

/// Ends the benchmark run: reports `message`, stops everything started, exits 1.
func fail(_ message: String) -> Never {
    writeStandardError("canal-bench: \(message)\n")
    Cleanup.exitAfterCleanup(1)
}
