// swift-tools-version: 6.2
import PackageDescription

// Benchmarks live in their own package so their code stays out of library clients' graphs.
// `swift run -c release canal-bench datastore` prints `bench NAME VALUE UNIT` and `ratio NAME VALUE` lines.
let package = Package(
    name: "canal-benchmarks",
    dependencies: [
        .package(name: "canal", path: "../"),
    ],
    targets: [
        .executableTarget(
            name: "canal-bench",
            dependencies: [.product(name: "CanalDatastore", package: "canal")],
            path: "Sources/canal-bench",
            resources: [.copy("raw_etcd.c")],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ]
)
