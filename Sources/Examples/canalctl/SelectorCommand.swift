import ArgumentParser
import CanalManifest
import CanalModel
import CanalSelector

/// `canalctl selector …`: evaluate and inspect Calico selectors.
struct SelectorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "selector",
        abstract: "Evaluate and inspect Calico selector expressions.",
        subcommands: [Match.self, Canonical.self, Endpoints.self]
    )

    /// `canalctl selector match SELECTOR --labels k=v,…` or `--batch`.
    struct Match: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print whether a selector matches a set of labels.",
            discussion: """
                With --batch, reads JSON Lines {"selector": "…", "labels": {…}} from standard input and \
                writes one line per input, in order: {"match": true}, {"match": false} or {"error": "…"}.
                """
        )

        @Argument(help: "The selector expression.")
        var selector: String?

        @Option(help: "Labels as k=v pairs separated by commas; may be repeated.")
        var labels: [String] = []

        @Flag(help: "Read JSON Lines from standard input.")
        var batch = false

        func validate() throws {
            if batch, selector != nil { throw ValidationError("--batch reads selectors from standard input; give no SELECTOR") }
            if !batch, selector == nil { throw ValidationError("a SELECTOR is required (or --batch)") }
        }

        func run() throws {
            if batch {
                runBatch()
                return
            }
            var map: [String: String] = [:]
            for group in labels {
                for pair in group.split(separator: ",", omittingEmptySubsequences: true) {
                    guard let eq = pair.firstIndex(of: "=") else {
                        throw ValidationError("label \"\(pair)\" is not of the form key=value")
                    }
                    map[String(pair[..<eq])] = String(pair[pair.index(after: eq)...])
                }
            }
            let parsed: Selector
            do {
                parsed = try Selector(selector!)
            } catch {
                IO.error("\(error)")
                throw ExitCode(1)
            }
            print(parsed.matches(map) ? "true" : "false")
        }

        private func runBatch() {
            var cache: [String: Result<Selector, SelectorError>] = [:]
            var out = ""
            while let line = readLine(strippingNewline: true) {
                if line.allSatisfy({ $0 == " " || $0 == "\t" || $0 == "\r" }) { continue }
                out += Self.evaluate(line, cache: &cache) + "\n"
                if out.utf8.count > 1 << 16 {
                    print(out, terminator: "")
                    out = ""
                }
            }
            print(out, terminator: "")
        }

        static func evaluate(_ line: String, cache: inout [String: Result<Selector, SelectorError>]) -> String {
            func failure(_ message: String) -> String {
                JSONValue.object(JSONObject([("error", .string(message))])).jsonText
            }
            let value: JSONValue
            do {
                value = try JSONValue(parsing: line)
            } catch {
                return failure(error.message)
            }
            guard case .string(let text)? = value["selector"] else {
                return failure("\"selector\" must be a string")
            }
            var labels: [String: String] = [:]
            switch value["labels"] {
            case nil, .null?: break
            case .object(let o)?:
                for (k, v) in o {
                    guard case .string(let s) = v else { return failure("label \"\(k)\" must have a string value") }
                    labels[k] = s
                }
            default:
                return failure("\"labels\" must be an object of strings")
            }
            let result: Result<Selector, SelectorError>
            if let cached = cache[text] {
                result = cached
            } else {
                do throws(SelectorError) { result = .success(try Selector(text)) } catch { result = .failure(error) }
                cache[text] = result
            }
            switch result {
            case .success(let s): return s.matches(labels) ? #"{"match":true}"# : #"{"match":false}"#
            case .failure(let e): return failure("\(e)")
            }
        }
    }

    /// `canalctl selector canonical SELECTOR [-o text|json]`.
    struct Canonical: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a selector's canonical form, unique id and Felix IP set names."
        )

        @Argument(help: "The selector expression.")
        var selector: String

        @Option(name: .shortAndLong, help: "Output format: text (the canonical form) or json.")
        var output: OutputFormat = .text

        enum OutputFormat: String, ExpressibleByArgument { case text, json }

        func run() throws {
            let parsed: Selector
            do {
                parsed = try Selector(selector)
            } catch {
                IO.error("\(error)")
                throw ExitCode(1)
            }
            switch output {
            case .text:
                print(parsed.canonical)
            case .json:
                let v = JSONValue.object(JSONObject([
                    ("canonical", .string(parsed.canonical)),
                    ("id", .string(parsed.uniqueID)),
                    ("ipsetV4", .string(parsed.ipSetName(ipVersion: 4))),
                    ("ipsetV6", .string(parsed.ipSetName(ipVersion: 6))),
                ]))
                print(v.jsonText)
            }
        }
    }

    /// `canalctl selector endpoints SELECTOR -f FILE`: which endpoints of a manifest a selector selects.
    struct Endpoints: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the workload and host endpoints of a manifest that a selector selects.",
            discussion: """
                Endpoints are matched on their effective labels: their own labels, the labels Calico adds \
                (projectcalico.org/namespace, projectcalico.org/orchestrator) and the labelsToApply of their \
                profiles in the same manifest.
                """
        )

        @Argument(help: "The selector expression.")
        var selector: String

        @Option(name: [.customShort("f"), .customLong("filename")], help: "The manifest holding the endpoints (and profiles).")
        var file: String

        func run() throws {
            let parsed: Selector
            do {
                parsed = try Selector(selector)
            } catch {
                IO.error("\(error)")
                throw ExitCode(1)
            }
            let entries = try Manifest.read(try IO.read(file), applyDefaults: true)
            let resources = entries.compactMap { try? $0.result.get() }
            let profiles = Dictionary(
                resources.compactMap { $0 as? Profile }.map { ($0.metadata.name ?? "", $0) },
                uniquingKeysWith: { a, _ in a })
            for r in resources {
                guard let labels = EffectiveLabels.of(r, profiles: profiles) else { continue }
                if parsed.matches(labels) { print("\(r.kind.name) \(r.displayName)") }
            }
        }
    }
}
