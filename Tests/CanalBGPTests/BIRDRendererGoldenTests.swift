import CanalBGP
import Foundation
import Testing

@Suite("BIRD rendering: golden text and BIRD's parser")
struct BIRDRendererGoldenTests {
    static let goldenDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

    @Test("golden configuration", arguments: Scenarios.all)
    func golden(_ scenario: Scenario) throws {
        let text = try BIRDRenderer.render(scenario.input(for: scenario.goldenNode))
        let file = Self.goldenDirectory.appendingPathComponent("\(scenario.name).conf")
        if ProcessInfo.processInfo.environment["CANAL_UPDATE_GOLDEN"] == "1" {
            try text.write(to: file, atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOf: file, encoding: .utf8)
        #expect(text == expected, "rendering of \(scenario.goldenNode) differs from Golden/\(scenario.name).conf")
    }

    /// Every node of every scenario: BIRD 2 itself must accept the rendering.
    @Test("bird -p accepts every node's configuration", arguments: Scenarios.all)
    func birdParses(_ scenario: Scenario) throws {
        guard BIRDParser.path != nil || BIRDParser.isRequired else { return }
        for node in try scenario.nodeNames() {
            let text = try BIRDRenderer.render(scenario.input(for: node))
            let problem = try BIRDParser.check(text)
            #expect(problem == nil, "bird -p rejects \(scenario.name)/\(node): \(problem ?? "")\n\(text)")
        }
    }
}
