/// A selector compiled into a branching program: a flat array of label tests, each naming the
/// instruction to run next when it is true and when it is false.
///
/// `!` swaps the two targets, `&&`/`||` chain them, `!=` and `not in` are `==` and `in` with the
/// targets swapped, and `all()`/`global()` disappear into their target, so evaluation is one loop
/// over plain structs with no recursion, no allocation and no `String` operations. Label keys and
/// literals are stored as UTF-8 bytes with a precomputed ``Bytes/hash(_:)``.
struct Program: Sendable {
    enum Operation: UInt8, Sendable {
        case has, equal, `in`, contains, startsWith, endsWith
    }

    struct Instruction: Sendable {
        var keyHash: UInt64
        /// The literal's hash (`equal`); unused otherwise.
        var literalHash: UInt64
        var keyStart: UInt32
        var keyLength: UInt32
        /// A byte range in ``bytes`` for the one-literal operations; for `in`, a range in ``setItems``.
        var literalStart: UInt32
        var literalLength: UInt32
        /// Index into ``keys`` (the `String` form, for evaluating `[String: String]`).
        var keyIndex: UInt32
        var onTrue: Int32
        var onFalse: Int32
        var operation: Operation
    }

    struct SetItem: Sendable {
        var hash: UInt64
        var start: UInt32
        var length: UInt32
    }

    /// Jump targets below zero end the evaluation.
    static let matched: Int32 = -1
    static let notMatched: Int32 = -2

    var instructions: [Instruction] = []
    var setItems: [SetItem] = []
    var bytes: [UInt8] = []
    /// Distinct label keys, in order of first use.
    var keys: [String] = []
    var entry: Int32 = Program.matched

    init(_ root: Node) {
        entry = emit(root, onTrue: Self.matched, onFalse: Self.notMatched)
    }

    /// The result when the program has no tests at all (`all()`, `!global()`, …).
    var constant: Bool? { entry < 0 ? entry == Self.matched : nil }

    private mutating func appendBytes(_ s: String) -> (start: UInt32, length: UInt32, hash: UInt64) {
        let start = bytes.count
        bytes.append(contentsOf: s.utf8)
        let length = bytes.count - start
        let hash = bytes.withUnsafeBytes { Bytes.hash(UnsafeRawBufferPointer(rebasing: $0[start..<(start + length)])) }
        return (UInt32(start), UInt32(length), hash)
    }

    private mutating func keyIndex(_ key: String) -> UInt32 {
        if let i = keys.firstIndex(where: { Bytes.same($0, key) }) { return UInt32(i) }
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
            var items: [SetItem] = []
            items.reserveCapacity(set.count)
            for value in set {
                let v = appendBytes(value)
                items.append(SetItem(hash: v.hash, start: v.start, length: v.length))
            }
            // Sorted by hash so that large sets can be searched by bisection.
            items.sort { $0.hash < $1.hash }
            literalStart = UInt32(setItems.count)
            literalLength = UInt32(items.count)
            setItems.append(contentsOf: items)
        }
        instructions.append(
            Instruction(
                keyHash: k.hash, literalHash: literalHash, keyStart: k.start, keyLength: k.length,
                literalStart: literalStart, literalLength: literalLength, keyIndex: keyIndex(key),
                onTrue: onTrue, onFalse: onFalse, operation: operation
            )
        )
        return Int32(instructions.count - 1)
    }

    /// Emits `node` so that it continues at `onTrue`/`onFalse`, returning its entry point.
    /// Operands are emitted last to first so that every target exists before it is referenced.
    private mutating func emit(_ node: Node, onTrue: Int32, onFalse: Int32) -> Int32 {
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
    @inline(__always)
    static func test(
        _ ins: Instruction, value: UnsafeRawBufferPointer, valueHash: UInt64?,
        program: UnsafeRawBufferPointer, setItems: UnsafeBufferPointer<SetItem>
    ) -> Bool {
        switch ins.operation {
        case .has:
            return true
        case .equal:
            if let valueHash, valueHash != ins.literalHash { return false }
            guard value.count == Int(ins.literalLength) else { return false }
            guard let v = value.baseAddress, let base = program.baseAddress else { return value.count == 0 }
            return Bytes.equal(v, base + Int(ins.literalStart), count: value.count)
        case .in:
            let hash = valueHash ?? Bytes.hash(value)
            let start = Int(ins.literalStart)
            let count = Int(ins.literalLength)
            var i: Int
            if count <= 8 {
                i = start
            } else {
                var lo = start, hi = start + count
                while lo < hi {
                    let mid = (lo + hi) >> 1
                    if setItems[mid].hash < hash { lo = mid + 1 } else { hi = mid }
                }
                i = lo
            }
            let end = start + count
            while i < end {
                let item = setItems[i]
                if item.hash == hash && Int(item.length) == value.count {
                    if value.count == 0 { return true }
                    if let v = value.baseAddress, let base = program.baseAddress,
                        Bytes.equal(v, base + Int(item.start), count: value.count)
                    {
                        return true
                    }
                }
                if count > 8 && item.hash > hash { break }
                i += 1
            }
            return false
        case .contains:
            return Bytes.contains(value, literal(ins, program))
        case .startsWith:
            return Bytes.hasPrefix(value, literal(ins, program))
        case .endsWith:
            return Bytes.hasSuffix(value, literal(ins, program))
        }
    }

    @inline(__always)
    static func literal(_ ins: Instruction, _ program: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: program[Int(ins.literalStart)..<Int(ins.literalStart + ins.literalLength)])
    }

    /// Evaluates against a prepared label set: no allocation, no `String` hashing.
    func evaluate(_ labels: LabelSet) -> Bool {
        var pc = entry
        if pc < 0 { return pc == Self.matched }
        return instructions.withUnsafeBufferPointer { code in
            bytes.withUnsafeBytes { program in
                setItems.withUnsafeBufferPointer { items in
                    labels.withTable { slots, mask, labelBytes in
                        while pc >= 0 {
                            let ins = code[Int(pc)]
                            var result = false
                            var s = Int(truncatingIfNeeded: ins.keyHash) & mask
                            while true {
                                let slot = slots[s]
                                if slot.keyHash == ins.keyHash {
                                    if slot.keyLength == ins.keyLength,
                                        Bytes.equal(
                                            labelBytes.baseAddress! + Int(slot.keyStart),
                                            program.baseAddress! + Int(ins.keyStart),
                                            count: Int(ins.keyLength)
                                        )
                                    {
                                        let value = UnsafeRawBufferPointer(
                                            rebasing: labelBytes[Int(slot.valueStart)..<Int(slot.valueStart + slot.valueLength)]
                                        )
                                        result = Program.test(
                                            ins, value: value, valueHash: slot.valueHash, program: program, setItems: items
                                        )
                                        break
                                    }
                                } else if slot.keyHash == 0 {
                                    break
                                }
                                s = (s + 1) & mask
                            }
                            pc = result ? ins.onTrue : ins.onFalse
                        }
                        return pc == Self.matched
                    }
                }
            }
        }
    }

    /// Evaluates against a plain dictionary, looking each key up directly.
    func evaluate(_ labels: [String: String]) -> Bool {
        var pc = entry
        if pc < 0 { return pc == Self.matched }
        return instructions.withUnsafeBufferPointer { code in
            bytes.withUnsafeBytes { program in
                setItems.withUnsafeBufferPointer { items in
                    while pc >= 0 {
                        let ins = code[Int(pc)]
                        var result = false
                        let key = keys[Int(ins.keyIndex)]
                        // Label keys compare as bytes: a dictionary key that is merely canonically
                        // equivalent (e.g. U+212A KELVIN SIGN for "K") is a different label.
                        if let index = labels.index(forKey: key), Bytes.same(labels[index].key, key) {
                            var value = labels[index].value
                            result = value.withUTF8 { utf8 in
                                Program.test(
                                    ins, value: UnsafeRawBufferPointer(utf8), valueHash: nil, program: program,
                                    setItems: items
                                )
                            }
                        }
                        pc = result ? ins.onTrue : ins.onFalse
                    }
                    return pc == Self.matched
                }
            }
        }
    }
}
