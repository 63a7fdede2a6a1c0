import CanalModel
import PropertyBased
import Testing

@Suite struct ProtocolValueTests {
    @Test("parses names case-sensitively and digits as numbers", arguments: [
        ("TCP", ProtocolValue.tcp), ("UDP", .udp), ("ICMP", .icmp), ("ICMPv6", .icmpv6), ("SCTP", .sctp),
        ("UDPLite", .udpLite), ("6", .number(6)), ("255", .number(255)), ("0", .number(0)), ("006", .number(6)),
    ])
    func parses(text: String, expected: ProtocolValue) {
        #expect(ProtocolValue(text) == expected)
    }

    @Test("rejects other spellings", arguments: ["tcp", "Tcp", "icmpv6", "256", "-1", "+6", "", " TCP", "GRE"])
    func rejects(text: String) {
        #expect(ProtocolValue(text) == nil)
    }

    @Test func protocolNumbersAndPorts() {
        #expect(ProtocolValue.tcp.protocolNumber == 6)
        #expect(ProtocolValue.udpLite.protocolNumber == 136)
        #expect(ProtocolValue.tcp.supportsPorts && ProtocolValue.number(17).supportsPorts && ProtocolValue.number(132).supportsPorts)
        #expect(!ProtocolValue.icmp.supportsPorts && !ProtocolValue.udpLite.supportsPorts && !ProtocolValue.number(1).supportsPorts)
    }

    @Test("JSON: numeric strings read as numbers, numbers written as numbers, names as strings")
    func json() throws {
        let text = #"{"apiVersion":"projectcalico.org/v3","kind":"GlobalNetworkPolicy","metadata":{"name":"p"},"spec":{"ingress":[{"action":"Allow","protocol":"17"},{"action":"Allow","protocol":132},{"action":"Allow","protocol":"ICMPv6","ipVersion":6}]}}"#
        let p = try decodeTyped(text, as: GlobalNetworkPolicySpec.self)
        #expect(p.spec.ingress?.map(\.protocol) == [.number(17), .number(132), .icmpv6])
        let out = try p.jsonValue().jsonText
        #expect(out.contains(#"{"action":"Allow","protocol":17}"#))
        #expect(out.contains(#"{"action":"Allow","protocol":132}"#))
        #expect(out.contains(#"{"action":"Allow","ipVersion":6,"protocol":"ICMPv6"}"#))
    }

    @Test("an unknown name is a schema error at the field, listing the allowed values")
    func unknownName() throws {
        let error = try #require(decodeError(#"{"apiVersion":"projectcalico.org/v3","kind":"GlobalNetworkPolicy","metadata":{"name":"p"},"spec":{"egress":[{"action":"Allow","protocol":"tcp"}]}}"#))
        #expect(error.code == .schema)
        let fe = try #require(error.fieldErrors.first)
        #expect(fe.path.description == "spec.egress[0].protocol")
        #expect(fe.message.contains("TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite"))
    }

    @Test("out of range numbers are schema errors", arguments: ["256", "-1", "1.5", "true"])
    func outOfRange(number: String) throws {
        let error = try #require(decodeError(#"{"apiVersion":"projectcalico.org/v3","kind":"GlobalNetworkPolicy","metadata":{"name":"p"},"spec":{"egress":[{"action":"Allow","protocol":\#(number)}]}}"#))
        #expect(error.fieldErrors.first?.path.description == "spec.egress[0].protocol")
    }

    @Test func printParseRoundTripProperty() async {
        await propertyCheck(input: Gen.uint8(), Gen.int(in: 0...6)) { n, which in
            let p: ProtocolValue = which < ProtocolValue.names.count ? ProtocolValue.names[which] : .number(n)
            #expect(ProtocolValue(p.description) == p)
            let json = try JSONValueEncoding.encode(p)
            let back = try JSONValueDecoding.decode(ProtocolValue.self, from: json)
            #expect(back == p)
            if case .number(let v) = p { #expect(json == .number(String(v))) } else { #expect(json == .string(p.description)) }
        }
    }
}

@Suite struct PortTests {
    @Test("parses numbers, ranges and names", arguments: [
        ("80", Port.single(80)), ("0", .single(0)), ("65535", .single(65535)), ("1000:2000", .range(1000, 2000)),
        ("80:80", .single(80)), ("http", .named("http")), ("My_Port.x-1", .named("My_Port.x-1")),
    ])
    func parses(text: String, expected: Port) {
        #expect(Port(text) == expected)
    }

    @Test("rejects what Calico rejects when parsing", arguments: [
        "65536", "2000:1000", "1:65536", "", "a b", "http:80", "1:2:3", "80:", ":80", String(repeating: "a", count: 129), "ü",
    ])
    func rejects(text: String) {
        #expect(Port(text) == nil)
    }

    @Test("JSON: a single port is written as a number, a range and a name as strings")
    func json() throws {
        let text = #"{"apiVersion":"projectcalico.org/v3","kind":"NetworkPolicy","metadata":{"name":"p","namespace":"ns"},"spec":{"ingress":[{"action":"Allow","protocol":"TCP","destination":{"ports":[80,"443","8000:9000","http"],"notPorts":["22:22"]}}]}}"#
        let p = try decodeTyped(text, as: NetworkPolicySpec.self)
        #expect(p.spec.ingress?[0].destination.ports == [.single(80), .single(443), .range(8000, 9000), .named("http")])
        let out = try p.jsonValue().jsonText
        #expect(out.contains(#""destination":{"ports":[80,443,"8000:9000","http"],"notPorts":[22]}"#))
    }

    @Test("a bad port is a schema error naming its index", arguments: [#""2000:1000""#, "70000", #""bad port""#, "-5"])
    func badPort(json: String) throws {
        let error = try #require(decodeError(#"{"apiVersion":"projectcalico.org/v3","kind":"NetworkPolicy","metadata":{"name":"p","namespace":"ns"},"spec":{"ingress":[{"action":"Allow","protocol":"TCP","destination":{"ports":[80,\#(json)]}}]}}"#))
        #expect(error.code == .schema)
        #expect(error.fieldErrors.first?.path.description == "spec.ingress[0].destination.ports[1]")
    }

    @Test func printParseRoundTripProperty() async {
        await propertyCheck(input: Gen.uint16(), Gen.uint16(), Gen.int(in: 0...2)) { a, b, shape in
            let port: Port = switch shape {
            case 0: .single(a)
            case 1: .range(min(a, b), max(a, b))
            default: .named("p\(a)-\(b)")
            }
            #expect(Port(port.description) == port)
            let json = try JSONValueEncoding.encode(port)
            #expect(try JSONValueDecoding.decode(Port.self, from: json) == port)
            if port.minPort == port.maxPort, !port.isNamed { #expect(json == .number(String(a))) }
        }
    }

    @Test("validation: port 0, reversed ranges, bad names and named ports with numbers")
    func validation() {
        let rule = Rule(action: .allow, protocol: .tcp, destination: EntityRule(ports: [
            .single(0), .range(10, 5), .named("HTTP"), Port(minPort: 1, maxPort: 1, name: "web"), .named("web"), .range(1, 65535),
        ]))
        let paths = errorPaths(ingressPolicy(rule))
        #expect(paths.contains("spec.ingress[0].destination.ports[0]"))
        #expect(paths.contains("spec.ingress[0].destination.ports[1]"))
        #expect(paths.contains("spec.ingress[0].destination.ports[2]"))
        #expect(paths.contains("spec.ingress[0].destination.ports[3]"))
        #expect(!paths.contains("spec.ingress[0].destination.ports[4]"))
        #expect(!paths.contains("spec.ingress[0].destination.ports[5]"))
    }
}
