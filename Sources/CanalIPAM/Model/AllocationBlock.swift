public import CanalModel
import Synchronization

/// One allocation's owner: the handle and the attributes Calico stores for it
/// (libcalico-go `model.AllocationAttribute`).
public struct AllocationAttribute: Sendable, Hashable {
    /// The handle the address was allocated under (`handle_id`), if any.
    public var handleID: String?
    /// The owner's attributes (`secondary`): `node`, `pod`, `namespace`, `timestamp`, ...
    public var attributes: [String: String]
    /// `alternateOwnerAttrs` (KubeVirt live migration), kept as read.
    public var alternateOwnerAttributes: [String: String]
    /// `releasedAt` (Calico v3.34 cooldown), kept as read.
    public var releasedAt: String?

    /// Creates an attribute entry.
    public init(
        handleID: String?, attributes: [String: String] = [:], alternateOwnerAttributes: [String: String] = [:],
        releasedAt: String? = nil
    ) {
        self.handleID = handleID
        self.attributes = attributes
        self.alternateOwnerAttributes = alternateOwnerAttributes
        self.releasedAt = releasedAt
    }

    /// The handle with anything from the first `\r` cut off, as Calico sanitises host-local handles.
    public var sanitizedHandleID: String? {
        handleID.map { String($0.split(separator: "\r", maxSplits: 1, omittingEmptySubsequences: false).first ?? "") }
    }
}

/// A Calico IPAM block: the value at `/calico/ipam/v2/assignment/ipv4/block/<cidr>`
/// (libcalico-go `model.AllocationBlock`), read and written as Calico's JSON.
///
/// Ordinal *i* is the address `cidr + i`. ``allocations`` holds, per ordinal, nil (free) or an
/// index into ``attributes``; ``unallocated`` is the FIFO of free ordinals: allocation takes from
/// its head, release appends to its tail.
public struct AllocationBlock: Sendable, Hashable {
    /// The block's network (masked).
    public var cidr: CIDR
    /// `host:<node>`, `virtual:<name>`, or nil for a block no host owns.
    public var affinity: String?
    /// `affinity_claim_time` (RFC 3339), when the affinity was claimed.
    public var affinityClaimTime: String?
    /// Per ordinal: nil when free, otherwise an index into ``attributes``.
    public var allocations: [Int?]
    /// The free ordinals in allocation order.
    public var unallocated: [Int]
    /// The owners of allocations.
    public var attributes: [AllocationAttribute]
    /// Bumped on every write of the block.
    public var sequenceNumber: UInt64
    /// Per allocated ordinal: the block's sequence number when it was allocated.
    public var sequenceNumberForAllocation: [Int: UInt64]
    /// The soft-delete flag (Kubernetes datastore only).
    public var deleted: Bool
    /// Legacy `hostAffinity`, kept as read.
    public var hostAffinity: String?

    /// A new, empty block (Calico's `newBlock`): every ordinal free in order, and the sequence number
    /// starting at `sequenceNumber` (Calico uses the current Unix time in nanoseconds).
    public init(cidr: CIDR, affinity: String?, sequenceNumber: UInt64, claimTime: String? = nil) {
        self.cidr = cidr.network
        self.affinity = affinity
        self.affinityClaimTime = claimTime
        let n = Int(cidr.size)
        self.allocations = Array(repeating: nil, count: n)
        self.unallocated = Array(0..<n)
        self.attributes = []
        self.sequenceNumber = sequenceNumber
        self.sequenceNumberForAllocation = [:]
        self.deleted = false
        self.hostAffinity = nil
    }

    /// The number of addresses.
    public var size: Int { allocations.count }

    /// The host of a `host:` affinity, else nil.
    public var host: String? {
        guard let affinity, affinity.hasPrefix("host:") else { return nil }
        return String(affinity.dropFirst(5))
    }

    /// The address of an ordinal.
    public func address(ordinal: Int) -> IPAddress { cidr.address(at: UInt128(ordinal))! }

    /// The ordinal of an address in this block, or nil.
    public func ordinal(of address: IPAddress) -> Int? { cidr.offset(of: address).map { Int($0) } }

    /// The allocated ordinals, ascending.
    public var allocatedOrdinals: [Int] { allocations.indices.filter { allocations[$0] != nil } }

    /// Whether no address is allocated (Windows-reserved addresses don't count, as in Calico).
    public var isEmpty: Bool {
        allocations.allSatisfy { index in
            guard let index else { return true }
            return index < attributes.count && attributes[index].handleID?.lowercased() == "windows-reserved-ipam-handle"
        }
    }

    /// The owner of an address, when it is allocated.
    public func attribute(of address: IPAddress) -> AllocationAttribute? {
        guard let o = ordinal(of: address), let index = allocations[o], index < attributes.count else { return nil }
        return attributes[index]
    }

    // MARK: Allocation (libcalico-go ipam_block.go)

    /// Allocates up to `count` addresses from the head of ``unallocated``, skipping `reserved` ones
    /// (which stay in the list). Addresses of one call share one attribute entry. Returns the ordinals.
    mutating func autoAssign(
        count: Int, handle: String?, attributes attrs: [String: String], reserved: (IPAddress) -> Bool
    ) -> [Int] {
        guard count > 0 else { return [] }
        var taken: [Int] = []
        var kept: [Int] = []
        kept.reserveCapacity(unallocated.count)
        var attributeIndex: Int?
        for (position, ordinal) in unallocated.enumerated() {
            if taken.count >= count {
                kept.append(contentsOf: unallocated[position...])
                break
            }
            if reserved(address(ordinal: ordinal)) {
                kept.append(ordinal)
                continue
            }
            let index = attributeIndex ?? findOrAddAttribute(handle: handle, attributes: attrs)
            attributeIndex = index
            allocations[ordinal] = index
            sequenceNumberForAllocation[ordinal] = sequenceNumber
            taken.append(ordinal)
        }
        unallocated = kept
        return taken
    }

    /// ``autoAssign(count:handle:attributes:reserved:)`` with the addresses of `reservations` skipped;
    /// when none of them is in this block, the head of ``unallocated`` is taken without a look at each.
    mutating func autoAssign(
        count: Int, handle: String?, attributes attrs: [String: String], reservations: ReservationFilter
    ) -> [Int] {
        guard reservations.isEmpty || !reservations.overlaps(cidr) else {
            return autoAssign(count: count, handle: handle, attributes: attrs, reserved: reservations.contains)
        }
        let n = min(count, unallocated.count)
        guard n > 0 else { return [] }
        let index = findOrAddAttribute(handle: handle, attributes: attrs)
        let taken = Array(unallocated[..<n])
        unallocated.removeFirst(n)
        for ordinal in taken {
            allocations[ordinal] = index
            sequenceNumberForAllocation[ordinal] = sequenceNumber
        }
        return taken
    }

    /// ``autoAssign(count:handle:attributes:reservations:)`` and the sequence number bump of the
    /// block's write, changing the block in place (its arrays are not copied when it holds them
    /// alone), with what ``undo(_:)`` needs to take both back. Nothing changes when fewer than
    /// `count` addresses are free (the result's ordinals are then empty).
    mutating func assignUndoably(
        count: Int, handle: String?, attributes attrs: [String: String], reservations: ReservationFilter
    ) -> AssignmentUndo {
        var undo = AssignmentUndo(
            ordinals: [], unallocated: unallocated, stamps: [], attributeCount: attributes.count, sequenceNumber: sequenceNumber)
        if reservations.isEmpty || !reservations.overlaps(cidr) {
            guard unallocated.count >= count else { return undo }
            undo.stamps = unallocated.prefix(count).map { sequenceNumberForAllocation[$0] }
            undo.ordinals = autoAssign(count: count, handle: handle, attributes: attrs, reservations: reservations)
        } else {
            let stamps = sequenceNumberForAllocation
            undo.ordinals = autoAssign(count: count, handle: handle, attributes: attrs, reservations: reservations)
            undo.stamps = undo.ordinals.map { stamps[$0] }
            if undo.ordinals.count < count {
                self.undo(undo)
                undo.ordinals = []
                return undo
            }
        }
        sequenceNumber &+= 1
        return undo
    }

    /// Takes back an ``assignUndoably(count:handle:attributes:reservations:)`` (the last change made).
    mutating func undo(_ undo: AssignmentUndo) {
        for (ordinal, stamp) in zip(undo.ordinals, undo.stamps) {
            allocations[ordinal] = nil
            sequenceNumberForAllocation[ordinal] = stamp
        }
        unallocated = undo.unallocated
        if attributes.count > undo.attributeCount { attributes.removeLast(attributes.count - undo.attributeCount) }
        sequenceNumber = undo.sequenceNumber
    }

    /// The number of free addresses not covered by `reserved`.
    func freeCount(reserved: ReservationFilter) -> Int {
        if reserved.isEmpty { return unallocated.count }
        if reserved.coversWhole(cidr) { return 0 }
        guard reserved.overlaps(cidr) else { return unallocated.count }
        return unallocated.reduce(0) { $0 + (reserved.contains(address(ordinal: $1)) ? 0 : 1) }
    }

    /// Allocates one specific ordinal (Calico's `assign`); false when it is already allocated.
    mutating func assign(ordinal: Int, handle: String?, attributes attrs: [String: String]) -> Bool {
        guard allocations[ordinal] == nil else { return false }
        sequenceNumberForAllocation[ordinal] = sequenceNumber
        allocations[ordinal] = findOrAddAttribute(handle: handle, attributes: attrs)
        if let i = unallocated.firstIndex(of: ordinal) { unallocated.remove(at: i) }
        return true
    }

    private mutating func findOrAddAttribute(handle: String?, attributes attrs: [String: String]) -> Int {
        let entry = AllocationAttribute(handleID: handle, attributes: attrs)
        if let i = attributes.firstIndex(of: entry) { return i }
        attributes.append(entry)
        return attributes.count - 1
    }

    /// Frees the ordinals (each allocated, no duplicates): appended to the tail of ``unallocated``,
    /// attribute entries no longer referenced removed and indices compacted (Calico ≤ v3.32's release).
    mutating func release(ordinals: [Int], clearSequenceNumbers: Bool) {
        guard !ordinals.isEmpty else { return }
        for o in ordinals {
            allocations[o] = nil
            unallocated.append(o)
            if clearSequenceNumbers { sequenceNumberForAllocation[o] = nil }
        }
        compactAttributes()
    }

    /// Drops attribute entries no allocation refers to, renumbering the rest in order.
    mutating func compactAttributes() {
        var used = Array(repeating: false, count: attributes.count)
        for case let index? in allocations where index < used.count { used[index] = true }
        guard used.contains(false) else { return }
        var newIndex = Array(repeating: -1, count: attributes.count)
        var kept: [AllocationAttribute] = []
        for (i, attribute) in attributes.enumerated() where used[i] {
            newIndex[i] = kept.count
            kept.append(attribute)
        }
        attributes = kept
        for o in allocations.indices {
            if let index = allocations[o], index < newIndex.count { allocations[o] = newIndex[index] }
        }
    }

    /// The ordinals allocated under `handle` (compared sanitised, as Calico does).
    func ordinals(handle: String) -> [Int] {
        let indices = Set(attributes.indices.filter { attributes[$0].sanitizedHandleID == handle })
        guard !indices.isEmpty else { return [] }
        return allocations.indices.filter { allocations[$0].map(indices.contains) ?? false }
    }
}

/// What ``AllocationBlock/assignUndoably(count:handle:attributes:reservations:)`` changed.
struct AssignmentUndo: Sendable {
    /// The ordinals taken (empty when nothing was).
    var ordinals: [Int]
    /// The free list before.
    var unallocated: [Int]
    /// The sequence stamps of the taken ordinals before (a released address may keep its stamp).
    var stamps: [UInt64?]
    /// The number of attribute entries before.
    var attributeCount: Int
    /// The block's sequence number before.
    var sequenceNumber: UInt64
}

// MARK: JSON

/// Where the parts of a block's JSON that an assignment changes are: the contents of the
/// `allocations`, `unallocated` and `attributes` arrays and of the `sequenceNumberForAllocation`
/// object (between the brackets), and the `sequenceNumber` digits.
struct BlockJSONLayout: Sendable, Hashable {
    var allocations: Range<Int>
    var unallocated: Range<Int>
    var attributes: Range<Int>
    var sequenceNumber: Range<Int>
    var sequenceMap: Range<Int>
}

/// Non-negative integers in the order of their decimal strings, as Go sorts `map[string]` keys.
enum DecimalOrder {
    static let cachedLimit = 1 << 12
    private static let tables = Mutex<[Int: [Int]]>([:])

    /// `0..<n` in decimal-string order (cached per `n`).
    static func ordinals(below n: Int) -> [Int] {
        if let table = tables.withLock({ $0[n] }) { return table }
        let table = (0..<n).sorted(by: less)
        tables.withLock { $0[n] = table }
        return table
    }

    /// Whether `a`'s decimal string sorts before `b`'s.
    static func less(_ a: Int, _ b: Int) -> Bool {
        let da = digits(a), db = digits(b)
        // Compare the leading digits of the longer number cut to the shorter's length.
        if da == db { return a < b }
        if da < db {
            let cut = b / power(db - da)
            return a == cut ? true : a < cut
        }
        let cut = a / power(da - db)
        return cut == b ? false : cut < b
    }

    private static func digits(_ v: Int) -> Int {
        var n = 1, v = v
        while v >= 10 { v /= 10; n += 1 }
        return n
    }

    private static func power(_ k: Int) -> Int {
        var p = 1
        for _ in 0..<k { p *= 10 }
        return p
    }
}

extension AllocationBlock {
    /// The block as Calico writes it: `cidr`, `affinity`, `affinity_claim_time` (when set),
    /// `allocations`, `unallocated`, `attributes` [{`handle_id`, `secondary`}], `sequenceNumber`,
    /// `sequenceNumberForAllocation` (ordinal strings in Go's sorted order), `deleted`.
    public var jsonBytes: [UInt8] { encodedJSON().bytes }

    /// ``jsonBytes`` and where its parts are.
    func encodedJSON() -> (bytes: [UInt8], layout: BlockJSONLayout) {
        var w = JSONWriter(capacity: 64 + allocations.count * 12 + attributes.count * 48)
        w.raw("{\"cidr\":")
        w.string(cidr.description)
        w.raw(",\"affinity\":")
        w.optionalString(affinity)
        if let affinityClaimTime {
            w.raw(",\"affinity_claim_time\":")
            w.string(affinityClaimTime)
        }
        w.raw(",\"allocations\":[")
        let allocationsStart = w.count
        let indexWidth = max(4, ByteCursor.digits(attributes.count)) + 1
        w.unchecked(maxBytes: allocations.count * indexWidth) { c in
            for (i, a) in allocations.enumerated() {
                if i > 0 { c.byte(UInt8(ascii: ",")) }
                if let a, a >= 0 { c.int(UInt64(a)) } else { c.raw("null") }
            }
        }
        let allocationsEnd = w.count
        w.raw("],\"unallocated\":[")
        let unallocatedStart = w.count
        let ordinalWidth = ByteCursor.digits(max(allocations.count, unallocated.max() ?? 0)) + 1
        w.unchecked(maxBytes: unallocated.count * ordinalWidth) { c in
            for (i, o) in unallocated.enumerated() {
                if i > 0 { c.byte(UInt8(ascii: ",")) }
                c.int(UInt64(o))
            }
        }
        let unallocatedEnd = w.count
        w.raw("],\"attributes\":[")
        let attributesStart = w.count
        for (i, a) in attributes.enumerated() {
            if i > 0 { w.raw(",") }
            w.attribute(a)
        }
        let attributesEnd = w.count
        w.raw("],\"sequenceNumber\":")
        let sequenceStart = w.count
        w.int(sequenceNumber)
        let sequenceEnd = w.count
        w.raw(",\"sequenceNumberForAllocation\":{")
        let mapStart = w.count
        // Go sorts map keys as strings: "0" < "1" < "10" < "2".
        let keyWidth = ByteCursor.digits(max(allocations.count, sequenceNumberForAllocation.keys.max() ?? 0))
        w.unchecked(maxBytes: sequenceNumberForAllocation.count * (keyWidth + 25)) { c in
            var first = true
            func entry(_ ordinal: Int, _ sequence: UInt64, _ c: inout ByteCursor) {
                if !first { c.byte(UInt8(ascii: ",")) }
                first = false
                c.byte(UInt8(ascii: "\""))
                c.int(UInt64(ordinal))
                c.raw("\":")
                c.int(sequence)
            }
            if sequenceNumberForAllocation.count * 4 >= allocations.count, allocations.count <= DecimalOrder.cachedLimit {
                // A dense copy of the map, walked in the decimal order of the ordinals.
                var dense = [UInt64?](repeating: nil, count: allocations.count)
                var rest: [Int] = []
                for (o, s) in sequenceNumberForAllocation {
                    if o < dense.count { dense[o] = s } else { rest.append(o) }
                }
                if rest.isEmpty {
                    for o in DecimalOrder.ordinals(below: allocations.count) {
                        if let s = dense[o] { entry(o, s, &c) }
                    }
                    return
                }
            }
            for o in sequenceNumberForAllocation.keys.sorted(by: DecimalOrder.less) { entry(o, sequenceNumberForAllocation[o]!, &c) }
        }
        let mapEnd = w.count
        w.raw("},\"deleted\":")
        w.bool(deleted)
        if let hostAffinity {
            w.raw(",\"hostAffinity\":")
            w.string(hostAffinity)
        }
        w.raw("}")
        let layout = BlockJSONLayout(
            allocations: allocationsStart..<allocationsEnd, unallocated: unallocatedStart..<unallocatedEnd,
            attributes: attributesStart..<attributesEnd, sequenceNumber: sequenceStart..<sequenceEnd, sequenceMap: mapStart..<mapEnd)
        return (w.bytes, layout)
    }

    /// The JSON of this block, made from `previous` (the JSON of `old`, with its `layout`) when
    /// this block is `old` after one ``autoAssign(count:handle:attributes:reservations:)`` that took
    /// `taken` from the head of `old`'s free list, and a sequence number bump: only the changed
    /// parts are written, the rest copied. Byte for byte ``encodedJSON()``; nil when the change is
    /// not of that shape.
    func patchedJSON(
        from previous: [UInt8], layout: BlockJSONLayout, old: AllocationBlock, taken: [Int]
    ) -> (bytes: [UInt8], layout: BlockJSONLayout)? {
        patchedJSON(
            from: previous, layout: layout, oldUnallocated: old.unallocated, oldAttributeCount: old.attributes.count,
            oldSequenceNumber: old.sequenceNumber, taken: taken)
    }

    /// ``patchedJSON(from:layout:old:taken:)`` given only what it needs of the old block (its free
    /// list, number of attributes and sequence number), as an ``AssignmentUndo`` keeps them.
    func patchedJSON(
        from previous: [UInt8], layout: BlockJSONLayout, oldUnallocated: [Int], oldAttributeCount: Int,
        oldSequenceNumber: UInt64, taken: [Int]
    ) -> (bytes: [UInt8], layout: BlockJSONLayout)? {
        previous.withUnsafeBufferPointer { previous in
            patchedJSON(
                from: previous, layout: layout, oldUnallocated: oldUnallocated, oldAttributeCount: oldAttributeCount,
                oldSequenceNumber: oldSequenceNumber, taken: taken)
        }
    }

    /// ``patchedJSON(from:layout:oldUnallocated:oldAttributeCount:oldSequenceNumber:taken:)`` over
    /// the old JSON's storage (its runs are copied without slicing the array).
    private func patchedJSON(
        from previous: UnsafeBufferPointer<UInt8>, layout: BlockJSONLayout, oldUnallocated: [Int], oldAttributeCount: Int,
        oldSequenceNumber: UInt64, taken: [Int]
    ) -> (bytes: [UInt8], layout: BlockJSONLayout)? {
        let k = taken.count
        guard k > 0, let index = allocations[taken[0]], sequenceNumber == oldSequenceNumber &+ 1,
              unallocated.count == oldUnallocated.count - k, oldUnallocated.starts(with: taken),
              attributes.count == oldAttributeCount || attributes.count == oldAttributeCount + 1,
              layout.sequenceMap.upperBound < previous.count
        else { return nil }
        let stamp = oldSequenceNumber
        let comma = UInt8(ascii: ",")
        var w = JSONWriter(capacity: previous.count + k * 32 + 96)
        w.append(previous[..<layout.allocations.lowerBound])

        // allocations: the taken elements ("null") become the attribute index.
        let allocationsStart = w.count
        var cursor = layout.allocations.lowerBound
        var element = 0
        let allocationsUpper = layout.allocations.upperBound
        for ordinal in k == 1 ? taken : taken.sorted() {
            // The start and end of element `ordinal`.
            let (at, end) = previous.withUnsafeBufferPointer { bytes -> (Int, Int) in
                let at = skipCommas(bytes, ordinal - element, from: cursor, end: allocationsUpper)
                guard at >= 0 else { return (-1, -1) }
                element = ordinal
                return (at, nextComma(bytes, from: at, end: allocationsUpper))
            }
            guard at >= 0 else { return nil }
            w.append(previous[cursor..<at])
            w.int(index)
            cursor = end
        }
        w.append(previous[cursor..<layout.allocations.upperBound])
        let allocationsEnd = w.count

        // unallocated: the first k elements dropped.
        w.append(previous[layout.allocations.upperBound..<layout.unallocated.lowerBound])
        let unallocatedStart = w.count
        var from = layout.unallocated.lowerBound
        if unallocated.isEmpty {
            from = layout.unallocated.upperBound
        } else {
            for _ in 0..<k {
                while from < layout.unallocated.upperBound, previous[from] != comma { from += 1 }
                guard from < layout.unallocated.upperBound else { return nil }
                from += 1
            }
        }
        w.append(previous[from..<layout.unallocated.upperBound])
        let unallocatedEnd = w.count

        // attributes: the call's entry appended when it is new.
        let attributesStart = w.count + (layout.attributes.lowerBound - layout.unallocated.upperBound)
        w.append(previous[layout.unallocated.upperBound..<layout.attributes.upperBound])
        if attributes.count > oldAttributeCount {
            if oldAttributeCount > 0 { w.raw(",") }
            w.attribute(attributes[attributes.count - 1])
        }
        let attributesEnd = w.count

        w.append(previous[layout.attributes.upperBound..<layout.sequenceNumber.lowerBound])
        let sequenceStart = w.count
        w.int(sequenceNumber)
        let sequenceEnd = w.count

        // sequenceNumberForAllocation: the new entries merged in Go's key order; the runs of old
        // entries between them copied whole.
        w.append(previous[layout.sequenceNumber.upperBound..<layout.sequenceMap.lowerBound])
        let mapStart = w.count
        let added = k == 1 ? taken : taken.sorted(by: DecimalOrder.less)
        var first = true
        func run(_ range: Range<Int>, _ w: inout JSONWriter) {
            guard !range.isEmpty else { return }
            if !first { w.raw(",") }
            first = false
            w.append(previous[range])
        }
        func entry(_ ordinal: Int, _ w: inout JSONWriter) {
            if !first { w.raw(",") }
            first = false
            w.raw("\"")
            w.int(ordinal)
            w.raw("\":")
            w.int(stamp)
        }
        let end = layout.sequenceMap.upperBound
        var next = 0
        var runStart = layout.sequenceMap.lowerBound
        var at = layout.sequenceMap.lowerBound
        while next < added.count, at < end {
            // One entry: "<ordinal>":<sequence>
            let (key, after) = previous.withUnsafeBufferPointer { bytes -> (Int, Int) in
                guard bytes[at] == UInt8(ascii: "\"") else { return (-1, 0) }
                var key = 0
                var digit = at + 1
                while digit < end, bytes[digit] != UInt8(ascii: "\"") {
                    key = key &* 10 &+ Int(bytes[digit] &- UInt8(ascii: "0"))
                    digit += 1
                }
                let stop = nextComma(bytes, from: digit, end: end)
                return (key, stop < end ? stop + 1 : end)
            }
            guard key >= 0 else { return nil }
            if DecimalOrder.less(added[next], key) {
                run(runStart..<(at > runStart ? at - 1 : at), &w)
                entry(added[next], &w)
                next += 1
                runStart = at
            } else if added[next] == key {
                run(runStart..<(at > runStart ? at - 1 : at), &w)
                entry(key, &w)  // an old stamp of a released address, replaced
                next += 1
                at = after
                runStart = at
            } else {
                at = after
            }
        }
        run(runStart..<end, &w)
        while next < added.count {
            entry(added[next], &w)
            next += 1
        }
        let mapEnd = w.count
        w.append(previous[layout.sequenceMap.upperBound...])
        let layout = BlockJSONLayout(
            allocations: allocationsStart..<allocationsEnd, unallocated: unallocatedStart..<unallocatedEnd,
            attributes: attributesStart..<attributesEnd, sequenceNumber: sequenceStart..<sequenceEnd, sequenceMap: mapStart..<mapEnd)
        return (w.bytes, layout)
    }

    /// Parses Calico's block JSON; throws ``IPAMError/Code/corruptData`` when it is not a valid block.
    public init(json bytes: [UInt8]) throws(IPAMError) {
        let value: JSONValue
        do {
            value = try JSONValue(parsing: bytes)
        } catch {
            throw IPAMError(.corruptData, "a block is not JSON: \(error)")
        }
        func bad(_ what: String) -> IPAMError { IPAMError(.corruptData, "invalid block: \(what)") }
        guard let object = value.objectValue else { throw bad("not an object") }
        guard let cidrText = object["cidr"]?.stringValue, let cidr = CIDR(cidrText) else { throw bad("cidr") }
        self.cidr = cidr.network
        let n = Int(min(cidr.size, 1 << 20))
        affinity = object["affinity"]?.stringValue
        affinityClaimTime = object["affinity_claim_time"]?.stringValue
        hostAffinity = object["hostAffinity"]?.stringValue
        if affinity == nil, let legacy = hostAffinity { affinity = "host:\(legacy)" }
        var allocations: [Int?] = []
        if let items = object["allocations"]?.arrayValue {
            allocations.reserveCapacity(items.count)
            for item in items {
                if item.isNull { allocations.append(nil) } else if let i = item.intValue, i >= 0 { allocations.append(i) } else { throw bad("allocations") }
            }
        }
        if allocations.count < n { allocations += Array(repeating: nil, count: n - allocations.count) }
        guard allocations.count == n else { throw bad("\(allocations.count) allocations for a block of \(n)") }
        self.allocations = allocations
        var unallocated: [Int] = []
        for item in object["unallocated"]?.arrayValue ?? [] {
            guard let o = item.intValue, o >= 0, o < n else { throw bad("unallocated") }
            unallocated.append(o)
        }
        self.unallocated = unallocated
        var attributes: [AllocationAttribute] = []
        for item in object["attributes"]?.arrayValue ?? [] {
            guard let a = item.objectValue else { throw bad("attributes") }
            let handle = a["handle_id"]?.stringValue
            guard let secondary = (a["secondary"] ?? .null).stringMapValue,
                  let alternate = (a["alternateOwnerAttrs"] ?? .null).stringMapValue
            else { throw bad("attributes") }
            attributes.append(
                AllocationAttribute(handleID: handle, attributes: secondary, alternateOwnerAttributes: alternate,
                                    releasedAt: a["releasedAt"]?.stringValue))
        }
        self.attributes = attributes
        guard allocations.allSatisfy({ $0.map { $0 < attributes.count } ?? true }) else { throw bad("an allocation names a missing attribute") }
        sequenceNumber = object["sequenceNumber"]?.uint64Value ?? 0
        var seq: [Int: UInt64] = [:]
        if let map = object["sequenceNumberForAllocation"]?.objectValue {
            for (k, v) in map {
                guard let o = Int(k), o >= 0, let s = v.uint64Value else { throw bad("sequenceNumberForAllocation") }
                seq[o] = s
            }
        }
        sequenceNumberForAllocation = seq
        deleted = object["deleted"]?.boolValue ?? false
    }
}

extension UnsafeBufferPointer {
    /// The buffer itself (so code written for an array's storage reads a buffer alike).
    fileprivate func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Element>) throws -> R) rethrows -> R { try body(self) }
}

/// The index of the first `,` in `bytes[from..<end]`, or `end`: eight bytes at a time.
@inline(__always)
private func nextComma(_ bytes: UnsafeBufferPointer<UInt8>, from: Int, end: Int) -> Int {
    var at = from
    if let base = bytes.baseAddress {
        let raw = UnsafeRawPointer(base)
        while at + 8 <= end {
            let mask = commaMask(raw.loadUnaligned(fromByteOffset: at, as: UInt64.self))
            if mask != 0 { return at + mask.trailingZeroBitCount >> 3 }
            at += 8
        }
    }
    while at < end, bytes[at] != UInt8(ascii: ",") { at += 1 }
    return at
}

/// The index just after the `count`th `,` from `from` (`from` itself for 0), or -1 when
/// `bytes[from..<end]` has fewer.
@inline(__always)
private func skipCommas(_ bytes: UnsafeBufferPointer<UInt8>, _ count: Int, from: Int, end: Int) -> Int {
    var left = count
    var at = from
    guard left > 0 else { return at }
    if let base = bytes.baseAddress {
        let raw = UnsafeRawPointer(base)
        while at + 8 <= end {
            var mask = commaMask(raw.loadUnaligned(fromByteOffset: at, as: UInt64.self))
            let found = mask.nonzeroBitCount
            if found < left {
                left -= found
                at += 8
                continue
            }
            // The `left`th comma of this word.
            while left > 1 {
                mask &= mask &- 1
                left -= 1
            }
            return at + mask.trailingZeroBitCount >> 3 + 1
        }
    }
    while at < end {
        if bytes[at] == UInt8(ascii: ",") {
            left -= 1
            if left == 0 { return at + 1 }
        }
        at += 1
    }
    return -1
}

/// The high bit of each byte of `word` that is a `,` (exact per byte, little-endian order).
@inline(__always)
private func commaMask(_ word: UInt64) -> UInt64 {
    let x = word ^ 0x2C2C_2C2C_2C2C_2C2C
    let nonzero = ((x & 0x7F7F_7F7F_7F7F_7F7F) &+ 0x7F7F_7F7F_7F7F_7F7F) | x
    return ~nonzero & 0x8080_8080_8080_8080
}
