// swift-tools-version: 6.2
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "canal",
    products: [
        .library(name: "CanalSelector", targets: ["CanalSelector"]),
        .library(name: "CanalModel", targets: ["CanalModel"]),
        .library(name: "CanalManifest", targets: ["CanalManifest"]),
        .library(name: "CanalDatastore", targets: ["CanalDatastore"]),
        .library(name: "CanalPolicy", targets: ["CanalPolicy"]),
        .library(name: "CanalBGP", targets: ["CanalBGP"]),
        .library(name: "CanalIPAM", targets: ["CanalIPAM"]),
        .library(name: "CanalCNI", targets: ["CanalCNI"]),
        .library(name: "CanalKubernetes", targets: ["CanalKubernetes"]),
        .library(name: "CanalAgent", targets: ["CanalAgent"]),
        .library(name: "CanalTesting", targets: ["CanalTesting"]),
        .executable(name: "canalctl", targets: ["canalctl"]),
        .executable(name: "canal-flanneld", targets: ["canal-flanneld"]),
        .executable(name: "canal-confd", targets: ["canal-confd"]),
        .executable(name: "canal-cni", targets: ["canal-cni"]),
        .executable(name: "canal-flannel", targets: ["canal-flannel"]),
        .executable(name: "canal-agent", targets: ["canal-agent"]),
        .executable(name: "canal-controllers", targets: ["canal-controllers"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
    ],
    targets: [
        // The selector language: a leaf, shared by validation, listing and compilation.
        .target(name: "CanalSelector", swiftSettings: swiftSettings),
        // Calico v3 resources, validation, defaults, IP/CIDR values.
        .target(name: "CanalModel", dependencies: ["CanalSelector"], swiftSettings: swiftSettings),
        // Manifest files (YAML and JSON, multi-document, kind: List) to and from model values.
        .target(
            name: "CanalManifest",
            dependencies: ["CanalModel", .product(name: "Yams", package: "Yams")],
            swiftSettings: swiftSettings
        ),
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        // The key/value seam, its backends (in-memory, etcd v3) and the typed client.
        .target(
            name: "CanalDatastore",
            dependencies: ["CanalModel", "CCurl", .product(name: "Logging", package: "swift-log")],
            exclude: ["Etcd/README.md"],
            swiftSettings: swiftSettings
        ),
        // Shared test support: the etcd server harness, a manual clock, the network-namespace harness (Netns/).
        .target(
            name: "CanalTesting",
            dependencies: ["CanalDatastore", "CanalModel", "CanalToolSupport"],
            swiftSettings: swiftSettings
        ),
        // Policy → dataplane: rule-set IR, Felix naming, iptables/ipset/nft renderers. Pure, no I/O.
        .target(name: "CanalPolicy", dependencies: ["CanalModel", "CanalSelector"], swiftSettings: swiftSettings),
        // Kubernetes NetworkPolicy, Namespace, ServiceAccount and Pod → Calico, as libcalico-go and kube-controllers. Pure, no I/O.
        .target(name: "CanalKubernetes", dependencies: ["CanalModel", "CanalSelector"], swiftSettings: swiftSettings),
        // BGP resources and block affinities → one node's BIRD 2 configuration. Pure, no I/O.
        .target(name: "CanalBGP", dependencies: ["CanalModel", "CanalSelector"], swiftSettings: swiftSettings),
        // Calico block IPAM and flannel subnet leases on the datastore.
        .target(
            name: "CanalIPAM",
            dependencies: ["CanalDatastore", "CanalModel", "CanalSelector"],
            swiftSettings: swiftSettings
        ),
        // The per-host policy agent's engine: datastore view, kernel read-back, delta planning, apply order.
        .target(
            name: "CanalAgent",
            dependencies: ["CanalDatastore", "CanalIPAM", "CanalModel", "CanalPolicy", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "canal-agent",
            dependencies: [
                "CanalAgent", "CanalDatastore", "CanalToolSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Examples/canal-agent",
            swiftSettings: swiftSettings
        ),
        // CNI protocol values (config, results, errors, versions) and Calico's workload naming. Pure, no I/O.
        .target(name: "CanalCNI", dependencies: ["CanalModel"], swiftSettings: swiftSettings),
        .executableTarget(
            name: "canal-cni",
            dependencies: ["CanalCNI", "CanalModel", "CanalDatastore", "CanalIPAM", "CanalToolSupport"],
            path: "Sources/Examples/canal-cni",
            swiftSettings: swiftSettings
        ),
        // flannel's CNI plugin role: subnet.env → a delegate config (default canal-cni) with host-local IPAM.
        .executableTarget(
            name: "canal-flannel",
            dependencies: ["CanalCNI", "CanalModel", "CanalToolSupport"],
            path: "Sources/Examples/canal-flannel",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "canalctl",
            dependencies: [
                "CanalModel", "CanalManifest", "CanalSelector", "CanalDatastore", "CanalPolicy", "CanalBGP", "CanalIPAM",
                "CanalKubernetes", "CanalToolSupport", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/Examples/canalctl",
            swiftSettings: swiftSettings
        ),
        // kube-controllers' IPAM garbage collection in etcd mode: leaks after a grace period, dead nodes' blocks.
        .executableTarget(
            name: "canal-controllers",
            dependencies: [
                "CanalDatastore", "CanalIPAM", "CanalModel", "CanalToolSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/Examples/canal-controllers",
            swiftSettings: swiftSettings
        ),
        // Running host commands, entering namespaces, logging and the etcd flags, shared by the tools (not a product).
        .target(
            name: "CanalToolSupport",
            dependencies: ["CanalDatastore", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/Examples/ToolSupport",
            swiftSettings: swiftSettings
        ),
        // flanneld's job on Canal's flannel leases: subnet.env, host-gw and vxlan routes (iproute2).
        .executableTarget(
            name: "canal-flanneld",
            dependencies: [
                "CanalToolSupport",
                "CanalModel", "CanalDatastore", "CanalIPAM",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/Examples/canal-flanneld",
            swiftSettings: swiftSettings
        ),
        // confd's job for BIRD 2: watch the datastore, render, check, write, reload.
        .executableTarget(
            name: "canal-confd",
            dependencies: [
                "CanalToolSupport",
                "CanalModel", "CanalDatastore", "CanalBGP", "CanalIPAM",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/Examples/canal-confd",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CanalSelectorTests",
            dependencies: ["CanalSelector", .product(name: "PropertyBased", package: "swift-property-based")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CanalModelTests",
            dependencies: ["CanalModel", "CanalSelector", .product(name: "PropertyBased", package: "swift-property-based")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CanalManifestTests",
            dependencies: ["CanalManifest", "CanalModel", .product(name: "PropertyBased", package: "swift-property-based")],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CanalDatastoreTests",
            dependencies: ["CanalDatastore", "CanalModel", "CanalTesting", "CanalToolSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CanalPolicyTests",
            dependencies: ["CanalPolicy", "CanalTesting", "CanalModel", "CanalSelector", "CanalKubernetes", .product(name: "PropertyBased", package: "swift-property-based")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CanalKubernetesTests",
            dependencies: ["CanalKubernetes", "CanalModel", "CanalManifest", "CanalSelector"],
            exclude: ["Golden"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CanalBGPTests",
            dependencies: ["CanalBGP", "CanalModel", "CanalManifest", "CanalToolSupport", .product(name: "PropertyBased", package: "swift-property-based")],
            resources: [.copy("Golden")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CanalIPAMTests",
            dependencies: [
                "CanalIPAM", "CanalDatastore", "CanalModel", "CanalTesting",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CanalAgentTests",
            dependencies: ["CanalAgent", "CanalPolicy", "CanalModel", "CanalDatastore", "CanalTesting"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CanalCNITests",
            dependencies: ["CanalCNI", "CanalModel", .product(name: "PropertyBased", package: "swift-property-based")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ExamplesTests",
            dependencies: ["CanalModel", "CanalDatastore", "CanalTesting", "CanalIPAM", "CanalToolSupport"],
            swiftSettings: swiftSettings
        ),
    ]
)
