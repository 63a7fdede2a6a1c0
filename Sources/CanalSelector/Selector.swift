/// Skeleton placeholder: replaced by the selector implementation.
public struct Selector: Sendable, Hashable {
    public let canonical: String
    public init(_ text: String) throws(SelectorError) { canonical = text }
    public func matches(_ labels: [String: String]) -> Bool { false }
}
public struct SelectorError: Error, Sendable, Hashable {
    public var message: String
}
