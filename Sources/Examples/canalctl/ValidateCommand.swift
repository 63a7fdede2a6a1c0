import ArgumentParser
import CanalManifest
import CanalModel

/// `canalctl validate -f FILE`: parse, default and validate every document of a manifest.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check every resource of a manifest against Calico's rules.",
        discussion: """
            Parses the manifest (YAML or JSON, several documents, kind: List), fills in Calico's \
            defaults and validates each resource. Exits 0 when all are valid; otherwise prints one \
            line per problem, naming the document's kind, name and the field path, and exits 1.
            """
    )

    @Option(name: [.customShort("f"), .customLong("filename")], help: "The manifest to check, or - for standard input.")
    var file: String

    func run() throws {
        let text = try IO.read(file)
        let entries: [Manifest.Entry]
        do {
            entries = try Manifest.read(text, applyDefaults: true, validate: true)
        } catch {
            IO.error("\(file): \(error)")
            throw ExitCode(1)
        }
        var problems = 0
        var valid = 0
        for entry in entries {
            switch entry.result {
            case .success:
                valid += 1
            case .failure(let error):
                let what = "\(entry.kindName ?? "<no kind>") \"\(entry.displayName ?? "")\" (\(entry.location))"
                if error.fieldErrors.isEmpty {
                    print("\(what): \(error.message)")
                    problems += 1
                } else {
                    for fe in error.fieldErrors {
                        print("\(what): \(fe.path.isEmpty ? "" : "\(fe.path): ")\(fe.message)")
                        problems += 1
                    }
                }
            }
        }
        if problems > 0 {
            IO.error("\(entries.count - valid) of \(entries.count) resources are not valid (\(problems) problems)")
            throw ExitCode(1)
        }
        IO.error("\(valid) resources are valid")
    }
}
