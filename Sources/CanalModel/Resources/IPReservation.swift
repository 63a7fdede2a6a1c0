/// The spec of a IPReservation. (Skeleton: fields, defaults and validation to be filled in.)
public struct IPReservationSpec: ResourceSpec {
    public static var kind: ResourceKind { .ipReservation }
    public init() {}
}
