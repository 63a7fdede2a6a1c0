internal import CCurl

/// A libcurl failure (a `CURLcode` and curl's message) or an HTTP-level failure of the etcd HTTP layer.
/// Kept as the ``DatastoreError/cause`` of the error it is mapped to.
public struct CurlError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The `CURLcode` (0 when the failure is not curl's own).
    public var code: Int
    /// curl's message for the failure.
    public var message: String

    init(code: CURLcode, message: String) {
        self.code = Int(code.rawValue)
        let text = message.isEmpty ? String(cString: curl_easy_strerror(code)) : message
        self.message = text
    }

    /// `curl error N: message`.
    public var description: String { "curl error \(code): \(message)" }

    /// The request never reached a server (so it is safe to try the next endpoint, even for a write).
    var isConnectFailure: Bool {
        [CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_PROXY]
            .contains { Int($0.rawValue) == code }
    }

    var isTimeout: Bool { code == Int(CURLE_OPERATION_TIMEDOUT.rawValue) }

    /// Certificate, key or handshake problems.
    var isTLSFailure: Bool {
        if [CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER,
            CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_CRL_BADFILE, CURLE_USE_SSL_FAILED]
            .contains(where: { Int($0.rawValue) == code })
        {
            return true
        }
        // With TLS 1.3 the server checks the client certificate after the handshake: its refusal
        // arrives as an alert on the first read or write.
        return [CURLE_RECV_ERROR, CURLE_SEND_ERROR].contains { Int($0.rawValue) == code }
            && (message.contains("SSL") || message.contains("alert"))
    }

    /// Sending or receiving on an established connection failed.
    var isSendOrReceiveFailure: Bool {
        [CURLE_RECV_ERROR, CURLE_SEND_ERROR].contains { Int($0.rawValue) == code }
    }

    /// The server refused the client certificate (a TLS alert about the certificate or its CA).
    var isClientCertificateRefused: Bool {
        message.contains("alert unknown ca") || message.contains("alert bad certificate")
            || message.contains("alert certificate required") || message.contains("alert certificate unknown")
    }
}
