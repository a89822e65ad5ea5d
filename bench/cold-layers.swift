// Issue 28's cold Vault read, layer by layer, in one process and without FUSE: the latency and the
// process's CPU per first read of a KV secret through (1) AsyncHTTPClient alone, as the HTTP layer
// calls it, with `JSONSerialization` for the value; (2) `VaultSecretStore.read` (the HTTP layer's
// deadline and retries, the Vault client, the KV decoding); (3) `CachingSecretStore` over it (the
// cache's flight, its deadline race, the store of the answer). All on the event loop, with the
// loop's timers, as in the worker. Built and run by bench/cold-layers.sh, which makes it a target
// for the run only: it is not part of the package.
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOPosix
import SecretsBackendVault
import SecretsCore
import SecretsExecutor
import SecretsHTTP

EventLoopExecutor.install()

/// The worker's clock (SecretsCLI's `EventLoopTimeSource`, internal there): timers on the loop.
struct LoopClock: TimeSource {
    private let system = SystemTimeSource()
    func monotonicNow() -> Duration { system.monotonicNow() }
    func wallNow() -> Date { system.wallNow() }
    func sleep(for duration: Duration) async throws {
        let loop = MultiThreadedEventLoopGroup.currentEventLoop ?? MultiThreadedEventLoopGroup.singleton.any()
        try await loop.scheduleTask(in: .nanoseconds(duration.nanoseconds)) {}.futureResult.get()
    }
    func schedule(after duration: Duration, _ action: @escaping @Sendable () -> Void) -> @Sendable () -> Void {
        let loop = MultiThreadedEventLoopGroup.currentEventLoop ?? MultiThreadedEventLoopGroup.singleton.any()
        let timer = loop.scheduleTask(in: .nanoseconds(duration.nanoseconds)) { action() }
        return { timer.cancel() }
    }
}

func processCPU() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    let seconds = usage.ru_utime.tv_sec + usage.ru_stime.tv_sec
    return Double(seconds) * 1e6 + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec)
}

/// Median latency and mean CPU, in µs, of `count` reads of distinct secrets.
func measure(_ count: Int, _ read: (Int) async throws -> Int) async throws -> (latency: Double, cpu: Double) {
    var latencies: [Double] = []
    let cpu0 = processCPU()
    for index in 0..<count {
        let start = DispatchTime.now().uptimeNanoseconds
        let length = try await read(index)
        latencies.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e3)
        precondition(length == 32, "the planted values are 32 characters")
    }
    return (latencies.sorted()[count / 2], (processCPU() - cpu0) / Double(count))
}

func length(_ secret: Secret) -> Int {
    guard case .value(let value) = secret.content else { return -1 }
    return value.count
}

let environment = ProcessInfo.processInfo.environment
let address = environment["SECRETSFS_TEST_VAULT_ADDR"]!
let token = environment["SECRETSFS_TEST_VAULT_TOKEN"]!
let count = Int(CommandLine.arguments[1])!
let rounds = Int(CommandLine.arguments[2])!
let prefix = CommandLine.arguments[3]
let only = CommandLine.arguments.count > 4 ? CommandLine.arguments[4] : ""
var logger = Logger(label: "cold-layers")
logger.logLevel = .error
let client = HTTPClientSetup.makeClient(callTimeout: .seconds(5))
var options = VaultOptions()
options.address = address
let vault = try await VaultSecretStore.connect(
    options: options, environment: ["VAULT_TOKEN": token], homeDirectory: "/nonexistent", logger: logger,
    clock: LoopClock())

// Off the main actor, so the reads run on the loop as the worker's tasks do.
try await Task.detached { [logger, client, vault] in
    var figures: [String: [(latency: Double, cpu: Double)]] = [:]
    for round in 1...rounds {
        let direct =
            only != "" && only != "ahc"
            ? (latency: 0.0, cpu: 0.0)
            : try await measure(count) { index in
                var request = HTTPClientRequest(url: "\(address)/v1/secret/data/\(prefix)/s\(index)")
                request.headers.add(name: "X-Vault-Token", value: token)
                let response = try await client.execute(request, deadline: .distantFuture, logger: nil)
                let body = try await response.body.collect(upTo: 1 << 20)
                let root = try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]
                let data = (root?["data"] as? [String: Any])?["data"] as? [String: Any]
                return (data?["value"] as? String)?.utf8.count ?? -1
            }
        let store =
            only != "" && only != "store"
            ? (latency: 0.0, cpu: 0.0)
            : try await measure(count) { index in
                length(try await vault.read(try SecretPath("\(prefix)/s\(index)"), version: nil))
            }
        let cache = CachingSecretStore(upstream: vault, policy: CachePolicy(), clock: LoopClock(), logger: logger)
        let cached =
            only != "" && only != "cache"
            ? (latency: 0.0, cpu: 0.0)
            : try await measure(count) { index in
                length(try await cache.read(try SecretPath("\(prefix)/s\(index)"), version: nil))
            }
        for (name, figure) in [("AsyncHTTPClient", direct), ("VaultSecretStore", store), ("cache", cached)] {
            figures[name, default: []].append(figure)
        }
        print(
            "round \(round): "
                + [direct, store, cached].map { "\(Int($0.latency)) µs (CPU \(Int($0.cpu)))" }
                .joined(separator: " | "))
    }
    for name in ["AsyncHTTPClient", "VaultSecretStore", "cache"] {
        let latency = figures[name]!.map(\.latency).sorted(), cpu = figures[name]!.map(\.cpu).sorted()
        print("\(name): median latency \(Int(latency[rounds / 2])) µs, CPU \(Int(cpu[rounds / 2])) µs a read")
    }
    try await client.shutdown()
    await vault.shutdown()
}.value
