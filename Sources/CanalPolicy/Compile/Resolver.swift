import CanalModel
import CanalSelector

/// Stage one of compilation (Felix's calculation graph): which endpoints are local, which
/// tiers and policies apply to each, rules with selectors rewritten as Calico's update
/// processors do and turned into IP set ids, and the sets' members taken cluster-wide.
struct Resolver {
    let node: String
    let configuration: DataplaneConfiguration

    /// An endpoint or network set that selectors can pick, with its effective labels.
    struct Labelled {
        var id: EndpointID?
        var labels: LabelSet
        /// The same labels as a dictionary (to look them up in the indexes).
        var labelMap: [String: String]
        var nets: [CIDR]
        var ports: [(name: String, proto: UInt8, port: UInt16)]
    }

    /// A policy with what decides where it applies.
    struct Candidate {
        var policy: ResolvedPolicy
        var selects: Selector
        var types: Set<PolicyType>
        var order: Double?
        var sortKey: String

        /// Whether `other` applies to the same endpoints in the same place.
        func placedLike(_ other: Candidate) -> Bool {
            selects.canonical == other.selects.canonical && types == other.types && order == other.order
                && sortKey == other.sortKey && policy.tier == other.policy.tier && policy.untracked == other.policy.untracked
                && policy.preDNAT == other.policy.preDNAT && policy.applyOnForward == other.policy.applyOnForward
        }

        /// Policy order within a tier: order (nil last), then name/namespace/kind.
        static func precedes(_ a: Candidate, _ b: Candidate) -> Bool {
            switch (a.order, b.order) {
            case let (x?, y?) where x != y: return x < y
            case (.some, nil): return true
            case (nil, .some): return false
            default: return a.sortKey < b.sortKey
            }
        }
    }

    /// What a logical set's members are computed from.
    struct SetSource {
        var selector: Selector
        /// Named-port sets: the protocol (nil for any) and the port's name.
        var namedPort: (proto: UInt8?, name: String)?
    }

    private(set) var labelled: [Labelled] = []
    /// Index into ``labelled`` of each endpoint.
    private(set) var labelledIndex: [EndpointID: Int] = [:]
    /// Which labelled objects contribute each net (to keep members another object still gives).
    private var ownersByNet: [CIDR: [Int]] = [:]
    private(set) var ipSets: [String: LogicalIPSet] = [:]
    private(set) var setSources: [String: SetSource] = [:]
    /// How many rule references (of policies and profiles) each set has.
    private var setUsers: [String: Int] = [:]
    /// Sets created since the last ``clearCreatedSets()``.
    private(set) var createdSets: [String] = []
    private var selectorCache: [String: Selector] = [:]
    private var profilesByName: [String: Profile] = [:]
    private var tierSpecs: [String: TierSpec] = [:]
    /// Policies sorted by ``Candidate/precedes(_:_:)``.
    private(set) var candidates: [Candidate] = []
    /// A serial number per candidate (parallel to ``candidates``), for ``candidateIndex``.
    private var candidateSerials: [Int] = []
    private var candidateBySerial: [Int: Candidate] = [:]
    private var nextSerial = 0
    /// Candidate serials by the label their selector requires.
    private var candidateIndex = LabelIndex()
    private var tierOrder: [(String, Bool)] = []
    /// Indexes into ``labelled`` by label (key, then value): the objects a selector that
    /// requires a label can match.
    private var objectsByLabel = LabelIndex()

    /// Numbers (candidate serials, positions in ``labelled``) by label key and value, plus the
    /// numbers of selectors that require no label. A lookup gives a superset of the matches
    /// (strings compare by canonical equivalence here, bytewise in selectors); the selector
    /// decides.
    struct LabelIndex {
        var byLabel: [String: [String: [Int]]] = [:]
        var unindexed: [Int] = []

        mutating func add(_ position: Int, key: String, value: String) {
            byLabel[key, default: [:]][value, default: []].append(position)
        }

        mutating func remove(_ position: Int, key: String, value: String) {
            guard let i = byLabel[key]?[value]?.firstIndex(of: position) else { return }
            byLabel[key]![value]!.remove(at: i)
        }

        /// Adds `position` under every value of the label `selector` requires, or as unindexed.
        mutating func add(_ position: Int, selector: Selector) {
            guard let required = selector.requiredLabel else { return unindexed.append(position) }
            // `in` values are distinct bytewise, not necessarily as Strings.
            for value in Set(required.values) { add(position, key: required.key, value: value) }
        }

        mutating func remove(_ position: Int, selector: Selector) {
            guard let required = selector.requiredLabel else {
                if let i = unindexed.firstIndex(of: position) { unindexed.remove(at: i) }
                return
            }
            for value in Set(required.values) { remove(position, key: required.key, value: value) }
        }

        /// The numbers a label set `labels` may match, unsorted, possibly repeated.
        func candidates(for labels: [String: String], into out: inout [Int]) {
            out += unindexed
            if labels.count <= byLabel.count {
                for (key, value) in labels { if let list = byLabel[key]?[value] { out += list } }
            } else {
                for (key, byValue) in byLabel { if let value = labels[key], let list = byValue[value] { out += list } }
            }
        }
    }

    init(node: String, configuration: DataplaneConfiguration) {
        self.node = node
        self.configuration = configuration
    }

    // MARK: - Entry

    mutating func resolve(_ cluster: ClusterState) throws(PolicyCompileError) -> ResolvedNode {
        profilesByName = Dictionary(cluster.profiles.map { ($0.metadata.name ?? "", $0) }, uniquingKeysWith: { a, _ in a })
        for (name, spec) in TierSpec.builtInTiers { tierSpecs[name] = spec }
        for tier in cluster.tiers { tierSpecs[tier.metadata.name ?? ""] = tier.spec }

        // Every label-bearing object of the cluster.
        var addresses: [EndpointID: [IPAddress]] = [:]
        // Local endpoints by position in the cluster (sorting the resources themselves would
        // move every one of them).
        var localWorkloads: [(id: EndpointID, index: Int, ips: [IPAddress])] = []
        var localHosts: [(id: EndpointID, index: Int, ips: [IPAddress])] = []
        for (position, wep) in cluster.workloadEndpoints.enumerated() {
            let id = Self.id(of: wep)
            let labels = effectiveLabels(Self.ownLabels(wep), profiles: wep.spec.profiles ?? [])
            let ips = (wep.spec.ipNetworks ?? []).compactMap { CIDR(ipOrCIDR: $0)?.address }
            addresses[id] = ips
            addLabelled(Labelled(
                id: id, labels: LabelSet(labels), labelMap: labels, nets: ips.map(Self.hostNet),
                ports: (wep.spec.ports ?? []).map { ($0.name, $0.protocol.protocolNumber, $0.port) }))
            if wep.spec.node == node, let iface = wep.spec.interfaceName, !iface.isEmpty {
                localWorkloads.append((id, position, ips))
            }
        }
        for (position, hep) in cluster.hostEndpoints.enumerated() {
            let id = EndpointID.host(name: hep.metadata.name ?? "")
            let labels = effectiveLabels(hep.metadata.labels ?? [:], profiles: hep.spec.profiles ?? [])
            let ips = (hep.spec.expectedIPs ?? []).compactMap { IPAddress($0) }
            addresses[id] = ips
            addLabelled(Labelled(
                id: id, labels: LabelSet(labels), labelMap: labels, nets: ips.map(Self.hostNet),
                ports: (hep.spec.ports ?? []).map { ($0.name, $0.protocol.protocolNumber, $0.port) }))
            if hep.spec.node == node, let iface = hep.spec.interfaceName, !iface.isEmpty, iface != "*" {
                localHosts.append((id, position, ips))
            }
        }
        for set in cluster.networkSets {
            var labels = set.metadata.labels ?? [:]
            labels[CalicoLabel.namespace] = set.metadata.namespace ?? "default"
            addLabelled(Labelled(id: nil, labels: LabelSet(labels), labelMap: labels, nets: Self.memberNets(set.spec.nets), ports: []))
        }
        for set in cluster.globalNetworkSets {
            let labels = set.metadata.labels ?? [:]
            addLabelled(Labelled(id: nil, labels: LabelSet(labels), labelMap: labels, nets: Self.memberNets(set.spec.nets), ports: []))
        }

        // Policies, with their endpoint selectors.
        var policies: [PolicyChainID: ResolvedPolicy] = [:]
        var found: [Candidate] = []
        for gnp in cluster.globalNetworkPolicies { found.append(try candidate(gnp)) }
        for np in cluster.networkPolicies { found.append(try candidate(np)) }
        found.sort(by: Candidate.precedes)
        candidates = found
        for c in candidates { candidateSerials.append(indexCandidate(c)) }
        for c in candidates {
            policies[c.policy.id] = c.policy
            countUsers(of: c.policy.ingress + c.policy.egress, by: 1)
        }
        refreshTierOrder()

        // Profiles.
        var profiles: [String: ResolvedProfile] = [:]
        for profile in cluster.profiles {
            let resolved = try self.profile(profile)
            profiles[resolved.name] = resolved
            countUsers(of: resolved.ingress + resolved.egress, by: 1)
        }

        var endpoints: [ResolvedEndpoint] = []
        var seenInterfaces = Set<String>()
        for (id, position, ips) in localWorkloads.sorted(by: { $0.id < $1.id }) {
            let spec = cluster.workloadEndpoints[position].spec
            let iface = spec.interfaceName!
            // Two endpoints claiming one interface: the smallest id wins, as in Felix.
            guard seenInterfaces.insert(iface).inserted else { continue }
            endpoints.append(ResolvedEndpoint(
                id: id, interface: iface, addresses: ips, profiles: spec.profiles ?? [],
                tiers: workloadTiers(id)))
        }
        for (id, position, ips) in localHosts.sorted(by: { $0.id < $1.id }) {
            let spec = cluster.hostEndpoints[position].spec
            let iface = spec.interfaceName!
            guard seenInterfaces.insert(iface).inserted else { continue }
            var endpoint = ResolvedEndpoint(
                id: id, interface: iface, addresses: ips, profiles: spec.profiles ?? [], tiers: TierLists())
            hostTiers(&endpoint)
            endpoints.append(endpoint)
        }
        endpoints.sort { $0.interface < $1.interface }
        createdSets = []

        return ResolvedNode(
            node: node, configuration: configuration, endpoints: endpoints, addresses: addresses,
            policies: policies, profiles: profiles, ipSets: ipSets)
    }

    // MARK: - Objects

    static func id(of wep: WorkloadEndpoint) -> EndpointID {
        .workload(namespace: wep.metadata.namespace ?? "default", name: wep.metadata.name ?? "")
    }

    /// A workload's own labels with the ones Calico adds (namespace, orchestrator, service account).
    static func ownLabels(_ wep: WorkloadEndpoint) -> [String: String] {
        let ns = wep.metadata.namespace ?? "default"
        var own = wep.metadata.labels ?? [:]
        if own[CalicoLabel.namespace] == nil { own[CalicoLabel.namespace] = ns }
        if own[CalicoLabel.orchestrator] == nil, let o = wep.spec.orchestrator { own[CalicoLabel.orchestrator] = o }
        if let sa = wep.spec.serviceAccountName, !sa.isEmpty, own[serviceAccountLabel] == nil {
            own[serviceAccountLabel] = sa
        }
        return own
    }

    /// `own` with the profiles' `labelsToApply` under it (own labels win).
    func effectiveLabels(_ own: [String: String], profiles: [String]) -> [String: String] {
        var labels = own
        for name in profiles {
            for (k, v) in profilesByName[name]?.spec.labelsToApply ?? [:] where labels[k] == nil { labels[k] = v }
        }
        return labels
    }

    private mutating func addLabelled(_ object: Labelled) {
        let index = labelled.count
        labelled.append(object)
        if let id = object.id { labelledIndex[id] = index }
        for (key, value) in object.labelMap { objectsByLabel.add(index, key: key, value: value) }
        for net in object.nets { ownersByNet[net, default: []].append(index) }
    }

    /// The members `object` gives the set `source` describes.
    func contributions(of object: Labelled, to source: SetSource) -> [IPSetMember] {
        guard source.selector.matches(object.labels) else { return [] }
        guard let named = source.namedPort else { return object.nets.map { .net($0) } }
        guard object.id != nil else { return [] }
        var out: [IPSetMember] = []
        for port in object.ports where port.name == named.name && (named.proto == nil || named.proto == port.proto) && port.proto != 0 {
            for net in object.nets { out.append(.addressPort(net.address, IPProtocol(number: port.proto), port.port)) }
        }
        return out
    }

    /// Gives the endpoint `id` new effective labels, updating every set's members; returns the
    /// ids of the sets whose members changed.
    mutating func relabel(_ id: EndpointID, labels: [String: String]) -> [String] {
        guard let index = labelledIndex[id] else { return [] }
        let before = labelled[index]
        var after = before
        after.labels = LabelSet(labels)
        after.labelMap = labels
        labelled[index] = after
        for (key, value) in before.labelMap where labels[key] != value { objectsByLabel.remove(index, key: key, value: value) }
        for (key, value) in labels where before.labelMap[key] != value { objectsByLabel.add(index, key: key, value: value) }
        var changed: [String] = []
        for (setID, source) in setSources {
            let old = contributions(of: before, to: source)
            let new = contributions(of: after, to: source)
            guard old != new else { continue }
            var members = ipSets[setID]!.members
            let kept = Set(new)
            for member in old where !kept.contains(member) {
                // Another object may give the same member.
                let net: CIDR = switch member {
                case .net(let c): c
                case .addressPort(let ip, _, _), .address(let ip): Self.hostNet(ip)
                }
                let stillGiven = (ownersByNet[net] ?? []).contains { other in
                    other != index && contributions(of: labelled[other], to: source).contains(member)
                }
                if !stillGiven { members.remove(member) }
            }
            for member in new { members.insert(member) }
            if members != ipSets[setID]!.members {
                ipSets[setID]!.members = members
                changed.append(setID)
            }
        }
        return changed
    }

    // MARK: - Policies and profiles

    mutating func candidate(_ gnp: GlobalNetworkPolicy) throws(PolicyCompileError) -> Candidate {
        let name = gnp.metadata.name ?? ""
        let spec = gnp.spec
        let id = PolicyChainID(kind: .globalNetworkPolicy, name: name)
        var parts = [nonEmpty(spec.selector) ?? "all()"]
        if let ns = nonEmpty(spec.namespaceSelector) {
            parts.append(try Self.namespaceSelector(ns))
        }
        if let sa = nonEmpty(spec.serviceAccountSelector) {
            parts.append(try prefixed(sa, "pcsa.").replacingAll("all()", with: "has(\(Self.serviceAccountLabel))"))
        }
        let policy = ResolvedPolicy(
            id: id, kindName: "GlobalNetworkPolicy", displayName: name, tier: nonEmpty(spec.tier) ?? TierSpec.defaultTierName,
            ingress: try rules(spec.ingress, namespace: nil, policy: id),
            egress: try rules(spec.egress, namespace: nil, policy: id),
            untracked: spec.doNotTrack, preDNAT: spec.preDNAT, applyOnForward: spec.applyOnForward || spec.doNotTrack || spec.preDNAT)
        return Candidate(policy: policy, selects: try selector(Self.and(parts), context: "\(id)"),
                         types: Self.types(spec.types, spec.ingress, spec.egress), order: spec.order,
                         sortKey: "\(name)//GlobalNetworkPolicy")
    }

    mutating func candidate(_ np: NetworkPolicy) throws(PolicyCompileError) -> Candidate {
        let name = np.metadata.name ?? ""
        let ns = np.metadata.namespace ?? "default"
        let spec = np.spec
        let id = PolicyChainID(kind: .networkPolicy, namespace: ns, name: name)
        var parts = [nonEmpty(spec.selector) ?? "all()", "\(CalicoLabel.namespace) == '\(ns)'"]
        if let sa = nonEmpty(spec.serviceAccountSelector) {
            parts.append(try prefixed(sa, "pcsa.").replacingAll("all()", with: "has(\(Self.serviceAccountLabel))"))
        }
        let policy = ResolvedPolicy(
            id: id, kindName: "NetworkPolicy", displayName: "\(ns)/\(name)", tier: nonEmpty(spec.tier) ?? TierSpec.defaultTierName,
            ingress: try rules(spec.ingress, namespace: ns, policy: id),
            egress: try rules(spec.egress, namespace: ns, policy: id))
        return Candidate(policy: policy, selects: try selector(Self.and(parts), context: "\(id)"),
                         types: Self.types(spec.types, spec.ingress, spec.egress), order: spec.order,
                         sortKey: "\(name)/\(ns)/NetworkPolicy")
    }

    private mutating func profile(_ profile: Profile) throws(PolicyCompileError) -> ResolvedProfile {
        ResolvedProfile(
            name: profile.metadata.name ?? "", ingress: try rules(profile.spec.ingress, namespace: nil, policy: nil),
            egress: try rules(profile.spec.egress, namespace: nil, policy: nil))
    }

    /// Puts `new` in place of the policy `id` (either may be absent), keeping the order, the
    /// sets' user counts and dropping sets nothing uses any more; returns the old candidate.
    @discardableResult
    mutating func replaceCandidate(_ id: PolicyChainID, with new: Candidate?) -> Candidate? {
        var old: Candidate?
        if let i = candidates.firstIndex(where: { $0.policy.id == id }) {
            old = candidates.remove(at: i)
            let serial = candidateSerials.remove(at: i)
            candidateIndex.remove(serial, selector: old!.selects)
            candidateBySerial[serial] = nil
        }
        if let new {
            let i = candidates.firstIndex { Candidate.precedes(new, $0) } ?? candidates.count
            candidates.insert(new, at: i)
            candidateSerials.insert(indexCandidate(new), at: i)
            countUsers(of: new.policy.ingress + new.policy.egress, by: 1)
        }
        if let old { countUsers(of: old.policy.ingress + old.policy.egress, by: -1) }
        dropUnusedCreatedSets()
        if old?.policy.tier != new?.policy.tier { refreshTierOrder() }
        return old
    }

    /// Forgets the sets created since the last clear that no rule uses (after a failed or
    /// replaced resolution).
    mutating func dropUnusedCreatedSets() {
        for id in createdSets where (setUsers[id] ?? 0) <= 0 { forgetSet(id) }
        createdSets = []
    }

    mutating func clearCreatedSets() { createdSets = [] }

    private mutating func forgetSet(_ id: String) {
        ipSets[id] = nil
        setSources[id] = nil
        setUsers[id] = nil
    }

    private mutating func countUsers(of rules: [ResolvedRule], by delta: Int) {
        for rule in rules {
            for e in [rule.source, rule.destination] {
                for id in [e.selectorSet, e.notSelectorSet].compactMap({ $0 }) + e.namedPortSets + e.notNamedPortSets {
                    let count = (setUsers[id] ?? 0) + delta
                    if count <= 0 { forgetSet(id) } else { setUsers[id] = count }
                }
            }
        }
    }

    // MARK: - Tiers

    private mutating func refreshTierOrder() {
        tierOrder = tierSequence(Set(candidates.map(\.policy.tier)))
    }

    /// Gives `c` a serial number and indexes it.
    private mutating func indexCandidate(_ c: Candidate) -> Int {
        let serial = nextSerial
        nextSerial += 1
        candidateBySerial[serial] = c
        candidateIndex.add(serial, selector: c.selects)
        return serial
    }

    /// The candidates whose selector matches `object`, in order.
    private func selecting(_ object: Labelled) -> [Candidate] {
        var serials: [Int] = []
        candidateIndex.candidates(for: object.labelMap, into: &serials)
        serials.sort()
        var out: [Candidate] = []
        var last = -1
        for serial in serials where serial != last {
            last = serial
            if let c = candidateBySerial[serial], c.selects.matches(object.labels) { out.append(c) }
        }
        // The order of ``candidates`` (keys tie only for one policy given twice: same id).
        out.sort(by: Candidate.precedes)
        return out
    }

    /// The tier lists of `selected` (in order) that `filter` admits.
    func tiers(_ selected: [Candidate], filter: (ResolvedPolicy) -> Bool, passAtEnd: Bool) -> TierLists {
        let matching = selected.filter { filter($0.policy) }
        var lists = TierLists()
        guard !matching.isEmpty else { return lists }
        for direction in PolicyDirection.allCases {
            let type: PolicyType = direction == .ingress ? .ingress : .egress
            var result: [ResolvedTier] = []
            for (tierName, tierPasses) in tierOrder {
                let selected = matching.filter { $0.policy.tier == tierName && $0.types.contains(type) }.map(\.policy.id)
                if !selected.isEmpty {
                    result.append(ResolvedTier(name: tierName, passAtEnd: passAtEnd || tierPasses, policies: selected))
                }
            }
            if direction == .ingress { lists.ingress = result } else { lists.egress = result }
        }
        return lists
    }

    /// A local workload's tiers.
    func workloadTiers(_ id: EndpointID) -> TierLists {
        guard let index = labelledIndex[id] else { return TierLists() }
        return tiers(selecting(labelled[index]), filter: { !$0.untracked && !$0.preDNAT }, passAtEnd: false)
    }

    /// Fills a local host endpoint's tier lists (normal, forward, untracked, pre-DNAT).
    func hostTiers(_ endpoint: inout ResolvedEndpoint) {
        guard let index = labelledIndex[endpoint.id] else { return }
        let set = selecting(labelled[index])
        endpoint.tiers = tiers(set, filter: { !$0.untracked && !$0.preDNAT }, passAtEnd: false)
        endpoint.forwardTiers = tiers(set, filter: { $0.applyOnForward && !$0.untracked && !$0.preDNAT }, passAtEnd: false)
        endpoint.untrackedTiers = tiers(set, filter: { $0.untracked }, passAtEnd: true)
        var preDNAT = tiers(set, filter: { $0.preDNAT }, passAtEnd: true)
        preDNAT.egress = []
        endpoint.preDNATTiers = preDNAT
    }

    // MARK: - Tiers

    /// The tiers that have policies, in order (order, nil last, then name), each with whether
    /// its default action is Pass.
    private func tierSequence(_ used: Set<String>) -> [(String, Bool)] {
        let specs = tierSpecs
        let names = used.sorted { a, b in
            let oa = specs[a]?.order ?? (specs[a] == nil ? TierSpec.defaultOrder : nil)
            let ob = specs[b]?.order ?? (specs[b] == nil ? TierSpec.defaultOrder : nil)
            switch (oa, ob) {
            case let (x?, y?) where x != y: return x < y
            case (.some, nil): return true
            case (nil, .some): return false
            default: return a < b
            }
        }
        return names.map { ($0, specs[$0]?.defaultAction == .pass) }
    }

    private static func types(_ types: [PolicyType]?, _ ingress: [Rule]?, _ egress: [Rule]?) -> Set<PolicyType> {
        if let types, !types.isEmpty { return Set(types) }
        let hasEgress = !(egress ?? []).isEmpty
        let hasIngress = !(ingress ?? []).isEmpty
        if hasEgress && hasIngress { return [.ingress, .egress] }
        return hasEgress ? [.egress] : [.ingress]
    }

    // MARK: - Rules

    static let serviceAccountLabel = "projectcalico.org/serviceaccount"

    private mutating func rules(_ rules: [Rule]?, namespace: String?, policy: PolicyChainID?) throws(PolicyCompileError) -> [ResolvedRule] {
        var out: [ResolvedRule] = []
        for (index, rule) in (rules ?? []).enumerated() {
            out.append(try resolve(rule, index: index, namespace: namespace, context: "\(policy.map { "\($0)" } ?? "profile") rule \(index)"))
        }
        return out
    }

    private mutating func resolve(_ rule: Rule, index: Int, namespace: String?, context: String) throws(PolicyCompileError) -> ResolvedRule {
        var r = ResolvedRule(index: index, action: rule.action)
        if let v = rule.ipVersion {
            guard v == 4 || v == 6 else { throw PolicyCompileError("\(context): ipVersion \(v)") }
            r.ipVersion = v == 4 ? .v4 : .v6
        }
        r.proto = rule.protocol.map(IPProtocol.init)
        r.notProto = rule.notProtocol.map(IPProtocol.init)
        func icmp(_ fields: ICMPFields?, _ what: String) throws(PolicyCompileError) -> ICMPMatch? {
            guard let fields else { return nil }
            guard let type = fields.type else {
                if fields.code != nil { throw PolicyCompileError("\(context): \(what) code without a type") }
                return nil
            }
            guard let t = UInt8(exactly: type), let c = fields.code.map({ UInt8(exactly: $0) }) ?? .some(nil) else {
                throw PolicyCompileError("\(context): \(what) type/code out of range")
            }
            guard let n = r.proto?.number, n == 1 || n == 58 else {
                throw PolicyCompileError("\(context): \(what) needs protocol ICMP or ICMPv6")
            }
            return ICMPMatch(type: t, code: c)
        }
        r.icmp = try icmp(rule.icmp, "icmp")
        r.notICMP = try icmp(rule.notICMP, "notICMP")
        let protoName: String = switch r.proto?.number {
        case 6: "tcp"
        case 17: "udp"
        case 132: "sctp"
        default: "any"
        }
        r.source = try entity(rule.source, namespace: namespace, protoName: protoName, context: context + " source")
        r.destination = try entity(rule.destination, namespace: namespace, protoName: protoName, context: context + " destination")
        let numeric = !(r.source.ports + r.source.notPorts + r.destination.ports + r.destination.notPorts).isEmpty
        if numeric, !(r.proto.map { [6, 17, 132].contains($0.number) } ?? false) {
            throw PolicyCompileError("\(context): numeric ports need protocol TCP, UDP or SCTP")
        }
        return r
    }

    private mutating func entity(
        _ e: EntityRule, namespace: String?, protoName: String, context: String
    ) throws(PolicyCompileError) -> ResolvedEntity {
        var out = ResolvedEntity()
        func cidrs(_ list: [String]?) throws(PolicyCompileError) -> [CIDR] {
            var result: [CIDR] = []
            for text in list ?? [] {
                guard let c = CIDR(ipOrCIDR: text) else { throw PolicyCompileError("\(context): bad net \(text)") }
                result.append(c.network)
            }
            return result
        }
        out.nets = try cidrs(e.nets)
        out.notNets = try cidrs(e.notNets)
        if out.notNets.contains(where: { $0.prefixLength == 0 }) {
            throw PolicyCompileError("\(context): notNets may not be a catch-all")
        }

        // Calico's getEndpointSelector.
        var saSelector = ""
        if let sa = e.serviceAccounts {
            var pieces: [String] = []
            if let s = nonEmpty(sa.selector) { pieces.append(try prefixed(s, "pcsa.")) }
            if let names = sa.names, !names.isEmpty {
                let list = try selector("\(Self.serviceAccountLabel) in { '\(names.joined(separator: "', '"))' }", context: context).canonical
                pieces.append(list)
            }
            saSelector = pieces.count == 2 ? "(\(pieces[0])) && (\(pieces[1]))" : pieces.first ?? ""
        }
        var nsSelector = ""
        if let nsSel = nonEmpty(e.namespaceSelector) {
            nsSelector = try Self.namespaceSelector(nsSel)
        } else if let namespace {
            nsSelector = "\(CalicoLabel.namespace) == '\(namespace)'"
        }
        let parts = [saSelector, e.selector ?? ""].filter { !$0.isEmpty }
        var positive = parts.count == 2 ? "(\(parts[0])) && (\(parts[1]))" : parts.first ?? ""
        let notSel = e.notSelector ?? ""
        if !nsSelector.isEmpty, !positive.isEmpty || !notSel.isEmpty || nonEmpty(e.namespaceSelector) != nil {
            positive = positive.isEmpty ? nsSelector : "(\(nsSelector)) && (\(positive))"
        }
        // Felix's rule scanner: fold notSelector into the positive selector when both exist.
        var positiveSelector: Selector?
        if !positive.isEmpty {
            let text = notSel.isEmpty ? positive : "(\(positive)) && (!(\(notSel)))"
            positiveSelector = try selector(text, context: context)
        } else if !notSel.isEmpty {
            out.notSelectorSet = selectorSet(try selector(notSel, context: context))
        }

        for port in e.ports ?? [] {
            if port.isNamed {
                out.namedPortSets.append(namedPortSet(positiveSelector ?? .all, proto: protoName, name: port.name))
            } else if let range = PortRange(port.minPort, port.maxPort) {
                out.ports.append(range)
            }
        }
        for port in e.notPorts ?? [] {
            if port.isNamed {
                out.notNamedPortSets.append(namedPortSet(positiveSelector ?? .all, proto: protoName, name: port.name))
            } else if let range = PortRange(port.minPort, port.maxPort) {
                out.notPorts.append(range)
            }
        }
        // Named ports alone imply the selector (their sets are filtered by it).
        if let positiveSelector, !(out.ports.isEmpty && !out.namedPortSets.isEmpty) {
            out.selectorSet = selectorSet(positiveSelector)
        }
        return out
    }

    // MARK: - Selectors and sets

    /// `namespaceSelector` as Calico rewrites it: `pcns.` keys; `all()` → has(namespace);
    /// `global()` → !has(namespace).
    private static func namespaceSelector(_ text: String) throws(PolicyCompileError) -> String {
        let parsed: Selector
        do { parsed = try Selector(normalizing: text) } catch { throw PolicyCompileError("namespaceSelector \(text): \(error)") }
        return parsed.prefixingLabels(with: "pcns.").canonical
            .replacingAll("all()", with: "has(\(CalicoLabel.namespace))")
            .replacingAll("global()", with: "!has(\(CalicoLabel.namespace))")
    }

    private func prefixed(_ text: String, _ prefix: String) throws(PolicyCompileError) -> String {
        do { return try Selector(normalizing: text).prefixingLabels(with: prefix).canonical } catch {
            throw PolicyCompileError("selector \(text): \(error)")
        }
    }

    private static func and(_ parts: [String]) -> String {
        parts.count == 1 ? parts[0] : parts.map { "(\($0))" }.joined(separator: " && ")
    }

    private mutating func selector(_ text: String, context: String) throws(PolicyCompileError) -> Selector {
        if let cached = selectorCache[text] { return cached }
        do {
            let s = try Selector(normalizing: text)
            selectorCache[text] = s
            return s
        } catch {
            throw PolicyCompileError("\(context): selector \(text): \(error)")
        }
    }

    /// The id of the selector's set, computing its members on first use.
    private mutating func selectorSet(_ selector: Selector) -> String {
        makeSet(selector.uniqueID, SetSource(selector: selector, namedPort: nil))
    }

    /// The id of a named-port set, computing its members on first use.
    private mutating func namedPortSet(_ selector: Selector, proto: String, name: String) -> String {
        let wanted: UInt8? = switch proto {
        case "tcp": 6
        case "udp": 17
        case "sctp": 132
        default: nil
        }
        return makeSet(selector.namedPortUniqueID(protocol: proto, port: name), SetSource(selector: selector, namedPort: (wanted, name)))
    }

    private mutating func makeSet(_ id: String, _ source: SetSource) -> String {
        if ipSets[id] == nil {
            var members = Set<IPSetMember>()
            // Only the objects that carry the label the selector requires, if it requires one.
            var positions: [Int]?
            if let required = source.selector.requiredLabel {
                var list: [Int] = []
                for value in Set(required.values) { list += objectsByLabel.byLabel[required.key]?[value] ?? [] }
                positions = list
            }
            if source.namedPort == nil {
                // The common case, without the per-object array.
                func add(_ object: Labelled) {
                    guard source.selector.matches(object.labels) else { return }
                    for net in object.nets { members.insert(.net(net)) }
                }
                if let positions { for p in positions { add(labelled[p]) } } else { for object in labelled { add(object) } }
            } else if let positions {
                for p in positions { members.formUnion(contributions(of: labelled[p], to: source)) }
            } else {
                for object in labelled { members.formUnion(contributions(of: object, to: source)) }
            }
            ipSets[id] = LogicalIPSet(id: id, isNamedPort: source.namedPort != nil, members: members)
            setSources[id] = source
            createdSets.append(id)
        }
        return id
    }

    static func hostNet(_ ip: IPAddress) -> CIDR { CIDR(address: ip, prefixLength: ip.family.bitCount)! }

    /// Network set nets as set members: `/0` becomes two `/1`s (ipset rejects `/0`).
    private static func memberNets(_ nets: [String]?) -> [CIDR] {
        (nets ?? []).compactMap { CIDR(ipOrCIDR: $0)?.network }.flatMap { cidr -> [CIDR] in
            guard cidr.prefixLength == 0 else { return [cidr] }
            return Array(cidr.subnets(prefixLength: 1))
        }
    }
}

private func nonEmpty(_ s: String?) -> String? {
    guard let s, !s.trimmingSpaces.isEmpty else { return nil }
    return s
}

extension String {
    /// Every occurrence of `target` replaced (Go's `strings.Replace(s, t, r, -1)`), bytewise.
    func replacingAll(_ target: String, with replacement: String) -> String {
        let t = Array(target.utf8)
        let s = Array(utf8)
        guard !t.isEmpty, s.count >= t.count else { return self }
        var out: [UInt8] = []
        out.reserveCapacity(s.count)
        var i = 0
        while i < s.count {
            if i + t.count <= s.count, s[i..<(i + t.count)].elementsEqual(t) {
                out += replacement.utf8
                i += t.count
            } else {
                out.append(s[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
