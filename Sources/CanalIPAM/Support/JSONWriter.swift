import CanalModel

/// A small JSON writer producing the bytes Go's `encoding/json` produces for IPAM values: fields in
/// struct order, map keys sorted bytewise, and `<`, `>`, `&` escaped as `\u003c`, `\u003e`, `\u0026`.
struct JSONWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    /// The bytes written so far.
    var count: Int { bytes.count }

    /// Appends bytes as they are.
    mutating func append(_ slice: ArraySlice<UInt8>) { bytes.append(contentsOf: slice) }

    /// Appends a run of a buffer as it is.
    mutating func append(_ slice: Slice<UnsafeBufferPointer<UInt8>>) { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: slice)) }

    /// One block attribute: `{"handle_id":…,"secondary":{…}}` (and the optional fields when set).
    mutating func attribute(_ a: AllocationAttribute) {
        raw("{\"handle_id\":")
        optionalString(a.handleID)
        raw(",\"secondary\":")
        stringMap(a.attributes)
        if !a.alternateOwnerAttributes.isEmpty {
            raw(",\"alternateOwnerAttrs\":")
            stringMap(a.alternateOwnerAttributes)
        }
        if let releasedAt = a.releasedAt {
            raw(",\"releasedAt\":")
            string(releasedAt)
        }
        raw("}")
    }

    mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    mutating func int(_ value: Int) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        int(UInt64(value.magnitude))
    }

    mutating func int(_ value: UInt64) {
        if value < 10 { bytes.append(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: value)); return }
        // Two digits at a time into a stack buffer, appended at once.
        unchecked(maxBytes: 20) { $0.int(value) }
    }

    /// Appends what `body` writes through a cursor over at most `maxBytes` bytes (for long runs of
    /// numbers and punctuation, written without a capacity check per byte).
    mutating func unchecked(maxBytes: Int, _ body: (inout ByteCursor) -> Void) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(maxBytes, 1)) { buffer in
            var cursor = ByteCursor(base: buffer.baseAddress!, limit: buffer.count)
            body(&cursor)
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[..<cursor.count]))
        }
    }

    mutating func bool(_ value: Bool) { value ? raw("true") : raw("false") }

    mutating func string(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        // Most strings need no escape: copy them whole.
        let plain = text.utf8.withContiguousStorageIfAvailable { buffer -> Bool in
            guard buffer.allSatisfy(Self.needsNoEscape) else { return false }
            bytes.append(contentsOf: buffer)
            return true
        }
        if plain == true {
            bytes.append(UInt8(ascii: "\""))
            return
        }
        for b in text.utf8 {
            switch b {
            case UInt8(ascii: "\""): raw("\\\"")
            case UInt8(ascii: "\\"): raw("\\\\")
            case 0x0A: raw("\\n")
            case 0x0D: raw("\\r")
            case 0x09: raw("\\t")
            case UInt8(ascii: "<"): raw("\\u003c")
            case UInt8(ascii: ">"): raw("\\u003e")
            case UInt8(ascii: "&"): raw("\\u0026")
            case 0..<0x20:
                raw("\\u00")
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                bytes.append(hex[Int(b >> 4)])
                bytes.append(hex[Int(b & 0xF)])
            default: bytes.append(b)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private static func needsNoEscape(_ b: UInt8) -> Bool {
        b >= 0x20 && b != UInt8(ascii: "\"") && b != UInt8(ascii: "\\") && b != UInt8(ascii: "<") && b != UInt8(ascii: ">")
            && b != UInt8(ascii: "&")
    }

    mutating func optionalString(_ text: String?) {
        if let text { string(text) } else { raw("null") }
    }

    /// A `map[string]string`, keys sorted as Go sorts them.
    mutating func stringMap(_ map: [String: String]) {
        if map.isEmpty {
            raw("{}")
            return
        }
        bytes.append(UInt8(ascii: "{"))
        for (i, key) in map.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }).enumerated() {
            if i > 0 { bytes.append(UInt8(ascii: ",")) }
            string(key)
            bytes.append(UInt8(ascii: ":"))
            string(map[key]!)
        }
        bytes.append(UInt8(ascii: "}"))
    }
}

/// A write position in a buffer the caller sized (see ``JSONWriter/unchecked(maxBytes:_:)``); writing
/// past `limit` traps.
struct ByteCursor {
    let base: UnsafeMutablePointer<UInt8>
    let limit: Int
    private(set) var count = 0

    init(base: UnsafeMutablePointer<UInt8>, limit: Int) {
        self.base = base
        self.limit = limit
    }

    mutating func byte(_ b: UInt8) {
        precondition(count < limit)
        base[count] = b
        count += 1
    }

    mutating func raw(_ text: StaticString) {
        let n = text.utf8CodeUnitCount
        precondition(count + n <= limit)
        (base + count).update(from: text.utf8Start, count: n)
        count += n
    }

    /// The decimal digits of `value` (at most 20), two at a time.
    mutating func int(_ value: UInt64) {
        var digits = 1
        var probe = value
        while probe >= 100 { probe /= 100; digits += 2 }
        if probe >= 10 { digits += 1 }
        precondition(count + digits <= limit)
        var v = value
        var i = count + digits
        while v >= 100 {
            let pair = Int(v % 100) * 2
            v /= 100
            i -= 2
            base[i] = Self.pairs[pair]
            base[i + 1] = Self.pairs[pair + 1]
        }
        if v >= 10 {
            i -= 2
            base[i] = Self.pairs[Int(v) * 2]
            base[i + 1] = Self.pairs[Int(v) * 2 + 1]
        } else {
            base[i - 1] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: v)
        }
        count += digits
    }

    /// "00" "01" … "99".
    private static let pairs: [UInt8] = (0..<100).flatMap { [UInt8(ascii: "0") + UInt8($0 / 10), UInt8(ascii: "0") + UInt8($0 % 10)] }

    /// The number of decimal digits of `value`.
    static func digits(_ value: Int) -> Int {
        var n = 1, v = value
        while v >= 10 { v /= 10; n += 1 }
        return n
    }
}

/// Reading helpers over CanalModel's JSON tree, lenient as Go's decoder is about missing fields.
extension JSONValue {
    var objectValue: JSONObject? {
        if case .object(let o) = self { return o }
        return nil
    }

    var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    var intValue: Int? {
        if case .number(let text) = self { return Int(text) }
        return nil
    }

    var uint64Value: UInt64? {
        if case .number(let text) = self { return UInt64(text) }
        return nil
    }

    /// A `map[string]string` (null or absent → empty).
    var stringMapValue: [String: String]? {
        switch self {
        case .null: return [:]
        case .object(let o):
            var out: [String: String] = [:]
            for (k, v) in o {
                guard let s = v.stringValue else { return nil }
                out[k] = s
            }
            return out
        default: return nil
        }
    }
}
