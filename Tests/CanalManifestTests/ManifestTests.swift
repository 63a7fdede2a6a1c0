import CanalManifest
import CanalModel
import Foundation
import PropertyBased
import Testing

@Suite struct ManifestDocumentTests {
    @Test func yamlScalarsBecomeJSONTypes() throws {
        let docs = try Manifest.documents(from: """
            a: 80
            b: "80"
            c: true
            d: 'true'
            e: ~
            f: 1.5
            g: [x, 2]
            h: {}
            """)
        let v = try #require(docs.first?.value)
        #expect(v["a"] == .number("80"))
        #expect(v["b"] == .string("80"))
        #expect(v["c"] == .bool(true))
        #expect(v["d"] == .string("true"))
        #expect(v["e"] == .null)
        #expect(v["f"] == .number("1.5"))
        #expect(v["g"] == .array([.string("x"), .number("2")]))
        #expect(v["h"] == .object(JSONObject()))
    }

    @Test func multiDocumentAndLists() throws {
        let docs = try Manifest.documents(from: """
            ---
            kind: A
            ---
            kind: List
            apiVersion: projectcalico.org/v3
            items:
            - kind: B
            - kind: C
            ---
            """)
        #expect(docs.map { $0.value["kind"] } == [.string("A"), .string("B"), .string("C")])
        #expect(docs[1].location.hasPrefix("document 2"))
        #expect(docs[1].location.hasSuffix("item 1"))
    }

    @Test func jsonInput() throws {
        #expect(try Manifest.documents(from: #" {"kind": "A"}"#).count == 1)
        #expect(try Manifest.documents(from: #"[{"kind": "A"}, {"kind": "B"}]"#).count == 2)
        #expect(throws: ModelError.self) { try Manifest.documents(from: #"{"kind": "#) }
    }

    @Test func malformedYAMLIsASyntaxError() {
        for text in ["a: [1, 2", "a: b: c", "a: 1\na: 2", "a: *undefined", "\tkey: 1"] {
            #expect {
                _ = try Manifest.documents(from: text)
            } throws: { ($0 as? ModelError)?.code == .syntax }
        }
    }

    @Test func yamlOutputQuotesStringsThatLookLikeOtherTypes() throws {
        let v = JSONValue.object(JSONObject([
            ("port", .string("80")), ("flag", .string("true")), ("n", .number("80")), ("empty", .string("")),
            ("list", .array([.string("null"), .bool(false)])),
        ]))
        let text = try Manifest.yamlText(v)
        let back = try #require(try Manifest.documents(from: text).first)
        #expect(back.value == v)
    }

    @Test func unknownKindIsReportedPerDocument() throws {
        let entries = try Manifest.read("""
            kind: Gadget
            apiVersion: projectcalico.org/v3
            metadata: {name: x}
            ---
            kind: Tier
            apiVersion: example.com/v1
            metadata: {name: y}
            """)
        #expect(entries.count == 2)
        guard case .failure(let e0) = entries[0].result, case .failure(let e1) = entries[1].result else {
            Issue.record("expected failures")
            return
        }
        #expect(e0.code == .unknownKind)
        #expect(e1.fieldErrors.first?.path.description == "apiVersion")
        #expect(entries[0].displayName == "x")
    }
}

@Suite struct ManifestRobustnessTests {
    /// Arbitrary text built from YAML's structural characters never traps the reader: it either
    /// reads or reports a ModelError.
    @Test func readingArbitraryTextNeverTraps() async {
        let alphabet = Array("kind: Tier\napiVersion: projectcalico.org/v3\nmetadata:\n  name: x\n-[]{}'\"&*!|>%@`#,?\t ") 
        await propertyCheck(count: 3000, input: Gen.element(of: alphabet).array(of: 0...120)) { chars in
            let text = String(chars.compactMap { $0 })
            do throws(ModelError) {
                _ = try Manifest.read(text, applyDefaults: true, validate: true)
            } catch {
                #expect(error.code == .syntax || error.code == .schema)
            }
        }
    }
}

@Suite struct ManifestErrorReportingTests {
    /// Wrong types, unknown fields and rule violations of one document are reported together.
    @Test func everyProblemOfADocumentAtOnce() throws {
        let entries = try Manifest.read("""
            apiVersion: projectcalico.org/v3
            kind: NetworkPolicy
            metadata:
              name: Bad_Name
              namespace: shop
            spec:
              order: high
              ingress:
              - action: Accept
                protocol: ICMP
                source:
                  nets: [198.18.0.1/16]
                destination:
                  ports: [80]
                colour: blue
              types: [Ingress]
            """, applyDefaults: true, validate: true)
        let error = try #require(entries.first.flatMap { entry -> ModelError? in
            if case .failure(let e) = entry.result { return e }
            return nil
        })
        let paths = Set(error.fieldErrors.map(\.path.description))
        #expect(paths == [
            "metadata.name", "spec.order", "spec.ingress[0].action", "spec.ingress[0].colour",
            "spec.ingress[0].source.nets[0]", "spec.ingress[0].destination.ports",
        ])
    }

    @Test func validDocumentsBesideABadOneStillRead() throws {
        let entries = try Manifest.read("""
            apiVersion: projectcalico.org/v3
            kind: Tier
            metadata: {name: ok}
            ---
            apiVersion: projectcalico.org/v3
            kind: Tier
            metadata: {name: not.ok}
            """, validate: true)
        #expect(entries.count == 2)
        #expect((try? entries[0].result.get()) != nil)
        #expect((try? entries[1].result.get()) == nil)
    }
}

@Suite struct ExampleManifestTests {
    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Examples/manifests")

    /// The example cluster reads, validates, and round-trips through YAML and JSON unchanged.
    @Test(arguments: Manifest.Format.allCases)
    func exampleClusterRoundTrips(format: Manifest.Format) throws {
        let text = try String(contentsOf: Self.examples.appendingPathComponent("cluster.yaml"), encoding: .utf8)
        let resources = try Manifest.read(text, applyDefaults: true, validate: true).map { try $0.result.get() }
        #expect(resources.count == 19)
        #expect(Set(resources.map(\.kind)).count == 14)
        let written = try Manifest.write(resources, format: format)
        let again = try Manifest.read(written, applyDefaults: false, validate: true).map { try $0.result.get() }
        #expect(again.count == resources.count)
        for (a, b) in zip(resources, again) {
            #expect(a.isEqual(to: b), "\(a.kind.name) \(a.displayName) changed through \(format)")
        }
    }
}
