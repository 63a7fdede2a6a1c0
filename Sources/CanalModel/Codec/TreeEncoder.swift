/// Encodes `Encodable` values into a ``JSONValue`` tree, keeping members in the order the types encode
/// them (their declaration order for synthesized conformances) — the order Go's encoder writes.
public enum JSONValueEncoding {
    /// The tree of `value`.
    public static func encode<T: Encodable>(_ value: T) throws(ModelError) -> JSONValue {
        let root = Box()
        do {
            try encodeInto(root, value, [])
        } catch {
            throw ModelError(.schema, "cannot encode \(T.self): \(error)")
        }
        return root.value
    }
}

/// A mutable node under construction.
private final class Box {
    enum Content {
        case value(JSONValue)
        case object([(String, Box)])
        case array([Box])
    }
    var content: Content = .value(.null)

    var value: JSONValue {
        switch content {
        case .value(let v): return v
        case .object(let members): return .object(JSONObject(members.map { ($0.0, $0.1.value) }))
        case .array(let items): return .array(items.map(\.value))
        }
    }

    func member(_ key: String) -> Box {
        if case .object(var members) = content {
            if let existing = members.first(where: { $0.0 == key }) { return existing.1 }
            let b = Box()
            members.append((key, b))
            content = .object(members)
            return b
        }
        let b = Box()
        content = .object([(key, b)])
        return b
    }

    func removeMember(_ key: String) {
        if case .object(var members) = content {
            members.removeAll { $0.0 == key }
            content = .object(members)
        }
    }

    func append() -> Box {
        let b = Box()
        if case .array(var items) = content {
            items.append(b)
            content = .array(items)
        } else {
            content = .array([b])
        }
        return b
    }
}

private struct TreeEncoder: Encoder {
    let box: Box
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if case .object = box.content {} else { box.content = .object([]) }
        return KeyedEncodingContainer(Keyed<Key>(box: box, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if case .array = box.content {} else { box.content = .array([]) }
        return Unkeyed(box: box, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { Single(box: box, codingPath: codingPath) }
}

private func primitive<T: Encodable>(_ value: T) -> JSONValue? {
    switch value {
    case let v as JSONValue: return v
    case let v as Bool: return .bool(v)
    case let v as String: return .string(v)
    case let v as Int: return .number(String(v))
    case let v as Int64: return .number(String(v))
    case let v as Int32: return .number(String(v))
    case let v as UInt8: return .number(String(v))
    case let v as UInt16: return .number(String(v))
    case let v as UInt32: return .number(String(v))
    case let v as UInt64: return .number(String(v))
    case let v as Double: return .number(JSONValue.format(v))
    default: return nil
    }
}

/// Maps with string keys are written with sorted keys, as Go writes them, so output is deterministic.
private protocol StringKeyedMap {
    func encodeSorted(into box: Box, path: [any CodingKey]) throws
}

extension Dictionary: StringKeyedMap where Key == String, Value: Encodable {
    fileprivate func encodeSorted(into box: Box, path: [any CodingKey]) throws {
        box.content = .object([])
        for key in keys.sorted() {
            try encodeInto(box.member(key), self[key]!, path + [AnyCodingKey(key)])
        }
    }
}

private func encodeInto<T: Encodable>(_ box: Box, _ value: T, _ path: [any CodingKey]) throws {
    if let p = primitive(value) {
        box.content = .value(p)
    } else if let map = value as? any StringKeyedMap {
        try map.encodeSorted(into: box, path: path)
    } else {
        try value.encode(to: TreeEncoder(box: box, codingPath: path))
    }
}

private struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let box: Box
    let codingPath: [any CodingKey]

    mutating func encodeNil(forKey key: Key) throws { box.member(key.stringValue).content = .value(.null) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try encodeInto(box.member(key.stringValue), value, codingPath + [key])
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
        -> KeyedEncodingContainer<NestedKey>
    {
        let b = box.member(key.stringValue)
        b.content = .object([])
        return KeyedEncodingContainer(Keyed<NestedKey>(box: b, codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let b = box.member(key.stringValue)
        b.content = .array([])
        return Unkeyed(box: b, codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> any Encoder { TreeEncoder(box: box, codingPath: codingPath) }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        TreeEncoder(box: box.member(key.stringValue), codingPath: codingPath + [key])
    }
}

private struct Unkeyed: UnkeyedEncodingContainer {
    let box: Box
    let codingPath: [any CodingKey]
    var count: Int {
        if case .array(let items) = box.content { return items.count }
        return 0
    }

    mutating func encodeNil() throws { box.append().content = .value(.null) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        let i = count
        try encodeInto(box.append(), value, codingPath + [IndexKey(i)])
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type)
        -> KeyedEncodingContainer<NestedKey>
    {
        let i = count
        let b = box.append()
        b.content = .object([])
        return KeyedEncodingContainer(Keyed<NestedKey>(box: b, codingPath: codingPath + [IndexKey(i)]))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let i = count
        let b = box.append()
        b.content = .array([])
        return Unkeyed(box: b, codingPath: codingPath + [IndexKey(i)])
    }

    mutating func superEncoder() -> any Encoder {
        let i = count
        return TreeEncoder(box: box.append(), codingPath: codingPath + [IndexKey(i)])
    }
}

private struct Single: SingleValueEncodingContainer {
    let box: Box
    let codingPath: [any CodingKey]
    mutating func encodeNil() throws { box.content = .value(.null) }
    mutating func encode<T: Encodable>(_ value: T) throws { try encodeInto(box, value, codingPath) }
}
