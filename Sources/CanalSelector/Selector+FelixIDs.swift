extension Selector {
    /// Calico's `hash.MakeUniqueID`: `prefix:` followed by the unpadded base64url SHA-224 of
    /// `prefix:content`.
    ///
    /// Felix uses it for every IP set id: `s` for selectors (``Selector/uniqueID``), `n` for named
    /// ports (``namedPortUniqueID(protocol:port:)``), `svc` and `svcnoport` for services.
    public static func uniqueID(prefix: String, content: String) -> String {
        var prefix = prefix
        var content = content
        return prefix.withUTF8 { p in
            content.withUTF8 { c in
                withUnsafeTemporaryAllocation(byteCount: 32, alignment: 8) { digest in
                    let colon: [UInt8] = [UInt8(ascii: ":")]
                    colon.withUnsafeBytes { colon in
                        SHA256Core.hash(
                            parts: [UnsafeRawBufferPointer(p), colon, UnsafeRawBufferPointer(c)],
                            initial: SHA256Core.initial224, words: 7, into: digest.baseAddress!
                        )
                    }
                    var out: [UInt8] = []
                    out.reserveCapacity(p.count + 1 + 38)
                    out.append(contentsOf: p)
                    out.append(UInt8(ascii: ":"))
                    Base64URL.encode(UnsafeRawBufferPointer(rebasing: digest[0..<28]), appendingTo: &out)
                    return String(decoding: out, as: UTF8.self)
                }
            }
        }
    }

    /// The unique id of the IP set of endpoints matching this selector that have a port named
    /// `port` with the given protocol: `uniqueID(prefix: "n", content: "<selector id>,<protocol>,<port>")`
    /// (Felix's `IPSetData.UniqueID`).
    ///
    /// - Parameter protocol: `tcp`, `udp`, `sctp`, or `any` when the rule names no protocol.
    public func namedPortUniqueID(protocol: String, port: String) -> String {
        Self.uniqueID(prefix: "n", content: uniqueID + "," + `protocol` + "," + port)
    }

    /// Felix's dataplane name for the IP set of this selector: `cali40` or `cali60` followed by
    /// the unique id, cut to 31 bytes, e.g. `cali40s:5y5I3VdRZfDU01O--xXAPx2` for `all()`.
    ///
    /// - Parameter ipVersion: 4 or 6.
    public func ipSetName(ipVersion: Int) -> String {
        Self.ipSetName(uniqueID: uniqueID, ipVersion: ipVersion)
    }

    /// Felix's dataplane name for an IP set with the given unique id (`NameForMainIPSet`):
    /// `cali4` or `cali6`, then `0`, then the id, cut to 31 bytes (`MaxIPSetNameLength`).
    ///
    /// - Parameter ipVersion: 4 or 6; anything else is a programming error.
    public static func ipSetName(uniqueID: String, ipVersion: Int) -> String {
        precondition(ipVersion == 4 || ipVersion == 6, "ipVersion must be 4 or 6, not \(ipVersion)")
        let name = Array(("cali\(ipVersion)0" + uniqueID).utf8.prefix(31))
        return String(decoding: name, as: UTF8.self)
    }
}
