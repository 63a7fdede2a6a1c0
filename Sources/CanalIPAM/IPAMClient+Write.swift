import CanalDatastore

/// One key of a compare-and-swap write: what the caller read (nil: absent) and what to write (nil: delete).
struct KeyWrite {
    var key: [UInt8]
    var expected: KeyValue?
    var value: [UInt8]?
}

/// The outcome of a compare-and-swap write.
struct CommitResult {
    /// Whether every key was still as read.
    var succeeded: Bool
    /// The revision of the write.
    var revision: Revision
    /// On failure, each key's current value (in the order given).
    var current: [KeyValue?]
}

/// A handle as read, and the value a write will give it.
struct HandleState {
    var id: String
    var kv: KeyValue?
    var handle: IPAMHandle

    init(id: String, kv: KeyValue?) throws(IPAMError) {
        self.id = id
        self.kv = kv
        self.handle = try kv.map { kv throws(IPAMError) in try IPAMHandle(json: kv.value) } ?? IPAMHandle()
    }

    var key: [UInt8] { IPAMKeys.handle(id).bytes }

    /// The write adding `count` addresses in `block` (nil when `count` is 0).
    func adding(_ count: Int, block: String) -> KeyWrite? {
        guard count != 0 else { return nil }
        var next = handle
        let n = (next.blocks[block] ?? 0) + count
        next.blocks[block] = n > 0 ? n : nil
        next.deleted = false
        if next.blocks.isEmpty {
            return kv == nil ? nil : KeyWrite(key: key, expected: kv, value: nil)
        }
        return KeyWrite(key: key, expected: kv, value: next.jsonBytes)
    }

    /// After a successful write of `write`.
    mutating func committed(_ write: KeyWrite, revision: Revision) throws(IPAMError) {
        if let value = write.value {
            kv = KeyValue(key: key, value: value, createRevision: kv?.createRevision ?? revision, modRevision: revision,
                          version: (kv?.version ?? 0) + 1)
            handle = try IPAMHandle(json: value)
        } else {
            kv = nil
            handle = IPAMHandle()
        }
    }

    /// After a failed write: the current value.
    mutating func refreshed(_ current: KeyValue?) throws(IPAMError) {
        kv = current
        handle = try current.map { kv throws(IPAMError) in try IPAMHandle(json: kv.value) } ?? IPAMHandle()
    }
}

extension IPAMClient {
    /// One transaction: every key unchanged since read ⇒ write them all; else read them all.
    func commit(_ writes: [KeyWrite]) async throws(IPAMError) -> CommitResult {
        var comparisons: [Transaction.Comparison] = []
        var success: [Transaction.Operation] = []
        var failure: [Transaction.Operation] = []
        for w in writes {
            if let expected = w.expected {
                comparisons.append(.modRevision(w.key, is: expected.modRevision))
            } else {
                comparisons.append(.absent(w.key))
            }
            if let value = w.value {
                success.append(.put(key: w.key, value: value, lease: nil))
            } else {
                success.append(.delete(key: w.key))
            }
            failure.append(.get(key: w.key))
        }
        let result = try await run(Transaction(if: comparisons, then: success, else: failure, returnsPreviousValues: false))
        for (index, w) in writes.enumerated() where w.expected == nil || w.value == nil {
            // Blocks this client created, deleted or found existing: what a claim from the host
            // snapshot relies on.
            guard let cidr = IPAMKeys.blockCIDR(w.key) else { continue }
            if result.succeeded {
                hostCache.noteBlock(cidr, exists: w.value != nil)
            } else if index < result.results.count {
                hostCache.noteBlock(cidr, exists: result.results[index] != nil)
            }
        }
        return CommitResult(succeeded: result.succeeded, revision: result.revision, current: result.succeeded ? [] : result.results)
    }

    /// Reads several keys in one round trip (a read-only transaction).
    func getMany(_ keys: [[UInt8]]) async throws(IPAMError) -> [KeyValue?] {
        guard !keys.isEmpty else { return [] }
        if keys.count == 1 { return [try await ipam { try await store.get(keys[0]) }] }
        let result = try await run(Transaction(if: [], then: keys.map { .get(key: $0) }))
        return result.results
    }
}
