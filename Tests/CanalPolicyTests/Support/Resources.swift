import CanalModel
import CanalPolicy

/// Model resources for compiler tests, built from calicoctl JSON with defaults and validation.
enum Resources {
    static func read(_ json: String) throws -> any AnyResource {
        try readResource(try JSONValue(parsing: json))
    }

    static func workload(
        _ name: String, namespace: String = "default", node: String = "node1", interface: String,
        ips: [String], labels: [String: String] = [:], profiles: [String] = ["kns.default"],
        ports: [(String, String, Int)] = [], serviceAccount: String? = nil
    ) throws -> any AnyResource {
        let labelJSON = labels.map { "\"\($0.key)\": \"\($0.value)\"" }.sorted().joined(separator: ", ")
        let portJSON = ports.map { "{\"name\": \"\($0.0)\", \"protocol\": \"\($0.1)\", \"port\": \($0.2)}" }.joined(separator: ", ")
        let sa = serviceAccount.map { ", \"serviceAccountName\": \"\($0)\"" } ?? ""
        return try read("""
        {"apiVersion": "projectcalico.org/v3", "kind": "WorkloadEndpoint",
         "metadata": {"name": "\(node)-k8s-\(name)-eth0", "namespace": "\(namespace)", "labels": {\(labelJSON)}},
         "spec": {"orchestrator": "k8s", "node": "\(node)", "pod": "\(name)", "endpoint": "eth0",
                  "interfaceName": "\(interface)", "ipNetworks": [\(ips.map { "\"\($0)\"" }.joined(separator: ", "))],
                  "profiles": [\(profiles.map { "\"\($0)\"" }.joined(separator: ", "))], "ports": [\(portJSON)]\(sa)}}
        """)
    }

    static func allowAllProfile(_ name: String = "kns.default", labels: [String: String] = [:]) throws -> any AnyResource {
        let labelJSON = labels.map { "\"\($0.key)\": \"\($0.value)\"" }.sorted().joined(separator: ", ")
        return try read("""
        {"apiVersion": "projectcalico.org/v3", "kind": "Profile", "metadata": {"name": "\(name)"},
         "spec": {"ingress": [{"action": "Allow"}], "egress": [{"action": "Allow"}], "labelsToApply": {\(labelJSON)}}}
        """)
    }

    static func globalPolicy(_ name: String, _ spec: String) throws -> any AnyResource {
        try read("""
        {"apiVersion": "projectcalico.org/v3", "kind": "GlobalNetworkPolicy", "metadata": {"name": "\(name)"}, "spec": \(spec)}
        """)
    }

    static func policy(_ name: String, namespace: String = "default", _ spec: String) throws -> any AnyResource {
        try read("""
        {"apiVersion": "projectcalico.org/v3", "kind": "NetworkPolicy", "metadata": {"name": "\(name)", "namespace": "\(namespace)"}, "spec": \(spec)}
        """)
    }

    static func tier(_ name: String, order: Double, defaultAction: String = "Deny") throws -> any AnyResource {
        try read("""
        {"apiVersion": "projectcalico.org/v3", "kind": "Tier", "metadata": {"name": "\(name)"}, "spec": {"order": \(order), "defaultAction": "\(defaultAction)"}}
        """)
    }

    /// The workload endpoint id of a `workload(...)`.
    static func id(_ name: String, namespace: String = "default", node: String = "node1") -> EndpointID {
        .workload(namespace: namespace, name: "\(node)-k8s-\(name)-eth0")
    }
}
