public import CanalModel
import CanalSelector

/// One change to the cluster's policy-relevant resources.
public enum ClusterChange: Sendable {
    /// A resource created or replaced (matched by kind, namespace and name). Kinds the compiler
    /// does not read are ignored.
    case put(any AnyResource)
    /// A resource deleted.
    case delete(ResourceKind, namespace: String? = nil, name: String)
}

/// What applying changes produced: the new compiled policy and the update from the previous one.
public struct PolicyUpdate: Sendable {
    /// The compiled policy after the changes (equal to a full compile of the new cluster).
    public let compiled: CompiledPolicy
    /// The IPv4 update (only the changed chains and sets).
    public let ipv4: RuleSetDiff
    /// The IPv6 update.
    public let ipv6: RuleSetDiff
    /// Whether only what the changes touched was recomputed; false when a full compile ran.
    public let incremental: Bool
}

/// A compiler session for one node that keeps the resolved model and the rendered chains, and
/// turns cluster changes into updates by recomputing only what they touch.
///
/// ```swift
/// var session = try IncrementalPolicyCompiler(cluster, node: "node1")
/// apply(session.compiled)
/// let update = try session.apply([.put(changedPolicy)])
/// run(IptablesRenderer().restoreInput(update.ipv4))
/// ```
///
/// Incremental paths (everything else runs a full compile, with the same result):
/// - a (Global)NetworkPolicy put or deleted: its `cali-pi-`/`cali-po-` chains are re-rendered,
///   and when its selector, types, order or tier change, the endpoint chains of the local
///   workloads it selected or now selects;
/// - a WorkloadEndpoint whose labels alone change: the IP sets its labels enter or leave, and,
///   when it is local, its endpoint chains (policy selection).
/// Only chains and sets touched are diffed. The result is always identical to
/// ``PolicyCompiler/compile(_:node:configuration:)`` of the current ``cluster``.
public struct IncrementalPolicyCompiler: Sendable {
    /// The node compiled for.
    public let node: String
    /// The dataplane settings.
    public let configuration: DataplaneConfiguration
    /// The cluster as of the last change.
    public private(set) var cluster: ClusterState

    private var index: [ResourceKind: [String: Int]] = [:]
    private var resolver: Resolver
    private var model: ResolvedNode
    private var v4: FamilyState
    private var v6: FamilyState
    private var endpointIndex: [EndpointID: Int] = [:]
    /// Policy and profile chains by name: what each renders.
    private var derived: [String: DerivedChain] = [:]

    /// The compiled policy of the current cluster.
    public var compiled: CompiledPolicy { CompiledPolicy(model: model, ipv4: v4.ruleSet, ipv6: v6.ruleSet) }

    /// A session starting with a full compile of `cluster`.
    ///
    /// - Throws: ``PolicyCompileError`` as ``PolicyCompiler/compile(_:node:configuration:)`` does.
    public init(_ cluster: ClusterState, node: String, configuration: DataplaneConfiguration = .default) throws(PolicyCompileError) {
        self.node = node
        self.configuration = configuration
        self.cluster = cluster
        resolver = Resolver(node: node, configuration: configuration)
        model = try resolver.resolve(cluster)
        v4 = FamilyState(LayoutBuilder(model: model, family: .v4).build(), model: model)
        v6 = FamilyState(LayoutBuilder(model: model, family: .v6).build(), model: model)
        reindexCluster()
        reindexModel()
    }

    /// Applies `changes` in order and returns the new compiled policy with the update from the
    /// previous one.
    ///
    /// - Throws: ``PolicyCompileError`` when the changed cluster does not compile; the session
    ///   then keeps its previous state.
    @discardableResult
    public mutating func apply(_ changes: [ClusterChange]) throws(PolicyCompileError) -> PolicyUpdate {
        let before = (v4: v4.ruleSet, v6: v6.ruleSet)
        var undo: [ClusterChange] = []
        var touched = Touched()
        var incremental = true
        do {
            for change in changes {
                let previous = record(change)
                undo.append(previous)
                if incremental {
                    incremental = try applyIncrementally(change, previous: previous, &touched)
                }
            }
            if !incremental { try rebuild() }
        } catch {
            for change in undo.reversed() { _ = record(change) }
            try! rebuild()  // the previous cluster compiled
            throw error
        }
        if !incremental {
            return PolicyUpdate(compiled: compiled, ipv4: RuleSetDiff(from: before.v4, to: v4.ruleSet),
                                ipv6: RuleSetDiff(from: before.v6, to: v6.ruleSet), incremental: false)
        }
        model.ipSets = resolver.ipSets
        return PolicyUpdate(compiled: compiled, ipv4: v4.diff(from: before.v4, touched.v4),
                            ipv6: v6.diff(from: before.v6, touched.v6), incremental: true)
    }

    // MARK: - The cluster's resources

    private static func key(_ namespace: String?, _ name: String?) -> String { "\(namespace ?? "")/\(name ?? "")" }

    private mutating func reindexCluster() {
        func keys(_ metas: [ObjectMeta]) -> [String: Int] {
            Dictionary(metas.enumerated().map { (Self.key($1.namespace, $1.name), $0) }, uniquingKeysWith: { _, b in b })
        }
        index = [
            .workloadEndpoint: keys(cluster.workloadEndpoints.map(\.metadata)),
            .hostEndpoint: keys(cluster.hostEndpoints.map(\.metadata)),
            .profile: keys(cluster.profiles.map(\.metadata)),
            .tier: keys(cluster.tiers.map(\.metadata)),
            .networkPolicy: keys(cluster.networkPolicies.map(\.metadata)),
            .globalNetworkPolicy: keys(cluster.globalNetworkPolicies.map(\.metadata)),
            .networkSet: keys(cluster.networkSets.map(\.metadata)),
            .globalNetworkSet: keys(cluster.globalNetworkSets.map(\.metadata)),
        ]
    }

    /// Applies `change` to ``cluster``; returns the change that undoes it.
    private mutating func record(_ change: ClusterChange) -> ClusterChange {
        switch change {
        case .put(let resource):
            let meta = resource.metadata
            let undo: ClusterChange
            switch resource {
            case let r as WorkloadEndpoint: undo = put(r, \.workloadEndpoints, .workloadEndpoint)
            case let r as HostEndpoint: undo = put(r, \.hostEndpoints, .hostEndpoint)
            case let r as Profile: undo = put(r, \.profiles, .profile)
            case let r as Tier: undo = put(r, \.tiers, .tier)
            case let r as NetworkPolicy: undo = put(r, \.networkPolicies, .networkPolicy)
            case let r as GlobalNetworkPolicy: undo = put(r, \.globalNetworkPolicies, .globalNetworkPolicy)
            case let r as NetworkSet: undo = put(r, \.networkSets, .networkSet)
            case let r as GlobalNetworkSet: undo = put(r, \.globalNetworkSets, .globalNetworkSet)
            default: undo = .delete(resource.kind, namespace: meta.namespace, name: meta.name ?? "")
            }
            return undo
        case .delete(let kind, let namespace, let name):
            switch kind {
            case .workloadEndpoint: return delete(\.workloadEndpoints, kind, namespace, name)
            case .hostEndpoint: return delete(\.hostEndpoints, kind, namespace, name)
            case .profile: return delete(\.profiles, kind, namespace, name)
            case .tier: return delete(\.tiers, kind, namespace, name)
            case .networkPolicy: return delete(\.networkPolicies, kind, namespace, name)
            case .globalNetworkPolicy: return delete(\.globalNetworkPolicies, kind, namespace, name)
            case .networkSet: return delete(\.networkSets, kind, namespace, name)
            case .globalNetworkSet: return delete(\.globalNetworkSets, kind, namespace, name)
            default: return change
            }
        }
    }

    private mutating func put<S>(_ r: Resource<S>, _ path: WritableKeyPath<ClusterState, [Resource<S>]>, _ kind: ResourceKind) -> ClusterChange {
        let key = Self.key(r.metadata.namespace, r.metadata.name)
        if let i = index[kind]?[key] {
            let old = cluster[keyPath: path][i]
            cluster[keyPath: path][i] = r
            return .put(old)
        }
        index[kind, default: [:]][key] = cluster[keyPath: path].count
        cluster[keyPath: path].append(r)
        return .delete(kind, namespace: r.metadata.namespace, name: r.metadata.name ?? "")
    }

    private mutating func delete<S>(
        _ path: WritableKeyPath<ClusterState, [Resource<S>]>, _ kind: ResourceKind, _ namespace: String?, _ name: String
    ) -> ClusterChange {
        let key = Self.key(namespace, name)
        guard let i = index[kind]?[key] else { return .delete(kind, namespace: namespace, name: name) }
        let old = cluster[keyPath: path].remove(at: i)
        index[kind]![key] = nil
        for (k, j) in index[kind]! where j > i { index[kind]![k] = j - 1 }
        return .put(old)
    }

    // MARK: - Full compile

    private mutating func rebuild() throws(PolicyCompileError) {
        var fresh = Resolver(node: node, configuration: configuration)
        model = try fresh.resolve(cluster)
        resolver = fresh
        v4 = FamilyState(LayoutBuilder(model: model, family: .v4).build(), model: model)
        v6 = FamilyState(LayoutBuilder(model: model, family: .v6).build(), model: model)
        reindexModel()
    }

    private mutating func reindexModel() {
        endpointIndex = Dictionary(model.endpoints.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })
        derived = [:]
        for id in model.policies.keys { addDerived(id) }
        for name in model.profiles.keys {
            for d in PolicyDirection.allCases { derived[ChainName.profile(name, d)] = .profile(name, d) }
        }
    }

    private mutating func addDerived(_ id: PolicyChainID) {
        for d in PolicyDirection.allCases { derived[ChainName.policy(id, d)] = .policy(id, d) }
    }

    // MARK: - Incremental paths

    /// Chain and set names touched per family.
    private struct Touched {
        var v4 = FamilyState.Touched()
        var v6 = FamilyState.Touched()
    }

    /// Applies one change (already recorded in ``cluster``) incrementally; false when it needs a
    /// full compile instead.
    private mutating func applyIncrementally(_ change: ClusterChange, previous: ClusterChange, _ touched: inout Touched) throws(PolicyCompileError) -> Bool {
        let kind: ResourceKind = switch change {
        case .put(let r): r.kind
        case .delete(let k, _, _): k
        }
        let read: Set<ResourceKind> = [.workloadEndpoint, .hostEndpoint, .profile, .tier, .networkPolicy, .globalNetworkPolicy,
                                       .networkSet, .globalNetworkSet]
        guard read.contains(kind) else { return true }
        guard v4.ruleSet.tables.count == 1, v6.ruleSet.tables.count == 1 else { return false }
        switch change {
        case .put(let r as GlobalNetworkPolicy):
            let id = PolicyChainID(kind: .globalNetworkPolicy, name: r.metadata.name ?? "")
            return try replacePolicy(id, &touched) { (resolver: inout Resolver) throws(PolicyCompileError) in try resolver.candidate(r) }
        case .put(let r as NetworkPolicy):
            let id = PolicyChainID(kind: .networkPolicy, namespace: r.metadata.namespace ?? "default", name: r.metadata.name ?? "")
            return try replacePolicy(id, &touched) { (resolver: inout Resolver) throws(PolicyCompileError) in try resolver.candidate(r) }
        case .delete(.globalNetworkPolicy, _, let name):
            return try replacePolicy(PolicyChainID(kind: .globalNetworkPolicy, name: name), &touched, nil)
        case .delete(.networkPolicy, let namespace, let name):
            return try replacePolicy(PolicyChainID(kind: .networkPolicy, namespace: namespace ?? "default", name: name), &touched, nil)
        case .put(let r as WorkloadEndpoint):
            guard case .put(let p) = previous, let old = p as? WorkloadEndpoint else { return false }
            return relabel(old, r, &touched)
        default:
            return false
        }
    }

    private mutating func replacePolicy(
        _ id: PolicyChainID, _ touched: inout Touched,
        _ make: ((inout Resolver) throws(PolicyCompileError) -> Resolver.Candidate)?
    ) throws(PolicyCompileError) -> Bool {
        let old = resolver.candidates.first { $0.policy.id == id }
        var new: Resolver.Candidate?
        if let make {
            do { new = try make(&resolver) } catch {
                resolver.dropUnusedCreatedSets()
                throw error
            }
        }
        if old == nil && new == nil { return true }
        func ok(_ c: Resolver.Candidate?) -> Bool { !(c?.policy.untracked ?? false) && !(c?.policy.preDNAT ?? false) }
        // The local endpoints whose tier lists may change.
        var affected: [Int] = []
        if !(old.map { o in new.map { o.placedLike($0) } ?? false } ?? false) {
            for (i, endpoint) in model.endpoints.enumerated() {
                guard let l = resolver.labelledIndex[endpoint.id] else { continue }
                let labels = resolver.labelled[l].labels
                if old?.selects.matches(labels) == true || new?.selects.matches(labels) == true { affected.append(i) }
            }
        }
        guard ok(old), ok(new), affected.allSatisfy({ !model.endpoints[$0].isHost }) else {
            resolver.dropUnusedCreatedSets()
            return false
        }
        let created = resolver.createdSets
        resolver.replaceCandidate(id, with: new)
        v4.learnSets(created)
        v6.learnSets(created)
        model.policies[id] = new?.policy
        if new != nil { addDerived(id) }
        for i in affected { model.endpoints[i].tiers = resolver.workloadTiers(model.endpoints[i].id) }
        let dirty = new == nil ? [] : PolicyDirection.allCases.map { ChainName.policy(id, $0) }
        updateChains(endpoints: affected, dirtyDerived: dirty, dirtySets: [], &touched)
        if new == nil { for d in PolicyDirection.allCases { derived[ChainName.policy(id, d)] = nil } }
        return true
    }

    private mutating func relabel(_ old: WorkloadEndpoint, _ new: WorkloadEndpoint, _ touched: inout Touched) -> Bool {
        var same = old
        same.metadata.labels = new.metadata.labels
        same.metadata.resourceVersion = new.metadata.resourceVersion
        guard same.metadata == new.metadata, old.spec == new.spec else { return false }
        let id = Resolver.id(of: new)
        let labels = resolver.effectiveLabels(Resolver.ownLabels(new), profiles: new.spec.profiles ?? [])
        let changedSets = resolver.relabel(id, labels: labels)
        var affected: [Int] = []
        if let i = endpointIndex[id], !model.endpoints[i].isHost {
            let tiers = resolver.workloadTiers(id)
            if tiers != model.endpoints[i].tiers {
                model.endpoints[i].tiers = tiers
                affected.append(i)
            }
        }
        updateChains(endpoints: affected, dirtyDerived: [], dirtySets: changedSets, &touched)
        return true
    }

    private mutating func updateChains(endpoints: [Int], dirtyDerived: [String], dirtySets: [String], _ touched: inout Touched) {
        let sets = dirtySets.map { ($0, resolver.ipSets[$0]) }
        v4.update(endpoints: endpoints, dirtyDerived: dirtyDerived, dirtySets: sets, model: model, derived: derived,
                  logical: resolver.ipSets, &touched.v4)
        v6.update(endpoints: endpoints, dirtyDerived: dirtyDerived, dirtySets: sets, model: model, derived: derived,
                  logical: resolver.ipSets, &touched.v6)
    }
}

/// What a policy or profile chain renders.
enum DerivedChain: Sendable, Hashable {
    case policy(PolicyChainID, PolicyDirection)
    case profile(String, PolicyDirection)
}

/// One family's rule set with the reference counts that decide which policy and profile chains
/// and which IP sets it holds (a chain or set is present exactly when something references it,
/// as after ``Table/prunedToReachable()``). Only rule sets with a single (filter) table.
struct FamilyState: Sendable {
    struct Touched: Sendable {
        var chains = Set<String>()
        var sets = Set<String>()
    }

    private(set) var ruleSet: RuleSet
    private var refs: [String: Int] = [:]
    private var setRefs: [String: Int] = [:]
    /// Kernel set name → logical set id.
    private var setIDs: [String: String] = [:]

    init(_ ruleSet: RuleSet, model: ResolvedNode) {
        self.ruleSet = ruleSet
        var ignoredChains = Set<String>(), ignoredSets = Set<String>()
        for table in ruleSet.tables {
            for chain in table.chains { for rule in chain.rules { count(rule, 1, &ignoredChains, &ignoredSets) } }
        }
        learnSets(Array(model.ipSets.keys))
    }

    mutating func learnSets(_ ids: [String]) {
        for id in ids { setIDs[IPSetName.main(id: id, family: ruleSet.family)] = id }
    }

    private mutating func count(_ rule: ChainRule, _ delta: Int, _ chains: inout Set<String>, _ sets: inout Set<String>) {
        if let target = rule.action.target {
            refs[target, default: 0] += delta
            chains.insert(target)
        }
        for criterion in rule.match {
            if let name = criterion.ipSetName {
                setRefs[name, default: 0] += delta
                sets.insert(name)
            }
        }
    }

    mutating func update(
        endpoints: [Int], dirtyDerived: [String], dirtySets: [(String, LogicalIPSet?)], model: ResolvedNode,
        derived: [String: DerivedChain], logical: [String: LogicalIPSet], _ touched: inout Touched
    ) {
        let family = ruleSet.family
        let layout = LayoutBuilder(model: model, family: family)
        var table = ruleSet.tables.removeLast()
        var refChanged = Set<String>()
        var setRefChanged = Set<String>()
        func setChain(_ name: String, _ rules: [ChainRule]?) {
            let (i, found) = table.sortedIndex(of: name)
            if found { for rule in table.chains[i].rules { count(rule, -1, &refChanged, &setRefChanged) } }
            if let rules {
                for rule in rules { count(rule, 1, &refChanged, &setRefChanged) }
                if found { table.chains[i].rules = rules } else { table.chains.insert(Chain(name, rules), at: i) }
            } else if found {
                table.chains.remove(at: i)
            }
            touched.chains.insert(name)
        }
        func build(_ name: String) -> Chain? {
            switch derived[name] {
            case .policy(let id, let d)?: layout.policyChain(id, d)
            case .profile(let p, let d)?: layout.profileChain(p, d)
            case nil: nil
            }
        }
        for i in endpoints {
            for chain in layout.workloadChains(model.endpoints[i]) { setChain(chain.name, chain.rules) }
        }
        for name in dirtyDerived where table.sortedIndex(of: name).found {
            if let chain = build(name) { setChain(name, chain.rules) }
        }
        while let name = refChanged.popFirst() {
            guard derived[name] != nil else { continue }
            let present = table.sortedIndex(of: name).found
            let referenced = (refs[name] ?? 0) > 0
            if referenced && !present, let chain = build(name) {
                setChain(name, chain.rules)
            } else if !referenced && present {
                setChain(name, nil)
            }
        }
        for name in refChanged where (refs[name] ?? 0) <= 0 { refs[name] = nil }
        ruleSet.tables.append(table)

        // Sets: present exactly when referenced; members from the logical set.
        func setIndex(_ name: String) -> (Int, Bool) {
            var low = 0, high = ruleSet.ipSets.count
            while low < high {
                let mid = (low + high) / 2
                if ruleSet.ipSets[mid].name < name { low = mid + 1 } else { high = mid }
            }
            return (low, low < ruleSet.ipSets.count && ruleSet.ipSets[low].name == name)
        }
        func kernelSet(_ name: String, _ set: LogicalIPSet) -> IPSet {
            IPSet(name: name, type: set.isNamedPort ? .hashIPPort : .hashNet, family: family,
                  members: set.members.filter { $0.family == family })
        }
        for name in setRefChanged {
            let (i, present) = setIndex(name)
            let referenced = (setRefs[name] ?? 0) > 0
            if referenced && !present, let id = setIDs[name], let set = logical[id] {
                ruleSet.ipSets.insert(kernelSet(name, set), at: i)
            } else if !referenced && present {
                ruleSet.ipSets.remove(at: i)
            }
            if !referenced { setRefs[name] = nil }
            touched.sets.insert(name)
        }
        for (id, set) in dirtySets {
            let name = IPSetName.main(id: id, family: family)
            let (i, present) = setIndex(name)
            guard present, let set else { continue }
            let members = set.members.filter { $0.family == family }
            if members != ruleSet.ipSets[i].members {
                ruleSet.ipSets[i].members = members
                touched.sets.insert(name)
            }
        }
    }

    /// The update from `old` (this state before the touched changes) to now.
    func diff(from old: RuleSet, _ touched: Touched) -> RuleSetDiff {
        let names = touched.chains.sorted()
        let table = TableDiff(sortedFrom: old.tables[0], to: ruleSet.tables[0], touched: names)
        let setNames = touched.sets.sorted()
        func subset(_ sets: [IPSet]) -> [IPSet] {
            let wanted = Set(setNames)
            return sets.filter { wanted.contains($0.name) }
        }
        let ipSets = IPSetDiff(from: subset(old.ipSets), to: subset(ruleSet.ipSets))
        return RuleSetDiff(old: old, new: ruleSet, tables: table.isEmpty ? [] : [table], ipSets: ipSets)
    }
}
