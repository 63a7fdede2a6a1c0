// swift-tools-version: 6.2
import PackageDescription

// libFuzzer targets for Canal. Build and run one with scripts/fuzz.sh NAME SECONDS, which passes
// -sanitize=fuzzer,address and -parse-as-library (libFuzzer supplies main).
let package = Package(
    name: "canal-fuzz",
    dependencies: [
        .package(name: "canal", path: "..")
    ],
    targets: [
        .executableTarget(
            name: "SelectorFuzzer",
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
