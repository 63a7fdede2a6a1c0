// A small, allocation-lean JSON reader and writer for the handful of etcd gateway messages.
//
// Foundation's Codable JSON costs tens of microseconds per message (boxing into a generic tree,
// key strings, Data round-trips); on a 2-core machine shared with etcd that CPU comes straight out
// of throughput. These messages are tiny and fixed, so a forward-only scanner that decodes
// base64 straight from the input bytes, and a writer that encodes base64 straight into the body,
// do the same job with a few small allocations.

/// A malformed or unexpected JSON body.
struct WireJSONError: Error, Hashable, CustomStringConvertible {
    var offset: Int
    var reason: String
    var description: String { "invalid JSON at byte \(offset): \(reason)" }
}

/// A forward-only reader over one JSON text. Unknown members are skipped, so etcd may add fields.
struct JSONScanner {
    private let bytes: UnsafeRawBufferPointer
    private var index = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// Runs `body` on a scanner over `bytes` and checks that only whitespace follows the value it read.
    static func read<T>(_ bytes: [UInt8], _ body: (inout JSONScanner) throws -> T) throws -> T {
        try bytes.withUnsafeBytes { buffer in
            var scanner = JSONScanner(buffer)
            let value = try body(&scanner)
            scanner.skipWhitespace()
            guard scanner.index == buffer.count else { throw scanner.error("trailing characters") }
            return value
        }
    }

    func error(_ reason: String) -> WireJSONError { WireJSONError(offset: index, reason: reason) }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0a, 0x0d, 0x09: index += 1
            default: return
            }
        }
    }

    private mutating func peek() -> UInt8? {
        skipWhitespace()
        return index < bytes.count ? bytes[index] : nil
    }

    private mutating func expect(_ byte: UInt8) throws {
        guard peek() == byte else { throw error("expected '\(Character(Unicode.Scalar(byte)))'") }
        index += 1
    }

    /// Consumes `null` if it is next.
    mutating func null() -> Bool {
        guard peek() == UInt8(ascii: "n"), bytes.count - index >= 4, bytes[index + 1] == UInt8(ascii: "u"),
            bytes[index + 2] == UInt8(ascii: "l"), bytes[index + 3] == UInt8(ascii: "l")
        else { return false }
        index += 4
        return true
    }

    /// Reads an object, calling `member` with each key (raw, unescaped bytes) with the scanner at its value;
    /// `member` must consume the value. `null` reads as an empty object.
    mutating func object(_ member: (inout JSONScanner, JSONKey) throws -> Void) throws {
        if null() { return }
        try expect(UInt8(ascii: "{"))
        if peek() == UInt8(ascii: "}") {
            index += 1
            return
        }
        while true {
            try expect(UInt8(ascii: "\""))
            let start = index
            while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
                index += bytes[index] == UInt8(ascii: "\\") ? 2 : 1
            }
            guard index < bytes.count else { throw error("unterminated key") }
            let key = JSONKey(bytes: UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
            index += 1
            try expect(UInt8(ascii: ":"))
            try member(&self, key)
            switch peek() {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"):
                index += 1
                return
            default: throw error("expected ',' or '}'")
            }
        }
    }

    /// Reads an array, calling `element` with the scanner at each element. `null` reads as empty.
    mutating func array(_ element: (inout JSONScanner) throws -> Void) throws {
        if null() { return }
        try expect(UInt8(ascii: "["))
        if peek() == UInt8(ascii: "]") {
            index += 1
            return
        }
        while true {
            try element(&self)
            switch peek() {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"):
                index += 1
                return
            default: throw error("expected ',' or ']'")
            }
        }
    }

    /// Reads a string, resolving escapes.
    mutating func string() throws -> String {
        try expect(UInt8(ascii: "\""))
        let start = index
        var escaped = false
        while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
            if bytes[index] == UInt8(ascii: "\\") {
                escaped = true
                index += 1
            }
            index += 1
        }
        guard index < bytes.count else { throw error("unterminated string") }
        let raw = UnsafeRawBufferPointer(rebasing: bytes[start..<index])
        index += 1
        guard escaped else { return String(decoding: raw, as: UTF8.self) }
        return try Self.unescape(raw, at: start)
    }

    private static func unescape(_ raw: UnsafeRawBufferPointer, at offset: Int) throws -> String {
        var scalars = String.UnicodeScalarView()
        var utf8: [UInt8] = []
        func flush() {
            guard !utf8.isEmpty else { return }
            scalars.append(contentsOf: String(decoding: utf8, as: UTF8.self).unicodeScalars)
            utf8.removeAll(keepingCapacity: true)
        }
        var i = 0
        var pendingHigh: UInt32?
        while i < raw.count {
            let byte = raw[i]
            guard byte == UInt8(ascii: "\\") else {
                utf8.append(byte)
                i += 1
                continue
            }
            guard i + 1 < raw.count else { throw WireJSONError(offset: offset + i, reason: "bad escape") }
            let kind = raw[i + 1]
            i += 2
            let simple: UInt8? =
                switch kind {
                case UInt8(ascii: "\""): 0x22
                case UInt8(ascii: "\\"): 0x5c
                case UInt8(ascii: "/"): 0x2f
                case UInt8(ascii: "b"): 0x08
                case UInt8(ascii: "f"): 0x0c
                case UInt8(ascii: "n"): 0x0a
                case UInt8(ascii: "r"): 0x0d
                case UInt8(ascii: "t"): 0x09
                default: nil
                }
            if let simple {
                utf8.append(simple)
                continue
            }
            guard kind == UInt8(ascii: "u"), i + 4 <= raw.count,
                let unit = UInt32(String(decoding: UnsafeRawBufferPointer(rebasing: raw[i..<i + 4]), as: UTF8.self), radix: 16)
            else { throw WireJSONError(offset: offset + i, reason: "bad escape") }
            i += 4
            flush()
            if (0xD800..<0xDC00).contains(unit) {
                pendingHigh = unit
                continue
            }
            if (0xDC00..<0xE000).contains(unit), let high = pendingHigh {
                pendingHigh = nil
                scalars.append(Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (unit - 0xDC00)) ?? "\u{FFFD}")
                continue
            }
            pendingHigh = nil
            scalars.append(Unicode.Scalar(unit) ?? "\u{FFFD}")
        }
        flush()
        return String(scalars)
    }

    /// Reads a base64 string (standard alphabet, padded) straight into bytes.
    mutating func base64() throws -> [UInt8] {
        if null() { return [] }
        try expect(UInt8(ascii: "\""))
        let start = index
        while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
            guard bytes[index] != UInt8(ascii: "\\") else {
                // Escaped base64 (a JSON writer may escape '/'): take the slow path.
                index = start - 1
                guard let decoded = Base64.decode(Array(try string().utf8)) else { throw error("invalid base64") }
                return decoded
            }
            index += 1
        }
        guard index < bytes.count else { throw error("unterminated string") }
        let raw = UnsafeRawBufferPointer(rebasing: bytes[start..<index])
        index += 1
        guard let decoded = Base64.decode(raw) else { throw WireJSONError(offset: start, reason: "invalid base64") }
        return decoded
    }

    /// Reads an integer written as a JSON number or as a decimal string (grpc-gateway's int64).
    mutating func int64() throws -> Int64 {
        if null() { return 0 }
        let quoted = peek() == UInt8(ascii: "\"")
        if quoted { index += 1 }
        var negative = false
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        let start = index
        var value: Int64 = 0
        while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
            let (times, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times.addingReportingOverflow(Int64(bytes[index] - UInt8(ascii: "0")))
            guard !o1, !o2 else { throw error("integer out of range") }
            value = sum
            index += 1
        }
        guard index > start else { throw error("expected an integer") }
        if quoted { try expect(UInt8(ascii: "\"")) }
        return negative ? -value : value
    }

    /// Reads `true` or `false`.
    mutating func bool() throws -> Bool {
        if null() { return false }
        switch peek() {
        case UInt8(ascii: "t") where bytes.count - index >= 4:
            index += 4
            return true
        case UInt8(ascii: "f") where bytes.count - index >= 5:
            index += 5
            return false
        default: throw error("expected a boolean")
        }
    }

    /// Skips one value of any type.
    mutating func skip() throws {
        switch peek() {
        case UInt8(ascii: "{"): try object { scanner, _ in try scanner.skip() }
        case UInt8(ascii: "["): try array { try $0.skip() }
        case UInt8(ascii: "\""):
            index += 1
            while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
                index += bytes[index] == UInt8(ascii: "\\") ? 2 : 1
            }
            guard index < bytes.count else { throw error("unterminated string") }
            index += 1
        case nil: throw error("unexpected end")
        default:
            let start = index
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x0a, 0x0d, 0x09:
                    guard index > start else { throw error("unexpected character") }
                    return
                default: index += 1
                }
            }
        }
    }
}

/// An object key as raw bytes, compared against ASCII literals without allocating.
struct JSONKey {
    let bytes: UnsafeRawBufferPointer

    static func == (key: JSONKey, literal: StaticString) -> Bool {
        guard key.bytes.count == literal.utf8CodeUnitCount else { return false }
        let other = UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount)
        return key.bytes.elementsEqual(other)
    }
}

/// Builds a JSON body. Members are added in order; commas are inserted as needed.
struct JSONWriter {
    private(set) var bytes: [UInt8]

    init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    private mutating func separate() {
        if let last = bytes.last, last != UInt8(ascii: "{"), last != UInt8(ascii: "["), last != UInt8(ascii: ":") {
            bytes.append(UInt8(ascii: ","))
        }
    }

    private mutating func literal(_ text: StaticString) {
        bytes.append(contentsOf: UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Starts a member `"name":`, or an array element when `name` is nil.
    mutating func key(_ name: StaticString) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        literal(name)
        literal("\":")
    }

    mutating func openObject(_ name: StaticString? = nil) {
        if let name { key(name) } else { separate() }
        bytes.append(UInt8(ascii: "{"))
    }

    mutating func closeObject() { bytes.append(UInt8(ascii: "}")) }

    mutating func openArray(_ name: StaticString) {
        key(name)
        bytes.append(UInt8(ascii: "["))
    }

    mutating func closeArray() { bytes.append(UInt8(ascii: "]")) }

    /// `"name":"<base64 of value>"`.
    mutating func base64(_ name: StaticString, _ value: [UInt8]) {
        key(name)
        bytes.append(UInt8(ascii: "\""))
        Base64.encode(value, into: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    /// `"name":"<decimal>"` (int64 as grpc-gateway writes it).
    mutating func int64(_ name: StaticString, _ value: Int64) {
        key(name)
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: String(value).utf8)
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func bool(_ name: StaticString, _ value: Bool) {
        key(name)
        if value { literal("true") } else { literal("false") }
    }

    /// `"name":"<escaped text>"`.
    mutating func string(_ name: StaticString, _ value: String) {
        key(name)
        bytes.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): literal("\\\"")
            case UInt8(ascii: "\\"): literal("\\\\")
            case 0..<0x20:
                literal("\\u00")
                bytes.append(Base64.hexDigits[Int(byte >> 4)])
                bytes.append(Base64.hexDigits[Int(byte & 0xf)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}

/// RFC 4648 §4 base64 (standard alphabet, padded), as etcd's gateway writes `bytes` fields.
/// (CanalSelector's codec is base64url without padding and encode-only, so it does not fit here.)
enum Base64 {
    static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
    /// Alphabet byte → 6-bit value, 0xff for anything else.
    static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xff, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(index) }
        return table
    }()

    static func encode(_ input: [UInt8], into output: inout [UInt8]) {
        output.reserveCapacity(output.count + (input.count + 2) / 3 * 4)
        alphabet.withUnsafeBufferPointer { table in
            input.withUnsafeBufferPointer { input in
                var i = 0
                while i + 3 <= input.count {
                    let v = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8 | UInt32(input[i + 2])
                    output.append(table[Int(v >> 18 & 63)])
                    output.append(table[Int(v >> 12 & 63)])
                    output.append(table[Int(v >> 6 & 63)])
                    output.append(table[Int(v & 63)])
                    i += 3
                }
                let rest = input.count - i
                if rest > 0 {
                    let v = UInt32(input[i]) << 16 | (rest == 2 ? UInt32(input[i + 1]) << 8 : 0)
                    output.append(table[Int(v >> 18 & 63)])
                    output.append(table[Int(v >> 12 & 63)])
                    output.append(rest == 2 ? table[Int(v >> 6 & 63)] : UInt8(ascii: "="))
                    output.append(UInt8(ascii: "="))
                }
            }
        }
    }

    static func encode(_ input: [UInt8]) -> String {
        var output: [UInt8] = []
        encode(input, into: &output)
        return String(decoding: output, as: UTF8.self)
    }

    /// Decodes padded (or unpadded) base64; `nil` when the text is not base64.
    static func decode(_ input: UnsafeRawBufferPointer) -> [UInt8]? {
        var count = input.count
        while count > 0, input[count - 1] == UInt8(ascii: "=") { count -= 1 }
        guard input.count - count <= 2, count % 4 != 1 else { return nil }
        var output = [UInt8]()
        output.reserveCapacity(count * 3 / 4)
        return values.withUnsafeBufferPointer { table -> [UInt8]? in
            var i = 0
            while i + 4 <= count {
                let a = table[Int(input[i])], b = table[Int(input[i + 1])]
                let c = table[Int(input[i + 2])], d = table[Int(input[i + 3])]
                guard (a | b | c | d) & 0xc0 == 0 else { return nil }
                let v = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
                output.append(UInt8(truncatingIfNeeded: v >> 16))
                output.append(UInt8(truncatingIfNeeded: v >> 8))
                output.append(UInt8(truncatingIfNeeded: v))
                i += 4
            }
            let rest = count - i
            if rest >= 2 {
                let a = table[Int(input[i])], b = table[Int(input[i + 1])]
                let c = rest == 3 ? table[Int(input[i + 2])] : 0
                guard (a | b | c) & 0xc0 == 0 else { return nil }
                let v = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6
                output.append(UInt8(truncatingIfNeeded: v >> 16))
                if rest == 3 { output.append(UInt8(truncatingIfNeeded: v >> 8)) }
            }
            return output
        }
    }

    static func decode(_ input: [UInt8]) -> [UInt8]? { input.withUnsafeBytes { decode($0) } }
}
