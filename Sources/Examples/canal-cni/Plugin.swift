import CanalCNI
import CanalDatastore
import CanalIPAM
import CanalModel
import CanalToolSupport
import Foundation

/// ADD, DEL and CHECK for one invocation against one datastore.
struct Plugin<Store: KeyValueStore>: Sendable {
    let invocation: CNIInvocation
    let config: NetworkConfig
    let stdin: [UInt8]
    let identity: WorkloadIdentity
    let resources: ResourceClient<Store>
    let ipam: IPAMClient<Store>
    let dataplane: Dataplane
    let log: Log
    let interfacePrefix: String

    var usesCanalIPAM: Bool { config.ipamType == NetworkConfig.canalIPAMType }

    // MARK: ADD

    func add() async throws(CNIError) -> String {
        let name = try identity.endpointName()
        if usesCanalIPAM { _ = try invocation.requestedAddresses() }
        try await requireDatastoreReady()
        guard FileManager.default.fileExists(atPath: invocation.netns) else {
            throw .unknownContainer("the container's network namespace \(invocation.netns) does not exist")
        }
        let existing = try await endpoint(named: name)
        if let existing, existing.spec.containerID == identity.containerID {
            throw .alreadyExists("container \(identity.containerID) already has the endpoint \(name) on network \(config.name)",
                                 details: "DEL it first")
        }
        let assigned = try await assignAddresses()
        log.info("assigned \(assigned.ips.map(\.address.description))")
        let hostName = identity.hostInterfaceName(prefix: interfacePrefix)
        var vethCreated = false
        do {
            let addresses = assigned.ips.map(\.address.address)
            let routes = containerRoutes(orchestrator: identity.orchestrator, families: Set(addresses.map(\.family)),
                                         ipamRoutes: config.ipamRoutes, includeDefaultRoutes: config.includeDefaultRoutes)
            let workload = Dataplane.Workload(netns: invocation.netns, ifName: invocation.ifName, hostName: hostName,
                                              mtu: mtu(), addresses: addresses, routes: routes,
                                              allowIPForwarding: config.allowIPForwarding)
            let mac = try dataplane.setUp(workload)
            vethCreated = true
            log.info("created \(hostName) <-> \(invocation.ifName) (\(mac)) in \(invocation.netns)")
            if config.policyType.isEmpty { try await ensureNetworkProfile() }
            var endpoint = try identity.workloadEndpoint(addresses: addresses, interfaceName: hostName, mac: mac,
                                                         profiles: identity.profiles(policyType: config.policyType))
            try await write(&endpoint, replacing: existing)
            log.info("wrote WorkloadEndpoint \(identity.namespace)/\(name)")
            let result = CNIResult(
                interfaces: [.init(name: hostName), .init(name: invocation.ifName, mac: mac, sandbox: invocation.netns)],
                ips: addresses.map { .init(address: CIDR(address: $0, prefixLength: $0.family.bitCount)!, interface: 1) },
                routes: routes.map { .init(dst: $0, gw: $0.family == .v4 ? CalicoGateway.ipv4 : CalicoGateway.ipv6) },
                dns: assigned.dns)
            return result.json(cniVersion: config.cniVersion, version: config.version).jsonText
        } catch {
            log.warning("ADD failed, rolling back: \(error)")
            if vethCreated { dataplane.removeHostInterface(hostName) }
            do {
                try await releaseAddresses()
            } catch let release {
                log.error("rollback: cannot release the addresses: \(release)")
            }
            throw error
        }
    }

    /// Calico's check of `ClusterInformation default .spec.datastoreReady`: false means the
    /// cluster is being upgraded or restored, so try again later. A missing object is accepted
    /// (a fresh embedded store).
    private func requireDatastoreReady() async throws(CNIError) {
        do {
            let info = try await resources.get(ClusterInformation.self, name: "default")
            if info.spec.datastoreReady == false {
                throw CNIError.tryAgainLater("the datastore is not ready", details: "ClusterInformation default has datastoreReady=false")
            }
        } catch let error as CNIError {
            throw error
        } catch let error as DatastoreError where error.code == .notFound {
            return
        } catch {
            throw Self.map(error, "cannot read ClusterInformation")
        }
    }

    private func mtu() -> Int {
        if config.mtu > 0 { return config.mtu }
        if let text = try? String(contentsOfFile: "/var/lib/calico/mtu", encoding: .utf8), let n = Int(text.trimmed), n > 0 { return n }
        return 1500
    }

    private func endpoint(named name: String) async throws(CNIError) -> WorkloadEndpoint? {
        do {
            return try await resources.get(WorkloadEndpoint.self, name: name, namespace: identity.namespace)
        } catch let error as DatastoreError where error.code == .notFound {
            return nil
        } catch {
            throw Self.map(error, "cannot read the WorkloadEndpoint \(identity.namespace)/\(name)")
        }
    }

    private func write(_ endpoint: inout WorkloadEndpoint, replacing existing: WorkloadEndpoint?) async throws(CNIError) {
        do {
            if let existing {
                endpoint.metadata.resourceVersion = existing.metadata.resourceVersion
                endpoint.metadata.uid = existing.metadata.uid
                endpoint.metadata.creationTimestamp = existing.metadata.creationTimestamp
                endpoint = try await resources.update(endpoint)
            } else {
                endpoint = try await resources.create(endpoint)
            }
        } catch {
            throw Self.map(error, "cannot write the WorkloadEndpoint")
        }
    }

    private func ensureNetworkProfile() async throws(CNIError) {
        do {
            _ = try await resources.get(Profile.self, name: config.name)
        } catch let error as DatastoreError where error.code == .notFound {
            do {
                _ = try await resources.create(identity.networkProfile())
                log.info("created the profile \(config.name)")
            } catch let error as DatastoreError where error.code == .alreadyExists {
                return
            } catch {
                throw Self.map(error, "cannot create the profile \(config.name)")
            }
        } catch {
            throw Self.map(error, "cannot read the profile \(config.name)")
        }
    }

    // MARK: IPAM

    /// The addresses (with their block or subnet prefix) and DNS from canal-ipam or the delegate.
    private func assignAddresses() async throws(CNIError) -> CNIResult {
        guard usesCanalIPAM else {
            let result = try delegateIPAM(.add)
            guard !result.ips.isEmpty else {
                try? releaseDelegate()
                throw .ipam("IPAM plugin \(config.ipamType) returned no IP addresses")
            }
            return result
        }
        let timestamp = ISO8601DateFormatter().string(from: Date())
        let requested = try invocation.requestedAddresses()
        if !requested.isEmpty { return try await assignRequested(requested, timestamp: timestamp) }
        let request = AutoAssignRequest(
            host: identity.node, ipv4: config.assignIPv4 ? 1 : 0, ipv6: config.assignIPv6 ? 1 : 0,
            handle: identity.ipamHandle, attributes: identity.ipamAttributes(timestamp: timestamp),
            ipv4Pools: config.ipv4Pools, ipv6Pools: config.ipv6Pools)
        let assigned: AutoAssignResult
        do {
            assigned = try await ipam.autoAssign(request)
        } catch {
            try? await releaseCanalIPAM()
            throw Self.map(error, "cannot assign an address")
        }
        if let partial = assigned.partialFulfillmentError {
            try? await releaseCanalIPAM()
            throw .ipam("cannot assign an address", details: partial.message)
        }
        return CNIResult(ips: assigned.addresses.map { .init(address: $0) })
    }

    /// `IP=` in `CNI_ARGS`: exactly those addresses (Calico's `AssignIP`), whatever `assign_ipv4`
    /// and `assign_ipv6` say; an address that is taken or in no pool fails the ADD.
    private func assignRequested(_ addresses: [IPAddress], timestamp: String) async throws(CNIError) -> CNIResult {
        for address in addresses {
            do {
                try await ipam.assignIP(address, handle: identity.ipamHandle,
                                        attributes: identity.ipamAttributes(timestamp: timestamp), host: identity.node)
            } catch {
                try? await releaseCanalIPAM()
                throw Self.map(error, "cannot assign the requested address \(address)")
            }
        }
        return CNIResult(ips: addresses.map { .init(address: CIDR(address: $0, prefixLength: $0.family.bitCount)!) })
    }

    private func releaseAddresses() async throws(CNIError) {
        if usesCanalIPAM { try await releaseCanalIPAM() } else { try releaseDelegate() }
    }

    /// Releases by `<network>.<containerID>`, then by the legacy workload handle; a missing handle is fine.
    private func releaseCanalIPAM() async throws(CNIError) {
        for handle in [identity.ipamHandle, identity.legacyIPAMHandle] {
            do {
                try await ipam.releaseByHandle(handle)
                log.info("released the addresses of handle \(handle)")
            } catch where error.code == .notFound {
                continue
            } catch {
                throw Self.map(error, "cannot release the addresses of handle \(handle)")
            }
        }
    }

    private func releaseDelegate() throws(CNIError) { _ = try delegateIPAM(.del) }

    /// Runs the IPAM plugin `ipam.type` from `CNI_PATH` with the same config, as CNI requires.
    private func delegateIPAM(_ command: CNICommand) throws(CNIError) -> CNIResult {
        let candidates: [String] = invocation.path.map { dir in dir + "/" + config.ipamType }
        guard let plugin = candidates.first(where: { path in access(path, X_OK) == 0 }) else {
            throw .invalidConfig("failed to find plugin \"\(config.ipamType)\" in path \(invocation.path)")
        }
        let out = try Command.run(plugin, [], input: stdin, environment: ["CNI_COMMAND": command.rawValue])
        log.debug("\(plugin) \(command.rawValue) exited \(out.status): \(out.stdoutText) \(out.stderrText)")
        guard out.status == 0 else {
            if let value = try? JSONValue(parsing: out.stdout), let error = CNIError(json: value) { throw error }
            throw .ipam("IPAM plugin \(config.ipamType) failed (exit \(out.status))", details: (out.stdoutText + out.stderrText).trimmed)
        }
        guard command == .add else { return CNIResult() }
        let value: JSONValue
        do throws(ModelError) {
            value = try JSONValue(parsing: out.stdout)
        } catch {
            throw .decode("cannot parse the result of IPAM plugin \(config.ipamType)", details: error.message)
        }
        return try CNIResult(json: value)
    }

    // MARK: DEL

    func del() async throws(CNIError) {
        let name = try identity.endpointName()
        // A datastore error aborts DEL, so the endpoint is never lost while its addresses are kept.
        let existing = try await endpoint(named: name)
        let owned = existing.map { $0.spec.containerID == identity.containerID } ?? false
        var ipamError: CNIError?
        do {
            try await releaseAddresses()
        } catch {
            ipamError = error
        }
        if owned {
            do {
                _ = try await resources.delete(WorkloadEndpoint.self, name: name, namespace: identity.namespace)
                log.info("deleted WorkloadEndpoint \(identity.namespace)/\(name)")
            } catch let error as DatastoreError where error.code == .notFound {
            } catch {
                throw Self.map(error, "cannot delete the WorkloadEndpoint")
            }
        } else if existing != nil {
            log.info("keeping WorkloadEndpoint \(name): it belongs to container \(existing?.spec.containerID ?? "")")
        }
        try dataplane.tearDown(netns: invocation.netns, ifName: invocation.ifName,
                               hostName: owned ? existing?.spec.interfaceName : nil)
        if let ipamError { throw ipamError }
    }

    // MARK: CHECK

    func check() async throws(CNIError) {
        guard config.version >= .v0_4_0 else {
            throw .incompatibleVersion("config version does not allow CHECK", details: "cniVersion \(config.version) < 0.4.0")
        }
        guard let prev = config.prevResult else { throw .invalidConfig("CHECK requires prevResult") }
        let previous = try CNIResult(json: prev)
        guard FileManager.default.fileExists(atPath: invocation.netns) else {
            throw .unknownContainer("the container's network namespace \(invocation.netns) does not exist")
        }
        let name = try identity.endpointName()
        guard let endpoint = try await endpoint(named: name) else {
            throw .checkFailed("the WorkloadEndpoint \(identity.namespace)/\(name) does not exist")
        }
        var problems: [String] = []
        if endpoint.spec.containerID != identity.containerID {
            problems.append("the WorkloadEndpoint belongs to container \(endpoint.spec.containerID ?? "")")
        }
        let addresses = previous.ips.map(\.address.address)
        let networks = Set(addresses.map { "\($0)/\($0.family.bitCount)" })
        if Set(endpoint.spec.ipNetworks ?? []) != networks {
            problems.append("the WorkloadEndpoint has \(endpoint.spec.ipNetworks ?? []), prevResult \(networks.sorted())")
        }
        let hostName = endpoint.spec.interfaceName ?? identity.hostInterfaceName(prefix: interfacePrefix)
        if let first = previous.interfaces.first, first.name != hostName {
            problems.append("prevResult names host interface \(first.name), the WorkloadEndpoint \(hostName)")
        }
        if usesCanalIPAM {
            do {
                let held = Set(try await ipam.ipsByHandle(identity.ipamHandle))
                for a in addresses where !held.contains(a) { problems.append("\(a) is not held by IPAM handle \(identity.ipamHandle)") }
            } catch where error.code == .notFound {
                problems.append("IPAM handle \(identity.ipamHandle) does not exist")
            } catch {
                throw Self.map(error, "cannot read IPAM handle \(identity.ipamHandle)")
            }
        } else {
            _ = try delegateIPAM(.check)
        }
        let workload = Dataplane.Workload(netns: invocation.netns, ifName: invocation.ifName, hostName: hostName, mtu: 0,
                                          addresses: addresses, routes: previous.routes.map(\.dst), allowIPForwarding: false)
        problems += try dataplane.verify(workload)
        if !problems.isEmpty { throw .checkFailed("CHECK failed for container \(identity.containerID)", details: problems.joined(separator: "; ")) }
    }

    // MARK: Errors

    /// Datastore and IPAM errors as CNI errors: unreachable → 11, others → 101 (IPAM) or 103.
    static func map(_ error: any Error, _ context: String) -> CNIError {
        switch error {
        case let e as CNIError: return e
        case let e as DatastoreError:
            if e.code == .unavailable || e.code == .timeout { return .tryAgainLater("\(context): the datastore is unreachable", details: e.message) }
            return .datastore(context, details: e.message)
        case let e as IPAMError:
            if let d = e.datastoreError, d.code == .unavailable || d.code == .timeout {
                return .tryAgainLater("\(context): the datastore is unreachable", details: d.message)
            }
            return .ipam(context, details: e.message)
        case let e as ModelError:
            return .datastore(context, details: e.message + e.fieldErrors.map { "; \($0)" }.joined())
        default:
            return .datastore(context, details: "\(error)")
        }
    }
}
