// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "secretsfs",
    products: [
        .executable(name: "secretsfs", targets: ["secretsfs"]),
        // The mount's supervisor, exec'd by `secretsfs mount` from beside it: no Foundation, no NIO.
        .executable(name: "secretsfs-supervise", targets: ["secretsfs-supervise"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/vapor/sqlite-nio.git", from: "1.13.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        .package(url: "https://github.com/stencilproject/Stencil.git", from: "0.15.1"),
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
    ],
    targets: [
        // The one time format, Glibc only: the supervisor program and the core both write it.
        .target(name: "SecretsTime"),
        .target(
            name: "SecretsCore",
            dependencies: [
                "SecretsTime",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // What a backend declares itself with (its option specs, how it connects); the registry reads it.
        .target(
            name: "SecretsBackendKit",
            dependencies: [
                "SecretsCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "SecretsBackendLocal",
            dependencies: [
                "SecretsCore", "SecretsBackendKit",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "SecretsBackendEnv",
            dependencies: ["SecretsCore", "SecretsBackendKit", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "SecretsTemplates",
            dependencies: ["SecretsCore", .product(name: "Stencil", package: "Stencil")]
        ),
        // The one HTTP layer both HTTP backends use: client setup, deadline, retry, transport errors.
        .target(
            name: "SecretsHTTP",
            dependencies: [
                "SecretsCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "SecretsBackendVault",
            dependencies: [
                "SecretsCore", "SecretsBackendKit",
                .product(name: "Crypto", package: "swift-crypto"), "SecretsHTTP",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(name: "AWSSigV4", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        .target(
            name: "SecretsBackendAWS",
            dependencies: [
                "SecretsCore", "SecretsBackendKit", "AWSSigV4", "SecretsHTTP",
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "SecretsFileSystem",
            dependencies: ["SecretsCore", "SecretsTemplates", .product(name: "Logging", package: "swift-log")]
        ),
        .systemLibrary(
            name: "CFUSE",
            pkgConfig: "fuse3",
            providers: [.apt(["libfuse3-dev"])]
        ),
        // Process supervision (DESIGN §6): the supervisor, its typed protocol with the worker, the one
        // spawn helper, systemd's notify socket and descriptor store. Glibc, Dispatch and swift-log only:
        // no Foundation, no NIO, no libfuse, so the process that lives as long as the mount stays small.
        .target(
            name: "SecretsSupervision",
            dependencies: ["CProcessGuard", "SecretsTime", .product(name: "Logging", package: "swift-log")]
        ),
        .executableTarget(
            name: "secretsfs-supervise",
            dependencies: ["SecretsSupervision", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "SecretsFUSE",
            dependencies: [
                "CFUSE", "CProcessGuard", "SecretsFileSystem", "SecretsCore", "SecretsSupervision",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The Kubernetes CSI node plugin's gRPC face (DESIGN §12); the only target that imports gRPC. Its
        // generated code is committed (scripts/gen-csi), so no protobuf plugin is built here.
        .target(
            name: "SecretsCSI",
            dependencies: [
                "SecretsCore",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            exclude: ["Proto/csi.proto"]
        ),
        .target(
            name: "SecretsCLI",
            dependencies: [
                "SecretsCore", "SecretsBackendKit", "SecretsBackendLocal", "SecretsBackendEnv", "SecretsBackendVault",
                "SecretsBackendAWS", "SecretsFileSystem", "SecretsFUSE", "SecretsTemplates", "CProcessGuard",
                "SecretsCSI", "SecretsSupervision",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .target(name: "CConcurrencyHook"),
        // Runs before main in every secretsfs process: non-dumpable, no core, credentials out of environ.
        .target(name: "CProcessGuard"),
        // Swift concurrency's global jobs on NIO's event loops, as the binary runs; the FS tests too.
        .target(
            name: "SecretsExecutor",
            dependencies: [
                "CConcurrencyHook", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .executableTarget(name: "secretsfs", dependencies: ["SecretsCLI", "SecretsExecutor"]),

        // A library every backend's tests run; it records every broken promise, and skips the suites
        // whose server (OpenBao, moto) was not started unless scripts/test requires them.
        .target(
            name: "SecretStoreConformance",
            dependencies: ["SecretsCore", .product(name: "Logging", package: "swift-log")],
            path: "Tests/SecretStoreConformance"
        ),
        .testTarget(
            name: "SecretsCoreTests",
            dependencies: [
                "SecretsCore", "SecretStoreConformance",
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(name: "SecretsBackendLocalTests", dependencies: ["SecretsBackendLocal", "SecretStoreConformance"]),
        .testTarget(name: "SecretsBackendEnvTests", dependencies: ["SecretsBackendEnv", "SecretStoreConformance"]),
        .testTarget(name: "SecretsTemplatesTests", dependencies: ["SecretsTemplates", "SecretsCore"]),
        .testTarget(
            name: "SecretsBackendVaultTests",
            dependencies: [
                "SecretsBackendVault", "SecretStoreConformance", .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(name: "AWSSigV4Tests", dependencies: ["AWSSigV4"]),
        .testTarget(
            name: "SecretsHTTPTests",
            dependencies: [
                "SecretsHTTP", "SecretsCore", .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "SecretsBackendAWSTests",
            dependencies: [
                "SecretsBackendAWS", "SecretsHTTP", "SecretStoreConformance",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "SecretsFileSystemTests",
            dependencies: [
                "SecretsFileSystem", "SecretsCore", "SecretsExecutor", "SecretsTemplates",
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "SecretsCLITests", dependencies: ["SecretsCLI", "SecretsSupervision"]),
        .testTarget(name: "SecretsFUSETests", dependencies: ["SecretsFUSE", "SecretsSupervision", "CProcessGuard"]),
        .testTarget(name: "SecretsSupervisionTests", dependencies: ["SecretsSupervision", "SecretsTime"]),
        // Bounded property and fuzz checks of every parser that takes outside input.
        .testTarget(
            name: "PropertyTests",
            dependencies: [
                "SecretsCore", "SecretsFileSystem", "SecretsBackendVault", "SecretsBackendAWS", "SecretsHTTP",
                "SecretsCLI", .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)

// The tests' own code is not optimized in a release build: what they check is the library modules,
// which stay compiled as the binary's (-O, whole module). At -O the test modules cost as much CPU as
// the libraries they test (issue 28: docs/BENCHMARKS.md, "Issue 28: the CI build").
for target in package.targets where target.type == .test || target.name == "SecretStoreConformance" {
    target.swiftSettings = (target.swiftSettings ?? []) + [.unsafeFlags(["-Onone"], .when(configuration: .release))]
}
