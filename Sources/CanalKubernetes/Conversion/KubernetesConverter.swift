public import CanalModel

/// Kubernetes objects to Calico v3 resources, with the names, labels and semantics of
/// libcalico-go's converters and of kube-controllers in etcd mode:
///
/// | Kubernetes | Calico |
/// |---|---|
/// | NetworkPolicy `<ns>/<name>` | NetworkPolicy `<ns>/knp.default.<name>`, tier `default`, order 1000 |
/// | Namespace `<ns>` | Profile `kns.<ns>`: allow all in and out, `labelsToApply` `pcns.<key>` and `pcns.projectcalico.org/name` |
/// | ServiceAccount `<ns>/<sa>` | Profile `ksa.<ns>.<sa>`: no rules, `labelsToApply` `pcsa.<key>` and `pcsa.projectcalico.org/name` |
/// | Pod `<ns>/<pod>` on `<node>` | WorkloadEndpoint `<ns>/<node>-k8s-<pod>-eth0` with the pod's labels, addresses, named ports and profiles |
///
/// The metadata of the results is what kube-controllers writes: the name (and namespace) only.
/// Conversions are pure; see ``KubernetesSync`` for what to write and delete as objects come and go.
public struct KubernetesConverter: Sendable, Hashable {
    /// The prefix of Calico NetworkPolicy names converted from Kubernetes NetworkPolicies.
    public static let networkPolicyPrefix = "knp.default."
    /// The prefix of namespace profiles.
    public static let namespaceProfilePrefix = "kns."
    /// The prefix of service account profiles.
    public static let serviceAccountProfilePrefix = "ksa."
    /// The prefix of namespace labels in a namespace profile's `labelsToApply`.
    public static let namespaceLabelPrefix = "pcns."
    /// The prefix of service account labels in a service account profile's `labelsToApply`.
    public static let serviceAccountLabelPrefix = "pcsa."
    /// The label (after its prefix) that carries a namespace's or service account's name.
    public static let nameLabel = "projectcalico.org/name"
    /// The label of a workload endpoint that carries its pod's service account.
    public static let serviceAccountLabel = "projectcalico.org/serviceaccount"
    /// The order of every converted NetworkPolicy.
    public static let policyOrder: Double = 1000

    /// The prefix of host-side interface names (Felix's `FELIX_INTERFACEPREFIX`, first value).
    public var interfacePrefix: String

    /// A converter; `interfacePrefix` names pods' host-side interfaces.
    public init(interfacePrefix: String = "cali") {
        self.interfacePrefix = interfacePrefix
    }

    // MARK: Names

    /// `kns.<namespace>`.
    public static func namespaceProfileName(_ namespace: String) -> String { namespaceProfilePrefix + namespace }

    /// `ksa.<namespace>.<serviceAccount>` (an empty namespace counts as `default`).
    public static func serviceAccountProfileName(namespace: String, serviceAccount: String) -> String {
        serviceAccountProfilePrefix + (namespace.isEmpty ? "default" : namespace) + "." + serviceAccount
    }

    /// `knp.default.<name>`.
    public static func networkPolicyName(_ name: String) -> String { networkPolicyPrefix + name }

    /// The host-side interface of a pod: the prefix and the first 11 hex digits of SHA-1(`<namespace>.<pod>`).
    public func interfaceName(namespace: String, pod: String) -> String {
        interfacePrefix + String(sha1Hex(Array("\(namespace).\(pod)".utf8)).prefix(11))
    }

    // MARK: Namespace and ServiceAccount

    /// The profile `kns.<ns>` of a namespace: ingress and egress allow all; `labelsToApply` holds
    /// every label of the namespace with the prefix `pcns.`, and `pcns.projectcalico.org/name: <ns>`.
    public func profile(for namespace: KubernetesNamespace) -> Profile {
        let name = namespace.metadata.name ?? ""
        var labels: [String: String] = [:]
        for (k, v) in namespace.metadata.labels ?? [:] { labels[Self.namespaceLabelPrefix + k] = v }
        labels[Self.namespaceLabelPrefix + Self.nameLabel] = name
        return Profile(
            metadata: ObjectMeta(name: Self.namespaceProfileName(name)),
            spec: ProfileSpec(ingress: [Rule(action: .allow)], egress: [Rule(action: .allow)], labelsToApply: labels))
    }

    /// The profile `ksa.<ns>.<sa>` of a service account: no rules; `labelsToApply` holds every label
    /// with the prefix `pcsa.`, and `pcsa.projectcalico.org/name: <sa>`.
    public func profile(for serviceAccount: KubernetesServiceAccount) -> Profile {
        let name = serviceAccount.metadata.name ?? ""
        var labels: [String: String] = [:]
        for (k, v) in serviceAccount.metadata.labels ?? [:] { labels[Self.serviceAccountLabelPrefix + k] = v }
        labels[Self.serviceAccountLabelPrefix + Self.nameLabel] = name
        return Profile(
            metadata: ObjectMeta(name: Self.serviceAccountProfileName(namespace: serviceAccount.metadata.namespace ?? "", serviceAccount: name)),
            spec: ProfileSpec(labelsToApply: labels))
    }

    // MARK: NetworkPolicy

    /// The Calico NetworkPolicy `knp.default.<name>` of a Kubernetes NetworkPolicy, in its namespace,
    /// after the API server's defaults (see ``KubernetesNetworkPolicy/withAPIServerDefaults()``):
    ///
    /// - tier `default`, order 1000; the selector is the pod selector prefixed with
    ///   `projectcalico.org/orchestrator == 'k8s'`;
    /// - types from `policyTypes`, Ingress first;
    /// - each Kubernetes rule becomes one Allow rule per protocol (sorted: no protocol, SCTP, TCP,
    ///   UDP) and per peer; a protocol's ports are merged into the fewest ranges (named ports
    ///   first), and a port entry without a number allows every port of its protocol;
    /// - a peer's pod selector and namespace selector become `selector` and `namespaceSelector`
    ///   (an empty namespace selector is `all()`, none means the policy's namespace), an `ipBlock`
    ///   becomes `nets` and `notNets` (masked to their networks).
    ///
    /// - Throws: ``KubernetesError/Code/invalid`` when the policy breaks a rule of the API server.
    public func networkPolicy(for policy: KubernetesNetworkPolicy) throws(KubernetesError) -> NetworkPolicy {
        try KubernetesValidation.validate(.networkPolicy(policy))
        let p = policy.withAPIServerDefaults()
        var ingress: [Rule] = []
        for rule in p.spec.ingress ?? [] { ingress += Self.rules(peers: rule.from ?? [], ports: rule.ports ?? [], ingress: true) }
        var egress: [Rule] = []
        for rule in p.spec.egress ?? [] { egress += Self.rules(peers: rule.to ?? [], ports: rule.ports ?? [], ingress: false) }
        let declared = p.spec.policyTypes ?? []
        var types: [PolicyType] = []
        if declared.contains("Ingress") { types.append(.ingress) }
        if declared.contains("Egress") { types.append(.egress) }
        if types.isEmpty { types = [.ingress] }
        return NetworkPolicy(
            metadata: ObjectMeta(name: Self.networkPolicyName(p.metadata.name ?? ""), namespace: p.metadata.namespace ?? "default"),
            spec: NetworkPolicySpec(
                tier: "default", order: Self.policyOrder, ingress: ingress.isEmpty ? nil : ingress,
                egress: egress.isEmpty ? nil : egress,
                selector: SelectorConversion.calico(p.spec.podSelector ?? LabelSelector(), .pods), types: types))
    }

    static func rules(peers: [KubernetesNetworkPolicy.Peer], ports: [KubernetesNetworkPolicy.Port], ingress: Bool) -> [Rule] {
        // Ports by protocol; a protocol in `allPorts` allows every port.
        var byProtocol: [String: [Port]] = [:]
        var allPorts: Set<String> = []
        let anyTraffic = ports.isEmpty
        for port in ports {
            let proto = port.protocol ?? "TCP"
            guard let number = port.port else {
                allPorts.insert(proto)
                byProtocol[proto] = nil
                continue
            }
            if allPorts.contains(proto) { continue }
            let calicoPort: Port =
                switch number {
                case .string(let name): .named(name)
                case .int(let n): .range(UInt16(n), UInt16(port.endPort ?? n))
                }
            byProtocol[proto, default: []].append(calicoPort)
        }
        let protocols: [String?] = anyTraffic ? [nil] : Set(byProtocol.keys).union(allPorts).sorted()
        let peerList: [KubernetesNetworkPolicy.Peer?] = peers.isEmpty ? [nil] : peers
        var out: [Rule] = []
        for proto in protocols {
            let calicoPorts: [Port]? = proto.flatMap { allPorts.contains($0) ? nil : simplify(byProtocol[$0] ?? []) }
            for peer in peerList {
                var entity = peer.map(Self.entity) ?? EntityRule()
                let protocolValue = proto.flatMap(ProtocolValue.init)
                if ingress {
                    out.append(Rule(action: .allow, protocol: protocolValue, source: entity, destination: EntityRule(ports: calicoPorts)))
                } else {
                    entity.ports = calicoPorts
                    out.append(Rule(action: .allow, protocol: protocolValue, destination: entity))
                }
            }
        }
        return out
    }

    static func entity(_ peer: KubernetesNetworkPolicy.Peer) -> EntityRule {
        if let block = peer.ipBlock {
            let nets = CIDR(block.cidr).map { [$0.network.description] }
            let except = (block.except ?? []).compactMap { CIDR($0)?.network.description }
            return EntityRule(nets: nets, notNets: except.isEmpty ? nil : except)
        }
        let selector = SelectorConversion.calico(peer.podSelector, .pods)
        let namespaceSelector = SelectorConversion.calico(peer.namespaceSelector, .namespaces)
        return EntityRule(selector: selector.isEmpty ? nil : selector,
                          namespaceSelector: namespaceSelector.isEmpty ? nil : namespaceSelector)
    }

    /// The fewest port ranges covering `ports`, as Calico's `SimplifyPorts`: named ports first, in
    /// order, then the numeric ports merged into ascending ranges (adjacent and overlapping ranges
    /// join). A list with at most one numeric port is returned unchanged.
    static func simplify(_ ports: [Port]) -> [Port] {
        guard ports.count > 1 else { return ports }
        let named = ports.filter(\.isNamed)
        let ranges = ports.filter { !$0.isNamed }.map { (Int($0.minPort), Int($0.maxPort)) }.sorted { $0 < $1 }
        if ranges.reduce(0, { $0 + $1.1 - $1.0 + 1 }) <= 1 { return ports }
        var merged: [(Int, Int)] = []
        for r in ranges {
            if let last = merged.last, r.0 <= last.1 + 1 {
                merged[merged.count - 1].1 = max(last.1, r.1)
            } else {
                merged.append(r)
            }
        }
        return named + merged.map { .range(UInt16($0.0), UInt16($0.1)) }
    }

    // MARK: Pod

    /// Why a pod has no workload endpoint, or nil when it has one: host-networked pods and pods
    /// not yet scheduled to a node have none (Calico's `IsValidCalicoWorkloadEndpoint`).
    public static func workloadEndpointAbsence(_ pod: KubernetesPod) -> String? {
        if pod.spec.hostNetwork == true { return "the pod uses the host's network" }
        if pod.spec.nodeName?.isEmpty ?? true { return "the pod is not scheduled to a node (spec.nodeName is empty)" }
        return nil
    }

    /// The workload endpoint of a pod, or nil for a pod that has none (see ``workloadEndpointAbsence(_:)``):
    ///
    /// - name `<node>-k8s-<pod>-eth0` in the pod's namespace; interface from ``interfaceName(namespace:pod:)``;
    /// - labels: the pod's, then `projectcalico.org/namespace`, `projectcalico.org/orchestrator: k8s`
    ///   and `projectcalico.org/serviceaccount` (when the name is shorter than 63 characters);
    /// - profiles `kns.<ns>` and, with a service account, `ksa.<ns>.<sa>`;
    /// - addresses from `status.podIPs`, `status.podIP`, or the annotations
    ///   `cni.projectcalico.org/podIPs`, `cni.projectcalico.org/podIP`, `vpc.amazonaws.com/pod-ips`,
    ///   none once the pod has finished (Succeeded, Failed, Completed);
    /// - ports: every container and init container port with a number and a name or host port
    ///   (TCP, UDP, SCTP; others are skipped);
    /// - `containerID` from `cni.projectcalico.org/containerID`, `ipNATs` from
    ///   `cni.projectcalico.org/floatingIPs`, `allowSpoofedSourcePrefixes` from
    ///   `cni.projectcalico.org/allowedSourcePrefixes`.
    ///
    /// The pod is taken as the API server holds it (``KubernetesObject/decode(_:defaultNamespace:)``
    /// checks it); as in Calico, names are not checked again here.
    ///
    /// - Throws: ``KubernetesError``: ``KubernetesError/Code/invalid`` for an address or annotation
    ///   that does not parse, ``KubernetesError/Code/unconvertible`` when the endpoint cannot be named.
    public func workloadEndpoint(for pod: KubernetesPod) throws(KubernetesError) -> WorkloadEndpoint? {
        guard Self.workloadEndpointAbsence(pod) == nil else { return nil }
        let meta = pod.metadata
        let namespace = meta.namespace ?? "default"
        let podName = meta.name ?? ""
        let annotations = meta.annotations ?? [:]
        let serviceAccount = pod.spec.serviceAccountName ?? ""
        func invalid(_ path: FieldPath, _ message: String) -> KubernetesError {
            KubernetesError(.invalid, "Pod \"\(podName)\" cannot be converted", fieldErrors: [FieldError(path, message)])
        }

        var profiles = [Self.namespaceProfileName(namespace)]
        if !serviceAccount.isEmpty { profiles.append(Self.serviceAccountProfileName(namespace: namespace, serviceAccount: serviceAccount)) }

        var addressTexts: [String] = []
        var source: FieldPath = "status.podIPs"
        if let ips = pod.status.podIPs, !ips.isEmpty {
            addressTexts = ips.map(\.ip)
        } else if let ip = pod.status.podIP, !ip.isEmpty {
            addressTexts = [ip]
            source = "status.podIP"
        } else if let ips = annotations["cni.projectcalico.org/podIPs"], !ips.isEmpty {
            addressTexts = ips.split(separator: ",").map(String.init)
            source = FieldPath("metadata.annotations")["cni.projectcalico.org/podIPs"]
        } else if let ip = annotations["cni.projectcalico.org/podIP"], !ip.isEmpty {
            addressTexts = [ip]
            source = FieldPath("metadata.annotations")["cni.projectcalico.org/podIP"]
        } else if let ips = annotations["vpc.amazonaws.com/pod-ips"], !ips.isEmpty {
            addressTexts = ips.split(separator: ",").map(String.init)
            source = FieldPath("metadata.annotations")["vpc.amazonaws.com/pod-ips"]
        }
        var addresses: [CIDR] = []
        for text in addressTexts {
            guard let cidr = CIDR(ipOrCIDR: text) else { throw invalid(source, "Invalid value: \"\(text)\": not an IP address") }
            addresses.append(cidr)
        }
        if Self.isFinished(pod) { addresses = [] }

        var labels = meta.labels ?? [:]
        labels[CalicoLabel.namespace] = namespace
        labels[CalicoLabel.orchestrator] = "k8s"
        if !serviceAccount.isEmpty, serviceAccount.utf8.count < 63 { labels[Self.serviceAccountLabel] = serviceAccount }

        var nats: [IPNAT] = []
        if let text = annotations["cni.projectcalico.org/floatingIPs"], !addresses.isEmpty {
            let path = FieldPath("metadata.annotations")["cni.projectcalico.org/floatingIPs"]
            guard let external = Self.stringList(text) else { throw invalid(path, "Invalid value: \"\(text)\": expected a JSON list of addresses") }
            let v4 = addresses.first { $0.family == .v4 }
            let v6 = addresses.first { $0.family == .v6 }
            for ip in external {
                if let internalIP = ip.contains(":") ? v6 : v4 {
                    nats.append(IPNAT(internalIP: internalIP.address.description, externalIP: ip))
                }
            }
        }
        var spoofed: [String] = []
        if let text = annotations["cni.projectcalico.org/allowedSourcePrefixes"], !text.isEmpty {
            let path = FieldPath("metadata.annotations")["cni.projectcalico.org/allowedSourcePrefixes"]
            guard let prefixes = Self.stringList(text) else { throw invalid(path, "Invalid value: \"\(text)\": expected a JSON list of CIDRs") }
            for prefix in prefixes {
                guard let cidr = CIDR(prefix) else { throw invalid(path, "Invalid value: \"\(prefix)\": not a CIDR") }
                spoofed.append(cidr.network.description)
            }
        }

        var ports: [WorkloadEndpointPort] = []
        for container in (pod.spec.containers ?? []) + (pod.spec.initContainers ?? []) {
            for port in container.ports ?? [] {
                let name = port.name ?? ""
                let hostPort = port.hostPort ?? 0
                guard port.containerPort != 0, hostPort != 0 || !name.isEmpty,
                      let number = UInt16(exactly: port.containerPort), let host = UInt16(exactly: hostPort) else { continue }
                let proto: ProtocolValue
                switch port.protocol ?? "TCP" {
                case "TCP", "": proto = .tcp
                case "UDP": proto = .udp
                case "SCTP": proto = .sctp
                default: continue
                }
                ports.append(WorkloadEndpointPort(name: name, protocol: proto, port: number, hostPort: host, hostIP: port.hostIP ?? ""))
            }
        }

        var spec = WorkloadEndpointSpec(
            orchestrator: "k8s", node: pod.spec.nodeName, pod: podName, endpoint: "eth0",
            serviceAccountName: serviceAccount.isEmpty ? nil : serviceAccount,
            ipNetworks: addresses.isEmpty ? nil : addresses.map(\.description), ipNATs: nats.isEmpty ? nil : nats,
            profiles: profiles, interfaceName: interfaceName(namespace: namespace, pod: podName),
            ports: ports.isEmpty ? nil : ports, allowSpoofedSourcePrefixes: spoofed.isEmpty ? nil : spoofed)
        if let id = annotations["cni.projectcalico.org/containerID"], !id.isEmpty { spec.containerID = id }
        let name: String
        do {
            name = try spec.derivedName()
        } catch {
            throw KubernetesError(.unconvertible, "Pod \"\(podName)\" has no valid WorkloadEndpoint name", fieldErrors: error.fieldErrors)
        }
        return WorkloadEndpoint(metadata: ObjectMeta(name: name, namespace: namespace, labels: labels), spec: spec)
    }

    /// Whether a pod no longer owns its addresses: Succeeded, Failed or Completed, or being
    /// deleted after Calico's CNI plugin cleared its address annotation.
    public static func isFinished(_ pod: KubernetesPod) -> Bool {
        let annotations = pod.metadata.annotations ?? [:]
        if pod.metadata.deletionTimestamp != nil,
           annotations["cni.projectcalico.org/podIP"] == "" || annotations["vpc.amazonaws.com/pod-ips"] == "" {
            return true
        }
        return ["Failed", "Succeeded", "Completed"].contains(pod.status.phase ?? "")
    }

    private static func stringList(_ text: String) -> [String]? {
        guard let value = try? JSONValue(parsing: text), case .array(let items) = value else { return nil }
        let strings = items.compactMap(\.stringValue)
        return strings.count == items.count ? strings : nil
    }

    // MARK: Any object

    /// The Calico resources an object becomes (none for a pod without a workload endpoint).
    ///
    /// - Throws: ``KubernetesError`` from the conversion of its kind.
    public func convert(_ object: KubernetesObject) throws(KubernetesError) -> [any AnyResource] {
        switch object {
        case .networkPolicy(let p): return [try networkPolicy(for: p)]
        case .namespace(let n): return [profile(for: n.withAPIServerDefaults())]
        case .serviceAccount(let s): return [profile(for: s)]
        case .pod(let p): return try workloadEndpoint(for: p).map { [$0] } ?? []
        }
    }

    /// The Calico resources of a set of objects, in the order of the objects.
    ///
    /// - Throws: the first ``KubernetesError``, with the object's reference in its message.
    public func convert(_ objects: [KubernetesObject]) throws(KubernetesError) -> [any AnyResource] {
        var out: [any AnyResource] = []
        for object in objects {
            do throws(KubernetesError) {
                out += try convert(object)
            } catch {
                var e = error
                e.message = "\(object.reference): \(e.message)"
                throw e
            }
        }
        return out
    }
}
