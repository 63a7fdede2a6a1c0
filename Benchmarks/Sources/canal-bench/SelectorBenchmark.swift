import CanalSelector

/// The selector workload of shared/bench/selector-workload.md: 10,000 selectors from eight
/// templates, 10,000 label maps, parse / unique id / 1,000 × 10,000 evaluations.
enum SelectorBenchmark {
    static let expectedMatches = 1_679_505

    static func selectorText(_ i: Int) -> String {
        switch i % 8 {
        case 0: "role == 'frontend-\(i)' && env in {'prod', 'staging'}"
        case 1: "has(app) && !has(debug) && app == 'app-\(i % 200 + (i / 200) * 1000)'"
        case 2: "tier != 'db' || app == 'app-\(i)'"
        case 3: "projectcalico.org/namespace == 'ns-\(i % 100)' && app starts with 'web-\(i)'"
        case 4: "app in {'app-\(i % 200)', 'app-\((i + 1) % 200)', 'app-\(i)'} && version not in {'v1', 'v2'}"
        case 5: "(role == 'backend' || role == 'worker-\(i)') && projectcalico.org/orchestrator == 'k8s'"
        case 6: "all() && pod-template-hash ends with '\(i)'"
        default:
            "projectcalico.org/namespace == 'ns-\(i % 100)' && tier == 'web' && has(app) && app != 'app-\(i)'"
        }
    }

    static func labels(_ j: Int) -> [String: String] {
        let hash = UInt64(j) &* 2_654_435_761
        var hex = String(hash, radix: 16)
        if hex.utf8.count < 8 { hex = String(repeating: "0", count: 8 - hex.utf8.count) + hex }
        var labels: [String: String] = [
            "app": "app-\(j % 200)",
            "role": ["frontend", "backend", "worker", "db"][j % 4],
            "env": ["prod", "staging", "dev"][j % 3],
            "tier": ["web", "db", "cache"][j % 3],
            "projectcalico.org/namespace": "ns-\(j % 100)",
            "projectcalico.org/orchestrator": "k8s",
            "pod-template-hash": hex,
            "version": "v\(j % 5)",
        ]
        if j % 10 == 0 { labels["debug"] = "true" }
        return labels
    }

    static func nanoseconds(_ d: Duration) -> Double {
        let c = d.components
        return Double(c.seconds) * 1e9 + Double(c.attoseconds) / 1e9
    }

    /// Best of `rounds` timings of `body`, in nanoseconds.
    static func best(rounds: Int, _ body: () -> Void) -> Double {
        let clock = ContinuousClock()
        var best = Double.infinity
        for _ in 0..<rounds {
            let start = clock.now
            body()
            best = min(best, nanoseconds(clock.now - start))
        }
        return best
    }

    static func run() -> Bool {
        let texts = (0..<10_000).map(selectorText)
        let labelMaps = (0..<10_000).map(labels)

        // Parse: all 10,000 selectors.
        var selectors: [Selector] = []
        selectors.reserveCapacity(texts.count)
        let parseNs = best(rounds: 20) {
            selectors.removeAll(keepingCapacity: true)
            for text in texts {
                do {
                    selectors.append(try Selector(text))
                } catch {
                    fatalError("workload selector did not parse: \(text): \(error)")
                }
            }
        }
        print("bench selector.parse \(format(parseNs / Double(texts.count))) ns/op")

        // Unique id: canonical string (computed at parse) + SHA-224 + base64url.
        var idLength = 0
        let uidNs = best(rounds: 20) {
            idLength = 0
            for selector in selectors {
                idLength &+= Selector.uniqueID(prefix: "s", content: selector.canonical).utf8.count
            }
        }
        guard idLength == 40 * selectors.count else {
            print("selector unique ids have the wrong length")
            return false
        }
        print("bench selector.uniqueid \(format(uidNs / Double(selectors.count))) ns/op")

        // Evaluate: selectors 0, 10, …, 9990 against all 10,000 maps.
        let sample = stride(from: 0, to: selectors.count, by: 10).map { selectors[$0] }
        let labelSets = labelMaps.map(LabelSet.init)
        var count = 0
        let evalNs = best(rounds: 7) {
            count = 0
            for selector in sample {
                for labels in labelSets where selector.matches(labels) {
                    count += 1
                }
            }
        }
        let evaluations = sample.count * labelSets.count
        print("bench selector.evaluate \(format(evalNs / Double(evaluations))) ns/op")
        print("bench selector.matches \(count) count")
        if count != expectedMatches {
            print("checksum mismatch: expected \(expectedMatches) matches, got \(count)")
            return false
        }
        // The dictionary path must agree (checked, not timed, on a subset).
        var dictionaryCount = 0
        for selector in sample.prefix(100) {
            for labels in labelMaps where selector.matches(labels) { dictionaryCount += 1 }
        }
        var setCount = 0
        for selector in sample.prefix(100) {
            for labels in labelSets where selector.matches(labels) { setCount += 1 }
        }
        if dictionaryCount != setCount {
            print("[String: String] and LabelSet evaluation disagree: \(dictionaryCount) vs \(setCount)")
            return false
        }
        return true
    }

    static func format(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }
}
