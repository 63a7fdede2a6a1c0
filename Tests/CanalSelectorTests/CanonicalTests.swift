import CanalSelector
import Testing

@Suite("Canonical form, unique ids and IP set names")
struct CanonicalTests {
    /// libcalico-go's `canonicalisationTests`: input, canonical, unique id (when given there).
    @Test(
        "canonical strings and unique ids",
        arguments: [
            ("", "all()", "s:5y5I3VdRZfDU01O--xXAPx2yxCQQqMf0M6IWug"),
            (" all() ", "all()", "s:5y5I3VdRZfDU01O--xXAPx2yxCQQqMf0M6IWug"),
            (" (all() )", "all()", "s:5y5I3VdRZfDU01O--xXAPx2yxCQQqMf0M6IWug"),
            ("! (has( b)||! has(a ))", "!(has(b) || !has(a))", "s:Iss0uCleLYv1GSv_pNm7hAO58kE9jAx1NKyG3Q"),
            (#"! (a == "b"&&! c != "d")"#, #"!(a == "b" && !c != "d")"#, "s:lh3haoY1ikTRkd4UZu0nWSaIBknYLPJLX16d-w"),
            ("role == 'db' && env in {'staging', 'prod'}", #"(role == "db" && env in {"prod", "staging"})"#,
             "s:nkAQ13F7RVV6Cyua9TN9jLOGpZ8csGmy77W1yw"),
            ("a == 'é'", #"a == "é""#, "s:2_hnZrTZ0JBefr9Q7w6RuE_Vkx1b66g1ZQFXFA"),
            (#"a == "'""#, #"a == "'""#, nil),
            (#"a == '"'"#, #"a == '"'"#, nil),
            (#"a contains '"'"#, #"a contains '"'"#, nil),
            (#"a contains "'""#, #"a contains "'""#, nil),
            (#"a startswith '"'"#, #"a starts with '"'"#, nil),
            (#"a endswith "'""#, #"a ends with "'""#, nil),
            (#"a!='"'"#, #"a != '"'"#, nil),
            (#"a in {"d"}"#, #"a in {"d"}"#, nil),
            (#"a in {"a", "b"}"#, #"a in {"a", "b"}"#, nil),
            (#"a in {"d", "a", "b"}"#, #"a in {"a", "b", "d"}"#, nil),
            (#"a in {"z", "x", "y", "a"}"#, #"a in {"a", "x", "y", "z"}"#, nil),
            (#"a in {"z", "z", "x", "y", "x", "a"}"#, #"a in {"a", "x", "y", "z"}"#, nil),
            (#"a in {'"', "'"}"#, #"a in {'"', "'"}"#, nil),
        ] as [(String, String, String?)]
    )
    func canonical(input: String, canonical: String, uniqueID: String?) throws {
        let selector = try Selector(normalizing: input)
        #expect(selector.canonical == canonical)
        let reparsed = try Selector(canonical)
        #expect(reparsed.canonical == canonical)
        #expect(reparsed.uniqueID == selector.uniqueID)
        #expect(reparsed == selector)
        #expect(selector.uniqueID == Selector.uniqueID(prefix: "s", content: canonical))
        #expect(selector.uniqueID.utf8.count == 40)
        if let uniqueID { #expect(selector.uniqueID == uniqueID) }
    }

    @Test("the !! quirk: !(!(x)) prints as !!x, which re-parses as x")
    func doubleNegation() throws {
        let selector = try Selector("!(!(a == 'b'))")
        #expect(selector.canonical == #"!!a == "b""#)
        let reparsed = try Selector(selector.canonical)
        #expect(reparsed.canonical == #"a == "b""#)
        #expect(reparsed.uniqueID != selector.uniqueID)
        #expect(reparsed != selector)
        // Same meaning all the same.
        expectMatch(selector, ["a": "b"], true)
        expectMatch(reparsed, ["a": "b"], true)
        expectMatch(selector, ["a": "c"], false)
        #expect(try Selector("!(!(!(has(a))))").canonical == "!!!has(a)")
        #expect(try Selector("!!!has(a)").canonical == "!has(a)")
    }

    @Test("equality and hashing follow the canonical bytes")
    func equality() throws {
        #expect(try Selector("a=='b'") == Selector("(a == \"b\")"))
        #expect(try Selector("a=='b'").hashValue == Selector("(a == \"b\")").hashValue)
        #expect(try Selector("a in {'y','x'}") == Selector("a in {'x', 'y', 'x',}"))
        #expect(try Selector("a == 'b' && c == 'd'") != Selector("c == 'd' && a == 'b'"))
        // Canonically equivalent Unicode is still a different selector.
        #expect(try Selector("a == '\u{E9}'") != Selector("a == 'e\u{301}'"))
        #expect(try Set([Selector(""), Selector("all()"), Selector(" ( all() ) ")]).count == 1)
        #expect(try Selector("") == Selector.all)
    }

    @Test("IP set names: cali40/cali60 + unique id, cut to 31 bytes")
    func ipSetNames() throws {
        let all = Selector.all
        #expect(all.ipSetName(ipVersion: 4) == "cali40s:5y5I3VdRZfDU01O--xXAPx2")
        #expect(all.ipSetName(ipVersion: 6) == "cali60s:5y5I3VdRZfDU01O--xXAPx2")
        #expect(all.ipSetName(ipVersion: 4).utf8.count == 31)
        #expect(Selector.ipSetName(uniqueID: "s:short", ipVersion: 4) == "cali40s:short")
        let selector = try Selector("role == 'db'")
        #expect(selector.ipSetName(ipVersion: 6) == "cali60" + selector.uniqueID.prefix(25))
    }

    @Test("named-port IP set ids: MakeUniqueID(\"n\", selectorID,proto,port)")
    func namedPorts() {
        let id = Selector.all.namedPortUniqueID(protocol: "tcp", port: "http")
        #expect(id == "n:cl9_Kgeu4H0OGLbhovVR3NBLUOZscKeMK1Mu4A")
        #expect(id == Selector.uniqueID(prefix: "n", content: "s:5y5I3VdRZfDU01O--xXAPx2yxCQQqMf0M6IWug,tcp,http"))
        #expect(Selector.ipSetName(uniqueID: id, ipVersion: 4) == "cali40n:cl9_Kgeu4H0OGLbhovVR3NB")
        #expect(Selector.all.namedPortUniqueID(protocol: "udp", port: "http") != id)
    }

    @Test("uniqueID(prefix:content:) matches MakeUniqueID for other prefixes")
    func otherPrefixes() {
        #expect(Selector.uniqueID(prefix: "s", content: "all()") == "s:5y5I3VdRZfDU01O--xXAPx2yxCQQqMf0M6IWug")
        #expect(Selector.uniqueID(prefix: "svc", content: "").hasPrefix("svc:"))
        #expect(Selector.uniqueID(prefix: "svc", content: "").utf8.count == 4 + 38)
        #expect(Selector.uniqueID(prefix: "svc", content: "a") != Selector.uniqueID(prefix: "svc", content: "b"))
    }
}

@Suite("Inspection and rewriting")
struct InspectionTests {
    /// libcalico-go's `PrefixVisitor` table.
    @Test(
        "prefixing labels",
        arguments: [
            ("k == 'v'", #"visited/k == "v""#),
            ("k != 'v'", #"visited/k != "v""#),
            ("k contains 'v'", #"visited/k contains "v""#),
            ("k starts with 'v'", #"visited/k starts with "v""#),
            ("k ends with 'v'", #"visited/k ends with "v""#),
            ("k == 'v' && x == 'y'", #"(visited/k == "v" && visited/x == "y")"#),
            ("k == 'v' || has(x)", #"(visited/k == "v" || has(visited/x))"#),
            ("!(k == 'v')", #"!visited/k == "v""#),
            ("k in {'v'}", #"visited/k in {"v"}"#),
            ("k not in {'v'}", #"visited/k not in {"v"}"#),
            (
                "!(!(k == 'v' && has(t) || all()) && (a in {'b', 'c'}))",
                #"!(!((visited/k == "v" && has(visited/t)) || all()) && visited/a in {"b", "c"})"#
            ),
            ("all() || global()", "(all() || global())"),
        ]
    )
    func prefixing(input: String, expected: String) throws {
        let prefixed = try Selector(input).prefixingLabels(with: "visited/")
        #expect(prefixed.canonical == expected)
        #expect(prefixed.uniqueID == Selector.uniqueID(prefix: "s", content: expected))
        #expect(prefixed == (try Selector(expected)))
    }

    @Test("prefixed selectors evaluate against the prefixed keys")
    func prefixedEvaluation() throws {
        let selector = try Selector("role == 'db' && !has(debug)").prefixingLabels(with: "pcns.")
        expectMatch(selector, ["pcns.role": "db"], true)
        expectMatch(selector, ["role": "db"], false)
        expectMatch(selector, ["pcns.role": "db", "pcns.debug": ""], false)
    }

    @Test("label keys, isAll, containsGlobal, constantResult")
    func inspection() throws {
        #expect(try Selector("b == 'x' || (has(a) && b in {'y'}) || !c contains 'z'").labelKeys == ["a", "b", "c"])
        #expect(Selector.all.labelKeys.isEmpty)
        #expect(try Selector("").isAll)
        #expect(try Selector("(all())").isAll)
        #expect(try !Selector("!all()").isAll)
        #expect(try !Selector("all() && all()").isAll)
        #expect(try !Selector("global()").isAll)
        #expect(try Selector("has(a) || global()").containsGlobal)
        #expect(try !Selector("global == 'x'").containsGlobal)
        #expect(try Selector("all()").constantResult == true)
        #expect(try Selector("!all()").constantResult == false)
        #expect(try Selector("!global() || all()").constantResult == true)
        #expect(try Selector("!global() && has(a)").constantResult == false)
        #expect(try Selector("global() && has(a)").constantResult == nil)
    }
}
