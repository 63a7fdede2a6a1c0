/// A CNI spec version (`0.1.0` … `1.0.0`), ordered.
public struct CNIVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Major, minor and patch numbers.
    public let major: Int, minor: Int, patch: Int

    /// Parses `a.b.c` (an empty string is `0.2.0`, as Calico's plugin reads a missing version); nil otherwise.
    public init?(_ text: String) {
        if text.isEmpty { self.init(0, 2, 0); return }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let a = Int(parts[0]), let b = Int(parts[1]), let c = Int(parts[2]),
              a >= 0, b >= 0, c >= 0 else { return nil }
        self.init(a, b, c)
    }

    private init(_ major: Int, _ minor: Int, _ patch: Int) {
        self.major = major
        self.minor = minor
        self.patch = patch
    }

    /// The versions canal-cni reads and writes, oldest first; VERSION prints them.
    public static let supported: [CNIVersion] = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0"].compactMap(CNIVersion.init)
    /// The newest supported version.
    public static let latest = CNIVersion(1, 0, 0)
    /// 0.4.0: the first with CHECK and with `prevResult` on DEL.
    public static let v0_4_0 = CNIVersion(0, 4, 0)
    /// 0.3.0: the first with `interfaces`, `ips` and `routes` in results.
    public static let v0_3_0 = CNIVersion(0, 3, 0)

    /// Whether the version is one canal-cni supports.
    public var isSupported: Bool { Self.supported.contains(self) }

    /// `a.b.c`.
    public var description: String { "\(major).\(minor).\(patch)" }

    public static func < (lhs: CNIVersion, rhs: CNIVersion) -> Bool {
        (lhs.major, lhs.minor, lhs.patch) < (rhs.major, rhs.minor, rhs.patch)
    }

    /// The VERSION command's output: `{"cniVersion": <config's or latest>, "supportedVersions": [...]}`.
    public static func versionInfo(cniVersion: String) -> String {
        let list = supported.map { "\"\($0)\"" }.joined(separator: ",")
        return "{\"cniVersion\":\"\(cniVersion)\",\"supportedVersions\":[\(list)]}"
    }
}
