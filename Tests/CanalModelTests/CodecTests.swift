import CanalModel
import PropertyBased
import Testing

private struct Inner: Codable, Hashable {
    var port: Int
    var name: String?
}

private struct Outer: Codable, Hashable {
    var items: [Inner]
    var labels: [String: String]?
    var flag: Bool?
}

@Suite struct JSONParserTests {
    @Test func parsesAllValueKinds() throws {
        let v = try JSONValue(parsing: #"{"a": [1, -2.5e3, true, false, null, "x\u00e9\n"], "b": {}}"#)
        #expect(v["a"] == .array([.number("1"), .number("-2.5e3"), .bool(true), .bool(false), .null, .string("xé\n")]))
        #expect(v["b"] == .object(JSONObject()))
    }

    @Test("reports where JSON is malformed", arguments: [
        (#"{"a": }"#, "line 1, column 7"),
        ("{\n  \"a\": 1,\n}", "line 3, column 1"),
        (#"{"a": 1} x"#, "unexpected text"),
        (#"{"a": 1, "a": 2}"#, "duplicate key \"a\""),
        (#"[01]"#, "expected ',' or ']'"),
        (#""abc"#, "unterminated string"),
    ])
    func errors(text: String, fragment: String) {
        #expect {
            _ = try JSONValue(parsing: text)
        } throws: { error in
            let e = error as? ModelError
            return e?.code == .syntax && e?.message.contains(fragment) == true
        }
    }

    @Test func deepNestingIsAnErrorNotACrash() {
        let deep = String(repeating: "[", count: 100_000)
        #expect(throws: ModelError.self) { _ = try JSONValue(parsing: deep) }
    }

    @Test func printedTextReparses() async throws {
        let v = try JSONValue(parsing: #"{"k": ["a\"b\\c\u0001", 1.5, {"z": null}], "e": []}"#)
        #expect(try JSONValue(parsing: v.jsonText) == v)
        #expect(try JSONValue(parsing: v.prettyJSONText) == v)
    }

    @Test func neverTrapsOnArbitraryText() async {
        await propertyCheck(count: 2000, input: Gen.element(of: Array(#"{}[]:,"\ae01.-+tnul x"#)).array(of: 0...40)) { chars in
            let text = String(chars.compactMap { $0 })
            if let v = try? JSONValue(parsing: text) {
                #expect((try? JSONValue(parsing: v.jsonText)) == v)
            }
        }
    }
}

@Suite struct StrictDecodingTests {
    @Test func decodesAndRoundTrips() throws {
        let v = try JSONValue(parsing: #"{"items": [{"port": 80}, {"port": 443, "name": "https"}], "labels": {"b": "2", "a": "1"}}"#)
        let o = try JSONValueDecoding.decode(Outer.self, from: v)
        #expect(o.items == [Inner(port: 80), Inner(port: 443, name: "https")])
        let back = try JSONValueEncoding.encode(o)
        // Declaration order for structs, sorted keys for maps.
        #expect(back.jsonText == #"{"items":[{"port":80},{"port":443,"name":"https"}],"labels":{"a":"1","b":"2"}}"#)
        #expect(try JSONValueDecoding.decode(Outer.self, from: back) == o)
    }

    @Test func reportsEveryUnknownFieldWithItsPath() throws {
        let v = try JSONValue(parsing: #"{"items": [{"port": 80, "prot": "TCP"}, {"port": 1, "nmae": "x"}], "extra": 1}"#)
        #expect {
            _ = try JSONValueDecoding.decode(Outer.self, from: v)
        } throws: { error in
            let e = error as! ModelError
            return e.code == .schema
                && e.fieldErrors.map(\.path.description).sorted() == ["extra", "items[0].prot", "items[1].nmae"]
        }
        // Tolerant reads ignore them.
        #expect(try JSONValueDecoding.decode(Outer.self, from: v, rejectUnknownFields: false).items.count == 2)
    }

    @Test("names the field of a type error", arguments: [
        (#"{"items": [{"port": "80"}]}"#, "items[0].port"),
        (#"{"items": [{"port": 80.5}]}"#, "items[0].port"),
        (#"{"items": [{}]}"#, "items[0].port"),
        (#"{"items": [{"port": null}]}"#, "items[0].port"),
        (#"{"items": {}}"#, "items"),
        (#"{"items": [], "labels": {"a": 1}}"#, "labels.a"),
        (#"{"items": [], "flag": "yes"}"#, "flag"),
    ])
    func typeErrors(text: String, path: String) throws {
        let v = try JSONValue(parsing: text)
        #expect {
            _ = try JSONValueDecoding.decode(Outer.self, from: v)
        } throws: { error in
            (error as? ModelError)?.fieldErrors.first?.path.description == path
        }
    }
}
