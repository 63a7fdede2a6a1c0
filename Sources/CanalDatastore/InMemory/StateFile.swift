import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// An embedded datastore persisted to a local JSON file, for tools that run one command at a time
/// (canalctl with nothing configured): `CANAL_STATE_FILE`, by default `~/.canal/state.json`.
///
/// ``withStore(at:_:)`` takes an exclusive `flock` on `<file>.lock` for the whole call, loads the
/// file (an empty store when it does not exist), runs the body, and — if the store's revision moved —
/// writes the new state to a temporary file in the same directory, syncs it and renames it over the
/// old one. So concurrent commands run one after the other and each sees the others' writes,
/// a crash never leaves a half-written file, and revisions keep counting across runs.
public enum StateFile {
    /// `CANAL_STATE_FILE` from `environment`, else `~/.canal/state.json`.
    public static func defaultPath(environment: [String: String]) -> String {
        if let path = environment["CANAL_STATE_FILE"], !path.isEmpty { return path }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return (home as NSString).appendingPathComponent(".canal/state.json")
    }

    /// Runs `body` with the store persisted at `path`, under the file lock (see ``StateFile``).
    ///
    /// The state is saved whether `body` returns or throws (writes that succeeded before a failure
    /// are kept, as they would be in etcd). Throws `unavailable` when the file cannot be locked, read
    /// or written, `invalidArgument` when it is not a state file.
    public static func withStore<T>(
        at path: String, _ body: (InMemoryKeyValueStore<ContinuousClock>) async throws -> T
    ) async throws -> T {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw DatastoreError(.unavailable, "cannot create \(directory.path)", cause: error)
        }
        let lockPath = path + ".lock"
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw DatastoreError(.unavailable, "cannot open \(lockPath): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else { throw DatastoreError(.unavailable, "cannot lock \(lockPath): \(String(cString: strerror(errno)))") }
        }
        defer { flock(fd, LOCK_UN) }

        let store = try load(path)
        let before = store.revision
        let result: Result<T, any Error>
        do {
            result = .success(try await body(store))
        } catch {
            result = .failure(error)
        }
        if store.revision != before { try save(store.snapshot(), to: url) }
        return try result.get()
    }

    static func load(_ path: String) throws -> InMemoryKeyValueStore<ContinuousClock> {
        guard FileManager.default.fileExists(atPath: path) else { return InMemoryKeyValueStore() }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw DatastoreError(.unavailable, "cannot read the state file \(path)", cause: error)
        }
        let snapshot: InMemoryKeyValueStore<ContinuousClock>.Snapshot
        do {
            snapshot = try JSONDecoder().decode(InMemoryKeyValueStore<ContinuousClock>.Snapshot.self, from: data)
        } catch {
            throw DatastoreError(.invalidArgument, "\(path) is not a Canal state file", cause: error)
        }
        return try InMemoryKeyValueStore(restoring: snapshot, clock: ContinuousClock())
    }

    static func save(_ snapshot: InMemoryKeyValueStore<ContinuousClock>.Snapshot, to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(getpid()).\(UUID().uuidString).tmp")
        do {
            let data = try encoder.encode(snapshot)
            let fd = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw DatastoreError(.unavailable, "cannot create \(temporary.path): \(String(cString: strerror(errno)))") }
            var written = 0
            let ok = data.withUnsafeBytes { buffer -> Bool in
                while written < buffer.count {
                    let n = write(fd, buffer.baseAddress! + written, buffer.count - written)
                    if n < 0 { if errno == EINTR { continue }; return false }
                    written += n
                }
                return fsync(fd) == 0
            }
            close(fd)
            guard ok else { throw DatastoreError(.unavailable, "cannot write \(temporary.path): \(String(cString: strerror(errno)))") }
            guard rename(temporary.path, url.path) == 0 else {
                throw DatastoreError(.unavailable, "cannot replace \(url.path): \(String(cString: strerror(errno)))")
            }
        } catch {
            unlink(temporary.path)
            if error is DatastoreError { throw error }
            throw DatastoreError(.unavailable, "cannot save the state file \(url.path)", cause: error)
        }
    }
}
