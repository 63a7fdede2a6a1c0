/// The kinds of token in the selector language.
enum TokenKind: UInt8 {
    case label, string, leftBrace, rightBrace, comma
    case equal, notEqual, `in`, not, notIn, contains, startsWith, endsWith
    case all, has, global, leftParen, rightParen, and, or, end

    var display: String {
        switch self {
        case .label: "label"
        case .string: "string literal"
        case .leftBrace: "'{'"
        case .rightBrace: "'}'"
        case .comma: "','"
        case .equal: "'=='"
        case .notEqual: "'!='"
        case .in: "'in'"
        case .not: "'!'"
        case .notIn: "'not in'"
        case .contains: "'contains'"
        case .startsWith: "'starts with'"
        case .endsWith: "'ends with'"
        case .all: "'all()'"
        case .has: "'has()'"
        case .global: "'global()'"
        case .leftParen: "'('"
        case .rightParen: "')'"
        case .and: "'&&'"
        case .or: "'||'"
        case .end: "end of input"
        }
    }
}

/// One token: its kind, where it starts, and for labels, `has(…)` and string literals the byte
/// range of its text (the label, or the literal without quotes).
struct Token {
    var kind: TokenKind
    var offset: Int
    var valueStart: Int
    var valueEnd: Int

    init(_ kind: TokenKind, at offset: Int, value: Range<Int>? = nil) {
        self.kind = kind
        self.offset = offset
        self.valueStart = value?.lowerBound ?? offset
        self.valueEnd = value?.upperBound ?? offset
    }
}

/// Calico's hand-written selector tokenizer, byte for byte (`lib/selector/tokenizer`).
///
/// - Whitespace is only space and tab.
/// - Labels are runs of `[A-Za-z0-9_./-]`, at most ``Selector/maximumLabelLength`` bytes.
/// - String literals run to the next quote of the same kind; there are no escapes.
/// - Word operators are recognised only right after a label, must end at a word boundary, and
///   multi-word ones allow any (or no) spaces or tabs between the words.
/// - `has(`, `all(` and `global(` are recognised only when written exactly so.
enum Tokenizer {
    @inline(__always)
    static func isLabelByte(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "."),
            UInt8(ascii: "/"), UInt8(ascii: "-"):
            true
        default:
            false
        }
    }

    static func tokenize(_ input: UnsafeBufferPointer<UInt8>, into tokens: inout [Token]) throws(SelectorError) {
        let n = input.count
        var i = 0

        @inline(__always) func skipSpace(_ j: Int) -> Int {
            var j = j
            while j < n && (input[j] == 0x20 || input[j] == 0x09) { j += 1 }
            return j
        }
        /// Whether the bytes at `j` spell `word`.
        @inline(__always) func hasWord(_ word: StaticString, at j: Int) -> Bool {
            let len = word.utf8CodeUnitCount
            guard j + len <= n else { return false }
            let w = word.utf8Start
            for k in 0..<len where input[j + k] != w[k] { return false }
            return true
        }
        @inline(__always) func isBoundary(_ j: Int) -> Bool { j >= n || !isLabelByte(input[j]) }
        /// The end of a run of label bytes starting at `j`.
        @inline(__always) func labelEnd(_ j: Int) -> Int {
            var e = j
            while e < n && isLabelByte(input[e]) { e += 1 }
            return e
        }
        /// A single word operator ending at a word boundary; returns the offset after it.
        func word(_ w: StaticString, at j: Int) -> Int? {
            guard hasWord(w, at: j) else { return nil }
            let e = j + w.utf8CodeUnitCount
            return isBoundary(e) ? e : nil
        }
        /// Two words with any run of spaces/tabs (or none) between them; like Calico, spaces
        /// after the second word are skipped before the word-boundary check.
        func words(_ w1: StaticString, _ w2: StaticString, at j: Int) -> Int? {
            guard hasWord(w1, at: j) else { return nil }
            let k = skipSpace(j + w1.utf8CodeUnitCount)
            guard hasWord(w2, at: k) else { return nil }
            let e = skipSpace(k + w2.utf8CodeUnitCount)
            return isBoundary(e) ? e : nil
        }
        func checkedLabel(at j: Int) throws(SelectorError) -> Int {
            let e = labelEnd(j)
            if e == j {
                throw .at(j, in: input, .unexpectedCharacter, "unexpected character (expected a label, a quoted string or an operator)")
            }
            if e - j > Selector.maximumLabelLength {
                throw .at(
                    j, in: input, .labelTooLong,
                    "label of \(e - j) bytes is longer than the maximum of \(Selector.maximumLabelLength)"
                )
            }
            return e
        }

        while true {
            i = skipSpace(i)
            if i >= n {
                tokens.append(Token(.end, at: n))
                return
            }
            let c = input[i]
            switch c {
            case UInt8(ascii: "("):
                tokens.append(Token(.leftParen, at: i))
                i += 1
            case UInt8(ascii: ")"):
                tokens.append(Token(.rightParen, at: i))
                i += 1
            case UInt8(ascii: "{"):
                tokens.append(Token(.leftBrace, at: i))
                i += 1
            case UInt8(ascii: "}"):
                tokens.append(Token(.rightBrace, at: i))
                i += 1
            case UInt8(ascii: ","):
                tokens.append(Token(.comma, at: i))
                i += 1
            case UInt8(ascii: "\""), UInt8(ascii: "'"):
                var j = i + 1
                while j < n && input[j] != c { j += 1 }
                if j >= n {
                    throw .at(i, in: input, .unterminatedString, "unterminated string literal")
                }
                tokens.append(Token(.string, at: i, value: (i + 1)..<j))
                i = j + 1
            case UInt8(ascii: "="):
                guard i + 1 < n && input[i + 1] == UInt8(ascii: "=") else {
                    throw .at(i, in: input, .unexpectedCharacter, "expected '=='")
                }
                tokens.append(Token(.equal, at: i))
                i += 2
            case UInt8(ascii: "!"):
                if i + 1 < n && input[i + 1] == UInt8(ascii: "=") {
                    tokens.append(Token(.notEqual, at: i))
                    i += 2
                } else {
                    tokens.append(Token(.not, at: i))
                    i += 1
                }
            case UInt8(ascii: "&"):
                guard i + 1 < n && input[i + 1] == UInt8(ascii: "&") else {
                    throw .at(i, in: input, .unexpectedCharacter, "expected '&&'")
                }
                tokens.append(Token(.and, at: i))
                i += 2
            case UInt8(ascii: "|"):
                guard i + 1 < n && input[i + 1] == UInt8(ascii: "|") else {
                    throw .at(i, in: input, .unexpectedCharacter, "expected '||'")
                }
                tokens.append(Token(.or, at: i))
                i += 2
            default:
                if let last = tokens.last, last.kind == .label {
                    // Right after a label only a word operator may follow.
                    if let e = word("contains", at: i) {
                        tokens.append(Token(.contains, at: i))
                        i = e
                    } else if let e = words("starts", "with", at: i) {
                        tokens.append(Token(.startsWith, at: i))
                        i = e
                    } else if let e = words("ends", "with", at: i) {
                        tokens.append(Token(.endsWith, at: i))
                        i = e
                    } else if let e = words("not", "in", at: i) {
                        tokens.append(Token(.notIn, at: i))
                        i = e
                    } else if let e = word("in", at: i) {
                        tokens.append(Token(.in, at: i))
                        i = e
                    } else {
                        let label = String(
                            decoding: UnsafeBufferPointer(rebasing: input[last.valueStart..<last.valueEnd]),
                            as: UTF8.self
                        )
                        throw .at(i, in: input, .expectedOperator, "expected an operator after label '\(label)'")
                    }
                } else if hasWord("has(", at: i) {
                    let start = skipSpace(i + 4)
                    let end: Int
                    do {
                        end = try checkedLabel(at: start)
                    } catch {
                        if error.code == .labelTooLong { throw error }
                        throw .at(start, in: input, .malformedFunction, "expected a label inside 'has('")
                    }
                    let close = skipSpace(end)
                    guard close < n && input[close] == UInt8(ascii: ")") else {
                        throw .at(close, in: input, .malformedFunction, "expected ')' to close 'has('")
                    }
                    tokens.append(Token(.has, at: i, value: start..<end))
                    i = close + 1
                } else if hasWord("all(", at: i) {
                    let close = skipSpace(i + 4)
                    guard close < n && input[close] == UInt8(ascii: ")") else {
                        throw .at(close, in: input, .malformedFunction, "expected ')' after 'all('")
                    }
                    tokens.append(Token(.all, at: i))
                    i = close + 1
                } else if hasWord("global(", at: i) {
                    let close = skipSpace(i + 7)
                    guard close < n && input[close] == UInt8(ascii: ")") else {
                        throw .at(close, in: input, .malformedFunction, "expected ')' after 'global('")
                    }
                    tokens.append(Token(.global, at: i))
                    i = close + 1
                } else {
                    let end = try checkedLabel(at: i)
                    tokens.append(Token(.label, at: i, value: i..<end))
                    i = end
                }
            }
        }
    }
}
