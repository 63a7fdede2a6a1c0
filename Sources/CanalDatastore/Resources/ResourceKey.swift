public import CanalModel
import Foundation

/// Where a Calico v3 resource lives in the key/value store, as libcalico-go's etcdv3 backend keys it:
/// `/calico/resources/v3/projectcalico.org/<plural>/<name>` for cluster-wide kinds and
/// `/calico/resources/v3/projectcalico.org/<plural>/<namespace>/<name>` for namespaced ones.
public struct ResourceKey: Sendable, Hashable, CustomStringConvertible {
    /// The common prefix of every v3 resource key.
    public static let root = "/calico/resources/v3/projectcalico.org/"

    /// The resource's kind.
    public var kind: ResourceKind
    /// The namespace (namespaced kinds only; empty otherwise).
    public var namespace: String
    /// The resource's name.
    public var name: String

    /// A key for `kind`/`namespace`/`name`; the namespace is dropped for cluster-wide kinds.
    public init(kind: ResourceKind, namespace: String? = nil, name: String) {
        self.kind = kind
        self.namespace = kind.isNamespaced ? (namespace ?? "") : ""
        self.name = name
    }

    /// The key path, e.g. `/calico/resources/v3/projectcalico.org/networkpolicies/ns1/allow-dns`.
    public var path: String {
        kind.isNamespaced
            ? "\(Self.root)\(kind.plural)/\(Self.escape(namespace))/\(Self.escape(name))"
            : "\(Self.root)\(kind.plural)/\(Self.escape(name))"
    }

    /// The key bytes.
    public var bytes: [UInt8] { Array(path.utf8) }

    /// `Kind(name)` or `Kind(namespace/name)`, as Calico's errors name a resource.
    public var description: String {
        kind.isNamespaced ? "\(kind.name)(\(namespace)/\(name))" : "\(kind.name)(\(name))"
    }

    /// Parses a key path; `nil` unless it is a v3 resource key of a known kind with the segment count
    /// its scope requires (Calico ignores other keys under the prefix the same way).
    public init?(path: String) {
        guard path.hasPrefix(Self.root) else { return nil }
        let segments = path.dropFirst(Self.root.count).split(separator: "/", omittingEmptySubsequences: false)
        guard let plural = segments.first, let kind = ResourceKind.allCases.first(where: { $0.plural == plural })
        else { return nil }
        if kind.isNamespaced {
            guard segments.count == 3, !segments[1].isEmpty, !segments[2].isEmpty else { return nil }
            self.init(kind: kind, namespace: Self.unescape(segments[1]), name: Self.unescape(segments[2]))
        } else {
            guard segments.count == 2, !segments[1].isEmpty else { return nil }
            self.init(kind: kind, name: Self.unescape(segments[1]))
        }
    }

    /// Parses key bytes (see ``init(path:)``).
    public init?(bytes: [UInt8]) {
        guard let text = String(validating: bytes, as: UTF8.self) else { return nil }
        self.init(path: text)
    }

    /// The prefix of every key of `kind`, or of one namespace of a namespaced kind, ending in `/`
    /// (so `/ab` is not listed under `/a`).
    public static func prefix(kind: ResourceKind, namespace: String? = nil) -> String {
        if kind.isNamespaced, let namespace, !namespace.isEmpty {
            return "\(root)\(kind.plural)/\(escape(namespace))/"
        }
        return "\(root)\(kind.plural)/"
    }

    // Calico's `model/name.go`: `%` → `%25`, `/` → `%2f` inside a segment.
    static func escape(_ segment: String) -> String {
        guard segment.contains(where: { $0 == "%" || $0 == "/" }) else { return segment }
        return segment.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "/", with: "%2f")
    }

    static func unescape(_ segment: Substring) -> String {
        guard segment.contains("%") else { return String(segment) }
        return segment.replacingOccurrences(of: "%2f", with: "/").replacingOccurrences(of: "%2F", with: "/")
            .replacingOccurrences(of: "%25", with: "%")
    }
}
