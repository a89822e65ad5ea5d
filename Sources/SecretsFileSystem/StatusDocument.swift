import Foundation
import Prometheus
import SecretsCore

extension SecretsFileSystem {
    /// The bytes of `.status` or `.metrics`, made fresh on each open. Figures and names only.
    func document(for node: Node) async throws -> [UInt8] {
        let snapshot = await snapshot()
        switch node {
        case .status: return try StatusRenderer.json(snapshot)
        case .metrics: return Array(StatusRenderer.prometheus(snapshot).utf8)
        default: throw SecretError(.invalidArgument, "not a generated file")
        }
    }

    func snapshot() async -> StatusSnapshot {
        StatusSnapshot(
            descriptor: store.descriptor,
            health: await store.health(),
            uptime: (clock.monotonicNow() - startedMonotonic).seconds,
            cache: await store.statistics(),
            rotations: rotations.counts(),
            openHandles: handles.count,
            inodes: inodes.count,
            worker: worker)
    }
}

/// Everything `.status` and `.metrics` show, gathered once.
struct StatusSnapshot: Sendable {
    var descriptor: StoreDescriptor
    var health: HealthReport
    var uptime: Double
    var cache: CacheStatistics
    var rotations: [RotationOutcome.Total: Int]
    var openHandles: Int
    var inodes: Int
    var worker: WorkerIdentity?
}

enum StatusRenderer {
    private struct StatusJSON: Encodable {
        struct Cache: Encodable {
            var entries, hits, misses, staleServes, backendCalls, refreshes, evictions, breakerRejections: Int
            var hitRate: Double
            var breakerState: String
        }
        struct RecentError: Encodable {
            var time: String
            var path: String
            var kind: String
        }
        var backend: String
        var address: String
        var healthy: Bool
        var healthDetail: String
        var uptimeSeconds: Double
        var cache: Cache
        var errorsByKind: [String: Int]
        var lastErrors: [RecentError]
        var rotations: [String: Int]
        struct Worker: Encodable {
            var pid: Int32
            var startedAt: String
            var restarts: Int
            var reloads: Int
            var supervisorPid: Int32
        }
        var openHandles: Int
        var inodes: Int
        var worker: Worker?
    }

    static func json(_ snapshot: StatusSnapshot) throws -> [UInt8] {
        let stats = snapshot.cache
        let document = StatusJSON(
            backend: snapshot.descriptor.backend,
            address: snapshot.descriptor.address,
            healthy: snapshot.health.healthy,
            healthDetail: snapshot.health.detail,
            uptimeSeconds: (snapshot.uptime * 1000).rounded() / 1000,
            cache: .init(
                entries: stats.entries, hits: stats.hits, misses: stats.misses, staleServes: stats.staleServes,
                backendCalls: stats.backendCalls, refreshes: stats.refreshes, evictions: stats.evictions,
                breakerRejections: stats.breakerRejections,
                hitRate: (stats.hitRate * 10000).rounded() / 10000, breakerState: stats.breakerState.rawValue),
            errorsByKind: stats.errorsByKind,
            lastErrors: stats.recentErrors.map {
                .init(time: Timestamp.iso8601($0.time), path: $0.path, kind: $0.kind)
            },
            rotations: Dictionary(uniqueKeysWithValues: snapshot.rotations.map { ($0.key.rawValue, $0.value) }),
            openHandles: snapshot.openHandles,
            inodes: snapshot.inodes,
            worker: snapshot.worker.map {
                .init(
                    pid: $0.pid, startedAt: Timestamp.iso8601($0.startedAt), restarts: $0.restarts,
                    reloads: $0.reloads, supervisorPid: $0.supervisorPID)
            })
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(document)) + [UInt8(ascii: "\n")]
    }

    /// Prometheus text exposition format, version 0.0.4, written by swift-prometheus from a registry
    /// made for this read: the figures are the snapshot's, so nothing is counted twice.
    static func prometheus(_ snapshot: StatusSnapshot) -> String {
        let stats = snapshot.cache
        let registry = PrometheusCollectorRegistry()
        func named(_ name: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(namespace: "secretsfs", metricName: name, unitName: "", helpText: help)
        }
        func gauge(_ name: String, _ help: String, _ value: Double, labels: [(String, String)] = []) {
            registry.makeGauge(descriptor: named(name, help), labels: labels).set(to: value)
        }
        func counter(_ name: String, _ help: String, _ value: Int, labels: [(String, String)] = []) {
            registry.makeCounter(descriptor: named(name, help), labels: labels).increment(by: Int64(value))
        }
        gauge(
            "backend_healthy", "1 when the backend answers its health check.", snapshot.health.healthy ? 1 : 0,
            labels: [("backend", snapshot.descriptor.backend)])
        gauge("uptime_seconds", "Seconds since the mount started.", snapshot.uptime)
        gauge("cache_entries", "Entries in the cache.", Double(stats.entries))
        counter("cache_hits_total", "Reads answered from the cache.", stats.hits)
        counter("cache_misses_total", "Reads that went to the backend.", stats.misses)
        gauge("cache_hit_ratio", "Hits over hits and misses.", stats.hitRate)
        counter("cache_stale_serves_total", "Values served stale because the backend failed.", stats.staleServes)
        counter("cache_refreshes_total", "Background refreshes before expiry.", stats.refreshes)
        counter("cache_evictions_total", "Entries evicted by the size bound.", stats.evictions)
        counter("backend_calls_total", "Calls made to the backend.", stats.backendCalls)
        gauge(
            "breaker_open", "1 while the circuit breaker refuses calls to the backend.",
            stats.breakerState == .closed ? 0 : 1)
        counter("breaker_rejections_total", "Calls refused by the open breaker.", stats.breakerRejections)
        for (kind, count) in stats.errorsByKind {
            counter("errors_total", "Backend errors by kind.", count, labels: [("kind", kind)])
        }
        for outcome in RotationOutcome.Total.allCases {
            counter(
                "rotations_total", "Rotations through .rotate by outcome.", snapshot.rotations[outcome] ?? 0,
                labels: [("outcome", outcome.rawValue)])
        }
        gauge("open_handles", "Files and folders open through the mount.", Double(snapshot.openHandles))
        return registry.emitToString()
    }
}
