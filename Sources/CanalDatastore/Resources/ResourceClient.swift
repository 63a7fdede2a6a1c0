public import CanalModel
import Foundation

/// The typed Calico v3 client over any ``KeyValueStore``: libcalico-go's `clientv3` on its etcdv3 backend.
///
/// Keys and values are exactly Calico's (see ``ResourceKey``): the value is the whole resource as
/// JSON with `kind` and `apiVersion` set and `resourceVersion`/`selfLink` cleared; on read,
/// `metadata.resourceVersion` is the key's mod revision. Writes validate and default a copy of the
/// resource first; the caller's value is never changed.
///
/// Errors:
/// - ``ModelError`` (`invalid`) when a resource breaks a rule, or a request lacks what it needs
///   (a namespace for a namespaced kind, a resourceVersion on update, ...), with field paths.
/// - ``DatastoreError``: `notFound` (the resource, or a policy's tier, does not exist),
///   `alreadyExists` (create; ``DatastoreError/current`` holds the existing value, see
///   ``resource(from:)``), `conflict` (a stale resourceVersion; `current` holds the latest),
///   `invalidArgument` (an operation Calico does not allow, e.g. deleting a built-in tier), and the
///   store's own `unavailable`, `timeout` and `unauthorized`. Messages name the resource as Calico
///   does: `resource does not exist: NetworkPolicy(ns1/allow-dns)`.
public struct ResourceClient<Store: KeyValueStore>: Sendable {
    /// The store the client reads and writes.
    public let store: Store

    /// A client over `store`.
    public init(store: Store) {
        self.store = store
    }

    /// The annotation Calico's etcd backend writes on policies to remember their v3 name.
    public static var policyNameAnnotation: String { "projectcalico.org/metadata" }
    /// The name of the synthetic allow-all profile Calico's backend serves without storing it.
    public static var defaultAllowProfileName: String { "projectcalico-default-allow" }
    /// Attempts of ``apply(_:)`` when the resource keeps changing under it (calicoctl's count).
    static var applyAttempts: Int { 5 }

    // MARK: Create

    /// Creates `resource` if no resource of its kind has its name (and namespace): validates and
    /// defaults a copy, stamps `uid` and `creationTimestamp` when unset, and writes it with a
    /// create-if-absent transaction. Policies need their tier to exist. An IPPool's CIDR may not
    /// overlap another pool's (checked atomically with the write).
    ///
    /// Returns the stored resource with its `resourceVersion`.
    /// Throws `alreadyExists` (with the existing value), `notFound` for a missing tier, or ``ModelError``.
    public func create(_ resource: any AnyResource) async throws -> any AnyResource {
        if let version = resource.metadata.resourceVersion, !version.isEmpty {
            throw ModelError(
                .invalid, "\(resource.kind.name) \"\(resource.displayName)\": resourceVersion must not be set for a Create request",
                fieldErrors: [FieldError("metadata.resourceVersion", "field must not be set for a Create request")])
        }
        var prepared = try prepareForWrite(resource)
        if prepared.metadata.uid?.isEmpty ?? true { prepared.metadata.uid = UUID().uuidString.lowercased() }
        if prepared.metadata.creationTimestamp?.isEmpty ?? true { prepared.metadata.creationTimestamp = Self.timestamp() }
        let key = ResourceKey(for: prepared)
        try await checkTierExists(for: prepared)
        do {
            let value = try Self.storedValue(prepared)
            let revision =
                if let pool = prepared as? IPPool {
                    try await createPool(pool, key: key, value: value)
                } else {
                    try await store.create(key.bytes, value: value)
                }
            return Self.returned(prepared, revision: revision)
        } catch let error as DatastoreError where error.code == .alreadyExists {
            throw DatastoreError(
                .alreadyExists, "resource already exists: \(key)", key: key.bytes, current: error.current,
                revision: error.revision, cause: error)
        }
    }

    /// Creates a typed resource (see ``create(_:)-(any AnyResource)``).
    public func create<Spec>(_ resource: Resource<Spec>) async throws -> Resource<Spec> {
        try Self.cast(try await create(resource as any AnyResource))
    }

    // MARK: Update

    /// Replaces the stored resource if it is still at `resource.metadata.resourceVersion` (a
    /// compare-and-swap on the key's mod revision). As in Calico, an update needs the
    /// resourceVersion, uid and creationTimestamp the caller read.
    ///
    /// An IPPool's CIDR and block size cannot change, nor can a LoadBalancer pool take other uses.
    ///
    /// Throws `notFound` when the resource does not exist, `conflict` (with the latest value) when
    /// it changed since, or ``ModelError``.
    public func update(_ resource: any AnyResource) async throws -> any AnyResource {
        var missing: [FieldError] = []
        for (field, value) in [
            ("resourceVersion", resource.metadata.resourceVersion), ("creationTimestamp", resource.metadata.creationTimestamp),
            ("uid", resource.metadata.uid),
        ] where value?.isEmpty ?? true {
            missing.append(FieldError(FieldPath("metadata")[field], "field must be set for an Update request"))
        }
        guard missing.isEmpty else {
            throw ModelError(
                .invalid, "\(resource.kind.name) \"\(resource.displayName)\" cannot be updated without the metadata it was read with",
                fieldErrors: missing)
        }
        let revision = try Self.revision(of: resource)
        let prepared = try prepareForWrite(resource)
        let key = ResourceKey(for: prepared)
        if let pool = prepared as? IPPool {
            // Against the pool the update replaces; a pool changed since then fails the swap below.
            if let kv = try await store.get(key.bytes), kv.modRevision == revision, let stored = try? self.resource(from: kv) as? IPPool {
                try Self.checkPoolUpdate(pool, stored: stored)
            }
        }
        do {
            let written = try await store.update(key.bytes, value: try Self.storedValue(prepared), ifRevision: revision)
            return Self.returned(prepared, revision: written)
        } catch let error as DatastoreError {
            throw Self.resourceError(error, key: key)
        }
    }

    /// Updates a typed resource (see ``update(_:)-(any AnyResource)``).
    public func update<Spec>(_ resource: Resource<Spec>) async throws -> Resource<Spec> {
        try Self.cast(try await update(resource as any AnyResource))
    }

    // MARK: Apply and replace

    /// Creates the resource, or replaces the existing one, as `calicoctl apply` does: a create (with
    /// only the name, namespace, labels and annotations of the given metadata), and when the resource
    /// exists, ``replace(_:)-(any AnyResource)``. Throws what those throw.
    public func apply(_ resource: any AnyResource) async throws -> any AnyResource {
        for _ in 0..<Self.applyAttempts {
            var fresh = Self.metadataForCreate(resource)
            fresh.metadata.resourceVersion = nil
            do {
                return try await create(fresh)
            } catch let error as DatastoreError where error.code == .alreadyExists {
                // Fall through to a replace of what exists.
            }
            do {
                return try await replace(resource)
            } catch let error as DatastoreError where error.code == .notFound && error.key == ResourceKey(for: resource).bytes {
                continue  // deleted in between: create again
            }
        }
        throw DatastoreError(.conflict, "update conflict: \(ResourceKey(for: resource)): it keeps being created and deleted")
    }

    /// Applies a typed resource (see ``apply(_:)-(any AnyResource)``).
    public func apply<Spec>(_ resource: Resource<Spec>) async throws -> Resource<Spec> {
        try Self.cast(try await apply(resource as any AnyResource))
    }

    /// Replaces an existing resource as `calicoctl replace` does: reads the stored resource, keeps its
    /// metadata (uid, creationTimestamp, ...) but takes the given labels and annotations, and
    /// compare-and-swaps on the revision just read. When `resourceVersion` is given it must be the
    /// latest (else `conflict`, without retrying); without it, a concurrent change is retried a few
    /// times before `conflict` is thrown. Throws `notFound` when the resource does not exist.
    public func replace(_ resource: any AnyResource) async throws -> any AnyResource {
        let given = resource.metadata.resourceVersion.flatMap { $0.isEmpty ? nil : $0 }
        let key = try Self.checkedKey(
            kind: resource.kind, name: resource.metadata.name ?? "", namespace: resource.metadata.namespace)
        var lastConflict: DatastoreError?
        for _ in 0..<(given == nil ? Self.applyAttempts : 1) {
            let existing = try await get(key.kind, name: key.name, namespace: key.namespace)
            if let given, given != existing.metadata.resourceVersion {
                throw DatastoreError(
                    .conflict,
                    "update conflict: \(key): resource version '\(given)' is out of date (latest: \(existing.metadata.resourceVersion ?? "")). Update the resource in order to make changes",
                    key: key.bytes, revision: existing.metadata.resourceVersion.flatMap(Revision.init))
            }
            var merged = resource
            merged.metadata = existing.metadata
            merged.metadata.labels = resource.metadata.labels
            merged.metadata.annotations = resource.metadata.annotations
            do {
                return try await update(merged)
            } catch let error as DatastoreError where error.code == .conflict {
                if given != nil { throw error }
                lastConflict = error
            }
        }
        throw lastConflict ?? DatastoreError(.conflict, "update conflict: \(key)", key: key.bytes)
    }

    /// Replaces a typed resource (see ``replace(_:)-(any AnyResource)``).
    public func replace<Spec>(_ resource: Resource<Spec>) async throws -> Resource<Spec> {
        try Self.cast(try await replace(resource as any AnyResource))
    }

    // MARK: Delete

    /// Deletes a resource, only if it is still at `resourceVersion` when one is given, and returns
    /// what was deleted. Built-in tiers, tiers that still hold policies and the default-allow profile
    /// cannot be deleted (`invalidArgument`). An enabled IPPool is first disabled (at
    /// `resourceVersion` when given), as Calico does, so IPAM stops assigning from it; releasing the
    /// pool's block affinities is IPAM's part. Throws `notFound` or `conflict`.
    @discardableResult
    public func delete(
        _ kind: ResourceKind, name: String, namespace: String? = nil, resourceVersion: String? = nil
    ) async throws -> any AnyResource {
        let key = try Self.checkedKey(kind: kind, name: name, namespace: namespace)
        if kind == .profile, name == Self.defaultAllowProfileName {
            throw DatastoreError(.invalidArgument, "operation delete is not supported on \(key): the profile is built in", key: key.bytes)
        }
        if kind == .tier {
            if TierSpec.builtIn(named: name) != nil {
                throw DatastoreError(.invalidArgument, "operation delete is not supported on \(key): cannot delete a built-in tier", key: key.bytes)
            }
            if try await tierHasPolicies(name) {
                throw DatastoreError(.invalidArgument, "operation delete is not supported on \(key): cannot delete a non-empty tier", key: key.bytes)
            }
        }
        var revision: Revision? =
            if let resourceVersion, !resourceVersion.isEmpty {
                try Self.parseRevision(resourceVersion)
            } else { nil }
        if kind == .ipPool, try await !disablePoolBeforeDelete(key: key, resourceVersion: revision) {
            // As Calico: once disabled at the given version, the pool is deleted whatever its version.
            revision = nil
        }
        do {
            let deleted = try await store.delete(key.bytes, ifRevision: revision)
            return try resource(from: deleted)
        } catch let error as DatastoreError {
            throw Self.resourceError(error, key: key)
        }
    }

    /// Deletes a typed resource (see ``delete(_:name:namespace:resourceVersion:)``).
    @discardableResult
    public func delete<Spec>(
        _ type: Resource<Spec>.Type, name: String, namespace: String? = nil, resourceVersion: String? = nil
    ) async throws -> Resource<Spec> {
        try Self.cast(try await delete(Spec.kind, name: name, namespace: namespace, resourceVersion: resourceVersion))
    }

    // MARK: Get and list

    /// Reads one resource. Throws `notFound` (naming it), or ``ModelError`` when the stored value
    /// does not parse as its kind.
    public func get(_ kind: ResourceKind, name: String, namespace: String? = nil) async throws -> any AnyResource {
        let key = try Self.checkedKey(kind: kind, name: name, namespace: namespace)
        if kind == .profile, name == Self.defaultAllowProfileName { return Self.defaultAllowProfile() }
        guard let kv = try await store.get(key.bytes) else {
            throw DatastoreError(.notFound, "resource does not exist: \(key)", key: key.bytes)
        }
        return try resource(from: kv)
    }

    /// Reads one typed resource (see ``get(_:name:namespace:)``).
    public func get<Spec>(_ type: Resource<Spec>.Type, name: String, namespace: String? = nil) async throws -> Resource<Spec> {
        try Self.cast(try await get(Spec.kind, name: name, namespace: namespace))
    }

    /// Lists the resources of `kind`: in one namespace, or in all (`namespace` nil or empty) for
    /// namespaced kinds. Values that do not parse are skipped and reported in
    /// ``ResourceList/skipped``; the list itself does not fail. Profiles include Calico's synthetic
    /// `projectcalico-default-allow`.
    public func list(_ kind: ResourceKind, namespace: String? = nil) async throws -> ResourceList<any AnyResource> {
        let result = try await store.list(prefix: Array(ResourceKey.prefix(kind: kind, namespace: namespace).utf8))
        var items: [any AnyResource] = []
        var skipped: [SkippedValue] = []
        for kv in result.items {
            guard let key = ResourceKey(bytes: kv.key), key.kind == kind else { continue }
            do {
                items.append(try resource(from: kv))
            } catch {
                skipped.append(SkippedValue(key: kv.keyString, error: error))
            }
        }
        if kind == .profile {
            let allow = Self.defaultAllowProfile()
            let index = items.firstIndex { ($0.metadata.name ?? "") > Self.defaultAllowProfileName } ?? items.count
            if !items.contains(where: { $0.metadata.name == Self.defaultAllowProfileName }) { items.insert(allow, at: index) }
        }
        return ResourceList(items: items, revision: result.revision, skipped: skipped)
    }

    /// Lists typed resources (see ``list(_:namespace:)-(ResourceKind,_)``).
    public func list<Spec>(_ type: Resource<Spec>.Type, namespace: String? = nil) async throws -> ResourceList<Resource<Spec>> {
        let list = try await list(Spec.kind, namespace: namespace)
        return ResourceList(items: list.items.compactMap { $0 as? Resource<Spec> }, revision: list.revision, skipped: list.skipped)
    }

    // MARK: Watch

    /// Watches the resources of `kind` (one namespace, or all): without `revision`, it first lists
    /// them and reports each as `added`, then follows changes from the list's revision; with
    /// `revision`, it reports the changes after that revision. A value that does not parse is
    /// reported as an `error` event and the watch goes on; the sequence throws the store's errors
    /// (`compacted` when the revision is gone: list again).
    public func watch(_ kind: ResourceKind, namespace: String? = nil, after revision: Revision? = nil) -> ResourceWatch<Store> {
        ResourceWatch(client: self, kind: kind, namespace: namespace, after: revision)
    }

    // MARK: Reading stored values

    /// Decodes a stored value as Calico's backend does: tolerant of unknown fields, with
    /// `resourceVersion` = the key's mod revision, a policy's v3 name restored from the
    /// `projectcalico.org/metadata` annotation (which is removed) or, without it, a `default.` prefix
    /// dropped for policies of the default tier; Tier and IPPool defaults filled in.
    ///
    /// - Throws: ``ModelError`` when the value is not JSON or not a resource of the key's kind.
    public func resource(from kv: KeyValue) throws(ModelError) -> any AnyResource {
        let json = try JSONValue(parsing: kv.value)
        var resource = try decodeResource(json, rejectUnknownFields: false)
        if let key = ResourceKey(bytes: kv.key), key.kind != resource.kind {
            throw ModelError(.schema, "\(kv.keyString) holds a \(resource.kind.name), expected a \(key.kind.name)")
        }
        if resource.metadata.name?.isEmpty ?? true, let key = ResourceKey(bytes: kv.key) {
            resource.metadata.name = key.name
            if key.kind.isNamespaced, resource.metadata.namespace?.isEmpty ?? true { resource.metadata.namespace = key.namespace }
        }
        resource.metadata.resourceVersion = kv.modRevision.description
        resource.metadata.selfLink = nil
        try Self.restorePolicyName(&resource)
        if resource.kind == .tier || resource.kind == .ipPool { resource.applyDefaults() }
        return resource
    }

    // MARK: Internals

    /// The copy to store: namespace checked (required for namespaced kinds, dropped for others),
    /// defaults applied (WorkloadEndpoint storage labels included) and validated.
    func prepareForWrite(_ resource: any AnyResource) throws -> any AnyResource {
        var copy = resource
        if copy.kind.isNamespaced {
            guard let namespace = copy.metadata.namespace, !namespace.isEmpty else {
                throw ModelError(
                    .invalid, "namespace is not specified on namespaced resource \(copy.kind.name) \"\(copy.metadata.name ?? "")\"",
                    fieldErrors: [FieldError("metadata.namespace", "namespace is not specified on namespaced resource")])
            }
        } else {
            copy.metadata.namespace = nil
        }
        if copy.kind == .profile, copy.metadata.name == Self.defaultAllowProfileName {
            throw DatastoreError(
                .invalidArgument, "operation not supported on \(ResourceKey(for: copy)): the profile is built in")
        }
        copy.applyDefaults()
        if var endpoint = copy as? WorkloadEndpoint {
            endpoint.setWorkloadEndpointLabels()
            copy = endpoint
        }
        try copy.validate()
        return copy
    }

    func checkTierExists(for resource: any AnyResource) async throws {
        let tier: String? =
            if let policy = resource as? NetworkPolicy { policy.spec.tier }
            else if let policy = resource as? GlobalNetworkPolicy { policy.spec.tier }
            else { nil }
        guard resource.kind == .networkPolicy || resource.kind == .globalNetworkPolicy else { return }
        let name = (tier?.isEmpty ?? true) ? TierSpec.defaultTierName : tier!
        let key = ResourceKey(kind: .tier, name: name)
        guard try await store.get(key.bytes) != nil else {
            throw DatastoreError(
                .notFound,
                "resource does not exist: \(key): \(ResourceKey(for: resource)) names tier \"\(name)\", which must exist before its policies",
                key: key.bytes)
        }
    }

    func tierHasPolicies(_ tier: String) async throws -> Bool {
        for kind in [ResourceKind.networkPolicy, .globalNetworkPolicy] {
            let list = try await list(kind)
            for item in list.items {
                let itemTier = (item as? NetworkPolicy)?.spec.tier ?? (item as? GlobalNetworkPolicy)?.spec.tier
                if (itemTier?.isEmpty ?? true ? TierSpec.defaultTierName : itemTier!) == tier { return true }
            }
        }
        return false
    }

    static func storedValue(_ resource: any AnyResource) throws -> [UInt8] {
        var stored = resource
        stored.metadata.resourceVersion = nil
        stored.metadata.selfLink = nil
        if stored.kind == .networkPolicy || stored.kind == .globalNetworkPolicy {
            let nameJSON = JSONValue.object(JSONObject([("name", .string(stored.metadata.name ?? ""))])).jsonText
            var annotations = stored.metadata.annotations ?? [:]
            annotations[policyNameAnnotation] = nameJSON
            stored.metadata.annotations = annotations
        }
        return Array(try stored.jsonValue().jsonText.utf8)
    }

    static func restorePolicyName(_ resource: inout any AnyResource) throws(ModelError) {
        guard resource.kind == .networkPolicy || resource.kind == .globalNetworkPolicy else { return }
        if let text = resource.metadata.annotations?[policyNameAnnotation], !text.isEmpty {
            guard let name = try? JSONValue(parsing: text)["name"]?.stringValue else {
                throw ModelError(.schema, "annotation \(policyNameAnnotation) holds invalid JSON: \(text)")
            }
            resource.metadata.name = name
            resource.metadata.annotations?.removeValue(forKey: policyNameAnnotation)
            if resource.metadata.annotations?.isEmpty ?? false { resource.metadata.annotations = nil }
            return
        }
        let tier = (resource as? NetworkPolicy)?.spec.tier ?? (resource as? GlobalNetworkPolicy)?.spec.tier ?? ""
        if tier.isEmpty || tier == TierSpec.defaultTierName, let name = resource.metadata.name, name.hasPrefix("default.") {
            resource.metadata.name = String(name.dropFirst("default.".count))
        }
    }

    static func returned(_ resource: any AnyResource, revision: Revision) -> any AnyResource {
        var out = resource
        out.metadata.resourceVersion = revision.description
        out.metadata.selfLink = nil
        return out
    }

    /// calicoctl's `prepareMetadataForCreate`: only name, namespace, labels and annotations survive.
    static func metadataForCreate(_ resource: any AnyResource) -> any AnyResource {
        var out = resource
        out.metadata = ObjectMeta(
            name: resource.metadata.name, namespace: resource.metadata.namespace, labels: resource.metadata.labels,
            annotations: resource.metadata.annotations)
        return out
    }

    static func defaultAllowProfile() -> any AnyResource {
        var profile = Profile(
            metadata: ObjectMeta(name: defaultAllowProfileName),
            spec: ProfileSpec(ingress: [Rule(action: .allow)], egress: [Rule(action: .allow)]))
        profile.metadata.resourceVersion = "1"
        return profile
    }

    static func checkedKey(kind: ResourceKind, name: String, namespace: String?) throws -> ResourceKey {
        guard !name.isEmpty else {
            throw ModelError(.invalid, "a \(kind.name) name is required", fieldErrors: [FieldError("metadata.name", "name is required")])
        }
        if kind.isNamespaced, namespace?.isEmpty ?? true {
            throw ModelError(
                .invalid, "namespace is not specified on namespaced resource \(kind.name) \"\(name)\"",
                fieldErrors: [FieldError("metadata.namespace", "namespace is not specified on namespaced resource")])
        }
        return ResourceKey(kind: kind, namespace: namespace, name: name)
    }

    static func revision(of resource: any AnyResource) throws -> Revision {
        try parseRevision(resource.metadata.resourceVersion ?? "")
    }

    static func parseRevision(_ text: String) throws -> Revision {
        guard let revision = Revision(text), revision > .zero else {
            throw ModelError(
                .invalid, "resourceVersion \"\(text)\" is not a revision",
                fieldErrors: [FieldError("metadata.resourceVersion", "must be a positive decimal revision, found \"\(text)\"")])
        }
        return revision
    }

    static func resourceError(_ error: DatastoreError, key: ResourceKey) -> DatastoreError {
        switch error.code {
        case .notFound:
            DatastoreError(.notFound, "resource does not exist: \(key)", key: key.bytes, cause: error)
        case .conflict:
            DatastoreError(
                .conflict, "update conflict: \(key) (latest resourceVersion \(error.revision?.description ?? "unknown"))",
                key: key.bytes, current: error.current, revision: error.revision, cause: error)
        default:
            error
        }
    }

    static func cast<Spec>(_ resource: any AnyResource) throws -> Resource<Spec> {
        guard let typed = resource as? Resource<Spec> else {
            throw ModelError(.schema, "expected a \(Spec.kind.name), found a \(resource.kind.name)")
        }
        return typed
    }

    /// Now as RFC 3339 in UTC, to the second (Kubernetes' `metav1.Time`).
    static func timestamp(_ date: Date = Date()) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}

extension ResourceKey {
    /// The key of a resource (its kind, namespace and name).
    public init(for resource: any AnyResource) {
        self.init(kind: resource.kind, namespace: resource.metadata.namespace, name: resource.metadata.name ?? "")
    }
}

/// The result of a list: the resources in key order, the store revision they were read at (watch
/// after it to follow changes), and the stored values that could not be read.
public struct ResourceList<Element: Sendable>: Sendable {
    /// The resources.
    public var items: [Element]
    /// The store revision of the list.
    public var revision: Revision
    /// Values that did not parse.
    public var skipped: [SkippedValue]
}

/// A stored value that did not parse, skipped by a list.
public struct SkippedValue: Sendable {
    /// The key.
    public var key: String
    /// Why it could not be read.
    public var error: any Error
}
