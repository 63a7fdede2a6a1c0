/// Recursive descent over the token list, following libcalico-go's `parser.go`:
///
/// ```
/// selector := <empty> | or EOF
/// or       := and ("||" and)*
/// and      := op ("&&" op)*
/// op       := "!"* ( has(L) | all() | global() | "(" or ")"
///                  | L ("=="|"!="|contains|starts with|ends with) STRING
///                  | L (in|not in) "{" [STRING ("," STRING)* [","]] "}" )
/// ```
///
/// The whole input is tokenized first, so a lexical error anywhere wins over a grammar error,
/// as in Calico.
struct Parser {
    let input: UnsafeBufferPointer<UInt8>
    let tokens: [Token]
    var position = 0
    var depth = 0

    static func parse(_ input: UnsafeBufferPointer<UInt8>) throws(SelectorError) -> Node {
        var tokens: [Token] = []
        tokens.reserveCapacity(16)
        try Tokenizer.tokenize(input, into: &tokens)
        var parser = Parser(input: input, tokens: tokens)
        return try parser.parseRoot()
    }

    private mutating func parseRoot() throws(SelectorError) -> Node {
        if tokens[0].kind == .end { return .all }
        let node = try parseOr()
        let rest = tokens[position]
        if rest.kind != .end {
            throw .at(rest.offset, in: input, .unexpectedTrailingInput, "unexpected \(rest.kind.display) after a complete expression")
        }
        return node
    }

    private mutating func parseOr() throws(SelectorError) -> Node {
        let first = try parseAnd()
        guard tokens[position].kind == .or else { return first }
        var operands = [first]
        while tokens[position].kind == .or {
            position += 1
            operands.append(try parseAnd())
        }
        return .or(operands)
    }

    private mutating func parseAnd() throws(SelectorError) -> Node {
        let first = try parseOperation()
        guard tokens[position].kind == .and else { return first }
        var operands = [first]
        while tokens[position].kind == .and {
            position += 1
            operands.append(try parseOperation())
        }
        return .and(operands)
    }

    private func string(_ token: Token) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: input[token.valueStart..<token.valueEnd]), as: UTF8.self)
    }

    private mutating func parseOperation() throws(SelectorError) -> Node {
        // Leading "!"s collapse by parity before the operand is parsed.
        var negated = false
        while tokens[position].kind == .not {
            negated.toggle()
            position += 1
        }
        let token = tokens[position]
        let node: Node
        switch token.kind {
        case .has:
            node = .has(string(token))
            position += 1
        case .all:
            node = .all
            position += 1
        case .global:
            node = .global
            position += 1
        case .label:
            node = try parseLabelOperation(token)
        case .leftParen:
            if depth >= Selector.maximumNestingDepth {
                throw .at(
                    token.offset, in: input, .nestingTooDeep,
                    "parentheses nested more than \(Selector.maximumNestingDepth) deep"
                )
            }
            depth += 1
            position += 1
            node = try parseOr()
            depth -= 1
            let close = tokens[position]
            guard close.kind == .rightParen else {
                throw .at(close.offset, in: input, .expectedClosingParenthesis, "expected ')' but found \(close.kind.display)")
            }
            position += 1
        case .end:
            throw .at(token.offset, in: input, .unexpectedEnd, "unexpected end of input, expected an expression")
        default:
            throw .at(token.offset, in: input, .unexpectedToken, "unexpected \(token.kind.display), expected an expression")
        }
        return negated ? .not(node) : node
    }

    private mutating func parseLabelOperation(_ labelToken: Token) throws(SelectorError) -> Node {
        let label = string(labelToken)
        let op = tokens[position + 1]
        let comparison: Comparison
        switch op.kind {
        case .equal: comparison = .equal
        case .notEqual: comparison = .notEqual
        case .contains: comparison = .contains
        case .startsWith: comparison = .startsWith
        case .endsWith: comparison = .endsWith
        case .in, .notIn:
            return try parseSet(label: label, negated: op.kind == .notIn)
        case .end:
            throw .at(op.offset, in: input, .unexpectedEnd, "unexpected end of input, expected an operator after label '\(label)'")
        default:
            throw .at(op.offset, in: input, .expectedOperator, "expected an operator after label '\(label)' but found \(op.kind.display)")
        }
        let literal = tokens[position + 2]
        guard literal.kind == .string else {
            throw .at(literal.offset, in: input, .expectedString, "expected a quoted string after \(op.kind.display) but found \(literal.kind.display)")
        }
        position += 3
        return .compare(label, comparison, string(literal))
    }

    private mutating func parseSet(label: String, negated: Bool) throws(SelectorError) -> Node {
        let brace = tokens[position + 2]
        guard brace.kind == .leftBrace else {
            throw .at(brace.offset, in: input, .expectedSet, "expected '{' to open a set but found \(brace.kind.display)")
        }
        position += 3
        var values: [String] = []
        while tokens[position].kind == .string {
            values.append(string(tokens[position]))
            position += 1
            guard tokens[position].kind == .comma else { break }
            position += 1
        }
        let close = tokens[position]
        guard close.kind == .rightBrace else {
            throw .at(close.offset, in: input, .expectedClosingBrace, "expected a quoted string or '}' in a set but found \(close.kind.display)")
        }
        position += 1
        return .set(label, negated: negated, Node.normalizedSet(values))
    }
}
