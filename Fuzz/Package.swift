// swift-tools-version: 6.2
import PackageDescription

// libFuzzer targets for Canal. Build and run one with scripts/fuzz.sh NAME SECONDS, which passes
// -sanitize=fuzzer,address and -parse-as-library (libFuzzer supplies main).
let settings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "canal-fuzz",
    dependencies: [
        .package(name: "canal", path: "..")
    ],
    targets: [
        .executableTarget(
            name: "SelectorFuzzer",
            dependencies: [.product(name: "CanalSelector", package: "canal")],
            swiftSettings: settings
        ),
        .executableTarget(
            name: "ManifestFuzzer",
            dependencies: [
                .product(name: "CanalManifest", package: "canal"),
                .product(name: "CanalModel", package: "canal"),
            ],
            swiftSettings: settings
        ),
    ]
)
