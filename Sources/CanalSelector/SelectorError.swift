/// A selector that could not be parsed.
///
/// ``offset`` is the UTF-8 byte offset in the input where the problem was found; ``message`` says
/// what was expected, where (byte offset and 1-based column) and quotes the offending text.
/// Match on ``code`` rather than on the message, which may be reworded.
public struct SelectorError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of parse failure.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Value: Sendable, Hashable {
            case unterminatedString
            case unexpectedCharacter
            case labelTooLong
            case expectedOperator
            case malformedFunction
            case unexpectedToken
            case unexpectedEnd
            case expectedString
            case expectedSet
            case expectedClosingBrace
            case expectedClosingParenthesis
            case unexpectedTrailingInput
            case nestingTooDeep
        }

        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// A string literal has no closing quote of the same kind (there are no escapes).
        public static let unterminatedString = Code(.unterminatedString)
        /// A character that cannot start any token here: anything outside the label charset
        /// `[A-Za-z0-9_./-]`, a lone `=`, `&` or `|`, or whitespace other than space and tab.
        public static let unexpectedCharacter = Code(.unexpectedCharacter)
        /// A label longer than 512 bytes.
        public static let labelTooLong = Code(.labelTooLong)
        /// A label followed by something that is not an operator.
        public static let expectedOperator = Code(.expectedOperator)
        /// `has(`, `all(` or `global(` without the label or closing `)` they need.
        public static let malformedFunction = Code(.malformedFunction)
        /// A token where an expression was expected.
        public static let unexpectedToken = Code(.unexpectedToken)
        /// The input ended where more was expected.
        public static let unexpectedEnd = Code(.unexpectedEnd)
        /// A comparison operator not followed by a quoted string.
        public static let expectedString = Code(.expectedString)
        /// `in` or `not in` not followed by `{`.
        public static let expectedSet = Code(.expectedSet)
        /// A set literal not closed by `}` (or with a misplaced comma or unquoted item).
        public static let expectedClosingBrace = Code(.expectedClosingBrace)
        /// A parenthesised expression not closed by `)`.
        public static let expectedClosingParenthesis = Code(.expectedClosingParenthesis)
        /// A complete expression followed by more tokens.
        public static let unexpectedTrailingInput = Code(.unexpectedTrailingInput)
        /// Parentheses nested deeper than ``Selector/maximumNestingDepth``.
        public static let nestingTooDeep = Code(.nestingTooDeep)

        /// A short identifier for the code, e.g. `unterminatedString`.
        public var description: String {
            switch value {
            case .unterminatedString: "unterminatedString"
            case .unexpectedCharacter: "unexpectedCharacter"
            case .labelTooLong: "labelTooLong"
            case .expectedOperator: "expectedOperator"
            case .malformedFunction: "malformedFunction"
            case .unexpectedToken: "unexpectedToken"
            case .unexpectedEnd: "unexpectedEnd"
            case .expectedString: "expectedString"
            case .expectedSet: "expectedSet"
            case .expectedClosingBrace: "expectedClosingBrace"
            case .expectedClosingParenthesis: "expectedClosingParenthesis"
            case .unexpectedTrailingInput: "unexpectedTrailingInput"
            case .nestingTooDeep: "nestingTooDeep"
            }
        }
    }

    /// What went wrong.
    public var code: Code
    /// A human-readable explanation, including the position and the offending text.
    public var message: String
    /// The UTF-8 byte offset in the input at which the problem was detected.
    public var offset: Int

    /// Creates an error.
    public init(code: Code, message: String, offset: Int) {
        self.code = code
        self.message = message
        self.offset = offset
    }

    /// `invalid selector: <message>`.
    public var description: String { "invalid selector: \(message)" }

    /// Builds an error whose message ends with the position and a quotation of the input there.
    static func at(_ offset: Int, in input: UnsafeBufferPointer<UInt8>, _ code: Code, _ what: String) -> SelectorError {
        let offset = min(max(offset, 0), input.count)
        // Column: 1 + number of Unicode scalars before the offset (continuation bytes don't count).
        var column = 1
        for i in 0..<offset where input[i] & 0xC0 != 0x80 { column += 1 }
        let near: String
        if offset >= input.count {
            near = "at end of input"
        } else {
            var end = min(input.count, offset + 24)
            while end < input.count && input[end] & 0xC0 == 0x80 { end += 1 }
            let excerpt = String(decoding: UnsafeBufferPointer(rebasing: input[offset..<end]), as: UTF8.self)
            near = "near \(quoted(excerpt))\(end < input.count ? "…" : "")"
        }
        return SelectorError(
            code: code,
            message: "\(what) at offset \(offset) (column \(column)), \(near)",
            offset: offset
        )
    }

    private static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += "\\u{\(String(scalar.value, radix: 16))}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
