"""Section 8: two fleets of mounts started together against one OpenBao of the section's own, with
the default `--refresh-jitter` and with none, reading all along; the requests OpenBao's audit
device saw, per 100 ms window."""

import datetime
import json
import math
import os
import secrets
import signal
import threading
import time

from harness import is_mounted, log, read_file, start_private_bao


def audit_times(audit_log):
    """(wall time, path) of every request in an OpenBao file audit log."""
    requests = []
    with open(audit_log) as f:
        for line in f:
            entry = json.loads(line)
            if entry.get("type") != "request":
                continue
            stamp = entry["time"].rstrip("Z")
            whole, _, fraction = stamp.partition(".")
            seconds = datetime.datetime.fromisoformat(whole).replace(tzinfo=datetime.timezone.utc).timestamp()
            requests.append((seconds + float("0." + (fraction or "0")), entry["request"].get("path", "")))
    return requests

def run(bench):
    mounts = 10 if bench.quick else 30
    per_mount = 20
    seconds = 20 if bench.quick else 60
    window = 0.1
    fleets = {"jitter": (), "lockstep": ("--refresh-jitter", "0")}
    log(f"8: two fleets of {mounts} mounts started together against one OpenBao, TTL 10 s, default "
        f"--refresh-jitter and --refresh-jitter 0 side by side, {per_mount} secrets a mount read every "
        f"0.5 s, requests per {window * 1e3:.0f} ms over {seconds} s")
    # An OpenBao of this section's own whose file audit device logs every request with its time.
    folder = bench.fresh_dir("fleet-bao")
    audit_log = os.path.join(folder, "audit.log")
    server = start_private_bao(folder, audit_log=audit_log)
    try:
        for name in fleets:
            for i in range(per_mount):
                server.vault.put(f"fleet-{name}/s{i:02d}", {"value": secrets.token_hex(16)})
        daemons = {name: [bench.vault_mount(f"fleet-{name}", "--cache-ttl", "10s", *extra, vault=server.vault,
                                            backend=("--vault-prefix", f"fleet-{name}"))
                          for _ in range(mounts)]
                   for name, extra in fleets.items()}
        # Started together, as one deploy starts a fleet: every spawn first, then the waits.
        every = [d for group in daemons.values() for d in group]
        for daemon in every:
            daemon.launch()
        deadline = time.monotonic() + 60
        for daemon in every:
            while not is_mounted(daemon.mountpoint):
                if daemon.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"a fleet mount did not start; log {daemon.log_path}")
                time.sleep(0.01)
        stop = threading.Event()
        failures = []

        def reader(daemon):
            # Each node's program reads its secrets on its own schedule, as a fleet's programs do.
            names = [os.path.join(daemon.mountpoint, f"s{i:02d}") for i in range(per_mount)]
            stop.wait(secrets.randbelow(500) / 1000)
            while not stop.is_set():
                try:
                    for name in names:
                        read_file(name)
                except OSError as error:
                    failures.append(f"{daemon.mountpoint}: {error}")
                    return
                stop.wait(0.5)

        threads = [threading.Thread(target=reader, args=(d,)) for d in every]
        started = time.time()
        for t in threads:
            t.start()
        time.sleep(seconds)
        stop.set()
        for t in threads:
            t.join()
        for daemon in every:
            daemon.cleanup()
        if failures:
            raise RuntimeError("; ".join(failures[:5]))
    finally:
        server.stop(signal.SIGTERM)
    requests = audit_times(audit_log)
    windows = int(round(seconds / window))
    result = {"mounts": mounts, "secrets_per_mount": per_mount, "seconds": seconds, "window_ms": window * 1e3}
    for name in fleets:
        counts = [0] * windows
        for at, path in requests:
            # Only the whole windows: the readers are stopped a moment after the last one ends,
            # and what comes in that moment must not swell the last window.
            if f"fleet-{name}" in path and started <= at and int((at - started) / window) < windows:
                counts[int((at - started) / window)] += 1
        # The first seconds are the deploy itself (every mount reads everything once); the
        # refreshes that follow are what a spread is for.
        steady = counts[int(round(10 / window)):]
        result[name] = {
            "requests": sum(counts), "peak": max(counts), "mean": sum(counts) / windows,
            "ratio": max(counts) / (sum(counts) / windows) if sum(counts) else 0,
            "steady_peak": max(steady), "steady_mean": sum(steady) / len(steady),
            "steady_ratio": max(steady) / (sum(steady) / len(steady)) if sum(steady) else 0,
            "steady_poisson_peak": poisson_peak(sum(steady) / len(steady), len(steady)),
            "counts": counts}
    bench.results["fleet"] = result

def poisson_peak(mean, windows):
    """The median peak of `windows` windows of requests sent at independent random times at
    `mean` a window (Poisson): what the best spread mounts can reach without knowing of each other."""
    term, below, k = math.exp(-mean), 0.0, 0
    while True:
        below += term
        if below ** windows >= 0.5:
            return k
        k += 1
        term *= mean / k
