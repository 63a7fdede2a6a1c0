public import CanalDatastore
public import CanalModel
import Foundation

/// What a lease records about its host (flannel `LeaseAttrs`):
/// `{"PublicIP":"192.168.64.3","PublicIPv6":null,"BackendType":"vxlan","BackendData":{…}}`.
public struct FlannelLeaseAttributes: Sendable, Hashable {
    /// The host's public address: the lease's owner.
    public var publicIP: IPAddress
    /// The backend type (`vxlan`, `host-gw`, ...); omitted when empty.
    public var backendType: String
    /// Backend data (for vxlan `{"VNI":1,"VtepMAC":"…"}`); omitted when nil.
    public var backendData: JSONValue?

    /// Creates lease attributes.
    public init(publicIP: IPAddress, backendType: String = "", backendData: JSONValue? = nil) {
        self.publicIP = publicIP
        self.backendType = backendType
        self.backendData = backendData
    }

    /// The JSON flannel writes.
    public var jsonBytes: [UInt8] {
        var w = JSONWriter(capacity: 96)
        w.raw("{\"PublicIP\":")
        w.string(publicIP.description)
        w.raw(",\"PublicIPv6\":null")
        if !backendType.isEmpty {
            w.raw(",\"BackendType\":")
            w.string(backendType)
        }
        var bytes = w.bytes
        if let backendData {
            bytes += Array(",\"BackendData\":".utf8) + Array(backendData.jsonText.utf8)
        }
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }

    /// Parses lease attributes.
    public init(json bytes: [UInt8]) throws(IPAMError) {
        guard let object = (try? JSONValue(parsing: bytes))?.objectValue else {
            throw IPAMError(.corruptData, "a flannel lease is not a JSON object")
        }
        func field(_ name: String) -> JSONValue? { object.first(where: { $0.key.lowercased() == name.lowercased() })?.value }
        guard let text = field("PublicIP")?.stringValue, let ip = IPAddress(text) else {
            throw IPAMError(.corruptData, "a flannel lease has no PublicIP")
        }
        let data = field("BackendData")
        self.init(publicIP: ip, backendType: field("BackendType")?.stringValue ?? "", backendData: data?.isNull == true ? nil : data)
    }
}

/// A subnet lease held in the datastore.
public struct FlannelLease: Sendable, Hashable {
    /// The host's subnet.
    public var subnet: CIDR
    /// The host's attributes.
    public var attributes: FlannelLeaseAttributes
    /// The etcd lease the key is attached to (nil: a permanent reservation).
    public var lease: LeaseID?
    /// The key's mod revision when read.
    public var revision: Revision

    /// The lease a subnet key holds (`<prefix>/subnets/10.5.52.0-24`, dual-stack keys by their IPv4
    /// part); nil when the key names no subnet, `corruptData` when the value is not a lease.
    public init?(_ kv: KeyValue) throws(IPAMError) {
        guard let segment = kv.keyString.split(separator: "/").last,
              let subnet = IPAMKeys.parseCIDRSegment(segment.split(separator: "&").first ?? segment)
        else { return nil }
        self.init(subnet: subnet, attributes: try FlannelLeaseAttributes(json: kv.value), lease: kv.lease, revision: kv.modRevision)
    }

    init(subnet: CIDR, attributes: FlannelLeaseAttributes, lease: LeaseID?, revision: Revision) {
        self.subnet = subnet
        self.attributes = attributes
        self.lease = lease
        self.revision = revision
    }
}

/// flannel's subnet manager on the datastore (flannel `pkg/subnet/etcd`): the network config at
/// `<prefix>/config`, and one key per host subnet at `<prefix>/subnets/<a.b.c.d-len>` attached to
/// an etcd lease of ``ttl`` (24 h as flannel's).
public struct FlannelSubnetManager<Store: KeyValueStore>: Sendable {
    /// The store.
    public let store: Store
    /// The key prefix (flannel's `--etcd-prefix`, default `/coreos.com/network`).
    public let prefix: String
    /// The lease time to live.
    public let ttl: Duration

    /// A manager over `store`.
    public init(store: Store, prefix: String = "/coreos.com/network", ttl: Duration = .seconds(24 * 3600)) {
        self.store = store
        self.prefix = prefix.hasSuffix("/") ? String(prefix.dropLast()) : prefix
        self.ttl = ttl
    }

    /// `<prefix>/config`.
    public var configKey: String { prefix + "/config" }
    /// `<prefix>/subnets/<a.b.c.d-len>`.
    public func subnetKey(_ subnet: CIDR) -> String { prefix + "/subnets/" + IPAMKeys.cidrSegment(subnet) }

    /// The stored network configuration, validated with flannel's defaults; `notFound` when absent.
    public func config() async throws(IPAMError) -> FlannelNetworkConfig {
        guard let kv = try await ipam({ try await store.get(configKey.bytes) }) else {
            throw IPAMError(.notFound, "no flannel network config at \(configKey)")
        }
        return try FlannelNetworkConfig(json: kv.value).validated()
    }

    /// Validates and writes the network configuration (as given, without the filled-in defaults).
    public func setConfig(_ config: FlannelNetworkConfig) async throws(IPAMError) {
        _ = try config.validated()
        _ = try await ipam { try await store.put(configKey.bytes, value: config.jsonBytes) }
    }

    /// Every lease, by subnet.
    public func leases() async throws(IPAMError) -> [FlannelLease] {
        try await ipam {
            let list = try await store.list(prefix: (prefix + "/subnets/").bytes)
            return try list.items.compactMap { kv throws -> FlannelLease? in try FlannelLease(kv) }
        }
    }

    /// Acquires a subnet for the host, as flannel does: the lease already holding the host's
    /// `PublicIP` is renewed when it still fits the config (deleted otherwise); else `previous`
    /// (the subnet in an old `subnet.env`) when free; else a random subnet among up to 100 free ones
    /// from SubnetMin (so the network's first subnet is never used). Created with create-if-absent
    /// on a fresh etcd lease; a lost race picks again (up to 10 tries). Throws `outOfSubnets`.
    public func acquire(
        _ attributes: FlannelLeaseAttributes, previous: CIDR? = nil,
        choose: @Sendable ([CIDR]) -> CIDR = { $0.randomElement()! }
    ) async throws(IPAMError) -> FlannelLease {
        let config = try await config()
        for _ in 0..<10 {
            let existing = try await leases()
            if let mine = existing.first(where: { $0.attributes.publicIP == attributes.publicIP }) {
                if fits(mine.subnet, config) {
                    return try await renew(mine, attributes: attributes)
                }
                _ = try? await ipam { try await store.delete(subnetKey(mine.subnet).bytes, ifRevision: mine.revision) }
                continue
            }
            let taken = existing.map(\.subnet)
            var chosen: CIDR?
            if let previous, fits(previous, config), !taken.contains(where: { $0.overlaps(previous) }) {
                chosen = previous
            } else {
                var free: [CIDR] = []
                for subnet in config.candidateSubnets() where !taken.contains(where: { $0.overlaps(subnet) }) {
                    free.append(subnet)
                    if free.count == 100 { break }
                }
                guard !free.isEmpty else { throw IPAMError(.outOfSubnets, "out of subnets") }
                chosen = choose(free)
            }
            let subnet = chosen!
            let granted = try await ipam { try await store.grantLease(ttl: ttl) }
            do {
                let revision = try await store.create(subnetKey(subnet).bytes, value: attributes.jsonBytes, lease: granted.id)
                return FlannelLease(subnet: subnet, attributes: attributes, lease: granted.id, revision: revision)
            } catch let error as DatastoreError where error.code == .alreadyExists {
                try? await store.revokeLease(granted.id)
                continue
            } catch {
                try? await store.revokeLease(granted.id)
                throw IPAMError.wrap(error)
            }
        }
        throw IPAMError(.tooManyRetries, "subnet: no more tries")
    }

    /// Renews a lease as flannel does: a fresh etcd lease of ``ttl`` and the key re-written on it
    /// (compare-and-swap on the revision read); the old etcd lease is revoked.
    public func renew(_ lease: FlannelLease, attributes: FlannelLeaseAttributes? = nil) async throws(IPAMError) -> FlannelLease {
        try await ipam {
            let attributes = attributes ?? lease.attributes
            let granted = try await store.grantLease(ttl: ttl)
            do {
                let revision = try await store.update(
                    subnetKey(lease.subnet).bytes, value: attributes.jsonBytes, ifRevision: lease.revision, lease: granted.id)
                if let old = lease.lease, old != granted.id { try? await store.revokeLease(old) }
                return FlannelLease(subnet: lease.subnet, attributes: attributes, lease: granted.id, revision: revision)
            } catch {
                try? await store.revokeLease(granted.id)
                throw error
            }
        }
    }

    /// Releases a lease: the key is deleted (if unchanged) and its etcd lease revoked.
    public func release(_ lease: FlannelLease) async throws(IPAMError) {
        try await ipam {
            do {
                try await store.delete(subnetKey(lease.subnet).bytes, ifRevision: lease.revision)
            } catch let error as DatastoreError where error.code == .notFound {}
            if let id = lease.lease { try? await store.revokeLease(id) }
        }
    }

    private func fits(_ subnet: CIDR, _ config: FlannelNetworkConfig) -> Bool {
        guard let min = config.subnetMin, let max = config.subnetMax else { return false }
        return subnet.prefixLength == config.subnetLength && subnet.address >= min && subnet.address <= max
    }
}

/// flannel's `subnet.env` (flannel `WriteSubnetFile`), and the host-local range a host's subnet gives.
public struct FlannelSubnetEnvironment: Sendable, Hashable {
    /// `FLANNEL_NETWORK`.
    public var network: CIDR
    /// The host's subnet (`FLANNEL_SUBNET` is its first address with the subnet's length).
    public var subnet: CIDR
    /// `FLANNEL_MTU`.
    public var mtu: Int
    /// `FLANNEL_IPMASQ`.
    public var ipMasquerade: Bool

    /// Creates the environment of a lease.
    public init(network: CIDR, subnet: CIDR, mtu: Int, ipMasquerade: Bool) {
        self.network = network
        self.subnet = subnet
        self.mtu = mtu
        self.ipMasquerade = ipMasquerade
    }

    /// The file's text, as flannel writes it:
    /// `FLANNEL_NETWORK=10.5.0.0/16`, `FLANNEL_SUBNET=10.5.52.1/24`, `FLANNEL_MTU=1450`, `FLANNEL_IPMASQ=false`.
    public var text: String {
        let first = subnet.network.firstAddress.advanced(by: 1)!
        return """
            FLANNEL_NETWORK=\(network.network)
            FLANNEL_SUBNET=\(first)/\(subnet.prefixLength)
            FLANNEL_MTU=\(mtu)
            FLANNEL_IPMASQ=\(ipMasquerade)

            """
    }

    /// Writes ``text`` atomically (a temporary file in the same folder, then a rename), as flannel does.
    public func write(to path: String) throws(IPAMError) {
        let url = URL(fileURLWithPath: path)
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url, options: .atomic)
        } catch {
            throw IPAMError(.datastore, "cannot write \(path)", cause: error)
        }
    }

    /// Parses a `subnet.env` (lines split at the first `=`, as flannel's CNI plugin reads it).
    public init(parsing text: String) throws(IPAMError) {
        var values: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            guard let eq = line.firstIndex(of: "=") else { continue }
            values[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
        guard let network = values["FLANNEL_NETWORK"].flatMap({ CIDR($0) }),
              let subnet = values["FLANNEL_SUBNET"].flatMap({ CIDR($0) }),
              let mtu = values["FLANNEL_MTU"].flatMap({ Int($0) }),
              let masq = values["FLANNEL_IPMASQ"].flatMap({ Bool($0) })
        else { throw IPAMError(.invalidArgument, "subnet.env is missing FLANNEL_NETWORK, FLANNEL_SUBNET, FLANNEL_MTU or FLANNEL_IPMASQ") }
        self.init(network: network, subnet: subnet.network, mtu: mtu, ipMasquerade: masq)
    }

    /// The host-local IPAM range of the host's containers: the subnet, gateway = its first address
    /// (the bridge's), containers from the second address to the one before broadcast, and a route
    /// to the whole flannel network — what flannel's CNI plugin hands to host-local.
    public var hostLocalRange: HostLocalRange {
        let net = subnet.network
        return HostLocalRange(
            subnet: net, rangeStart: net.firstAddress.advanced(by: 2)!, rangeEnd: IPAddress(family: net.family, value: net.lastAddress.value - 1),
            gateway: net.firstAddress.advanced(by: 1)!, routes: [network.network])
    }
}

/// A host-local IPAM range (the CNI `host-local` plugin's `ranges` entry).
public struct HostLocalRange: Sendable, Hashable {
    /// `subnet`.
    public var subnet: CIDR
    /// `rangeStart`: the first address handed to a container.
    public var rangeStart: IPAddress
    /// `rangeEnd`: the last address handed to a container.
    public var rangeEnd: IPAddress
    /// `gateway`.
    public var gateway: IPAddress
    /// Routes to add in the container (`routes: [{dst}]`).
    public var routes: [CIDR]

    /// The IPAM section of a CNI configuration: `{"type":"host-local","ranges":[[{…}]],"routes":[…]}`.
    public var ipamConfiguration: JSONValue {
        let range = JSONObject([
            ("subnet", .string(subnet.description)), ("rangeStart", .string(rangeStart.description)),
            ("rangeEnd", .string(rangeEnd.description)), ("gateway", .string(gateway.description)),
        ])
        return .object(JSONObject([
            ("type", .string("host-local")),
            ("ranges", .array([.array([.object(range)])])),
            ("routes", .array(routes.map { .object(JSONObject([("dst", .string($0.description))])) })),
        ]))
    }
}
