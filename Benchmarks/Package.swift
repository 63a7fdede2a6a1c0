// swift-tools-version: 6.2
import PackageDescription

// Canal's benchmarks, kept out of the library's dependency graph.
// Run: swift run -c release --package-path Benchmarks canal-bench selector   (or: datastore, bgp, all)
// Each benchmark prints `bench NAME VALUE UNIT` lines and, where a reference runs side by side, `ratio NAME VALUE`.
let package = Package(
    name: "canal-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "canal", path: ".."),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .executableTarget(
            name: "canal-bench",
            dependencies: [
                .product(name: "CanalSelector", package: "canal"),
                .product(name: "CanalDatastore", package: "canal"),
                .product(name: "CanalBGP", package: "canal"),
                .product(name: "CanalIPAM", package: "canal"),
                .product(name: "CanalModel", package: "canal"),
                .product(name: "CanalPolicy", package: "canal"),
                .product(name: "CanalAgent", package: "canal"),
                .product(name: "CanalTesting", package: "canal"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/canal-bench",
            resources: [.copy("raw_etcd.c")],
            swiftSettings: [
                .swiftLanguageMode(.v6),
                .enableUpcomingFeature("ExistentialAny"),
                .enableUpcomingFeature("MemberImportVisibility"),
            ]
        )
    ]
)
