// Work inside another network namespace, for the tools. Not a product and not API: `package` access only.
#if canImport(Glibc)
import Glibc
#endif

/// Work inside a network namespace without `nsenter`: a dedicated thread joins the namespace
/// (`setns`), runs the body (programs it starts with ``Spawn`` are born in that namespace, and
/// `/proc/sys/net` opened there is the namespace's) and ends. The rest of the process, its
/// connections included, stays in the namespace it was started in.
package enum Netns {
    /// Why the namespace could not be joined (the body did not run).
    package struct EntryFailure: Error, Sendable, CustomStringConvertible {
        /// The step that failed.
        package enum Step: Sendable {
            /// No thread could be started.
            case thread
            /// The namespace's path could not be opened.
            case open
            /// `setns` refused it (not a network namespace, or no permission).
            case enter
        }

        /// The step that failed.
        package var step: Step
        /// The namespace's path.
        package var path: String
        /// Why, as `strerror` says it.
        package var reason: String

        /// What failed, without ``reason``.
        package var description: String {
            switch step {
            case .thread: "cannot start a thread"
            case .open: "cannot open the network namespace \(path)"
            case .enter: "cannot enter the network namespace \(path)"
            }
        }
    }

    /// Runs `body` on a thread inside the network namespace at `path` and waits for it.
    ///
    /// - Throws: `entryFailure` of what went wrong when the namespace cannot be joined (or no
    ///   thread started); otherwise what `body` throws.
    package static func run<T, Failure: Error>(
        in path: String, entryFailure: (EntryFailure) -> Failure, _ body: @escaping () throws(Failure) -> T
    ) throws(Failure) -> T {
        let job = Job(path: path, body: body)
        var thread = pthread_t()
        let created = pthread_create(&thread, nil, { raw in
            Unmanaged<AnyJob>.fromOpaque(raw!).takeRetainedValue().execute()
            return nil
        }, Unmanaged.passRetained(job as AnyJob).toOpaque())
        guard created == 0 else {
            Unmanaged.passUnretained(job as AnyJob).release()
            throw entryFailure(EntryFailure(step: .thread, path: path, reason: String(cString: strerror(created))))
        }
        pthread_join(thread, nil)
        if let failure = job.entryFailure { throw entryFailure(failure) }
        return try job.result!.get()
    }

    /// setns(2), which Swift's Glibc module does not declare.
    private static let setns: (@convention(c) (Int32, Int32) -> Int32)? = dlsym(nil, "setns").map {
        unsafeBitCast($0, to: (@convention(c) (Int32, Int32) -> Int32).self)
    }

    private class AnyJob {
        func execute() {}
    }

    /// Crosses to the namespace thread as a raw pointer: that thread alone touches it until it
    /// ends, and `run` reads the outcome only after `pthread_join`.
    private final class Job<T, Failure: Error>: AnyJob {
        let path: String
        let body: () throws(Failure) -> T
        var entryFailure: EntryFailure?
        var result: Result<T, Failure>?

        init(path: String, body: @escaping () throws(Failure) -> T) {
            self.path = path
            self.body = body
        }

        override func execute() {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                entryFailure = EntryFailure(step: .open, path: path, reason: String(cString: strerror(errno)))
                return
            }
            let joined = Netns.setns?(fd, 0x4000_0000) ?? -1  // CLONE_NEWNET
            let reason = String(cString: strerror(errno))
            close(fd)
            guard joined == 0 else {
                entryFailure = EntryFailure(step: .enter, path: path, reason: reason)
                return
            }
            do throws(Failure) {
                result = .success(try body())
            } catch {
                result = .failure(error)
            }
        }
    }
}
