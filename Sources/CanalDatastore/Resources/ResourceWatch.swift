public import CanalModel

/// One change to a resource, as ``ResourceClient/watch(_:namespace:after:)`` reports it (Calico's
/// `watch.Event`).
public struct ResourceEvent: Sendable {
    /// What happened.
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable { case added, modified, deleted, error }
        private let base: Base
        private init(_ base: Base) { self.base = base }
        /// The resource was created (or was present at the start of a watch without a revision).
        public static let added = Kind(.added)
        /// The resource was changed.
        public static let modified = Kind(.modified)
        /// The resource was deleted; ``ResourceEvent/previous`` holds its last value when known.
        public static let deleted = Kind(.deleted)
        /// A stored value could not be read; ``ResourceEvent/error`` says why. The watch goes on.
        public static let error = Kind(.error)
        /// The kind's name, e.g. `added`.
        public var description: String { base.rawValue }
    }

    /// What happened.
    public var kind: Kind
    /// The key that changed.
    public var key: String
    /// The resource after the change (added, modified).
    public var resource: (any AnyResource)?
    /// The resource before the change, when the store had it (modified, deleted).
    public var previous: (any AnyResource)?
    /// The store revision of the change.
    public var revision: Revision
    /// Why the value could not be read (error events).
    public var error: ModelError?
}

/// A watch on the resources of one kind: a throwing, backpressured `AsyncSequence` of
/// ``ResourceEvent``s that reads the store's watch only as fast as it is consumed.
public struct ResourceWatch<Store: KeyValueStore>: AsyncSequence, Sendable {
    /// Events.
    public typealias Element = ResourceEvent
    /// The store's errors (``DatastoreError``).
    public typealias Failure = any Error

    let client: ResourceClient<Store>
    let kind: ResourceKind
    let namespace: String?
    let after: Revision?

    /// Creates an iterator; it lists (when no revision was given) and connects on the first `next()`.
    public func makeAsyncIterator() -> Iterator {
        Iterator(watch: self)
    }

    /// Iterates a resource watch.
    public struct Iterator: AsyncIteratorProtocol {
        let watch: ResourceWatch
        var initial: [ResourceEvent] = []
        var initialIndex = 0
        var events: Store.Watch.AsyncIterator?

        init(watch: ResourceWatch) {
            self.watch = watch
        }

        /// The next event; `nil` once the reading task is cancelled.
        public mutating func next() async throws -> ResourceEvent? {
            if events == nil {
                var start = watch.after?.next
                if start == nil {
                    let list = try await watch.client.list(watch.kind, namespace: watch.namespace)
                    initial = list.items.compactMap { item in
                        // Calico strips the synthetic profile from a watch's initial list.
                        if item.kind == .profile, item.metadata.name == ResourceClient<Store>.defaultAllowProfileName {
                            return nil
                        }
                        return ResourceEvent(
                            kind: .added, key: ResourceKey(for: item).path, resource: item, previous: nil,
                            revision: Revision(item.metadata.resourceVersion ?? "") ?? list.revision)
                    }
                    initial += list.skipped.map {
                        ResourceEvent(
                            kind: .error, key: $0.key, revision: list.revision,
                            error: $0.error as? ModelError ?? ModelError(.schema, "\($0.error)"))
                    }
                    start = list.revision.next
                }
                let prefix = Array(ResourceKey.prefix(kind: watch.kind, namespace: watch.namespace).utf8)
                events = watch.client.store.watch(prefix: prefix, fromRevision: start).makeAsyncIterator()
            }
            if initialIndex < initial.count {
                defer { initialIndex += 1 }
                return initial[initialIndex]
            }
            while true {
                guard let event = try await events?.next() else { return nil }
                guard let key = ResourceKey(bytes: event.key), key.kind == watch.kind else { continue }
                return convert(event)
            }
        }

        func convert(_ event: WatchEvent) -> ResourceEvent {
            let keyText = String(decoding: event.key, as: UTF8.self)
            let previous = event.previous.flatMap { try? watch.client.resource(from: $0) }
            if event.kind == .delete {
                return ResourceEvent(kind: .deleted, key: keyText, resource: nil, previous: previous, revision: event.revision)
            }
            guard let current = event.current else {
                return ResourceEvent(
                    kind: .error, key: keyText, revision: event.revision, error: ModelError(.schema, "a put event without a value"))
            }
            do {
                let resource = try watch.client.resource(from: current)
                return ResourceEvent(
                    kind: event.isCreate ? .added : .modified, key: keyText, resource: resource, previous: previous,
                    revision: event.revision)
            } catch {
                return ResourceEvent(kind: .error, key: keyText, previous: previous, revision: event.revision, error: error)
            }
        }
    }
}
