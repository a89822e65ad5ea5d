"""The results table (one row per figure, under the section's number) and the run's machine line,
printed and written between the marker comments of docs/BENCHMARKS.md."""

import datetime
import os
import platform
import re
import subprocess

from harness import median

MARK_START = "<!-- bench:results:start -->"
MARK_END = "<!-- bench:results:end -->"


def table(r):
    rows = []

    def row(what, figure, target="", verdict=""):
        rows.append(f"| {what} | {figure} | {target} | {verdict} |")

    def met(ok):
        return "met" if ok else "**not met**"

    if "cached" in r:
        c = r["cached"]
        n = r["cached_iterations"]
        row(f"1. tmpfs (`/dev/shm`), open+read+close ×{n:,} from C", f"{c['tmpfs']:.2f} µs")
        row("1. libfuse `hello` (high-level, multi-threaded, `kernel_cache`)", f"{c['hello']:.2f} µs")
        row("1. secretsfs mount, default (page cache, OPEN answered ENOSYS once)", f"{c['mount']:.2f} µs")
        ratio = c["mount"] / c["tmpfs"]
        row("1. ratio mount / tmpfs", f"{ratio:.2f}×", "≤ 2×", met(ratio <= 2))
        row("1. ratio mount / hello", f"{c['mount'] / c['hello']:.3f}×")
        if "cached_python" in r:
            py = r["cached_python"]
            ratio = py["mount"] / py["tmpfs"]
            row("1. the same from Python (`open().read()`, median of each read): tmpfs / mount "
                "(Python's `isatty` ioctl reaches the daemon on every open: fs/fuse/ioctl.c forwards every "
                "ioctl and remembers no refusal)",
                f"{py['tmpfs']:.1f} µs / {py['mount']:.1f} µs = {ratio:.2f}×", "≤ 1.5×", met(ratio <= 1.5))
        for key, label in (("audit", "`--audit-log`"), ("policy", "policy (config `policy:` by uid)"),
                           ("direct", "`--direct-io`"),
                           ("events", "`--events` (every open reaches the daemon, pages kept)")):
            if key not in c:
                continue
            ratio = c[key] / c["hello"]
            row(f"2. secretsfs {label}", f"{c[key]:.2f} µs = {ratio:.2f}× hello", "≤ 1× hello",
                met(ratio <= 1))
    if "cold" in r:
        c = r["cold"]
        calls = r["cold_calls_per_read"]
        n = r["cold_per_round"]
        row(f"3. Vault: cache miss through the mount, default TTL (first open+read of each of {n} secrets "
            "in a listed folder, Python)", f"{c['vault_miss']:.0f} µs ({calls['vault_miss']:.2f} backend calls "
            "per read)")
        row("3. Vault: direct GET of the same secrets, keep-alive `http.client`, JSON decoded",
            f"{c['vault_http']:.0f} µs")
        row("3. the same secrets read again through the mount (cached: kernel and Python only), Vault / moto",
            f"{r['cold_hit']['vault_miss']:.0f} µs / {r['cold_hit']['aws_miss']:.0f} µs")
        ratio = c["vault_miss"] / c["vault_http"]
        row("3. ratio Vault miss / direct", f"{ratio:.2f}×", "≤ 1.2×", met(ratio <= 1.2))
        for key, label in (("vault_floor", "the least a FUSE daemon can do (bench/cold-floor.c: LOOKUP "
                            "fetches with one bare GET, OPEN declined, READ from memory)"),
                           ("vault_floor_hop", "the same with one thread hand-off a LOOKUP, as secretsfs "
                            "hands a miss to the event loop its HTTP client runs on")):
            if key not in c:
                continue
            get = r["cold_floor_get"][key]
            row(f"3. for reference, {label}: first open+read as above / direct; its own GET",
                f"{c[key]:.0f} µs = {c[key] / c['vault_http']:.2f}×; GET {get:.0f} µs, so its FUSE requests "
                f"{c[key] - get:.0f} µs")
        if "vault_prefetched" in c:
            ratio = c["vault_prefetched"] / c["tmpfs_first"]
            row(f"3. Vault, `--prefetch`: first open+read of each of the {n} secrets (read at mount, before "
                "ready) / the same first reads of files on tmpfs",
                f"{c['vault_prefetched']:.1f} µs / {c['tmpfs_first']:.1f} µs = {ratio:.2f}× "
                f"({calls['vault_prefetched']:.2f} backend calls per read)")
            if "vault_floor" in r["cold_hit"]:
                floor = r["cold_hit"]["vault_floor"]
                row("3. for reference, the same secrets read again through bench/cold-floor.c (pages in the "
                    "kernel, only Python's `isatty` IOCTL reaches the daemon, as on a prefetched first read) / "
                    "tmpfs first reads", f"{floor:.1f} µs = {floor / c['tmpfs_first']:.2f}×")
        row("3. moto: cache miss through the mount, default TTL (as above)",
            f"{c['aws_miss']:.0f} µs ({calls['aws_miss']:.2f} backend calls per read)")
        row("3. moto: direct GetSecretValue of the same secrets, botocore-signed, keep-alive `http.client`",
            f"{c['aws_http']:.0f} µs")
        row("3. moto: boto3 `get_secret_value` of the same secrets", f"{c['aws_boto3']:.0f} µs")
        ratio = c["aws_miss"] / c["aws_http"]
        row("3. ratio moto miss / direct signed request", f"{ratio:.2f}×", "≤ 1.2×", met(ratio <= 1.2))
        row("3. ratio moto miss / boto3", f"{c['aws_miss'] / c['aws_boto3']:.2f}×")
        row("3. for reference, `--cache-ttl 0` (every operation goes to the backend): Vault open+read",
            f"{c['vault_ttl0']:.0f} µs = {c['vault_ttl0'] / c['vault_ttl0_http']:.1f}× direct "
            f"({calls['vault_ttl0']:.2f} backend calls per read)")
        if "cold_lone_ttl0" in r:
            fresh, idle = r["cold_lone_ttl0"]
            row("3. `--cache-ttl 0`: Vault backend calls of a lone `cat` two folders deep, fresh mount / "
                "after 1.5 s idle", f"{fresh} / {idle}", "≤ 2", met(max(fresh, idle) <= 2))
        row("3. for reference, `--cache-ttl 0`: moto open+read",
            f"{c['aws_ttl0']:.0f} µs = {c['aws_ttl0'] / c['aws_ttl0_http']:.1f}× direct signed "
            f"({calls['aws_ttl0']:.2f} backend calls per read)")
    if "herd" in r:
        h = r["herd"]
        calls = "/".join(str(x) for x in h["calls"])
        single = "/".join(str(x) for x in h["single"])
        row("4. 100 concurrent readers, one uncached Vault secret, fresh mount: backend calls (each round) "
            "— one reader alone makes (list `/`, list `bench/`, read)", f"{calls} — {single}",
            "1 per key (= one reader's)", met(all(x <= y for x, y in zip(h["calls"], h["single"]))))
        row("4. latency p50 / p99", f"{h['p50']:.1f} ms / {h['p99']:.1f} ms")
    if "many" in r:
        m = r["many"]
        row("5. seeding: one `secretsfs put` (2 in parallel)", f"{m['per_put_ms']:.1f} ms per secret")
        row(f"5. `find MP -type f \\| wc -l`, 10,000 secrets, fresh mount ({m['find_count']:,} files incl. "
            f"`.versions/*`, `.rotate`, `.status`, `.metrics`)", f"{m['find_s']:.2f} s")
        if "tmpfs_find_s" in m:
            per_secret = m["find_s"] / m["secrets"] * 1e6
            row("5. the same `find`, per secret / tmpfs with the same tree (`/dev/shm`)",
                f"{per_secret:.0f} µs / {m['tmpfs_find_s'] / m['secrets'] * 1e6:.1f} µs", "≤ 100 µs a secret",
                met(per_secret <= 100))
        row(f"5. `ls -l` of a 1,000-secret folder, fresh mount / again ({m['ls_entries']} files)",
            f"{m['ls_cold_ms']:.0f} ms / {m['ls_warm_ms']:.0f} ms")
        if "tmpfs_ls_ms" in m:
            ratio = m["ls_warm_ms"] / m["tmpfs_ls_ms"]
            row("5. `ls -l` of the 1,000 again / the same folder on tmpfs",
                f"{m['ls_warm_ms']:.0f} ms / {m['tmpfs_ls_ms']:.1f} ms = {ratio:.1f}×", "≤ 2×", met(ratio <= 2))
        row("5. read all 10,000 secrets (Python open/read)", f"{m['read_all_s']:.2f} s")
        if "read_again_s" in m:
            row("5. read all 10,000 again: seconds / backend calls (the default `--cache-max-entries` keeps "
                "the tree and its listings)", f"{m['read_again_s']:.2f} s / {m['second_pass_calls']:.0f}", "0 calls",
                met(m["second_pass_calls"] == 0))
        if "worker_read_only_mib" in m:
            row("5. worker VmRSS (serves the mount, holds the cache), fresh mount, after reading all 10,000 "
                "and nothing else", f"{m['worker_read_only_mib']:.1f} MiB", "≤ 64 MiB",
                met(m["worker_read_only_mib"] <= 64))
            row("5. worker VmRSS after `ls -l`, the `find` and reading all 10,000",
                f"{m['worker_end_mib']:.1f} MiB", "≤ 64 MiB", met(m["worker_end_mib"] <= 64))
            row("5. of which anonymous (heap, stacks) / file-backed (binary, libraries)",
                f"{m['anon_end_mib']:.1f} / {m['file_end_mib']:.1f} MiB")
        row("5. supervisor VmRSS (keeps the mount; no cache): after reading all 10,000 alone / after mount / "
            "after `ls -l` and the `find` / then after reading all 10,000",
            f"{m['rss_read_only_mib']:.1f} / {m['rss_start_mib']:.1f} / {m['rss_find_mib']:.1f} / "
            f"{m['rss_end_mib']:.1f} MiB", "≤ 10 MiB", met(m["rss_end_mib"] <= 10))
    if "ready" in r:
        d = r["ready"]
        row("6. `secretsfs mount` start → mounted and a file reads, local store", f"{d['local']:.0f} ms",
            "≤ 200 ms", met(d["local"] <= 200))
        row("6. the same, Vault", f"{d['vault']:.0f} ms", "≤ 200 ms after the backend answers",
            met(d["vault"] - d["vault_http"] <= 200))
        row("6. Vault's own answer (new connection + GET) / `secretsfs --help` run",
            f"{d['vault_http']:.1f} ms / {d['exec']:.0f} ms")
    if "lifetime" in r:
        life = r["lifetime"]
        n = life["readers"]
        what = {"kill": f"worker SIGKILLed ×{life['kills']}, {life['spacing']} s apart",
                "restart": f"descriptor-store restarts ×{life['restarts']}, 1.5 s apart (SIGTERM, then a new "
                           "`mount` with the stored fds)",
                "reload": f"`secretsfs reload` ×{life['restarts']}, 1.5 s apart"}
        mode_label = {"cached": "cached (default mode)", "uncached": "uncached (`--cache-ttl 0`)"}
        for key, p in life["phases"].items():
            mode, kind = key.split("_")
            errors = f"{p['errors']} errors, {p['wrong']} wrong, {p['hung']} hung of {p['reads']:,} reads"
            if p["errors"]:
                seen = sorted({f"{e['op']} {e['errno']}" for e in p["error_list"]})
                errors += f" ({', '.join(seen)})"
            row(f"7. {n} readers (C, open+read+close loop), {mode_label[mode]}, {what[kind]}: reader errors",
                errors, "0", met(p["errors"] == 0 and p["wrong"] == 0 and p["hung"] == 0))
            per_event = sorted(p["per_event_stall_ms"])
            row(f"7. the same: longest single open+read+close (median / max of each event's longest; "
                f"reads ≥ 100 ms)",
                f"{p['max_stall_ms']:.0f} ms ({median(per_event):.0f} / {per_event[-1]:.0f} ms; "
                f"{p['slow_100ms']})", "≤ 1 s", met(p["max_stall_ms"] <= 1000))
            took = p["event_took_ms"]
            label = {"kill": "SIGKILL → the new worker answers `.status`",
                     "restart": "SIGTERM → the new supervisor's worker answers `.status` (SIGTERM → exit)",
                     "reload": "`secretsfs reload` run"}[kind]
            figure = f"{median(took):.0f} ms (max {max(took):.0f})"
            if p["stopped_ms"]:
                figure += f" ({median(p['stopped_ms']):.0f} ms)"
            row(f"7. the same: {label}, median", figure)
        for mode in ("cached", "uncached"):
            if f"{mode}_kill" in life["phases"]:
                row(f"7. supervisor VmRSS after the {mode} mount's kills, restarts and reloads",
                    f"{life['phases'][mode + '_reload']['supervisor_rss_kib_after'] / 1024:.1f} MiB")
        for name in ("supervisor", "worker"):
            x = life["rest"][name]
            target = "a few MiB (≤ 5 MiB)" if name == "supervisor" else ""
            row(f"7. {name} at rest (fresh default mount, one read): VmRSS (RssAnon / Pss)",
                f"{x['VmRSS'] / 1024:.1f} MiB ({x['RssAnon'] / 1024:.1f} / {x['Pss'] / 1024:.1f} MiB)",
                target, met(x["VmRSS"] <= 5 * 1024) if target else "")
            row(f"7. {name} CPU over {x['seconds']:.0f} s idle: utime+stime (schedstat on-CPU time; "
                "voluntary switches)",
                f"{x['ticks']} ticks of 1/{life['clock_ticks']} s ({x['cpu_ms']:.2f} ms; {x['wakeups']})",
                "no CPU when idle" if name == "supervisor" else "",
                met(x["ticks"] == 0) if name == "supervisor" else "")
    if "fleet" in r:
        f = r["fleet"]
        for name, label in (("jitter", "default `--refresh-jitter` (10 %)"), ("lockstep", "`--refresh-jitter 0`")):
            x = f[name]
            row(f"8. fleet: {f['mounts']} mounts started together, one OpenBao, TTL 10 s, {label}: requests per "
                f"{f['window_ms']:.0f} ms, peak / mean over all {f['seconds']} s (in brackets: after the first 10 s, the "
                "deploy's own first reads; the verdict is on this one)",
                f"{x['peak']} / {x['mean']:.2f} = {x['ratio']:.1f}× ({x['steady_peak']} / {x['steady_mean']:.2f} = "
                f"{x['steady_ratio']:.1f}×; {x['requests']} requests)",
                "≤ 2×" if name == "jitter" else "", met(x["steady_ratio"] <= 2) if name == "jitter" else "")
        x = f["jitter"]
        if "steady_poisson_peak" in x:
            row("8. fleet, default `--refresh-jitter`, a second measure: the peak per 100 ms after the first 10 s "
                "if the same requests came at independent random times (Poisson at the measured mean, median "
                "peak over as many windows: what random spreads alone reach; each mount's answers are due at "
                "evenly spaced points of one cycle instead), over the mean",
                f"{x['steady_poisson_peak']} / {x['steady_mean']:.2f} = "
                f"{x['steady_poisson_peak'] / x['steady_mean']:.1f}× (measured {x['steady_ratio']:.1f}×)")
    if "freshness" in r:
        fr = r["freshness"]
        row(f"16. calls at moto keeping {fr['secrets']} AWS secrets fresh within {fr['target_s']} s over "
            f"{fr['seconds']:.0f} s ({fr['changes']} changed)", f"{fr['calls']}")
        row("16. the same as calls an hour for 1,000 secrets at a 60 s target",
            f"{fr['per_hour_1000_at_60s']:.0f}", "≤ 1,000", met(fr["per_hour_1000_at_60s"] <= 1000))
        row("16. slowest change seen after", f"{fr['max_lag_s']:.2f} s", f"≤ {fr['target_s']} s",
            met(fr["max_lag_s"] is not None and fr["max_lag_s"] <= fr["target_s"]))
    header = ["| measurement | figure (median) | target | verdict |", "|---|---|---|---|"]
    return "\n".join(header + rows)

def machine(root, quick):
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kib = int(f.readline().split()[1])
    swift = subprocess.run(["swift", "--version"], capture_output=True, text=True).stdout.splitlines()
    swift = swift[0] if swift else "unknown"
    commit = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    load = os.getloadavg()
    return (f"Run {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}"
            f"{' (`--quick`)' if quick else ''} at commit `{commit}`: {os.cpu_count()} × {cpu}, "
            f"{mem_kib / 1024 / 1024:.1f} GiB, Linux {platform.release()}, {swift}, release build "
            f"(`swift build -c release --product secretsfs --static-swift-stdlib`, as the container image); "
            f"load average at the end {load[0]:.2f}.")

def write_doc(path, text):
    if not os.path.exists(path):
        with open(path, "w") as f:
            f.write(f"# Benchmarks\n\n{MARK_START}\n{MARK_END}\n")
    with open(path) as f:
        doc = f.read()
    pattern = re.compile(re.escape(MARK_START) + ".*?" + re.escape(MARK_END), re.S)
    if not pattern.search(doc):
        doc += f"\n{MARK_START}\n{MARK_END}\n"
    doc = pattern.sub(lambda _: f"{MARK_START}\n{text}\n{MARK_END}", doc)
    with open(path, "w") as f:
        f.write(doc)
