import Foundation
import Testing

@Suite struct CanalctlValidateTests {
    let cluster = ToolRunner.repoRoot.appendingPathComponent("Examples/manifests/cluster.yaml").path
    let invalid = ToolRunner.repoRoot.appendingPathComponent("Examples/manifests/invalid.yaml").path

    @Test func exampleClusterIsValid() throws {
        let out = try ToolRunner.run("canalctl", ["validate", "-f", cluster])
        #expect(out.status == 0, "\(out.stdout)\(out.stderr)")
        #expect(out.stdout.isEmpty)
        #expect(out.stderr.contains("resources are valid"))
    }

    @Test func invalidManifestReportsEveryProblemWithItsPath() throws {
        let out = try ToolRunner.run("canalctl", ["validate", "-f", invalid])
        #expect(out.status == 1)
        let lines = out.stdout.split(separator: "\n").map(String.init)
        // One line per problem, each naming the kind, the name and the field path.
        #expect(lines.contains { $0.hasPrefix("NetworkPolicy \"shop/Bad_Name\"") && $0.contains("metadata.name") })
        #expect(lines.contains { $0.hasPrefix("NetworkPolicy \"shop/Bad_Name\"") && $0.contains("spec.selector") })
        #expect(lines.contains { $0.contains("spec.ingress[0].action") })
        #expect(lines.contains { $0.contains("spec.ingress[0].source.nets[0]") })
        #expect(lines.contains { $0.hasPrefix("IPPool \"overlapping-link-local\"") && $0.contains("spec.blockSize") })
        #expect(lines.contains { $0.hasPrefix("IPPool \"overlapping-link-local\"") && $0.contains("spec.cidr") })
        #expect(lines.contains { $0.hasPrefix("GlobalNetworkPolicy \"prednat-without-forward\"") && $0.contains("spec.ingress[0].protocl") })
    }

    @Test func stdinAndMissingFile() throws {
        let ok = try ToolRunner.run("canalctl", ["validate", "-f", "-"], stdin: """
            apiVersion: projectcalico.org/v3
            kind: Tier
            metadata: {name: t1}
            spec: {order: 10}
            """)
        #expect(ok.status == 0, "\(ok.stdout)\(ok.stderr)")
        let missing = try ToolRunner.run("canalctl", ["validate", "-f", "/nonexistent.yaml"])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("/nonexistent.yaml"))
        let garbled = try ToolRunner.run("canalctl", ["validate", "-f", "-"], stdin: "kind: [unclosed")
        #expect(garbled.status == 1)
        #expect(garbled.stderr.contains("invalid YAML"))
    }
}

@Suite struct CanalctlSelectorTests {
    @Test("match", arguments: [
        ("app == 'web'", "app=web", "true"),
        ("app == 'web'", "app=db", "false"),
        ("has(app) && env in {'prod','dev'}", "app=x,env=dev", "true"),
        ("tier != 'db'", "", "true"),
        ("all()", "", "true"),
    ])
    func match(selector: String, labels: String, expected: String) throws {
        let out = try ToolRunner.run("canalctl", ["selector", "match", selector] + (labels.isEmpty ? [] : ["--labels", labels]))
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stdout == expected + "\n")
    }

    @Test func invalidSelectorExitsOne() throws {
        let out = try ToolRunner.run("canalctl", ["selector", "match", "app ==", "--labels", "app=x"])
        #expect(out.status == 1)
        #expect(out.stderr.contains("invalid selector"))
    }

    @Test func batchAnswersEveryLineInOrder() throws {
        var input = ""
        var expected: [String] = []
        for i in 0..<2000 {
            switch i % 4 {
            case 0:
                input += #"{"selector": "app == 'a\#(i % 7)'", "labels": {"app": "a3"}}"# + "\n"
                expected.append(i % 7 == 3 ? #"{"match":true}"# : #"{"match":false}"#)
            case 1:
                input += #"{"selector": "has(x) || !has(y)", "labels": {}}"# + "\n"
                expected.append(#"{"match":true}"#)
            case 2:
                input += #"{"selector": "app in {", "labels": {}}"# + "\n"
                expected.append("error")
            default:
                input += "not json\n"
                expected.append("error")
            }
        }
        let out = try ToolRunner.run("canalctl", ["selector", "match", "--batch"], stdin: input)
        #expect(out.status == 0)
        let lines = out.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == expected.count)
        for (line, want) in zip(lines, expected) {
            if want == "error" {
                #expect(line.hasPrefix(#"{"error":"#))
            } else {
                #expect(line == want)
            }
        }
    }

    @Test func canonicalJSON() throws {
        let out = try ToolRunner.run("canalctl", ["selector", "canonical", "all()", "-o", "json"])
        #expect(out.status == 0)
        #expect(out.stdout == #"{"canonical":"all()","id":"s:5y5I3VdRZfDU01O--xXAPx2yxCQQqMf0M6IWug","ipsetV4":"cali40s:5y5I3VdRZfDU01O--xXAPx2","ipsetV6":"cali60s:5y5I3VdRZfDU01O--xXAPx2"}"# + "\n")
        let bad = try ToolRunner.run("canalctl", ["selector", "canonical", "a ==", "-o", "json"])
        #expect(bad.status == 1)
        #expect(bad.stdout.isEmpty)
        #expect(!bad.stderr.isEmpty)
    }

    @Test func endpointsOfTheExampleCluster() throws {
        let cluster = ToolRunner.repoRoot.appendingPathComponent("Examples/manifests/cluster.yaml").path
        let out = try ToolRunner.run("canalctl", ["selector", "endpoints", "pcns.projectcalico.org/name == 'shop'", "-f", cluster])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stdout == """
            WorkloadEndpoint shop/node1-k8s-frontend--7d9f-eth0
            WorkloadEndpoint shop/node2-k8s-backend--5c2e-eth0

            """)
        let hosts = try ToolRunner.run("canalctl", ["selector", "endpoints", "rack == 'r1'", "-f", cluster])
        #expect(hosts.stdout == "HostEndpoint node1-eth0\n")
    }
}
