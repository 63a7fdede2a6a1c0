import CanalSelector
import Testing

/// Checks both evaluation paths and their agreement.
func expectMatch(
    _ selector: Selector, _ labels: [String: String], _ expected: Bool, sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(selector.matches(labels) == expected, "\(selector) on \(labels)", sourceLocation: sourceLocation)
    #expect(selector.matches(LabelSet(labels)) == expected, "\(selector) on LabelSet(\(labels))", sourceLocation: sourceLocation)
}

@Suite("Evaluation")
struct EvaluationTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var selector: String
        var matches: [[String: String]]
        var nonMatches: [[String: String]]
        var testDescription: String { selector }
    }

    /// libcalico-go's parser_test.go `selectorTests`, plus the missing-label rules.
    static let cases: [Case] = [
        Case(selector: #"a == "b""#, matches: [["a": "b"], ["a": "b", "c": "d"]], nonMatches: [[:], ["a": "c"], ["c": "d"]]),
        Case(
            selector: #"a == "b" && c == "d""#, matches: [["a": "b", "c": "d"]],
            nonMatches: [[:], ["a": "b", "c": "e"], ["a": "c", "c": "d"], ["c": "d"], ["a": "b"]]
        ),
        Case(
            selector: #"a == "b" || c == "d""#, matches: [["a": "b", "c": "d"], ["a": "b"], ["c": "d"]],
            nonMatches: [[:], ["a": "e", "c": "e"], ["c": "e"], ["a": "e"]]
        ),
        Case(selector: #"a in {"'", '"', "c"}"#, matches: [["a": "c"], ["a": "\""], ["a": "'"]], nonMatches: [[:], ["a": "e"]]),
        Case(selector: #"a not in {"'", '"', "c"}"#, matches: [[:], ["a": "e"]], nonMatches: [["a": "c"], ["a": "\""], ["a": "'"]]),
        Case(selector: "a == 'a'", matches: [["a": "a"]], nonMatches: [["a": "b"], [:]]),
        Case(selector: #"a != "b""#, matches: [["a": "a"], [:]], nonMatches: [["a": "b"]]),
        Case(selector: #"a != "a""#, matches: [[:]], nonMatches: [["a": "a"]]),
        Case(
            selector: #"a contains "a""#, matches: [["a": "a"], ["a": "bab"], ["a": "aaa", "b": "c"]],
            nonMatches: [[:], ["a": "b"], ["b": "aaa"]]
        ),
        Case(
            selector: #"a starts with "a""#, matches: [["a": "a"], ["a": "abb"], ["a": "aaa", "b": "c"]],
            nonMatches: [[:], ["a": "b"], ["a": "baa"], ["b": "aaa"]]
        ),
        Case(
            selector: #"a ends with "a""#, matches: [["a": "a"], ["a": "bba"], ["a": "aaa", "b": "c"]],
            nonMatches: [[:], ["a": "b"], ["a": "aab"], ["b": "aaa"]]
        ),
        Case(selector: #"a in {"a"}"#, matches: [["a": "a"]], nonMatches: [["a": "b"], [:]]),
        Case(selector: #"!a in {"a"}"#, matches: [["a": "b"], [:]], nonMatches: [["a": "a"]]),
        Case(selector: #"a in {"a", "b"}"#, matches: [["a": "a"], ["a": "b"]], nonMatches: [["a": "c"]]),
        Case(selector: #"a not in {"d", "e"}"#, matches: [["a": "a"]], nonMatches: [["a": "d"]]),
        Case(selector: "has(a)", matches: [["a": "b"], ["a": ""]], nonMatches: [["b": "b"], [:]]),
        Case(selector: "!has(a)", matches: [["b": "b"], [:]], nonMatches: [["a": "b"], ["a": ""]]),
        Case(selector: "", matches: [[:], ["a": "b"]], nonMatches: []),
        Case(selector: " ", matches: [[:]], nonMatches: []),
        Case(selector: " all()", matches: [[:], ["a": "b"]], nonMatches: []),
        Case(selector: " global()", matches: [[:], ["a": "b"]], nonMatches: []),
        Case(selector: "!global()", matches: [], nonMatches: [[:], ["a": "b"]]),
        Case(selector: "!all()", matches: [], nonMatches: [[:], ["a": "b"]]),
        Case(selector: "!!has(b)", matches: [["b": "x"]], nonMatches: [["a": "b"]]),
        Case(selector: "! has(a)", matches: [], nonMatches: [["a": "b"]]),
        Case(selector: "!!! has(a)", matches: [], nonMatches: [["a": "b"]]),
        Case(selector: "!! ! has(a)", matches: [], nonMatches: [["a": "b"]]),
        Case(selector: "! !!has(a)", matches: [], nonMatches: [["a": "b"]]),
        Case(selector: "a == 'a1' && b == 'b1'", matches: [["a": "a1", "b": "b1"]], nonMatches: []),
        Case(selector: "a == 'a1' && b != 'b1'", matches: [], nonMatches: [["a": "a1", "b": "b1"]]),
        Case(selector: "a != 'a1' && b == 'b1'", matches: [], nonMatches: [["a": "a1", "b": "b1"]]),
        Case(selector: "a != 'a1' && !b == 'b1'", matches: [], nonMatches: [["a": "a1", "b": "b1"]]),
        Case(selector: "!a == 'a1' && b == 'b1'", matches: [], nonMatches: [["a": "a1", "b": "b1"]]),
        Case(selector: "has(a) && !has(b)", matches: [["a": "a"]], nonMatches: [["a": "a", "b": "b"]]),
        Case(selector: "!has(b) && has(a)", matches: [["a": "a"]], nonMatches: [["b": "b"]]),
        Case(selector: "!(!has(a) || has(b))", matches: [["a": "a"]], nonMatches: [["a": "a", "b": ""]]),
        Case(selector: "!(has(b) || !has(a))", matches: [["a": "a"]], nonMatches: [[:]]),
        Case(selector: "a == 'a1' || b == 'b1'", matches: [["a": "a1", "b": "b1"]], nonMatches: []),
        Case(selector: "a == 'a1' || b != 'b1'", matches: [["a": "a1", "b": "b1"]], nonMatches: []),
        Case(selector: "a != 'a1' || b == 'b1'", matches: [["a": "a1", "b": "b1"]], nonMatches: []),
        Case(selector: "a != 'a1' || b != 'b1'", matches: [], nonMatches: [["a": "a1", "b": "b1"]]),
        Case(selector: "! a == 'a1' || ! b == 'b1'", matches: [], nonMatches: [["a": "a1", "b": "b1"]]),
        // Empty literals: contains/starts with/ends with "" are true when the label is present.
        Case(selector: "a contains ''", matches: [["a": ""], ["a": "x"]], nonMatches: [[:]]),
        Case(selector: "a starts with ''", matches: [["a": ""], ["a": "x"]], nonMatches: [[:]]),
        Case(selector: "a ends with ''", matches: [["a": ""]], nonMatches: [["b": ""]]),
        Case(selector: "a == ''", matches: [["a": ""]], nonMatches: [[:], ["a": " "]]),
        Case(selector: "a in {}", matches: [], nonMatches: [[:], ["a": ""]]),
        Case(selector: "a not in {}", matches: [[:], ["a": ""]], nonMatches: []),
        Case(selector: "a in {''}", matches: [["a": ""]], nonMatches: [[:], ["a": "x"]]),
        // Byte comparisons: case-sensitive keys and values, no Unicode normalisation.
        Case(selector: "a == 'B'", matches: [["a": "B"]], nonMatches: [["a": "b"], ["A": "B"]]),
        Case(selector: "a == 'é'", matches: [["a": "\u{E9}"]], nonMatches: [["a": "e\u{301}"]]),
        Case(selector: "a in {'é'}", matches: [["a": "\u{E9}"]], nonMatches: [["a": "e\u{301}"]]),
        Case(selector: "a contains 'é'", matches: [["a": "caf\u{E9}s"]], nonMatches: [["a": "cafe\u{301}s"]]),
        Case(selector: "a ends with '\u{301}'", matches: [["a": "cafe\u{301}"]], nonMatches: [["a": "caf\u{E9}"]]),
        Case(selector: "K == 'x'", matches: [["K": "x"]], nonMatches: [["\u{212A}": "x"]]),
        // Short-circuiting and long literals (longer than the 8-byte compare step).
        Case(
            selector: "app == 'a-long-application-name' && tier in {'web', 'db', 'cache', 'q1', 'q2', 'q3', 'q4', 'q5', 'q6', 'q7'}",
            matches: [["app": "a-long-application-name", "tier": "q7"], ["app": "a-long-application-name", "tier": "web"]],
            nonMatches: [["app": "a-long-application-nameX", "tier": "web"], ["app": "a-long-application-name", "tier": "q8"]]
        ),
        Case(
            selector: "projectcalico.org/namespace starts with 'kube-' || x contains 'needle-in-haystack'",
            matches: [["projectcalico.org/namespace": "kube-system"], ["x": "hay-needle-in-haystack-hay"]],
            nonMatches: [["projectcalico.org/namespace": "kub"], ["x": "needle-in-haystac"]]
        ),
    ]

    @Test("libcalico-go's evaluation table", arguments: cases)
    func table(_ c: Case) throws {
        let selector = try Selector(c.selector)
        let reparsed = try Selector(selector.canonical)
        for labels in c.matches {
            expectMatch(selector, labels, true)
            expectMatch(reparsed, labels, true)
        }
        for labels in c.nonMatches {
            expectMatch(selector, labels, false)
            expectMatch(reparsed, labels, false)
        }
    }

    @Test("many labels (table growth) and large sets (bisection)")
    func largeInputs() throws {
        var labels: [String: String] = [:]
        for i in 0..<300 { labels["key-\(i)"] = "value-\(i)" }
        let set = (0..<200).map { "'value-\($0 * 3)'" }.joined(separator: ", ")
        let selector = try Selector("key-150 in {\(set)} && has(key-299) && !has(key-300)")
        expectMatch(selector, labels, true)
        labels["key-150"] = "value-151"
        expectMatch(selector, labels, false)
        for i in 0..<600 {
            let s = try Selector("key-\(i % 300) in {\(set)}")
            labels["key-\(i % 300)"] = "value-\(i)"
            expectMatch(s, labels, i % 3 == 0 && i < 600)
        }
    }

    @Test("selectors with many distinct and repeated keys")
    func manyKeys() throws {
        let text = (0..<40).map { "(k\($0) == 'v\($0)' && has(k\($0)))" }.joined(separator: " && ")
        let selector = try Selector(text)
        var labels: [String: String] = [:]
        for i in 0..<40 { labels["k\(i)"] = "v\(i)" }
        expectMatch(selector, labels, true)
        for i in [0, 15, 16, 17, 39] {
            var changed = labels
            changed["k\(i)"] = "w"
            expectMatch(selector, changed, false)
            changed["k\(i)"] = nil
            expectMatch(selector, changed, false)
        }
    }

    @Test("LabelSet holds the labels bytewise")
    func labelSet() {
        let labels = LabelSet(["a": "1", "projectcalico.org/namespace": "default", "": "empty-key", "e": ""])
        #expect(labels.count == 4)
        #expect(!labels.isEmpty)
        #expect(labels["a"] == "1")
        #expect(labels["projectcalico.org/namespace"] == "default")
        #expect(labels[""] == "empty-key")
        #expect(labels["e"] == "")
        #expect(labels["b"] == nil)
        #expect(LabelSet([:]).isEmpty)
        #expect(LabelSet(["\u{212A}": "x"])["K"] == nil)
    }
}
