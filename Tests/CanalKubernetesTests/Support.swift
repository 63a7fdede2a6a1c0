import CanalKubernetes
import CanalManifest
import CanalModel
import Foundation

enum Fixtures {
    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

    static func text(_ name: String) throws -> String {
        try String(contentsOf: golden.appendingPathComponent(name), encoding: .utf8)
    }

    /// Every object of a YAML or JSON text.
    static func objects(_ text: String, namespace: String = "default") throws -> [KubernetesObject] {
        var out: [KubernetesObject] = []
        // Flow-style YAML starting with `{` would be read as JSON.
        for document in try Manifest.documents(from: text.hasPrefix("{") ? "---\n" + text : text) {
            out += try KubernetesObject.objects(in: document.value, defaultNamespace: namespace)
        }
        return out
    }

    /// The one NetworkPolicy of a YAML text, converted.
    static func policy(_ yaml: String) throws -> NetworkPolicy {
        let objects = try objects(yaml)
        guard case .networkPolicy(let p) = objects.first else { fatalError("not a NetworkPolicy") }
        return try KubernetesConverter().networkPolicy(for: p)
    }

    /// The error decoding a YAML text throws.
    static func error(_ yaml: String) -> KubernetesError? {
        do {
            _ = try objects(yaml)
            return nil
        } catch let error as KubernetesError {
            return error
        } catch {
            return KubernetesError(.schema, "\(error)")
        }
    }
}
