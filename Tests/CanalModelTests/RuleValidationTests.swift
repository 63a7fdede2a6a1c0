import CanalModel
import Testing

/// The validation paths of a policy with one ingress rule.
private func paths(_ rule: Rule) -> [String] { errorPaths(ingressPolicy(rule)) }

@Suite struct RuleValidationTests {
    @Test func aRichValidRuleHasNoErrors() {
        let rule = Rule(
            action: .allow, ipVersion: 4, protocol: .tcp, notProtocol: nil,
            source: EntityRule(
                nets: ["10.0.0.0/8"], selector: "app == 'web'", namespaceSelector: "team == 'a'",
                notNets: ["10.1.0.0/16"], notSelector: "quarantine == 'true'", notPorts: [.named("debug")],
                serviceAccounts: ServiceAccountMatch(names: ["api"], selector: "role == 'x'")),
            destination: EntityRule(nets: ["192.168.0.0/16"], ports: [80, .range(8000, 8080), .named("metrics")]),
            http: HTTPMatch(methods: ["GET", "POST"], paths: [HTTPPath(exact: "/health"), HTTPPath(prefix: "/api/")]),
            metadata: RuleMetadata(annotations: ["owner": "team-a"]))
        #expect(paths(rule) == [])
    }

    @Test func ipVersion() {
        #expect(paths(Rule(action: .allow, ipVersion: 6)) == [])
        #expect(paths(Rule(action: .allow, ipVersion: 5)) == ["spec.ingress[0].ipVersion"])
    }

    @Test("protocol number 0 is invalid in protocol and notProtocol")
    func protocolZero() {
        #expect(paths(Rule(action: .allow, protocol: 0, notProtocol: 0)) == ["spec.ingress[0].protocol", "spec.ingress[0].notProtocol"])
        #expect(paths(Rule(action: .allow, protocol: 255)) == [])
    }

    @Test("ICMP type and code ranges, code needs type, icmp needs an ICMP protocol")
    func icmp() {
        #expect(paths(Rule(action: .allow, protocol: .icmp, icmp: ICMPFields(type: 8, code: 0))) == [])
        #expect(paths(Rule(action: .allow, protocol: 58, icmp: ICMPFields(type: 128))) == [])
        #expect(paths(Rule(action: .allow, protocol: .icmp, icmp: ICMPFields(type: 255, code: 256))) == [
            "spec.ingress[0].icmp.type", "spec.ingress[0].icmp.code",
        ])
        #expect(paths(Rule(action: .allow, protocol: .icmp, icmp: ICMPFields(code: 1))) == ["spec.ingress[0].icmp.code"])
        #expect(paths(Rule(action: .allow, protocol: .tcp, icmp: ICMPFields(type: 8))) == ["spec.ingress[0].icmp"])
        #expect(paths(Rule(action: .allow, icmp: ICMPFields(type: 8))) == ["spec.ingress[0].icmp"])
        #expect(paths(Rule(action: .allow, notICMP: ICMPFields(type: -1))) == ["spec.ingress[0].notICMP.type"])
        #expect(paths(Rule(action: .allow, protocol: .icmp, notICMP: ICMPFields(code: 3))) == ["spec.ingress[0].notICMP.code"])
    }

    @Test("ICMP forces ipVersion 4 and ICMPv6 forces 6, for protocol and notProtocol", arguments: [
        (ProtocolValue.icmp, 6, false), (.icmp, 4, true), (.number(1), 6, false), (.icmpv6, 4, false),
        (.number(58), 4, false), (.icmpv6, 6, true), (.tcp, 6, true),
    ])
    func icmpVersion(proto: ProtocolValue, version: Int, valid: Bool) {
        #expect(paths(Rule(action: .allow, ipVersion: version, protocol: proto)) == (valid ? [] : ["spec.ingress[0].ipVersion"]))
        #expect(paths(Rule(action: .allow, ipVersion: version, notProtocol: proto)) == (valid ? [] : ["spec.ingress[0].ipVersion"]))
    }

    @Test("without a protocol only named ports are allowed, at the offending index")
    func portsNeedProtocol() {
        let rule = Rule(action: .allow, source: EntityRule(notPorts: [.named("a")]),
                        destination: EntityRule(ports: [.named("http"), 80, .range(1, 2)]))
        #expect(paths(rule) == ["spec.ingress[0].destination.ports[1]", "spec.ingress[0].destination.ports[2]"])
    }

    @Test("a protocol without ports allows no ports at all")
    func protocolWithoutPorts() {
        let rule = Rule(action: .allow, protocol: .icmp,
                        source: EntityRule(ports: [.named("x")]), destination: EntityRule(notPorts: [22]))
        #expect(paths(rule) == ["spec.ingress[0].source.ports", "spec.ingress[0].destination.notPorts"])
        #expect(paths(Rule(action: .allow, protocol: 132, destination: EntityRule(ports: [22]))) == [])
        #expect(paths(Rule(action: .allow, protocol: .udpLite, destination: EntityRule(ports: [22]))) == ["spec.ingress[0].destination.ports"])
    }

    @Test func portAndNetCounts() {
        let ports = (1...51).map { Port.single(UInt16($0)) }
        #expect(paths(Rule(action: .allow, protocol: .tcp, destination: EntityRule(ports: ports))) == ["spec.ingress[0].destination.ports"])
        let nets = (0..<257).map { "10.\($0 / 256).\($0 % 256).0/24" }
        #expect(paths(Rule(action: .allow, source: EntityRule(nets: nets))) == ["spec.ingress[0].source.nets"])
        #expect(paths(Rule(action: .allow, source: EntityRule(nets: Array(nets.prefix(256))))) == [])
    }

    @Test("nets must be masked CIDRs", arguments: [
        ("10.0.0.0/8", true), ("fd00::/64", true), ("10.0.0.1/8", false), ("10.0.0.1", false), ("bogus", false), ("10.0.0.0/33", false),
    ])
    func netsSyntax(net: String, valid: Bool) {
        #expect(paths(Rule(action: .allow, destination: EntityRule(nets: [net]))) == (valid ? [] : ["spec.ingress[0].destination.nets[0]"]))
    }

    @Test("one IP family across the rule, matching ipVersion")
    func netFamilies() {
        let mixed = Rule(action: .allow, source: EntityRule(nets: ["10.0.0.0/8"]), destination: EntityRule(notNets: ["fd00::/8"]))
        #expect(paths(mixed) == ["spec.ingress[0].destination.notNets[0]"])
        let within = Rule(action: .allow, source: EntityRule(nets: ["10.0.0.0/8", "fd00::/8"]))
        #expect(paths(within) == ["spec.ingress[0].source.nets[1]"])
        let version = Rule(action: .allow, ipVersion: 6, source: EntityRule(nets: ["10.0.0.0/8"]))
        #expect(paths(version) == ["spec.ingress[0].source.nets[0]"])
    }

    @Test("notNets may not be a catch-all")
    func catchAll() {
        #expect(paths(Rule(action: .deny, source: EntityRule(notNets: ["0.0.0.0/0"]))) == ["spec.ingress[0].source.notNets[0]"])
        #expect(paths(Rule(action: .deny, destination: EntityRule(notNets: ["::/0"]))) == ["spec.ingress[0].destination.notNets[0]"])
        #expect(paths(Rule(action: .deny, source: EntityRule(nets: ["0.0.0.0/0"]))) == [])
    }

    @Test("entity selectors: parse, length, global() only in namespaceSelector and only alone")
    func entitySelectors() {
        #expect(paths(Rule(action: .allow, source: EntityRule(namespaceSelector: "global()"))) == [])
        #expect(paths(Rule(action: .allow, source: EntityRule(namespaceSelector: " global( ) "))) == [])
        #expect(paths(Rule(action: .allow, source: EntityRule(namespaceSelector: "global() && a == 'b'"))) == ["spec.ingress[0].source.namespaceSelector"])
        #expect(paths(Rule(action: .allow, source: EntityRule(selector: "global()"))) == ["spec.ingress[0].source.selector"])
        let long = "a == '" + String(repeating: "x", count: 1020) + "'"
        #expect(paths(Rule(action: .allow, destination: EntityRule(notSelector: long))) == ["spec.ingress[0].destination.notSelector"])
    }

    @Test("services exclude other criteria and need a name")
    func services() {
        let svc = ServiceMatch(name: "web", namespace: "prod")
        #expect(paths(Rule(action: .allow, source: EntityRule(services: svc))) == [])
        #expect(paths(Rule(action: .allow, source: EntityRule(services: ServiceMatch(namespace: "prod")))) == ["spec.ingress[0].source.services.name"])
        #expect(paths(Rule(action: .allow, source: EntityRule(services: ServiceMatch(name: "Bad_Name")))) == ["spec.ingress[0].source.services.name"])
        let crowded = EntityRule(
            nets: ["10.0.0.0/8"], selector: "a == 'b'", namespaceSelector: "c == 'd'", services: svc,
            notNets: ["10.1.0.0/16"], notSelector: "e == 'f'", serviceAccounts: ServiceAccountMatch(names: ["x"]))
        #expect(paths(Rule(action: .allow, source: crowded)) == [
            "spec.ingress[0].source.selector", "spec.ingress[0].source.notSelector",
            "spec.ingress[0].source.namespaceSelector", "spec.ingress[0].source.nets",
            "spec.ingress[0].source.notNets", "spec.ingress[0].source.serviceAccounts",
        ])
    }

    @Test("a destination with services cannot have ports")
    func servicesAndPorts() {
        let policy = networkPolicy(NetworkPolicySpec(egress: [Rule(
            action: .allow, protocol: .tcp,
            destination: EntityRule(services: ServiceMatch(name: "web"), ports: [80], notPorts: [81]))]))
        #expect(errorPaths(policy) == ["spec.egress[0].destination.ports", "spec.egress[0].destination.notPorts"])
    }

    @Test("HTTP: Allow only, TCP or unset, method and path rules")
    func http() {
        let ok = HTTPMatch(methods: ["GET"], paths: [HTTPPath(exact: "/")])
        #expect(paths(Rule(action: .allow, protocol: 6, http: ok)) == [])
        #expect(paths(Rule(action: .deny, http: ok)) == ["spec.ingress[0].http"])
        #expect(paths(Rule(action: .allow, protocol: .udp, http: ok)) == ["spec.ingress[0].http"])
        let bad = HTTPMatch(
            methods: ["GET", "PUT", "GET"],
            paths: [HTTPPath(exact: "/a", prefix: "/b"), HTTPPath(), HTTPPath(prefix: "api"), HTTPPath(exact: "/a?b"),
                    HTTPPath(exact: "/a b"), HTTPPath(prefix: "/x#y")])
        #expect(paths(Rule(action: .allow, http: bad)) == [
            "spec.ingress[0].http.methods[2]", "spec.ingress[0].http.paths[0]", "spec.ingress[0].http.paths[1]",
            "spec.ingress[0].http.paths[2].prefix", "spec.ingress[0].http.paths[3].exact",
            "spec.ingress[0].http.paths[4].exact", "spec.ingress[0].http.paths[5].prefix",
        ])
        let many = HTTPMatch(methods: (0..<21).map { "M\($0)" }, paths: (0..<21).map { HTTPPath(prefix: "/\($0)") })
        #expect(paths(Rule(action: .allow, http: many)) == ["spec.ingress[0].http.methods", "spec.ingress[0].http.paths"])
    }

    @Test("rule metadata annotations follow the annotation rules")
    func ruleMetadata() {
        #expect(paths(Rule(action: .allow, metadata: RuleMetadata(annotations: ["bad key!": "v"]))).first?.hasPrefix("spec.ingress[0].metadata.annotations") == true)
    }

    @Test("a rule round-trips with every field set, members in Calico's order")
    func ruleJSON() throws {
        let rule = Rule(
            action: .log, ipVersion: 4, protocol: .udp, icmp: nil, notProtocol: 7, notICMP: ICMPFields(type: 3, code: 1),
            source: EntityRule(nets: ["10.0.0.0/8"], notSelector: "x == 'y'"),
            destination: EntityRule(selector: "a == 'b'", ports: [53]),
            http: nil, metadata: RuleMetadata(annotations: ["k": "v"]))
        let p = networkPolicy(NetworkPolicySpec(ingress: [rule]))
        let text = try expectRoundTrip(p)
        #expect(text.contains(#"{"action":"Log","ipVersion":4,"protocol":"UDP","notProtocol":7,"notICMP":{"type":3,"code":1},"source":{"nets":["10.0.0.0/8"],"notSelector":"x == 'y'"},"destination":{"selector":"a == 'b'","ports":[53]},"metadata":{"annotations":{"k":"v"}}}"#))
    }
}
