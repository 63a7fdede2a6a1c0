/// The spec of a BGPPeer. (Skeleton: fields, defaults and validation to be filled in.)
public struct BGPPeerSpec: ResourceSpec {
    public static var kind: ResourceKind { .bgpPeer }
    public init() {}
}
