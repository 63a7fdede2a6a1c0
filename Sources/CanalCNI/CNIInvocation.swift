public import CanalModel

/// The CNI commands.
public enum CNICommand: String, Sendable, Hashable {
    /// Attach the container to the network.
    case add = "ADD"
    /// Detach it (idempotent).
    case del = "DEL"
    /// Verify the attachment.
    case check = "CHECK"
    /// Report the supported versions.
    case version = "VERSION"
}

/// One plugin invocation, read from the `CNI_*` environment variables as the spec defines them.
public struct CNIInvocation: Sendable, Hashable {
    /// `CNI_COMMAND`.
    public var command: CNICommand
    /// `CNI_CONTAINERID`.
    public var containerID: String
    /// `CNI_NETNS`: a path to the network namespace (may be empty on DEL).
    public var netns: String
    /// `CNI_IFNAME`: the interface to create inside the container.
    public var ifName: String
    /// `CNI_ARGS`: `K=V;K=V` pairs, in order.
    public var args: [(key: String, value: String)]
    /// `CNI_PATH`: the folders to look for plugins in.
    public var path: [String]

    /// Reads the invocation from `environment`, requiring what the Go `skel` library requires:
    /// CONTAINERID, NETNS, IFNAME and PATH for ADD and CHECK; CONTAINERID, IFNAME and PATH for DEL;
    /// nothing for VERSION.
    ///
    /// - Throws: ``CNIError`` code 4 naming every missing variable, an unknown command, or a bad
    ///   container id, interface name or `CNI_ARGS`.
    public init(environment: [String: String]) throws(CNIError) {
        let text = environment["CNI_COMMAND"] ?? ""
        guard !text.isEmpty else { throw .invalidEnvironment("required env variables [CNI_COMMAND] missing") }
        guard let command = CNICommand(rawValue: text) else {
            throw .invalidEnvironment("unknown CNI_COMMAND: \(text)")
        }
        self.command = command
        var required: [String] = []
        switch command {
        case .add, .check: required = ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH"]
        case .del: required = ["CNI_CONTAINERID", "CNI_IFNAME", "CNI_PATH"]
        case .version: required = []
        }
        let missing = required.filter { (environment[$0] ?? "").isEmpty }
        if !missing.isEmpty {
            throw .invalidEnvironment("required env variables [\(missing.joined(separator: ","))] missing")
        }
        containerID = environment["CNI_CONTAINERID"] ?? ""
        netns = environment["CNI_NETNS"] ?? ""
        ifName = environment["CNI_IFNAME"] ?? ""
        path = (environment["CNI_PATH"] ?? "").split(separator: ":").map(String.init)
        args = []
        guard command != .version else { return }
        if !Self.isValidContainerID(containerID) {
            throw .invalidEnvironment("invalid CNI_CONTAINERID \"\(containerID)\"", details: "letters, digits, '_', '.' and '-', starting with a letter or digit")
        }
        if !Self.isValidInterfaceName(ifName) {
            throw .invalidEnvironment("invalid CNI_IFNAME \"\(ifName)\"", details: "1-15 characters, no '/', ':' or whitespace, not '.' or '..'")
        }
        for pair in (environment["CNI_ARGS"] ?? "").split(separator: ";") where !pair.isEmpty {
            guard let eq = pair.firstIndex(of: "=") else {
                throw .invalidEnvironment("invalid CNI_ARGS pair \"\(pair)\"", details: "expected KEY=VALUE")
            }
            args.append((String(pair[..<eq]), String(pair[pair.index(after: eq)...])))
        }
    }

    /// The last value of `key` in `CNI_ARGS`.
    public func arg(_ key: String) -> String? { args.last(where: { $0.key == key })?.value }

    /// The addresses `CNI_ARGS` asks for with `IP=` (as Calico's IPAM plugin and host-local read
    /// it): empty when there is no `IP`; one address, or one per family separated by commas
    /// (`IP=198.18.0.7,fd00::7`, as host-local accepts; Calico's own plugin takes one).
    ///
    /// - Throws: ``CNIError`` 4 when a value is not an IP address or a family is asked for twice.
    public func requestedAddresses() throws(CNIError) -> [IPAddress] {
        guard let text = arg("IP"), !text.isEmpty else { return [] }
        var addresses: [IPAddress] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let address = IPAddress(part) else {
                throw .invalidEnvironment("invalid CNI_ARGS IP \"\(part)\"", details: "expected an IPv4 or IPv6 address")
            }
            if addresses.contains(where: { $0.family == address.family }) {
                throw .invalidEnvironment("invalid CNI_ARGS IP \"\(text)\"", details: "at most one address per family")
            }
            addresses.append(address)
        }
        return addresses
    }

    /// The spec's container id rule: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
    static func isValidContainerID(_ id: String) -> Bool {
        let u = Array(id.utf8)
        func alnum(_ c: UInt8) -> Bool { (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) }
        guard let first = u.first, alnum(first) else { return false }
        return u.allSatisfy { alnum($0) || $0 == 0x5F || $0 == 0x2E || $0 == 0x2D }
    }

    /// Linux's interface name rule: 1–15 bytes, not `.`/`..`, no `/`, `:` or whitespace.
    static func isValidInterfaceName(_ name: String) -> Bool {
        let u = Array(name.utf8)
        guard !u.isEmpty, u.count <= 15, name != ".", name != ".." else { return false }
        return !u.contains { $0 == 0x2F || $0 == 0x3A || $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
    }
}

extension CNIInvocation {
    public static func == (lhs: CNIInvocation, rhs: CNIInvocation) -> Bool {
        lhs.command == rhs.command && lhs.containerID == rhs.containerID && lhs.netns == rhs.netns
            && lhs.ifName == rhs.ifName && lhs.path == rhs.path
            && lhs.args.map(\.key) == rhs.args.map(\.key) && lhs.args.map(\.value) == rhs.args.map(\.value)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(command)
        hasher.combine(containerID)
        hasher.combine(ifName)
    }
}
