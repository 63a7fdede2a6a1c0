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
                var digest: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
                withUnsafeMutableBytes(of: &digest) { d in
                    SHA256Core.hash(
                        length: p.count + 1 + c.count, initial: SHA256Core.initial224, words: 7,
                        into: d.baseAddress!
                    ) { message in
                        if let base = p.baseAddress { message.copyMemory(from: base, byteCount: p.count) }
                        message.storeBytes(of: UInt8(ascii: ":"), toByteOffset: p.count, as: UInt8.self)
                        if let base = c.baseAddress { (message + p.count + 1).copyMemory(from: base, byteCount: c.count) }
                    }
                }
                let length = p.count + 1 + Base64URL.encodedLength(28)
                return withUnsafeBytes(of: &digest) { d in
                    String(unsafeUninitializedCapacity: length) { out in
                        let base = out.baseAddress!
                        if let source = p.baseAddress { base.update(from: source, count: p.count) }
                        base[p.count] = UInt8(ascii: ":")
                        Base64URL.encode(UnsafeRawBufferPointer(rebasing: d[0..<28]), into: base + p.count + 1)
                        return length
                    }
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
