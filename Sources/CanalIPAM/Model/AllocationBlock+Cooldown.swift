import Foundation

extension AllocationBlock {
    /// Releases allocated ordinals as Calico does (`ipam_block.go release`): with no cooldown
    /// (`cooldownSeconds` 0) each goes to the tail of ``unallocated`` at once, as Calico ≤ v3.32
    /// does; with a cooldown (Calico v3.34's `ipCooldownSeconds`) each is pointed at a fresh
    /// attribute entry holding only `releasedAt` (no handle) and stays out of ``unallocated``
    /// until ``collectCooledAddresses(cooldownSeconds:now:)`` finds its cooldown over. Either way
    /// the cooled addresses of the block are collected afterwards, as Calico's release does.
    mutating func releaseAddresses(ordinals: [Int], cooldownSeconds: Int, now: Int) {
        guard !ordinals.isEmpty else { return }
        guard cooldownSeconds > 0 else {
            release(ordinals: ordinals, clearSequenceNumbers: true)
            _ = collectCooledAddresses(cooldownSeconds: 0, now: now)
            return
        }
        attributes.append(AllocationAttribute(handleID: nil, releasedAt: Self.formatRFC3339(now)))
        let index = attributes.count - 1
        for o in ordinals { allocations[o] = index }
        compactAttributes()
        _ = collectCooledAddresses(cooldownSeconds: cooldownSeconds, now: now)
    }

    /// Calico's `garbageCollect`: every address whose `releasedAt` is at least `cooldownSeconds`
    /// old goes to the tail of ``unallocated`` (its sequence number cleared, its attribute entry
    /// dropped when unused). Returns whether anything changed. A `releasedAt` that does not parse
    /// counts as long past.
    mutating func collectCooledAddresses(cooldownSeconds: Int, now: Int) -> Bool {
        var changed = false
        for o in allocations.indices {
            guard let index = allocations[o], index < attributes.count, let stamp = attributes[index].releasedAt else { continue }
            let released = Self.parseRFC3339(stamp) ?? Int.min / 2
            guard released + cooldownSeconds <= now else { continue }
            allocations[o] = nil
            unallocated.append(o)
            sequenceNumberForAllocation[o] = nil
            changed = true
        }
        if changed { compactAttributes() }
        return changed
    }

    /// Whether some address is in cooldown.
    var hasCoolingAddresses: Bool {
        allocations.contains { index in index.map { $0 < attributes.count && attributes[$0].releasedAt != nil } ?? false }
    }

    /// The earliest `releasedAt` of the block's cooling addresses (seconds since the epoch).
    var earliestRelease: Int? {
        allocations.compactMap { index -> Int? in
            guard let index, index < attributes.count, let stamp = attributes[index].releasedAt else { return nil }
            return Self.parseRFC3339(stamp) ?? 0
        }.min()
    }

    /// `seconds` since the epoch as `YYYY-MM-DDTHH:MM:SSZ` (metav1.Time's form).
    static func formatRFC3339(_ seconds: Int) -> String {
        var t = seconds
        var parts = tm()
        gmtime_r(&t, &parts)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }

    /// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` → seconds since the epoch.
    static func parseRFC3339(_ text: String) -> Int? {
        let u = Array(text.utf8)
        guard u.count >= 20 else { return nil }
        func number(_ from: Int, _ count: Int) -> Int? {
            var v = 0
            for i in from..<(from + count) {
                guard u[i] >= 48, u[i] <= 57 else { return nil }
                v = v * 10 + Int(u[i] - 48)
            }
            return v
        }
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2), let hour = number(11, 2),
              let minute = number(14, 2), let second = number(17, 2)
        else { return nil }
        var at = 19
        if at < u.count, u[at] == UInt8(ascii: ".") {
            at += 1
            while at < u.count, u[at] >= 48, u[at] <= 57 { at += 1 }
        }
        var offset = 0
        if at < u.count, u[at] == UInt8(ascii: "Z") {
            offset = 0
        } else if at + 6 <= u.count, u[at] == UInt8(ascii: "+") || u[at] == UInt8(ascii: "-"), let h = number(at + 1, 2), let m = number(at + 4, 2) {
            offset = (h * 3600 + m * 60) * (u[at] == UInt8(ascii: "+") ? 1 : -1)
        } else {
            return nil
        }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        return Int(timegm(&parts)) - offset
    }
}
