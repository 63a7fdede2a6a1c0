import CanalSelector
import Testing

@Suite("Tokenizer and parser")
struct ParserTests {
    /// Inputs Calico accepts, with their canonical form.
    @Test(
        "accepts",
        arguments: [
            ("", "all()"),
            (" ", "all()"),
            ("\t \t", "all()"),
            ("all()", "all()"),
            ("all( )", "all()"),
            ("all(\t)", "all()"),
            ("global()", "global()"),
            ("global(  )", "global()"),
            ("has(a)", "has(a)"),
            ("has( a\t)", "has(a)"),
            // Word operators with any (or no) run of spaces/tabs between the words.
            ("a startswith 'x'", #"a starts with "x""#),
            ("a starts \t with 'x'", #"a starts with "x""#),
            ("a endswith 'x'", #"a ends with "x""#),
            ("a notin {'x'}", #"a not in {"x"}"#),
            ("a not   in {'x'}", #"a not in {"x"}"#),
            ("a\tin\t{'x'}", #"a in {"x"}"#),
            // Operators need no spaces around them when the next byte is not a label byte.
            ("a in{'x'}", #"a in {"x"}"#),
            ("a contains'x'", #"a contains "x""#),
            ("a==\"x\"", #"a == "x""#),
            ("a!='\"'", #"a != '"'"#),
            // Keywords are ordinary labels where no operator or function is expected.
            ("has == 'x'", #"has == "x""#),
            ("all == 'x'", #"all == "x""#),
            ("global != 'x'", #"global != "x""#),
            ("in in {'a'}", #"in in {"a"}"#),
            ("not in {'a'}", #"not in {"a"}"#),
            ("not not in {'a'}", #"not not in {"a"}"#),
            ("contains contains 'a'", #"contains contains "a""#),
            // Label charset: no rule about the first byte.
            ("-x == 'a'", #"-x == "a""#),
            ("123 == 'a'", #"123 == "a""#),
            ("/ == 'a'", #"/ == "a""#),
            ("a.b/c-d_e == 'a'", #"a.b/c-d_e == "a""#),
            ("has(./-_)", "has(./-_)"),
            // No escapes: a backslash is an ordinary byte.
            (#"a == "x\""#, #"a == "x\""#),
            (#"a == 'it\'"#, #"a == "it\""#),
            // Literals may hold anything but their own quote.
            ("a == 'x\ny'", "a == \"x\ny\""),
            ("a == \"é ü 😀\"", "a == \"é ü 😀\""),
            ("a == ''", #"a == """#),
            // Leading !s collapse by parity.
            ("!a == 'b'", #"!a == "b""#),
            ("!!a == 'b'", #"a == "b""#),
            ("!!!a == 'b'", #"!a == "b""#),
            ("! ! !has(a)", "!has(a)"),
            ("!all()", "!all()"),
            // Sets: empty, trailing comma, sorted and de-duplicated bytewise.
            ("a in {}", "a in {}"),
            ("a not in { }", "a not in {}"),
            ("a in {'x',}", #"a in {"x"}"#),
            ("a in {'b', 'a', 'b', 'B'}", #"a in {"B", "a", "b"}"#),
            ("a in {'é', 'z', 'e'}", #"a in {"e", "z", "é"}"#),
            // Grouping: parentheses around one node add nothing; && and || are not flattened.
            ("((a == 'b'))", #"a == "b""#),
            ("a == 'b' && c == 'd' && e == 'f'", #"(a == "b" && c == "d" && e == "f")"#),
            ("a == 'b' && (c == 'd' && e == 'f')", #"(a == "b" && (c == "d" && e == "f"))"#),
            ("a == 'b' || c == 'd' && e == 'f'", #"(a == "b" || (c == "d" && e == "f"))"#),
            ("(a == 'b' || c == 'd') && e == 'f'", #"((a == "b" || c == "d") && e == "f")"#),
            ("!(a == 'b' || c == 'd')", #"!(a == "b" || c == "d")"#),
            ("!(!(a == 'b'))", #"!!a == "b""#),
            // 512-byte labels are allowed.
            (String(repeating: "k", count: 512) + " == 'v'", String(repeating: "k", count: 512) + #" == "v""#),
        ]
    )
    func accepts(input: String, canonical: String) throws {
        let selector = try Selector(input)
        #expect(selector.canonical == canonical)
        #expect(selector.description == canonical)
    }

    /// Inputs Calico rejects, with the error code and byte offset Canal reports.
    @Test(
        "rejects",
        arguments: [
            // From libcalico-go's parser_test.go badSelectors.
            ("b == b", SelectorError.Code.expectedString, 5),
            ("b contains b", .expectedString, 11),
            // Calico skips spaces after "with" before its word-boundary check, so a label
            // there means "starts with" is not an operator at all.
            ("b starts with b", .expectedOperator, 2),
            ("b ends with b", .expectedOperator, 2),
            ("'b1' == b", .unexpectedToken, 0),
            ("b", .unexpectedEnd, 1),
            ("a b", .expectedOperator, 2),
            ("!", .unexpectedEnd, 1),
            (#"foo == "bar" &"#, .unexpectedCharacter, 13),
            (#"foo == "bar" |"#, .unexpectedCharacter, 13),
            ("foo != ||", .expectedString, 7),
            (#"foo in {"", ||"#, .expectedClosingBrace, 12),
            (#"foo in """#, .expectedSet, 7),
            (#""FOO"#, .unterminatedString, 0),
            (#""FOO'"#, .unterminatedString, 0),
            ("'FOO", .unterminatedString, 0),
            ("(", .unexpectedEnd, 1),
            (#"(a == "foo""#, .expectedClosingParenthesis, 11),
            (")", .unexpectedToken, 0),
            ("()", .unexpectedToken, 1),
            ("%", .unexpectedCharacter, 0),
            (#"a == "b" && %"#, .unexpectedCharacter, 12),
            (#"a == "b" || %"#, .unexpectedCharacter, 12),
            ("a ", .unexpectedEnd, 2),
            ("has(foo) &&", .unexpectedEnd, 11),
            // Only space and tab are whitespace.
            ("\n", .unexpectedCharacter, 0),
            ("a == 'b'\n", .unexpectedCharacter, 8),
            ("a\r== 'b'", .expectedOperator, 1),
            ("a\u{A0}== 'b'", .expectedOperator, 1),
            ("\u{A0}all()", .unexpectedCharacter, 0),
            // Lone =, & and |.
            ("a = 'b'", .unexpectedCharacter, 2),
            ("a == 'b' & c == 'd'", .unexpectedCharacter, 9),
            // Word operators end at a word boundary, are case-sensitive and need a label before.
            ("a inx {'b'}", .expectedOperator, 2),
            ("a containsx 'b'", .expectedOperator, 2),
            ("a IN {'b'}", .expectedOperator, 2),
            ("a not_in {'b'}", .expectedOperator, 2),
            ("a starts with_ 'b'", .expectedOperator, 2),
            ("a == 'b' in {'c'}", .unexpectedTrailingInput, 9),
            ("== 'b'", .unexpectedToken, 0),
            // has(, all( and global( only when written exactly so.
            ("has (a)", .expectedOperator, 4),
            ("has()", .malformedFunction, 4),
            ("has( )", .malformedFunction, 5),
            ("has(a b)", .malformedFunction, 6),
            ("has(a", .malformedFunction, 5),
            ("has('a')", .malformedFunction, 4),
            ("all(x)", .malformedFunction, 4),
            ("all ()", .expectedOperator, 4),
            ("global(", .malformedFunction, 7),
            ("a == 'b' && has(c) d", .unexpectedTrailingInput, 19),
            ("Has(a)", .expectedOperator, 3),
            // Sets.
            ("a in {,}", .expectedClosingBrace, 6),
            ("a in {'x',,}", .expectedClosingBrace, 10),
            ("a in {'x' 'y'}", .expectedClosingBrace, 10),
            ("a in {x}", .expectedClosingBrace, 6),
            ("a in {'x'", .expectedClosingBrace, 9),
            ("a in 'x'", .expectedSet, 5),
            ("a == {'x'}", .expectedString, 5),
            // Grammar.
            ("a == 'b' c == 'd'", .unexpectedTrailingInput, 9),
            ("a == 'b' &&", .unexpectedEnd, 11),
            ("&& a == 'b'", .unexpectedToken, 0),
            ("a == 'b' || || c == 'd'", .unexpectedToken, 12),
            ("(a == 'b'))", .unexpectedTrailingInput, 10),
            ("a !b == 'c'", .expectedOperator, 2),
            // A lexical error anywhere wins over an earlier grammatical one, as in Calico.
            (") && 'unterminated", .unterminatedString, 5),
            ("b b == 'x' %", .expectedOperator, 2),
            // Non-ASCII outside literals.
            ("a == 'x' && é == 'y'", .unexpectedCharacter, 12),
            // Labels longer than 512 bytes.
            (String(repeating: "k", count: 513) + " == 'v'", .labelTooLong, 0),
            ("has(" + String(repeating: "k", count: 513) + ")", .labelTooLong, 4),
        ]
    )
    func rejects(input: String, code: SelectorError.Code, offset: Int) {
        #expect(throws: SelectorError.self) { try Selector(input) }
        do {
            _ = try Selector(input)
        } catch {
            #expect(error.code == code, "\(error.message)")
            #expect(error.offset == offset, "\(error.message)")
            #expect(error.message.contains("offset \(offset)"))
        }
    }

    @Test("error messages say where and quote the input")
    func errorMessage() throws {
        let error = try #require(throws: SelectorError.self) { try Selector("a == 'x' && é == 'y'") }
        #expect(error.offset == 12)
        #expect(error.message.contains("offset 12 (column 13)"))
        #expect(error.message.contains(#"near "é == 'y'""#))
        #expect(error.description.hasPrefix("invalid selector: "))
        #expect(error.code.description == "unexpectedCharacter")

        let end = try #require(throws: SelectorError.self) { try Selector("has(a) &&") }
        #expect(end.message.contains("at end of input"))
        #expect(end.code == .unexpectedEnd)

        let label = try #require(throws: SelectorError.self) { try Selector("app web") }
        #expect(label.message.contains("label 'app'"))
    }

    @Test("parentheses nest up to the documented depth")
    func nesting() throws {
        let depth = Selector.maximumNestingDepth
        let ok = String(repeating: "(", count: depth) + "a == 'b'" + String(repeating: ")", count: depth)
        #expect(try Selector(ok).canonical == #"a == "b""#)
        let tooDeep = "(" + ok + ")"
        let error = try #require(throws: SelectorError.self) { try Selector(tooDeep) }
        #expect(error.code == .nestingTooDeep)
        #expect(error.offset == depth)
        // A long run of ! is not nesting.
        #expect(try Selector(String(repeating: "!", count: 100_001) + "has(a)").canonical == "!has(a)")
        // Nor is a long flat chain.
        let chain = (0..<5_000).map { "k\($0) == 'v'" }.joined(separator: " && ")
        #expect(try Selector(chain).labelKeys.count == 5_000)
    }

    @Test("Parse does not trim; normalizing does (Go's strings.TrimSpace)")
    func normalize() throws {
        #expect(throws: SelectorError.self) { try Selector("\na == 'b'") }
        #expect(try Selector(normalizing: "\n a == 'b' \r\n\u{A0}").canonical == #"a == "b""#)
        #expect(Selector.normalize(" \t a == 'b' \n") == #"a == "b""#)
        #expect(Selector.normalize("\u{2003}") == "all()")
        #expect(Selector.normalize("") == "all()")
        // Unparseable input comes back trimmed but otherwise unaltered.
        #expect(Selector.normalize("  a = 'b'\n") == "a = 'b'")
        // Interior newlines are still errors.
        #expect(Selector.normalize("a == 'b' &&\nhas(c)") == "a == 'b' &&\nhas(c)")
    }
}
