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
        let session = DecodingSession()
        let decoder = StrictDecoder(node: value, path: [], session: session)
        let result: T
        do {
            result = try T(from: decoder)
        } catch let error as DecodingError {
            var errors = [Self.fieldError(error)]
            // Unknown fields seen before the failure are worth reporting too.
            if rejectUnknownFields { errors += session.unknownFields() }
            throw ModelError(.schema, "document does not match its schema", fieldErrors: errors)
        } catch let error as ModelError {
            throw error
        } catch {
            throw ModelError(.schema, "\(error)")
        }
        if rejectUnknownFields {
            let unknown = session.unknownFields()
            if !unknown.isEmpty {
                throw ModelError(.schema, "document has unknown fields", fieldErrors: unknown)
            }
        }
        return result
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
        let v = try value(key)
        if v == .null, !(T.self is JSONValue.Type) {
            throw DecodingError.valueNotFound(
                type, .init(codingPath: codingPath + [key], debugDescription: "required field is null"))
        }
        return try decoder.child(v, key).decodeValue(type)
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        decoder.session.markUsed(key.stringValue, at: codingPath)
        guard let v = object[key.stringValue], v != .null else { return nil }
        return try decoder.child(v, key).decodeValue(type)
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
        if d.node == .null, !(T.self is JSONValue.Type) {
            throw DecodingError.valueNotFound(type, .init(codingPath: d.codingPath, debugDescription: "list element is null"))
        }
        return try d.decodeValue(type)
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
