// swift-tools-version:6.0
// sensorgate: an IoT telemetry gateway for Linux boards.
// A pure core (events, config, profiles, rules), adapters and storage at the edges, one CLI.
import PackageDescription

let package = Package(
    name: "sensorgate",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "sensorgate", targets: ["sensorgate"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", exact: "2.13.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based", exact: "2.0.1"),
        // Counters through swift-metrics' API (CoreMetrics only: `Metrics` imports FoundationEssentials),
        // exported in Prometheus' text format; neither imports Foundation.
        .package(url: "https://github.com/apple/swift-metrics", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", exact: "2.4.1"),
    ],
    targets: [
        // C libraries, wrapped once each; only the storage, MQTT and YAML targets import them.
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CMosquitto", pkgConfig: "libmosquitto", providers: [.apt(["libmosquitto-dev"])]),
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),

        // libyaml, wrapped once: composes a document into nodes with their line and column,
        // aliases bounded; nothing else imports CYAML (and no Foundation, unlike Yams).
        .target(name: "SensorgateYAML", dependencies: ["CYAML"]),

        // Linux calls that Glibc's Swift module does not import: adjtimex, termios setup, openpty,
        // the GPIO v2 ioctls and event records.
        .target(name: "CLinux", linkerSettings: [.linkedLibrary("util")]),

        // Pure core: no I/O, no clock, no globals.
        .target(name: "SensorgateCore", dependencies: ["SensorgateYAML"]),

        // SQLite-backed state: sequence numbers (and, later, the offline buffer).
        .target(name: "SensorgateStorage", dependencies: ["SensorgateCore", "CSQLite"]),

        // MQTT through libmosquitto, wrapped once; nothing else imports CMosquitto.
        .target(name: "SensorgateMQTT", dependencies: [
            "CMosquitto", "SensorgateCore", .product(name: "Logging", package: "swift-log"),
        ]),

        // The concurrency discipline: bounded channels whose send suspends, threads we own for
        // blocking work, eventfd wake-ups; shared state in Synchronization's Mutex and Atomic.
        .target(name: "SensorgateRuntime", dependencies: ["SensorgateCore", "CLinux"]),

        // A small HTTP/1.1 server on a thread of ours (poll(2), keep-alive, Server-Sent Events): the
        // gateway's /metrics, /healthz, /status and status page. Chosen over Hummingbird 2 for its
        // footprint on a small board (README, "Looking inside").
        .target(name: "SensorgateHTTP", dependencies: ["SensorgateRuntime"]),

        // Device adapters, one folder each.
        .target(name: "SensorgateAdapters", dependencies: ["SensorgateCore", "SensorgateRuntime", "CLinux"]),

        // The running gateway: config files, adapters, event output, signals.
        .target(name: "SensorgateGateway", dependencies: [
            "SensorgateCore", "SensorgateStorage", "SensorgateAdapters", "SensorgateMQTT", "SensorgateRuntime", "SensorgateHTTP", "CLinux",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "CoreMetrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
        ]),

        .executableTarget(name: "sensorgate", dependencies: [
            "SensorgateGateway", "SensorgateCore",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        // `make bench`: measured figures against their targets (release build).
        .executableTarget(name: "sensorgate-bench", dependencies: ["SensorgateCore", "SensorgateAdapters"]),

        // `make fuzz`: libFuzzer entry points for the parsers of untrusted input.
        .executableTarget(name: "sensorgate-fuzz", dependencies: ["SensorgateCore", "SensorgateAdapters"]),

        .testTarget(name: "SensorgateCoreTests", dependencies: [
            "SensorgateCore", .product(name: "PropertyBased", package: "swift-property-based"),
        ], exclude: ["Fixtures"]),
        .testTarget(name: "SensorgateYAMLTests", dependencies: ["SensorgateYAML"]),
        .testTarget(name: "SensorgateStorageTests", dependencies: ["SensorgateStorage", "SensorgateCore"]),
        .testTarget(name: "SensorgateAdaptersTests", dependencies: ["SensorgateAdapters", "SensorgateCore", "SensorgateRuntime", "CLinux"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "SensorgateRuntimeTests", dependencies: ["SensorgateRuntime"]),
        .testTarget(name: "SensorgateHTTPTests", dependencies: ["SensorgateHTTP", "SensorgateRuntime"]),
        .testTarget(name: "SensorgateMQTTTests", dependencies: ["SensorgateMQTT", "SensorgateCore"]),
        .testTarget(name: "SensorgateGatewayTests", dependencies: [
            "SensorgateGateway", "SensorgateCore", "SensorgateAdapters", "SensorgateMQTT", .product(name: "Logging", package: "swift-log"),
            .product(name: "CoreMetrics", package: "swift-metrics"),
        ], exclude: ["Fixtures"]),
    ],
    swiftLanguageModes: [.v6]
)
