@testable import CanalModel
import PropertyBased
import Testing

@Suite struct FelixConfigurationTests {
    let operatorDefault = """
    {"apiVersion":"projectcalico.org/v3","kind":"FelixConfiguration","metadata":{"name":"default"},
     "spec":{"bpfConnectTimeLoadBalancing":"TCP","bpfHostNetworkedNATWithoutCTLB":"Enabled","bpfLogLevel":"",
             "floatingIPs":"Disabled","healthPort":9099,"logSeverityScreen":"Info","nftablesMode":"Auto",
             "reportingInterval":"0s","vxlanPort":4789,"vxlanVNI":4096,"vxlanEnabled":true,"ipipEnabled":false,
             "ipv6Support":false,"interfacePrefix":"cali","iptablesBackend":"Auto","bpfEnabled":false}}
    """

    let tuned = """
    {"apiVersion":"projectcalico.org/v3","kind":"FelixConfiguration","metadata":{"name":"node.worker-1"},
     "spec":{"defaultEndpointToHostAction":"Return","iptablesFilterAllowAction":"Accept","iptablesMangleAllowAction":"Return",
             "iptablesFilterDenyAction":"Drop","iptablesMarkMask":4294901760,"chainInsertMode":"Append",
             "failsafeInboundHostPorts":[{"protocol":"TCP","port":22},{"protocol":"udp","port":68},{"protocol":"TCP","port":179,"net":"10.0.0.0/8"}],
             "failsafeOutboundHostPorts":[{"protocol":"UDP","port":53,"net":"fd00::/64"}],
             "logSeverityScreen":"Warning","logSeverityFile":"none","logPrefix":"calico-packet %t/%n: ","logActionRateLimit":"10/second",
             "natOutgoingAddress":"203.0.113.7","routeTableRanges":[{"min":1,"max":250},{"min":300,"max":400}],
             "policySyncPathPrefix":"/var/run/nodeagent","kubeNodePortRanges":[30000,"31000:32767"],"natPortRange":"32768:65535",
             "healthTimeoutOverrides":[{"name":"InternalDataplaneMainLoop","timeout":"90s"}],
             "bpfConntrackTimeouts":{"tcpEstablished":"1h","udpTimeout":"Auto"},"istioDSCPMark":"AF11",
             "bpfLogFilters":{"all":"host 10.0.0.1","eth0":"tcp"},"featureDetectOverride":"SNATFullyRandom=true,MASQFullyRandom=",
             "featureGates":"BPFConnectTimeLoadBalancingWorkaround=enabled","externalNodesList":["198.51.100.0/24"],
             "wireguardEnabled":true,"wireguardListeningPort":51820,"wireguardInterfaceName":"wireguard.cali","wireguardKeepAlive":"25s",
             "routeRefreshInterval":"1m30s","iptablesRefreshInterval":"90s","bpfDSROptoutCIDRs":["10.0.0.0/8","fd00::1"],
             "bpfExtToServiceConnmark":4096,"programClusterRoutes":"EnabledNoEncapOnly","logDebugFilenameRegex":"^int_.*\\\\.go$"}}
    """

    private func config(_ name: String = "default", _ edit: (inout FelixConfigurationSpec) -> Void) -> FelixConfiguration {
        var spec = FelixConfigurationSpec()
        edit(&spec)
        return InfraFixtures.make(name, spec)
    }

    private func paths(_ name: String = "default", _ edit: (inout FelixConfigurationSpec) -> Void) -> [String] {
        InfraFixtures.errorPaths(config(name, edit))
    }

    @Test func decodesRealisticManifests() throws {
        let d = try InfraFixtures.decode(operatorDefault, as: FelixConfigurationSpec.self)
        #expect(d.spec.vxlanEnabled == true)
        #expect(d.spec.iptablesBackend == .auto)
        #expect(d.spec.interfacePrefix == "cali")
        #expect(d.validationErrors().isEmpty)
        #expect(try InfraFixtures.roundTrips(d))

        let t = try InfraFixtures.decode(tuned, as: FelixConfigurationSpec.self)
        #expect(t.spec.iptablesMarkMask == 4_294_901_760)
        #expect(t.spec.failsafeInboundHostPorts?.map(\.description) == ["tcp:22", "udp:68", "tcp:10.0.0.0/8:179"])
        #expect(t.spec.failsafeOutboundHostPorts?.map(\.description) == ["udp:[fd00::/64]:53"])
        #expect(t.spec.kubeNodePortRanges?.map(\.description) == ["30000", "31000:32767"])
        #expect(t.spec.natPortRange == FelixConfigurationSpec.PortRange(min: 32768, max: 65535))
        #expect(t.spec.istioDSCPMark?.value == 10)
        #expect(t.spec.programClusterRoutes == .enabledNoEncapOnly)
        #expect(t.spec.wireguardKeepAlive == "25s")
        #expect(t.validationErrors() == [FieldError("spec.logSeverityFile", "\"none\" is not one of Trace, Debug, Info, Warning, Error, Fatal (any case)")])
        #expect(try InfraFixtures.roundTrips(t))
    }

    @Test func bpfLogLevelIsAlwaysWrittenOthersOmittedWhenUnset() throws {
        let json = try config { _ in }.jsonValue()
        #expect(json["spec"] == .object(JSONObject([("bpfLogLevel", .string(""))])))
    }

    @Test func defaults() {
        var c = config { $0.ipipEnabled = true }
        c.applyDefaults()
        #expect(c.spec.nftablesMode == .auto)
        #expect(c.spec.nftablesFlowTableOffload == .disabled)
        #expect(c.spec.ipipEnabled == true)
        #expect(c.spec.interfacePrefix == "")
        var explicit = config { $0.nftablesMode = .enabled }
        explicit.applyDefaults()
        #expect(explicit.spec.nftablesMode == .enabled)
    }

    @Test func unknownFieldsAndEnums() {
        let head = #"{"apiVersion":"projectcalico.org/v3","kind":"FelixConfiguration","metadata":{"name":"default"},"spec":"#
        #expect(InfraFixtures.schemaErrorPaths(head + #"{"ipipEnable":true}}"#) == ["spec.ipipEnable"])
        #expect(InfraFixtures.schemaErrorPaths(head + #"{"iptablesBackend":"nft"}}"#) == ["spec.iptablesBackend"])
        #expect(InfraFixtures.schemaErrorPaths(head + #"{"failsafeInboundHostPorts":[{"protocol":"TCP"}]}}"#) == ["spec.failsafeInboundHostPorts[0].port"])
        #expect(InfraFixtures.schemaErrorPaths(head + #"{"kubeNodePortRanges":["32767:30000"]}}"#) == ["spec.kubeNodePortRanges[0]"])
        #expect(InfraFixtures.schemaErrorPaths(head + #"{"bpfConntrackTimeouts":{"tcpSyn":"1s"}}}"#) == ["spec.bpfConntrackTimeouts.tcpSyn"])
    }

    @Test func patternFieldsIgnoreCase() {
        #expect(paths { $0.defaultEndpointToHostAction = "accept"; $0.iptablesFilterDenyAction = "REJECT"; $0.chainInsertMode = "insert" }.isEmpty)
        #expect(paths { $0.defaultEndpointToHostAction = "Allow"; $0.iptablesFilterAllowAction = "Drop"; $0.bpfLogLevel = "Verbose" }
            == ["spec.defaultEndpointToHostAction", "spec.iptablesFilterAllowAction", "spec.bpfLogLevel"])
        #expect(paths { $0.ipForwarding = "enabled" } == ["spec.ipForwarding"])
        #expect(paths { $0.ipForwarding = "Enabled" }.isEmpty)
    }

    @Test("durations", arguments: [
        ("90s", true), ("1h", true), ("0", true), ("500ms", true), ("1m30s", true), ("", false),
        ("1.5s", false), ("100us", false), ("-5s", false), ("ten seconds", false),
    ])
    func durations(_ text: String, _ valid: Bool) {
        #expect(paths { $0.routeRefreshInterval = text } == (valid ? [] : ["spec.routeRefreshInterval"]))
    }

    @Test func durationsWithoutPatternTakeAnyGoDuration() {
        #expect(paths { $0.nftablesRefreshInterval = "1.5s"; $0.dataplaneWatchdogTimeout = "100us" }.isEmpty)
        #expect(paths { $0.nftablesRefreshInterval = "soon" } == ["spec.nftablesRefreshInterval"])
    }

    @Test func ranges() {
        #expect(paths { $0.iptablesMarkMask = -1; $0.nftablesMarkMask = 4_294_967_296 } == ["spec.iptablesMarkMask", "spec.nftablesMarkMask"])
        #expect(paths { $0.wireguardListeningPort = 0; $0.debugPort = 65536; $0.logActionRateLimitBurst = 10000 }
            == ["spec.logActionRateLimitBurst", "spec.debugPort", "spec.wireguardListeningPort"])
        #expect(paths { $0.wireguardRoutingRulePriority = 32766; $0.goGCThreshold = -2; $0.bpfMaglevMaxServices = 3001 }
            == ["spec.wireguardRoutingRulePriority", "spec.goGCThreshold", "spec.bpfMaglevMaxServices"])
        #expect(paths { $0.ipv4NormalRoutePriority = 1; $0.goGCThreshold = -1; $0.bpfMapSizeConntrackCleanupQueue = 1 }.isEmpty)
    }

    @Test func nodeSelectorRule() {
        #expect(paths("default") { $0.nodeSelector = "has(gpu)" } == ["spec.nodeSelector"])
        #expect(paths("node.worker-1") { $0.nodeSelector = "has(gpu)" } == ["spec.nodeSelector"])
        #expect(paths("gpu-nodes") { $0.nodeSelector = "has(gpu)" }.isEmpty)
    }

    @Test func routeTables() {
        #expect(paths { $0.routeTableRange = .init(min: 1, max: 250); $0.routeTableRanges = [.init(min: 1, max: 10)] } == ["spec.routeTableRange"])
        #expect(paths { $0.routeTableRange = .init(min: 0, max: 251) } == ["spec.routeTableRange"])
        #expect(paths { $0.routeTableRanges = [.init(min: 0, max: 5), .init(min: 9, max: 8)] }
            == ["spec.routeTableRanges[0].min", "spec.routeTableRanges[1]"])
        #expect(paths { $0.routeTableRanges = [.init(min: 1, max: 70000)] } == ["spec.routeTableRanges"])
    }

    @Test func addressRules() {
        #expect(paths { $0.natOutgoingAddress = "fd00::1"; $0.deviceRouteSourceAddress = "x"; $0.deviceRouteSourceAddressIPv6 = "10.0.0.1" }
            == ["spec.natOutgoingAddress", "spec.deviceRouteSourceAddress", "spec.deviceRouteSourceAddressIPv6"])
        #expect(paths { $0.externalNodesList = ["10.0.0.0/8", "fd00::/64", "bogus"] } == ["spec.externalNodesList[1]", "spec.externalNodesList[2]"])
        #expect(paths { $0.bpfExcludeCIDRsFromNAT = ["10.0.0.1", "nope"] } == ["spec.bpfExcludeCIDRsFromNAT[1]"])
        #expect(paths { $0.openstackRegion = String(repeating: "r", count: 47) } == ["spec.openstackRegion"])
        #expect(paths { $0.openstackRegion = "Region_1" } == ["spec.openstackRegion"])
        #expect(paths { $0.openstackRegion = "region-one" }.isEmpty)
    }

    @Test func portLists() {
        #expect(paths { $0.kubeNodePortRanges = [.init(30000), .init("http")!] } == ["spec.kubeNodePortRanges[1]"])
        #expect(paths { $0.kubeNodePortRanges = Array(repeating: .init(1), count: 8) } == ["spec.kubeNodePortRanges"])
        #expect(paths { $0.failsafeInboundHostPorts = [.init(protocol: "ICMP", port: 1), .init(port: 22, net: "10.0.0.0/33")] }
            == ["spec.failsafeInboundHostPorts[0].protocol", "spec.failsafeInboundHostPorts[1].net"])
        #expect(paths { $0.failsafeOutboundHostPorts = [] }.isEmpty)
    }

    @Test func felixTextPortLists() throws {
        typealias PP = FelixConfigurationSpec.ProtoPort
        let parsed = try PP.parseList("tcp:22, UDP:68,tcp:10.0.0.5/8:179,udp:[fd00::1/64]:53, 6443,")
        #expect(parsed == [
            PP(protocol: "tcp", port: 22), PP(protocol: "udp", port: 68), PP(protocol: "tcp", port: 179, net: "10.0.0.0/8"),
            PP(protocol: "udp", port: 53, net: "fd00::/64"), PP(protocol: "tcp", port: 6443),
        ])
        #expect(try PP.parseList(parsed.map(\.description).joined(separator: ",")) == parsed)
        #expect(try PP.parseList("") == [])
        for bad in ["udp:[fd00::1]/64:53", "sctp:1", "tcp:abc", "tcp:70000", "a:b:c:d", "tcp:300.0.0.0/8:1"] {
            #expect(throws: ModelError.self) { try PP.parseList(bad) }
        }
    }

    @Test func otherFieldRules() {
        #expect(paths { $0.logDebugFilenameRegex = "(unclosed"; $0.bpfDataIfacePattern = "^(eth|ens)" } == ["spec.logDebugFilenameRegex"])
        #expect(paths { $0.healthTimeoutOverrides = [.init(name: "bad/name", timeout: "-5s"), .init(name: "ok", timeout: "x")] }
            == ["spec.healthTimeoutOverrides[0].name", "spec.healthTimeoutOverrides[0].timeout", "spec.healthTimeoutOverrides[1].timeout"])
        #expect(paths { $0.istioDSCPMark = .name("AF99") } == ["spec.istioDSCPMark"])
        #expect(paths { $0.istioDSCPMark = .number(64) } == ["spec.istioDSCPMark"])
        #expect(paths { $0.istioDSCPMark = .name("ef") }.isEmpty)
        #expect(paths { $0.bpfConntrackTimeouts = .init(tcpSynSent: "forever", icmpTimeout: "5s") } == ["spec.bpfConntrackTimeouts.tcpSynSent"])
        #expect(paths { $0.logPrefix = "drop;now"; $0.logActionRateLimit = "0/second" } == ["spec.logPrefix", "spec.logActionRateLimit"])
        #expect(paths { $0.featureDetectOverride = "SNATFullyRandom=maybe" } == ["spec.featureDetectOverride"])
        #expect(paths { $0.featureGates = "no-equals-sign" } == ["spec.featureGates"])
        #expect(paths { $0.prometheusMetricsHost = "bad host"; $0.iptablesNATOutgoingInterfaceFilter = "eth+" } == ["spec.prometheusMetricsHost"])
        #expect(paths { $0.wireguardInterfaceName = "wireguard.cali.too.long" } == ["spec.wireguardInterfaceName"])
        #expect(paths { $0.bpfForceTrackPacketsFromIfaces = ["docker+", "bad iface"] } == ["spec.bpfForceTrackPacketsFromIfaces[1]"])
        #expect(paths { $0.bpfLogFilters = ["all": "", "bad iface": "x"] } == ["spec.bpfLogFilters.bad iface"])
    }

    @Test func goDurationFormatting() async {
        #expect(GoDuration.canonical("90s") == "1m30s")
        #expect(GoDuration.canonical("1.5ms") == "1.5ms")
        #expect(GoDuration.canonical("1h0.5s") == "1h0m0.5s")
        #expect(GoDuration.canonical("100us") == "100µs")
        #expect(GoDuration.canonical("0") == "0s")
        #expect(GoDuration.canonical("1") == nil)
        await propertyCheck(input: Gen.int(in: -1_000_000_000_000_000 ... 1_000_000_000_000_000)) { n in
            let text = GoDuration.format(Int64(n))
            #expect(GoDuration.nanoseconds(text) == Int64(n))
        }
    }
}
