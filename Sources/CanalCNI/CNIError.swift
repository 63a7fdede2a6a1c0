public import CanalModel

/// A CNI error result: `{"cniVersion": …, "code": N, "msg": "…", "details": "…"}` on stdout and a
/// non-zero exit status.
///
/// Codes 1–99 are the spec's (the static members below); Canal's own codes start at 100.
public struct CNIError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The error code: the spec's well-known codes below 100, plugin-specific ones from 100.
    public var code: Int
    /// A short message.
    public var msg: String
    /// More detail, if any.
    public var details: String

    /// An error with a code, message and optional details.
    public init(code: Int, _ msg: String, details: String = "") {
        self.code = code
        self.msg = msg
        self.details = details
    }

    /// 1: the config's `cniVersion` is not supported, or does not allow the command.
    public static func incompatibleVersion(_ msg: String, details: String = "") -> CNIError { CNIError(code: 1, msg, details: details) }
    /// 2: a field of the config is not supported.
    public static func unsupportedField(_ msg: String, details: String = "") -> CNIError { CNIError(code: 2, msg, details: details) }
    /// 3: the container is unknown or does not exist (for example its network namespace is gone).
    public static func unknownContainer(_ msg: String, details: String = "") -> CNIError { CNIError(code: 3, msg, details: details) }
    /// 4: an environment variable is missing or invalid.
    public static func invalidEnvironment(_ msg: String, details: String = "") -> CNIError { CNIError(code: 4, msg, details: details) }
    /// 5: an I/O failure (reading stdin, a file, running a command).
    public static func io(_ msg: String, details: String = "") -> CNIError { CNIError(code: 5, msg, details: details) }
    /// 6: the config (or a delegate's output) could not be decoded.
    public static func decode(_ msg: String, details: String = "") -> CNIError { CNIError(code: 6, msg, details: details) }
    /// 7: the config is invalid.
    public static func invalidConfig(_ msg: String, details: String = "") -> CNIError { CNIError(code: 7, msg, details: details) }
    /// 11: a transient failure (the datastore is unreachable or not ready); the runtime may retry.
    public static func tryAgainLater(_ msg: String, details: String = "") -> CNIError { CNIError(code: 11, msg, details: details) }

    /// 100: the container already has an endpoint on this network and interface (a repeated ADD).
    public static func alreadyExists(_ msg: String, details: String = "") -> CNIError { CNIError(code: 100, msg, details: details) }
    /// 101: address management failed (no pool, no free address, a delegate IPAM plugin without an address).
    public static func ipam(_ msg: String, details: String = "") -> CNIError { CNIError(code: 101, msg, details: details) }
    /// 102: setting up or tearing down the interfaces, addresses or routes failed.
    public static func dataplane(_ msg: String, details: String = "") -> CNIError { CNIError(code: 102, msg, details: details) }
    /// 103: the datastore refused a write or read for a reason other than being unreachable.
    public static func datastore(_ msg: String, details: String = "") -> CNIError { CNIError(code: 103, msg, details: details) }
    /// 104: CHECK found the container's networking different from what ADD set up.
    public static func checkFailed(_ msg: String, details: String = "") -> CNIError { CNIError(code: 104, msg, details: details) }

    /// `code: msg (details)`.
    public var description: String { "\(code): \(msg)" + (details.isEmpty ? "" : " (\(details))") }

    /// The error object as the spec writes it; `cniVersion` is included when given.
    public func json(cniVersion: String?) -> JSONValue {
        var object = JSONObject()
        if let cniVersion { object["cniVersion"] = .string(cniVersion) }
        object["code"] = .number(String(code))
        object["msg"] = .string(msg)
        if !details.isEmpty { object["details"] = .string(details) }
        return .object(object)
    }

    /// Reads an error object another plugin printed (the delegate IPAM plugin); nil when `value` is not one.
    public init?(json value: JSONValue) {
        guard case .number(let text)? = value["code"], let code = Int(text) else { return nil }
        self.init(code: code, value["msg"]?.stringValue ?? "", details: value["details"]?.stringValue ?? "")
    }
}
