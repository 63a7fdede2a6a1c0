import CanalBGP
import CanalModel
import Foundation

/// One node's BIRD configuration in a 500-node full mesh: Canal's rendering time against the time
/// BIRD takes to parse the result (`bird -p -c FILE`, process start included), in the same run.
enum BGPBenchmark {
    static let nodeCount = 500

    static func input() -> BGPRenderInput {
        let nodes = (0..<nodeCount).map { i in
            Node(
                metadata: ObjectMeta(name: "node-\(i)", labels: ["rack": "r\(i % 20)"]),
                spec: NodeSpec(bgp: NodeSpec.BGP(ipv4Address: "10.0.\(i / 250).\(i % 250 + 1)/16")))
        }
        let pools = [
            IPPool(metadata: ObjectMeta(name: "default-ipv4"), spec: IPPoolSpec(cidr: "10.244.0.0/16")),
            IPPool(metadata: ObjectMeta(name: "private"), spec: IPPoolSpec(cidr: "10.245.0.0/16", disableBGPExport: true)),
        ]
        let blocks = (0..<4).map { BGPBlockAffinity(cidr: CIDR("10.244.0.\($0 * 64)/26")!) }
        let config = BGPConfiguration(metadata: ObjectMeta(name: "default"), spec: BGPConfigurationSpec(logSeverityScreen: "Info"))
        return BGPRenderInput(nodeName: "node-0", configurations: [config], nodes: nodes, pools: pools, blocks: blocks)
    }

    static func nanoseconds(_ d: Duration) -> Double {
        let c = d.components
        return Double(c.seconds) * 1e9 + Double(c.attoseconds) / 1e9
    }

    static func run() throws -> Bool {
        let input = input()
        let clock = ContinuousClock()
        var text = ""
        var render = Double.infinity
        for _ in 0..<30 {
            let start = clock.now
            text = try BIRDRenderer.render(input)
            render = min(render, nanoseconds(clock.now - start))
        }
        let peers = text.split(separator: "\n").filter { $0.hasPrefix("protocol bgp Mesh_") }.count
        print("bench bgp-render-500-mesh \(String(format: "%.3f", render / 1e6)) ms")
        print("bench bgp-config-size \(text.utf8.count) bytes")

        guard let bird = ["/usr/sbin/bird", "/usr/local/sbin/bird"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            print("bench bgp-bird-parse skipped (bird is not installed)")
            return peers == nodeCount - 1
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("canal-bench-bgp-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let removeDirectory = Cleanup.add(directory: directory)
        defer { removeDirectory.run() }
        let file = directory.appendingPathComponent("bird.conf")
        try text.write(to: file, atomically: true, encoding: .utf8)
        var parse = Double.infinity
        var parsed = true
        for _ in 0..<10 {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: bird)
            p.arguments = ["-p", "-c", file.path]
            p.standardError = FileHandle.nullDevice
            let start = clock.now
            try p.run()
            p.waitUntilExit()
            parse = min(parse, nanoseconds(clock.now - start))
            parsed = parsed && p.terminationStatus == 0
        }
        print("bench bgp-bird-parse-500-mesh \(String(format: "%.3f", parse / 1e6)) ms")
        print("ratio bgp-render/parse \(String(format: "%.3f", render / parse))")
        return peers == nodeCount - 1 && parsed
    }
}
