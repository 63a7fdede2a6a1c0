import CanalSelector

// Feeds arbitrary bytes (decoded as UTF-8, invalid sequences replaced) to the selector parser
// and, for every selector that parses, checks:
// - its canonical string parses again;
// - the re-parse prints the canonical string itself, except that each run of `!` outside string
//   literals shrinks to its parity (the documented `!(!(x))` → `!!x` → `x` quirk), and a second
//   round is a fixed point;
// - the unique id is MakeUniqueID("s", canonical), stable, and equality follows the canonical;
// - IP set names fit in 31 bytes;
// - evaluation does not trap, and the dictionary and LabelSet paths agree, also after re-parsing;
// - errors report an offset inside the input.

// SwiftPM links executables with `main` aliased to `SelectorFuzzer_main`, so libFuzzer's own
// `main` is not pulled in; this entry point hands control to libFuzzer's driver instead.
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

@_cdecl("SelectorFuzzer_main")
public func selectorFuzzerMain(
    _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> CInt {
    var argc = argc
    var argv = argv
    return runFuzzerDriver(&argc, &argv) { data, size in
        selectorFuzzerTestOneInput(data ?? UnsafePointer(bitPattern: 1)!, size)
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func selectorFuzzerTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: size == 0 ? nil : data, count: size)
    let text = String(decoding: bytes, as: UTF8.self)
    check(text)
    // Calico's Normalise path too.
    _ = Selector.normalize(text)
    return 0
}

func fail(_ message: String) -> Never {
    fatalError("selector invariant violated: \(message)")
}

func check(_ text: String) {
    let selector: Selector
    do {
        selector = try Selector(text)
    } catch {
        if error.offset < 0 || error.offset > text.utf8.count {
            fail("error offset \(error.offset) outside \(text.debugDescription) (\(error))")
        }
        if error.message.isEmpty { fail("empty error message") }
        return
    }
    let canonical = selector.canonical
    let reparsed: Selector
    do {
        reparsed = try Selector(canonical)
    } catch {
        fail("canonical \(canonical.debugDescription) of \(text.debugDescription) does not parse: \(error)")
    }
    let expected = collapsingNegationRuns(canonical)
    if reparsed.canonical != expected {
        fail("re-parse of \(canonical.debugDescription) printed \(reparsed.canonical.debugDescription), expected \(expected.debugDescription)")
    }
    guard let third = try? Selector(reparsed.canonical), third.canonical == reparsed.canonical else {
        fail("canonical \(reparsed.canonical.debugDescription) is not a fixed point")
    }
    if (reparsed == selector) != (expected == canonical) {
        fail("equality disagrees with the canonical strings for \(canonical.debugDescription)")
    }
    if selector.uniqueID != Selector.uniqueID(prefix: "s", content: canonical)
        || selector.uniqueID != (try? Selector(text))?.uniqueID
    {
        fail("unstable unique id for \(text.debugDescription)")
    }
    if selector.ipSetName(ipVersion: 4).utf8.count > 31 || selector.ipSetName(ipVersion: 6).utf8.count > 31 {
        fail("IP set name too long")
    }

    // Evaluate against label maps built from the selector's own keys and some values taken from
    // the input, so that comparisons go both ways.
    let keys = selector.labelKeys
    let values = ["", "a", String(text.prefix(3)), String(text.suffix(5)), "x\"y", "é"]
    for round in 0..<4 {
        var labels: [String: String] = [:]
        for (i, key) in keys.enumerated() where (i + round) % 3 != 0 {
            labels[key] = values[(i * 7 + round) % values.count]
        }
        let prepared = LabelSet(labels)
        let direct = selector.matches(labels)
        if direct != selector.matches(prepared) {
            fail("[String: String] and LabelSet disagree for \(canonical.debugDescription) on \(labels)")
        }
        if direct != reparsed.matches(prepared) || direct != reparsed.matches(labels) {
            fail("re-parsed selector evaluates differently for \(canonical.debugDescription) on \(labels)")
        }
    }
}

/// Replaces every run of `!` outside string literals by its parity (`!!!` → `!`, `!!` → ``).
func collapsingNegationRuns(_ canonical: String) -> String {
    var out: [UInt8] = []
    var quote: UInt8? = nil
    var bangs = 0
    for byte in canonical.utf8 {
        if let q = quote {
            out.append(byte)
            if byte == q { quote = nil }
            continue
        }
        if byte == UInt8(ascii: "!") {
            bangs += 1
            continue
        }
        if bangs % 2 == 1 { out.append(UInt8(ascii: "!")) }
        bangs = 0
        if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") { quote = byte }
        out.append(byte)
    }
    if bangs % 2 == 1 { out.append(UInt8(ascii: "!")) }
    return String(decoding: out, as: UTF8.self)
}
