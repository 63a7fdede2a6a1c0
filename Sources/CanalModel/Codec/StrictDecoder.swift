/// Decodes `Decodable` values from a ``JSONValue`` tree and, optionally, reports every field the
/// types did not read as an unknown field — the strict decoding calicoctl applies to manifests.
///
/// Errors carry field paths such as `spec.ingress[0].ports[1]`.
public enum JSONValueDecoding {
    /// Decodes `type` from `value`.
    ///
    /// - Parameters:
    ///   - rejectUnknownFields: report object members that no type read (strict manifest decoding);
    ///     when false they are ignored, which is how the datastore reads what newer Calico versions write.
    /// - Throws: ``ModelError`` with code ``ModelError/Code/schema``, listing every problem found.
    public static func decode<T: Decodable>(
        _ type: T.Type, from value: JSONValue, rejectUnknownFields: Bool = true
    ) throws(ModelError) -> T {
        let outcome = decodeCollectingErrors(type, from: value, rejectUnknownFields: rejectUnknownFields)
        if let error = outcome.error { throw error }
        return outcome.value!
    }

    /// Decodes `type` from `value`, going on past every error it can: the value (when one could be
    /// built, possibly with stand-ins where fields were wrong) and the error listing every problem.
    ///
    /// A value returned together with an error is only good for finding further problems (validation);
    /// it must not be used as data.
    public static func decodeCollectingErrors<T: Decodable>(
        _ type: T.Type, from value: JSONValue, rejectUnknownFields: Bool = true
    ) -> (value: T?, error: ModelError?) {
        let session = DecodingSession()
        let decoder = StrictDecoder(node: value, path: [], session: session)
        do {
            let result = try T(from: decoder)
            // Decoding went on past recoverable errors (see `StrictDecoder.recover`), so every container
            // was read to its end and the unknown-field report is complete.
            let unknown = rejectUnknownFields ? session.unknownFields() : []
            if session.errors.isEmpty && unknown.isEmpty { return (result, nil) }
            let errors = (session.errors + unknown).sorted { $0.path.description < $1.path.description }
            let message = session.errors.isEmpty ? "document has unknown fields" : "document does not match its schema"
            return (result, ModelError(.schema, message, fieldErrors: errors))
        } catch {
            let fatal: FieldError
            var failurePath: FieldPath = .root
            if let error = error as? DecodingError {
                fatal = Self.fieldError(error)
                failurePath = fatal.path
            } else if let error = error as? ModelError {
                return (nil, error)
            } else {
                fatal = FieldError(.root, "\(error)")
            }
            // Objects on the way to the failure were not read to their end: their unread members are not
            // known to be unknown.
            let unknown = rejectUnknownFields
                ? session.unknownFields().filter { !failurePath.components.starts(with: $0.path.components.dropLast()) }
                : []
            return (nil, ModelError(.schema, "document does not match its schema", fieldErrors: session.errors + [fatal] + unknown))
        }
    }

    /// A field path from a coding path.
    static func fieldPath(_ codingPath: [any CodingKey]) -> FieldPath {
        FieldPath(components: codingPath.map { key in
            if key is IndexKey, let i = key.intValue { return .index(i) }
            return .key(key.stringValue)
        })
    }

    static func fieldError(_ error: DecodingError) -> FieldError {
        switch error {
        case .typeMismatch(let type, let ctx):
            return FieldError(fieldPath(ctx.codingPath), ctx.debugDescription.isEmpty ? "expected \(type)" : ctx.debugDescription)
        case .valueNotFound(_, let ctx):
            return FieldError(fieldPath(ctx.codingPath), ctx.debugDescription)
        case .keyNotFound(let key, let ctx):
            return FieldError(fieldPath(ctx.codingPath + [key]), "required field is missing")
        case .dataCorrupted(let ctx):
            return FieldError(fieldPath(ctx.codingPath), ctx.debugDescription)
        @unknown default:
            return FieldError(.root, "\(error)")
        }
    }
}

/// The coding key of a list element.
struct IndexKey: CodingKey {
    var intValue: Int?
    var stringValue: String { String(intValue ?? 0) }
    init(_ i: Int) { intValue = i }
    init?(intValue: Int) { self.intValue = intValue }
    init?(stringValue: String) { return nil }
}

/// Records which members of which objects were read.
final class DecodingSession {
    private struct Entry {
        var path: [any CodingKey]
        var object: JSONObject
        var used: Set<String>
    }
    private var entries: [String: Entry] = [:]
    private var order: [String] = []
    /// Errors decoding recovered from, in the order found.
    private(set) var errors: [FieldError] = []
    /// While positive, recovered errors are not recorded (placeholders are being synthesized).
    var silence = 0

    func record(_ error: DecodingError) {
        if silence == 0 { errors.append(JSONValueDecoding.fieldError(error)) }
    }

    func register(_ object: JSONObject, at path: [any CodingKey]) {
        let id = JSONValueDecoding.fieldPath(path).description
        if entries[id] == nil {
            entries[id] = Entry(path: path, object: object, used: [])
            order.append(id)
        }
    }

    func markUsed(_ key: String, at path: [any CodingKey]) {
        let id = JSONValueDecoding.fieldPath(path).description
        entries[id]?.used.insert(key)
    }

    func unknownFields() -> [FieldError] {
        var out: [FieldError] = []
        for id in order {
            guard let e = entries[id] else { continue }
            for key in e.object.keys where !e.used.contains(key) {
                out.append(FieldError(JSONValueDecoding.fieldPath(e.path).key(key), "unknown field \"\(key)\""))
            }
        }
        return out
    }
}

struct StrictDecoder: Decoder {
    let node: JSONValue
    let codingPath: [any CodingKey]
    let session: DecodingSession
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(node: JSONValue, path: [any CodingKey], session: DecodingSession) {
        self.node = node
        self.codingPath = path
        self.session = session
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let object) = node else {
            throw DecodingError.typeMismatch(
                [String: Any].self,
                .init(codingPath: codingPath, debugDescription: "expected an object, found \(node.typeName)"))
        }
        session.register(object, at: codingPath)
        return KeyedDecodingContainer(KeyedContainer<Key>(object: object, decoder: self))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let items) = node else {
            throw DecodingError.typeMismatch(
                [Any].self,
                .init(codingPath: codingPath, debugDescription: "expected a list, found \(node.typeName)"))
        }
        return UnkeyedContainer(items: items, decoder: self)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { SingleContainer(decoder: self) }

    func child(_ node: JSONValue, _ key: any CodingKey) -> StrictDecoder {
        StrictDecoder(node: node, path: codingPath + [key], session: session)
    }

    // MARK: recovery

    /// A stand-in for a field that could not be decoded, so that decoding can go on and report every
    /// problem of the document; the error is recorded and the decoded value is never returned to callers.
    ///
    /// Only used at field and list-element boundaries, never inside a single-value container, so custom
    /// `init(from:)` code that probes types with `try?` sees the real failures.
    func recover<T>(_ type: T.Type, from error: DecodingError) throws -> T {
        if let p = placeholder(type) {
            session.record(error)
            return p
        }
        if let d = type as? any Decodable.Type {
            // A struct or enum with keyed fields: build it from an empty object, silently.
            session.silence += 1
            defer { session.silence -= 1 }
            let empty = StrictDecoder(node: .object(JSONObject()), path: codingPath, session: session)
            if let value = try? d.init(from: empty) as? T {
                session.silence -= 1
                session.record(error)
                session.silence += 1
                return value
            }
        }
        throw error
    }

    private func placeholder<T>(_ type: T.Type) -> T? {
        if let p = type as? any DecodingPlaceholder.Type { return p.decodingPlaceholder as? T }
        if let e = type as? any CalicoEnum.Type { return e.anyDecodingPlaceholder as? T }
        return nil
    }

    // MARK: primitives

    func mismatch<T>(_ type: T.Type, _ expected: String) -> DecodingError {
        .typeMismatch(type, .init(codingPath: codingPath, debugDescription: "expected \(expected), found \(node.typeName)"))
    }

    func decodeBool() throws -> Bool {
        if case .bool(let b) = node { return b }
        throw mismatch(Bool.self, "a boolean")
    }

    func decodeString() throws -> String {
        if case .string(let s) = node { return s }
        throw mismatch(String.self, "a string")
    }

    func decodeInteger<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
        guard case .number(let text) = node else { throw mismatch(type, "an integer") }
        if let v = T(text) { return v }
        // 1e3 or 80.0 in YAML/JSON: accept when the value is integral and in range.
        if let d = Double(text), d.rounded() == d, let v = T(exactly: d) { return v }
        throw DecodingError.dataCorrupted(
            .init(codingPath: codingPath, debugDescription: "\(text) is not an integer in the range of \(T.self)"))
    }

    func decodeFloat<T: BinaryFloatingPoint & LosslessStringConvertible>(_ type: T.Type) throws -> T {
        guard case .number(let text) = node, let v = T(text) else { throw mismatch(type, "a number") }
        return v
    }

    func decodeValue<T: Decodable>(_ type: T.Type) throws -> T {
        switch type {
        case is Bool.Type: return try decodeBool() as! T
        case is String.Type: return try decodeString() as! T
        case is Int.Type: return try decodeInteger(Int.self) as! T
        case is Int64.Type: return try decodeInteger(Int64.self) as! T
        case is Int32.Type: return try decodeInteger(Int32.self) as! T
        case is UInt32.Type: return try decodeInteger(UInt32.self) as! T
        case is UInt8.Type: return try decodeInteger(UInt8.self) as! T
        case is UInt16.Type: return try decodeInteger(UInt16.self) as! T
        case is UInt64.Type: return try decodeInteger(UInt64.self) as! T
        case is Double.Type: return try decodeFloat(Double.self) as! T
        default: return try T(from: self)
        }
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let object: JSONObject
    let decoder: StrictDecoder
    var codingPath: [any CodingKey] { decoder.codingPath }
    var allKeys: [Key] { object.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { object[key.stringValue] != nil }

    private func value(_ key: Key) throws -> JSONValue {
        decoder.session.markUsed(key.stringValue, at: codingPath)
        guard let v = object[key.stringValue] else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "required field is missing"))
        }
        return v
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        decoder.session.markUsed(key.stringValue, at: codingPath)
        guard let v = object[key.stringValue] else { return true }
        return v == .null
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        let child = decoder.child(object[key.stringValue] ?? .null, key)
        do {
            let v = try value(key)
            if v == .null, !(T.self is JSONValue.Type) {
                throw DecodingError.valueNotFound(
                    type, .init(codingPath: codingPath + [key], debugDescription: "required field is null"))
            }
            return try child.decodeValue(type)
        } catch let error as DecodingError {
            return try child.recover(type, from: error)
        }
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        decoder.session.markUsed(key.stringValue, at: codingPath)
        guard let v = object[key.stringValue], v != .null else { return nil }
        let child = decoder.child(v, key)
        do {
            return try child.decodeValue(type)
        } catch let error as DecodingError {
            return try child.recover(type, from: error)
        }
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try decoder.child(try value(key), key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try decoder.child(try value(key), key).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder { decoder }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        decoder.session.markUsed(key.stringValue, at: codingPath)
        return decoder.child(object[key.stringValue] ?? .null, key)
    }
}

private struct UnkeyedContainer: UnkeyedDecodingContainer {
    let items: [JSONValue]
    let decoder: StrictDecoder
    var currentIndex = 0
    var codingPath: [any CodingKey] { decoder.codingPath }
    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }

    init(items: [JSONValue], decoder: StrictDecoder) {
        self.items = items
        self.decoder = decoder
    }

    private mutating func next() throws -> StrictDecoder {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(
                Any.self, .init(codingPath: codingPath, debugDescription: "list has no more elements"))
        }
        let d = decoder.child(items[currentIndex], IndexKey(currentIndex))
        currentIndex += 1
        return d
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd else { return false }
        if items[currentIndex] == .null { currentIndex += 1; return true }
        return false
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let d = try next()
        do {
            if d.node == .null, !(T.self is JSONValue.Type) {
                throw DecodingError.valueNotFound(type, .init(codingPath: d.codingPath, debugDescription: "list element is null"))
            }
            return try d.decodeValue(type)
        } catch let error as DecodingError {
            return try d.recover(type, from: error)
        }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try next().container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer { try next().unkeyedContainer() }

    mutating func superDecoder() throws -> any Decoder { try next() }
}

private struct SingleContainer: SingleValueDecodingContainer {
    let decoder: StrictDecoder
    var codingPath: [any CodingKey] { decoder.codingPath }
    func decodeNil() -> Bool { decoder.node == .null }
    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        if decoder.node == .null, !(T.self is JSONValue.Type) {
            throw DecodingError.valueNotFound(type, .init(codingPath: codingPath, debugDescription: "value is null"))
        }
        return try decoder.decodeValue(type)
    }
}

/// Types with a value decoding can stand in with while it goes on after an error.
protocol DecodingPlaceholder {
    static var decodingPlaceholder: Self { get }
}

extension String: DecodingPlaceholder { static var decodingPlaceholder: String { "" } }
extension Bool: DecodingPlaceholder { static var decodingPlaceholder: Bool { false } }
extension Int: DecodingPlaceholder { static var decodingPlaceholder: Int { 0 } }
extension Int32: DecodingPlaceholder { static var decodingPlaceholder: Int32 { 0 } }
extension Int64: DecodingPlaceholder { static var decodingPlaceholder: Int64 { 0 } }
extension UInt8: DecodingPlaceholder { static var decodingPlaceholder: UInt8 { 0 } }
extension UInt16: DecodingPlaceholder { static var decodingPlaceholder: UInt16 { 0 } }
extension UInt32: DecodingPlaceholder { static var decodingPlaceholder: UInt32 { 0 } }
extension UInt64: DecodingPlaceholder { static var decodingPlaceholder: UInt64 { 0 } }
extension Double: DecodingPlaceholder { static var decodingPlaceholder: Double { 0 } }
extension JSONValue: DecodingPlaceholder { static var decodingPlaceholder: JSONValue { .null } }
extension Array: DecodingPlaceholder { static var decodingPlaceholder: [Element] { [] } }
extension Dictionary: DecodingPlaceholder { static var decodingPlaceholder: [Key: Value] { [:] } }
extension Optional: DecodingPlaceholder { static var decodingPlaceholder: Wrapped? { nil } }

extension CalicoEnum {
    static var anyDecodingPlaceholder: Any { allCases.first! }
}

extension Port: DecodingPlaceholder { static var decodingPlaceholder: Port { .single(1) } }
extension ProtocolValue: DecodingPlaceholder { static var decodingPlaceholder: ProtocolValue { .tcp } }
extension ASNumber: DecodingPlaceholder { static var decodingPlaceholder: ASNumber { ASNumber(0) } }
extension IPAddress: DecodingPlaceholder { static var decodingPlaceholder: IPAddress { IPAddress(family: .v4, value: 0) } }
