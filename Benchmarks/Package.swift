// swift-tools-version: 6.2
import PackageDescription

// Canal's benchmarks, kept out of the library's dependency graph.
// Run: swift run -c release --package-path Benchmarks canal-bench selector   (or: all)
let package = Package(
    name: "canal-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "canal", path: "..")
    ],
    targets: [
        .executableTarget(
            name: "canal-bench",
            dependencies: [.product(name: "CanalSelector", package: "canal")],
            swiftSettings: [
                .swiftLanguageMode(.v6),
                .enableUpcomingFeature("ExistentialAny"),
                .enableUpcomingFeature("InternalImportsByDefault"),
                .enableUpcomingFeature("MemberImportVisibility"),
            ]
        )
    ]
)
