import Foundation
import SecretsCore

extension SecretsFileSystem {
    func snapshot() async -> StatusSnapshot {
        StatusSnapshot(
            descriptor: store.descriptor,
            health: await store.health(),
            uptime: (clock.monotonicNow() - startedMonotonic).seconds,
            cache: await store.statistics(),
            rotations: rotations.counts(),
            openHandles: handles.count,
            inodes: inodes.count,
            worker: worker,
            certificates: await options.certificates.statuses(),
            leases: await options.leases.statuses(),
            now: clock.wallNow(),
            actions: options.actions?.all ?? [],
            requests: requests.all,
            opensStayInKernel: opensStayInKernel)
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
    var certificates: [CertificateStatus] = []
    var leases: [LeaseStatus] = []
    var now = Date()
    var actions: [ChangeActionFigures] = []
    var requests: [(RequestTally.Operation, Int)] = []
    var opensStayInKernel = false
}

enum StatusRenderer {
    private struct StatusJSON: Encodable {
        struct Cache: Encodable {
            var entries, hits, misses, staleServes, backendCalls, refreshes, evictions, breakerRejections: Int
            var freshnessChecks, confirmedFresh: Int
            var hitRate: Double
            var breakerState: String
        }
        struct RecentError: Encodable {
            var time: String
            /// Left out for a reader who is neither root nor the mount's owner.
            var path: String?
            var kind: String
        }
        var version: String
        var backend: String
        var address: String
        var healthy: Bool
        var healthDetail: String
        /// Likely mistakes in the backend's setup (a prefix with nothing under it); absent when none.
        var warnings: [String]?
        var uptimeSeconds: Double
        var cache: Cache
        struct Prefetch: Encodable {
            var matched, read, failed, failedListings: Int
            var seconds: Double
        }
        /// Absent when `--prefetch` was not given (or this worker took the cache over).
        var prefetch: Prefetch?
        struct CacheFile: Encodable {
            var path: String
            var restored, writes: Int
            var lastWrite: String?
            var problem: String?
        }
        /// Only with `--cache-file`.
        var cacheFile: CacheFile?
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
        /// "kernel" where the kernel opens files without asking this mount (no policy, audit log or
        /// events can be added to it by `reload`), else "daemon".
        var opens: String
        var worker: Worker?
        /// Only on a mount with `certificates:`.
        var certificates: [Certificate]?
        struct Certificate: Encodable {
            var path: String
            var serial: String?
            var expiresAt: String?
            var expiresInSeconds: Int?
            var problem: String?
        }
        /// Only on a mount with `leases:`. Never the lease id: it is a credential.
        var leases: [Lease]?
        struct Lease: Encodable {
            var path: String
            var kind: String
            var obtainedAt: String?
            var expiresAt: String?
            var expiresInSeconds: Int?
            var renewals: Int
            var made: Int
            var problem: String?
        }
        struct Action: Encodable {
            var index: Int
            var kind: String
            var runs: Int
            var failures: Int
            var lastExitStatus: Int32?
            var lastFailure: String?
            var lastRun: String?
        }
        var actions: [Action]?
    }

    static func json(_ snapshot: StatusSnapshot, errorPaths: Bool = true) throws -> [UInt8] {
        let stats = snapshot.cache
        let document = StatusJSON(
            version: SecretsFSVersion.string,
            backend: snapshot.descriptor.backend,
            address: snapshot.descriptor.address,
            healthy: snapshot.health.healthy,
            healthDetail: snapshot.health.detail,
            warnings: snapshot.health.warnings.isEmpty ? nil : snapshot.health.warnings,
            uptimeSeconds: (snapshot.uptime * 1000).rounded() / 1000,
            cache: .init(
                entries: stats.entries, hits: stats.hits, misses: stats.misses, staleServes: stats.staleServes,
                backendCalls: stats.backendCalls, refreshes: stats.refreshes, evictions: stats.evictions,
                breakerRejections: stats.breakerRejections, freshnessChecks: stats.freshnessChecks,
                confirmedFresh: stats.confirmedFresh,
                hitRate: (stats.hitRate * 10000).rounded() / 10000, breakerState: stats.breakerState.rawValue),
            prefetch: stats.prefetch.map {
                .init(
                    matched: $0.matched, read: $0.read, failed: $0.failed, failedListings: $0.failedListings,
                    seconds: ($0.seconds * 1000).rounded() / 1000)
            },
            cacheFile: stats.cacheFile.map {
                .init(
                    path: $0.path, restored: $0.restored, writes: $0.writes,
                    lastWrite: $0.lastWrite.map(Timestamp.iso8601), problem: $0.problem)
            },
            errorsByKind: stats.errorsByKind,
            lastErrors: stats.recentErrors.map {
                .init(time: Timestamp.iso8601($0.time), path: errorPaths ? $0.path : nil, kind: $0.kind)
            },
            rotations: Dictionary(uniqueKeysWithValues: snapshot.rotations.map { ($0.key.rawValue, $0.value) }),
            openHandles: snapshot.openHandles,
            inodes: snapshot.inodes,
            opens: snapshot.opensStayInKernel ? "kernel" : "daemon",
            worker: snapshot.worker.map {
                .init(
                    pid: $0.pid, startedAt: Timestamp.iso8601($0.startedAt), restarts: $0.restarts,
                    reloads: $0.reloads, supervisorPid: $0.supervisorPID)
            },
            certificates: certificates(snapshot),
            leases: snapshot.leases.isEmpty
                ? nil
                : snapshot.leases.map { lease in
                    .init(
                        path: lease.path.string, kind: lease.kind.rawValue,
                        obtainedAt: lease.obtainedAt.map(Timestamp.iso8601),
                        expiresAt: lease.expiresAt.map(Timestamp.iso8601),
                        expiresInSeconds: lease.expiresAt.map {
                            Int($0.timeIntervalSince(snapshot.now).rounded(.down))
                        },
                        renewals: lease.renewals, made: lease.made, problem: lease.problem)
                },
            actions: snapshot.actions.isEmpty
                ? nil
                : snapshot.actions.map {
                    .init(
                        index: $0.index, kind: $0.kind, runs: $0.runs, failures: $0.failures,
                        lastExitStatus: $0.lastExitStatus, lastFailure: $0.lastFailure,
                        lastRun: $0.lastRun.map(Timestamp.iso8601))
                })
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(document)) + [UInt8(ascii: "\n")]
    }

    /// Each certificate folder with the certificate it shows, or why none; nil on a mount without any.
    private static func certificates(_ snapshot: StatusSnapshot) -> [StatusJSON.Certificate]? {
        guard !snapshot.certificates.isEmpty else { return nil }
        return snapshot.certificates.map { certificate in
            let shown = certificate.issued.last
            return StatusJSON.Certificate(
                path: certificate.path.string, serial: shown?.serial,
                expiresAt: shown.map { Timestamp.iso8601($0.expiresAt) },
                expiresInSeconds: shown.map { Int($0.expiresAt.timeIntervalSince(snapshot.now).rounded(.down)) },
                problem: certificate.problem)
        }
    }

    /// Prometheus text exposition format, version 0.0.4.
    static func prometheus(_ snapshot: StatusSnapshot) -> String {
        let stats = snapshot.cache
        var out = ""
        func metric(_ name: String, _ type: String, _ help: String, _ samples: [(String, Double)]) {
            out += "# HELP secretsfs_\(name) \(help)\n# TYPE secretsfs_\(name) \(type)\n"
            for (labels, value) in samples {
                let rendered = value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : String(value)
                out += "secretsfs_\(name)\(labels) \(rendered)\n"
            }
        }
        let backend = "{backend=\"\(escape(snapshot.descriptor.backend))\"}"
        metric(
            "backend_healthy", "gauge", "1 when the backend answers its health check.",
            [(backend, snapshot.health.healthy ? 1 : 0)])
        metric("uptime_seconds", "gauge", "Seconds since the mount started.", [("", snapshot.uptime)])
        metric("cache_entries", "gauge", "Entries in the cache.", [("", Double(stats.entries))])
        metric("cache_hits_total", "counter", "Reads answered from the cache.", [("", Double(stats.hits))])
        metric("cache_misses_total", "counter", "Reads that went to the backend.", [("", Double(stats.misses))])
        metric("cache_hit_ratio", "gauge", "Hits over hits and misses.", [("", stats.hitRate)])
        metric(
            "cache_stale_serves_total", "counter", "Values served stale because the backend failed.",
            [("", Double(stats.staleServes))])
        metric(
            "cache_refreshes_total", "counter", "Background refreshes before expiry.", [("", Double(stats.refreshes))])
        metric(
            "cache_evictions_total", "counter", "Entries evicted by the size bound.", [("", Double(stats.evictions))])
        metric("backend_calls_total", "counter", "Calls made to the backend.", [("", Double(stats.backendCalls))])
        metric(
            "freshness_checks_total", "counter", "Listings of current versions made to tell what changed.",
            [("", Double(stats.freshnessChecks))])
        metric(
            "confirmed_fresh_total", "counter", "Cached values marked fresh because their version was unchanged.",
            [("", Double(stats.confirmedFresh))])
        if let prefetch = stats.prefetch {
            metric(
                "prefetch_secrets", "gauge", "Secrets matched by --prefetch at mount, by outcome.",
                [("{outcome=\"read\"}", Double(prefetch.read)), ("{outcome=\"failed\"}", Double(prefetch.failed))])
        }
        metric(
            "breaker_open", "gauge", "1 while the circuit breaker refuses calls to the backend.",
            [("", stats.breakerState == .closed ? 0 : 1)])
        metric(
            "breaker_rejections_total", "counter", "Calls refused by the open breaker.",
            [("", Double(stats.breakerRejections))])
        metric(
            "errors_total", "counter", "Backend errors by kind.",
            stats.errorsByKind.sorted { $0.key < $1.key }.map { ("{kind=\"\(escape($0.key))\"}", Double($0.value)) })
        metric(
            "rotations_total", "counter", "Rotations through .rotate by outcome.",
            RotationOutcome.Total.allCases.map {
                ("{outcome=\"\($0.rawValue)\"}", Double(snapshot.rotations[$0] ?? 0))
            })
        metric(
            "fuse_requests_total", "counter", "Requests the kernel sent this worker, by operation.",
            snapshot.requests.map { ("{op=\"\($0.0.name)\"}", Double($0.1)) })
        metric(
            "open_handles", "gauge", "Files and folders open through the mount.", [("", Double(snapshot.openHandles))])
        if !snapshot.certificates.isEmpty {
            metric(
                "certificate_expiry_seconds", "gauge",
                "Seconds until the certificate a folder of certificates: shows expires; absent while none is issued.",
                snapshot.certificates.compactMap { certificate -> (String, Double)? in
                    guard let shown = certificate.issued.last else { return nil }
                    let left = shown.expiresAt.timeIntervalSince(snapshot.now).rounded(.down)
                    return ("{path=\"\(escape(certificate.path.string))\"}", left)
                })
        }
        if !snapshot.actions.isEmpty {
            let labels = snapshot.actions.map { "{action=\"\($0.index)\",kind=\"\($0.kind)\"}" }
            metric(
                "action_runs_total", "counter", "Runs of each on_change action.",
                zip(labels, snapshot.actions).map { ($0, Double($1.runs)) })
            metric(
                "action_failures_total", "counter", "Failed runs of each on_change action.",
                zip(labels, snapshot.actions).map { ($0, Double($1.failures)) })
        }
        return out
    }

    private static func escape(_ label: String) -> String {
        label.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }
}
