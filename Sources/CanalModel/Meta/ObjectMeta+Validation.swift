extension ObjectMeta {
    /// Reports the metadata rules every kind shares, and each kind's naming rule.
    public func validate(for kind: ResourceKind, into v: inout Validator) {
        // Skeleton: name, namespace, labels and annotations rules to be filled in.
        if (name ?? "").isEmpty { v.report("metadata.name", "name is required") }
    }
}
