/// A selector compiled into a branching program: a flat array of label tests, each naming the
/// instruction to run next when it is true and when it is false.
///
/// `!` swaps the two targets, `&&`/`||` chain them, `!=` and `not in` are `==` and `in` with the
/// targets swapped, and `all()`/`global()` disappear into their target, so evaluation is one loop
/// over plain structs with no recursion, no allocation and no `String` operations. Label keys and
/// literals are stored as UTF-8 bytes with a precomputed ``Bytes/hash(_:)``.
///
/// The evaluation loop over a ``LabelSet`` is `@inlinable` (with what it touches marked
/// `@usableFromInline`): inlined into the caller's loop, the label set no longer has to be
/// retained and released around an opaque call, which the selector benchmark measures as a
/// large share of an evaluation.
@usableFromInline
final class Program: Sendable {
    @usableFromInline
    enum Operation: UInt8, Sendable {
        case has, equal, `in`, contains, startsWith, endsWith
    }

    @usableFromInline
    struct Instruction: Sendable {
        @usableFromInline var keyHash: UInt64
        /// The literal's hash (`equal`); unused otherwise.
        @usableFromInline var literalHash: UInt64
        @usableFromInline var keyStart: UInt32
        @usableFromInline var keyLength: UInt32
        /// A byte range in the bytes region for the one-literal operations; for `in`, a range of
        /// set items.
        @usableFromInline var literalStart: UInt32
        @usableFromInline var literalLength: UInt32
        /// Index into ``keys`` (the `String` form, for evaluating `[String: String]`).
        @usableFromInline var keyIndex: UInt32
        @usableFromInline var onTrue: Int32
        @usableFromInline var onFalse: Int32
        @usableFromInline var operation: Operation
    }

    @usableFromInline
    struct SetItem: Sendable {
        @usableFromInline var hash: UInt64
        @usableFromInline var start: UInt32
        @usableFromInline var length: UInt32
    }

    /// Jump targets below zero end the evaluation.
    @usableFromInline static let matched: Int32 = -1
    @usableFromInline static let notMatched: Int32 = -2

    /// The whole program in one buffer: the instructions, then the set items, then the key and
    /// literal bytes. Instruction `i` is at byte offset `i * stride`; set item and byte offsets
    /// are relative to their regions.
    @usableFromInline let code: [UInt64]
    @usableFromInline let setItemsOffset: Int
    @usableFromInline let bytesOffset: Int
    /// Distinct label keys, in order of first use.
    let keys: [String]
    @usableFromInline let entry: Int32

    init(_ root: Node, sizeHint: Int) {
        var builder = ProgramBuilder()
        builder.instructions.reserveCapacity(8)
        builder.bytes.reserveCapacity(sizeHint)
        entry = builder.emit(root, onTrue: Self.matched, onFalse: Self.notMatched)
        (code, setItemsOffset, bytesOffset) = builder.flatten()
        keys = builder.keys
    }

    /// The result when the program has no tests at all (`all()`, `!global()`, …).
    var constant: Bool? { entry < 0 ? entry == Self.matched : nil }
}

/// Compiles a tree into instructions, set items and bytes.
struct ProgramBuilder {
    typealias Instruction = Program.Instruction
    typealias SetItem = Program.SetItem
    typealias Operation = Program.Operation

    var instructions: [Instruction] = []
    var setItems: [SetItem] = []
    var bytes: [UInt8] = []
    var keys: [String] = []

    func flatten() -> (code: [UInt64], setItemsOffset: Int, bytesOffset: Int) {
        let instructionBytes = instructions.count * MemoryLayout<Instruction>.stride
        let setItemBytes = setItems.count * MemoryLayout<SetItem>.stride
        var code = [UInt64](repeating: 0, count: (instructionBytes + setItemBytes + bytes.count + 7) / 8)
        code.withUnsafeMutableBytes { raw in
            guard raw.count > 0 else { return }
            instructions.withUnsafeBytes {
                guard let base = $0.baseAddress else { return }
                raw.baseAddress!.copyMemory(from: base, byteCount: $0.count)
            }
            setItems.withUnsafeBytes {
                guard let base = $0.baseAddress else { return }
                (raw.baseAddress! + instructionBytes).copyMemory(from: base, byteCount: $0.count)
            }
            bytes.withUnsafeBytes {
                guard let base = $0.baseAddress else { return }
                (raw.baseAddress! + instructionBytes + setItemBytes).copyMemory(from: base, byteCount: $0.count)
            }
        }
        return (code, instructionBytes, instructionBytes + setItemBytes)
    }

    private mutating func appendBytes(_ s: String) -> (start: UInt32, length: UInt32, hash: UInt64) {
        let start = bytes.count
        bytes.append(contentsOf: s.utf8)
        let length = bytes.count - start
        let hash = bytes.withUnsafeBytes { Bytes.hash(UnsafeRawBufferPointer(rebasing: $0[start..<(start + length)])) }
        return (UInt32(start), UInt32(length), hash)
    }

    /// Key bytes to index, used once there are too many keys for a linear search.
    var keyIndexByBytes: [[UInt8]: UInt32] = [:]

    private mutating func keyIndex(_ key: String) -> UInt32 {
        if keys.count < 16 {
            if let i = keys.firstIndex(where: { Bytes.same($0, key) }) { return UInt32(i) }
        } else {
            if keyIndexByBytes.isEmpty {
                for (i, k) in keys.enumerated() { keyIndexByBytes[Array(k.utf8)] = UInt32(i) }
            }
            let bytes = Array(key.utf8)
            if let i = keyIndexByBytes[bytes] { return i }
            keyIndexByBytes[bytes] = UInt32(keys.count)
        }
        keys.append(key)
        return UInt32(keys.count - 1)
    }

    private mutating func emitTest(
        _ operation: Operation, key: String, literal: String?, set: [String]?, onTrue: Int32, onFalse: Int32
    ) -> Int32 {
        let k = appendBytes(key)
        var literalHash: UInt64 = 0
        var literalStart: UInt32 = 0
        var literalLength: UInt32 = 0
        if let literal {
            let l = appendBytes(literal)
            (literalStart, literalLength, literalHash) = (l.start, l.length, l.hash)
        }
        if let set {
            literalStart = UInt32(setItems.count)
            literalLength = UInt32(set.count)
            for value in set {
                let v = appendBytes(value)
                setItems.append(SetItem(hash: v.hash, start: v.start, length: v.length))
            }
            // Sorted by hash so that large sets can be searched by bisection.
            setItems[Int(literalStart)...].sort { $0.hash < $1.hash }
        }
        let index = keyIndex(key)
        instructions.append(
            Instruction(
                keyHash: k.hash, literalHash: literalHash, keyStart: k.start, keyLength: k.length,
                literalStart: literalStart, literalLength: literalLength, keyIndex: index,
                onTrue: onTrue, onFalse: onFalse, operation: operation
            )
        )
        return Int32(instructions.count - 1)
    }

    /// Emits `node` so that it continues at `onTrue`/`onFalse`, returning its entry point.
    /// Operands are emitted last to first so that every target exists before it is referenced.
    mutating func emit(_ node: Node, onTrue: Int32, onFalse: Int32) -> Int32 {
        switch node {
        case .all, .global:
            return onTrue
        case .has(let key):
            return emitTest(.has, key: key, literal: nil, set: nil, onTrue: onTrue, onFalse: onFalse)
        case .compare(let key, let comparison, let literal):
            switch comparison {
            case .equal:
                return emitTest(.equal, key: key, literal: literal, set: nil, onTrue: onTrue, onFalse: onFalse)
            case .notEqual:
                return emitTest(.equal, key: key, literal: literal, set: nil, onTrue: onFalse, onFalse: onTrue)
            case .contains:
                return emitTest(.contains, key: key, literal: literal, set: nil, onTrue: onTrue, onFalse: onFalse)
            case .startsWith:
                return emitTest(.startsWith, key: key, literal: literal, set: nil, onTrue: onTrue, onFalse: onFalse)
            case .endsWith:
                return emitTest(.endsWith, key: key, literal: literal, set: nil, onTrue: onTrue, onFalse: onFalse)
            }
        case .set(let key, let negated, let values):
            return negated
                ? emitTest(.in, key: key, literal: nil, set: values, onTrue: onFalse, onFalse: onTrue)
                : emitTest(.in, key: key, literal: nil, set: values, onTrue: onTrue, onFalse: onFalse)
        case .not(let operand):
            return emit(operand, onTrue: onFalse, onFalse: onTrue)
        case .and(let operands):
            var next = onTrue
            for operand in operands.reversed() { next = emit(operand, onTrue: next, onFalse: onFalse) }
            return next
        case .or(let operands):
            var next = onFalse
            for operand in operands.reversed() { next = emit(operand, onTrue: onTrue, onFalse: next) }
            return next
        }
    }
}

extension Program {
    /// Runs one test given the label's value (bytes and, when known, hash).
    @inlinable @inline(__always)
    static func test(
        _ ins: Instruction, value: UnsafeRawBufferPointer, valueHash: UInt64?,
        bytes: UnsafeRawPointer, setItems: UnsafeRawPointer
    ) -> Bool {
        switch ins.operation {
        case .has:
            return true
        case .equal:
            if let valueHash, valueHash != ins.literalHash { return false }
            guard value.count == Int(ins.literalLength) else { return false }
            guard let v = value.baseAddress else { return true }
            return Bytes.equal(v, bytes + Int(ins.literalStart), count: value.count)
        case .in:
            let hash = valueHash ?? Bytes.hash(value)
            let count = Int(ins.literalLength)
            let items = setItems + Int(ins.literalStart) * MemoryLayout<SetItem>.stride
            @inline(__always) func item(_ i: Int) -> SetItem {
                items.load(fromByteOffset: i * MemoryLayout<SetItem>.stride, as: SetItem.self)
            }
            var i = 0
            if count > 8 {
                var hi = count
                while i < hi {
                    let mid = (i + hi) >> 1
                    if item(mid).hash < hash { i = mid + 1 } else { hi = mid }
                }
            }
            while i < count {
                let candidate = item(i)
                if candidate.hash == hash && Int(candidate.length) == value.count {
                    guard let v = value.baseAddress else { return true }
                    if Bytes.equal(v, bytes + Int(candidate.start), count: value.count) { return true }
                }
                if count > 8 && candidate.hash > hash { break }
                i += 1
            }
            return false
        case .contains:
            return Bytes.contains(value, literal(ins, bytes))
        case .startsWith:
            return Bytes.hasPrefix(value, literal(ins, bytes))
        case .endsWith:
            return Bytes.hasSuffix(value, literal(ins, bytes))
        }
    }

    @inlinable @inline(__always)
    static func literal(_ ins: Instruction, _ bytes: UnsafeRawPointer) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: bytes + Int(ins.literalStart), count: Int(ins.literalLength))
    }

    /// Evaluates against a prepared label set: no allocation, no `String` hashing.
    @inlinable @inline(__always)
    func evaluate(_ labels: LabelSet) -> Bool {
        labels.withTable { table, mask in run(table: table, mask: mask) }
    }

    /// The interpreter loop over a label set's table (see ``LabelSet``).
    @usableFromInline
    func run(table: UnsafeRawPointer, mask: Int) -> Bool {
        let entry = self.entry
        if entry < 0 { return entry == Self.matched }
        let setItemsOffset = self.setItemsOffset
        let bytesOffset = self.bytesOffset
        return code.withUnsafeBytes { raw in
            let base = raw.baseAddress!
            let setItems = base + setItemsOffset
            let bytes = base + bytesOffset
            var pc = entry
            while pc >= 0 {
                let ins = base.load(
                    fromByteOffset: Int(pc) * MemoryLayout<Instruction>.stride, as: Instruction.self
                )
                var result = false
                if let value = LabelSet.lookup(
                    table, mask: mask, hash: ins.keyHash, key: bytes + Int(ins.keyStart),
                    length: Int(ins.keyLength)
                ) {
                    result = Program.test(
                        ins, value: value.bytes, valueHash: value.hash, bytes: bytes, setItems: setItems
                    )
                }
                pc = result ? ins.onTrue : ins.onFalse
            }
            return pc == Self.matched
        }
    }

    /// Evaluates against a plain dictionary, looking each key up directly.
    func evaluate(_ labels: [String: String]) -> Bool {
        let entry = self.entry
        if entry < 0 { return entry == Self.matched }
        let setItemsOffset = self.setItemsOffset
        let bytesOffset = self.bytesOffset
        return code.withUnsafeBytes { raw in
            let base = raw.baseAddress!
            var pc = entry
            while pc >= 0 {
                let ins = base.load(fromByteOffset: Int(pc) * MemoryLayout<Instruction>.stride, as: Instruction.self)
                var result = false
                let key = keys[Int(ins.keyIndex)]
                // Label keys compare as bytes: a dictionary key that is merely canonically
                // equivalent (e.g. U+212A KELVIN SIGN for "K") is a different label.
                if let index = labels.index(forKey: key), Bytes.same(labels[index].key, key) {
                    var value = labels[index].value
                    result = value.withUTF8 { utf8 in
                        Program.test(
                            ins, value: UnsafeRawBufferPointer(utf8), valueHash: nil, bytes: base + bytesOffset,
                            setItems: base + setItemsOffset
                        )
                    }
                }
                pc = result ? ins.onTrue : ins.onFalse
            }
            return pc == Self.matched
        }
    }
}
