// Go's `omitempty` for non-pointer fields: the zero value is not written, and an absent (or null)
// member reads as the zero value.

extension KeyedEncodingContainer {
    /// Writes `value` unless it is `false`.
    mutating func encodeUnlessZero(_ value: Bool, forKey key: Key) throws {
        if value { try encode(value, forKey: key) }
    }

    /// Writes `value` unless it is empty.
    mutating func encodeUnlessZero(_ value: String, forKey key: Key) throws {
        if !value.isEmpty { try encode(value, forKey: key) }
    }

    /// Writes `value` unless it is zero.
    mutating func encodeUnlessZero<T: FixedWidthInteger & Encodable>(_ value: T, forKey key: Key) throws {
        if value != 0 { try encode(value, forKey: key) }
    }

    /// Writes `value` unless it is empty.
    mutating func encodeUnlessZero<T: Encodable>(_ value: [T], forKey key: Key) throws {
        if !value.isEmpty { try encode(value, forKey: key) }
    }

    /// Writes a string that is optional in Swift but a plain `omitempty` string in Go: nil and "" are not written.
    mutating func encodeUnlessZero(_ value: String?, forKey key: Key) throws {
        if let value, !value.isEmpty { try encode(value, forKey: key) }
    }
}

extension KeyedDecodingContainer {
    /// Reads a Go `bool` field: absent or null is `false`.
    func decodeOrZero(_ type: Bool.Type, forKey key: Key) throws -> Bool {
        try decodeIfPresent(Bool.self, forKey: key) ?? false
    }

    /// Reads a Go `string` field: absent or null is "".
    func decodeOrZero(_ type: String.Type, forKey key: Key) throws -> String {
        try decodeIfPresent(String.self, forKey: key) ?? ""
    }

    /// Reads a Go integer field: absent or null is 0.
    func decodeOrZero<T: FixedWidthInteger & Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try decodeIfPresent(T.self, forKey: key) ?? 0
    }

    /// Reads a Go slice field: absent or null is empty.
    func decodeOrZero<T: Decodable>(_ type: [T].Type, forKey key: Key) throws -> [T] {
        try decodeIfPresent([T].self, forKey: key) ?? []
    }

    /// Reads a Go `omitempty` string into an optional: absent, null and "" are nil.
    func decodeNonEmpty(_ type: String.Type, forKey key: Key) throws -> String? {
        guard let s = try decodeIfPresent(String.self, forKey: key), !s.isEmpty else { return nil }
        return s
    }
}
