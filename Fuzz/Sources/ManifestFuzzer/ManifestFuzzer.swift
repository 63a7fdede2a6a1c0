import CanalManifest
import CanalModel

// Feeds arbitrary bytes (as UTF-8, invalid sequences replaced) to the manifest reader, which must
// never trap: it reads, or reports a ModelError. For every resource that reads, checks that it writes
// as YAML and as JSON, and that what is written reads back to an equal resource.

// SwiftPM links executables with `main` aliased to `ManifestFuzzer_main`; hand over to libFuzzer.
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

@_cdecl("ManifestFuzzer_main")
public func manifestFuzzerMain(
    _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> CInt {
    var argc = argc
    var argv = argv
    return runFuzzerDriver(&argc, &argv) { data, size in
        manifestFuzzerTestOneInput(data ?? UnsafePointer(bitPattern: 1)!, size)
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func manifestFuzzerTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: size == 0 ? nil : data, count: size), as: UTF8.self)
    check(text)
    return 0
}

func fail(_ message: String) -> Never {
    fatalError("manifest invariant violated: \(message)")
}

func check(_ text: String) {
    let entries: [Manifest.Entry]
    do {
        entries = try Manifest.read(text, applyDefaults: true, validate: true)
    } catch {
        if error.message.isEmpty { fail("empty error message") }
        return
    }
    for entry in entries {
        if case .failure(let error) = entry.result, error.message.isEmpty { fail("empty error message at \(entry.location)") }
    }
    let resources = entries.compactMap { try? $0.result.get() }
    guard !resources.isEmpty else { return }
    for format in Manifest.Format.allCases {
        let written: String
        do {
            written = try Manifest.write(resources, format: format)
        } catch {
            fail("a resource that was read cannot be written as \(format): \(error)")
        }
        let again: [Manifest.Entry]
        do {
            again = try Manifest.read(written, applyDefaults: true, validate: false)
        } catch {
            fail("written \(format) does not read back (\(error)):\n\(written)")
        }
        let reread = again.compactMap { try? $0.result.get() }
        guard reread.count == resources.count else {
            let problems = again.compactMap { entry -> String? in
                if case .failure(let e) = entry.result { return "\(entry.location): \(e)" }
                return nil
            }
            fail("written \(format) reads back \(reread.count) of \(resources.count) resources: \(problems)\n\(written)")
        }
        for (a, b) in zip(resources, reread) where !a.isEqual(to: b) {
            fail("\(a.kind.name) \(a.displayName) changed through \(format):\n\(written)")
        }
    }
}
