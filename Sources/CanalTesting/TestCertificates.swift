import CanalToolSupport
public import Foundation

/// Throwaway PEM files for TLS tests, made with `openssl`: a CA, a server certificate for
/// 127.0.0.1 and a client certificate signed by it, and a second client certificate signed by an
/// unrelated CA (which a server trusting only the first CA must refuse).
public struct TestCertificates: Sendable, Hashable {
    /// The CA that signed the server and client certificates.
    public var caFile: String
    /// The server certificate (subjectAltName IP:127.0.0.1).
    public var serverCertFile: String
    /// The server key.
    public var serverKeyFile: String
    /// A client certificate signed by ``caFile``.
    public var clientCertFile: String
    /// Its key.
    public var clientKeyFile: String
    /// A client certificate signed by another CA.
    public var foreignClientCertFile: String
    /// Its key.
    public var foreignClientKeyFile: String

    /// Generates the files in `directory` (which must exist). Throws when openssl fails.
    public static func make(in directory: URL) throws -> TestCertificates {
        let script = """
            set -e
            cd "\(directory.path)"
            printf 'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth,clientAuth\\n' > ext.cnf
            for ca in ca other-ca; do
              openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=canal-test-$ca -keyout $ca.key -out $ca.pem 2>/dev/null
            done
            sign() {
              openssl req -newkey rsa:2048 -nodes -subj /CN=$1 -keyout $1.key -out $1.csr 2>/dev/null
              openssl x509 -req -in $1.csr -CA $2.pem -CAkey $2.key -CAcreateserial -days 1 -extfile ext.cnf -out $1.pem 2>/dev/null
            }
            sign server ca
            sign client ca
            sign foreign-client other-ca
            """
        let made = try? Spawn.run(["/bin/sh", "-c", script], timeout: commandTimeout)
        guard let made, made.status == 0 else {
            throw EtcdServerError("openssl could not make test certificates: \(made?.stderrText ?? "cannot run /bin/sh")")
        }
        let path = { (name: String) in directory.appendingPathComponent(name).path }
        return TestCertificates(
            caFile: path("ca.pem"), serverCertFile: path("server.pem"), serverKeyFile: path("server.key"),
            clientCertFile: path("client.pem"), clientKeyFile: path("client.key"),
            foreignClientCertFile: path("foreign-client.pem"), foreignClientKeyFile: path("foreign-client.key"))
    }

    /// Server settings for ``EtcdServer/withEtcdServer(tls:extraArguments:_:)``: HTTPS with client
    /// certificates required (signed by ``caFile``); clients get ``caFile`` and the client certificate.
    public var mutualTLS: EtcdServer.TLS {
        EtcdServer.TLS(
            certFile: serverCertFile, keyFile: serverKeyFile, clientCAFile: caFile, clientCAForServer: caFile,
            clientCertFile: clientCertFile, clientKeyFile: clientKeyFile)
    }
}
