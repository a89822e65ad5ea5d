"""Section 4: 100 readers at once of one Vault secret on a fresh mount, against what one reader
alone costs there: the backend calls (one per key) and the latency."""

import os
import secrets
import threading
import time

from harness import log, median, percentile, read_file


def run(bench):
    rounds = 3
    readers = 100
    log(f"4: {readers} concurrent readers of one uncached Vault secret, {rounds} fresh mounts")
    value = secrets.token_hex(16)
    bench.vault.put("bench/herd", {"value": value})
    expected = value.encode()
    results = []
    single = []
    for _ in range(rounds):
        # What one reader costs on a fresh mount: one call per key it touches (the listings
        # of / and bench/, then the secret), the figure 100 readers should not exceed.
        daemon = bench.vault_mount("herd-one")
        daemon.start(probe=".status")
        before = daemon.fresh_status()["cache"]["backend_calls"]
        if read_file(os.path.join(daemon.mountpoint, "bench", "herd")) != expected:
            raise RuntimeError("the single reader read the wrong bytes")
        single.append(daemon.fresh_status()["cache"]["backend_calls"] - before)
        daemon.cleanup()

        daemon = bench.vault_mount("herd")
        daemon.start(probe=".status")
        before = daemon.fresh_status()["cache"]["backend_calls"]
        path = os.path.join(daemon.mountpoint, "bench", "herd")
        barrier = threading.Barrier(readers)
        latencies = [None] * readers
        failures = []

        def reader(i):
            barrier.wait()
            began = time.perf_counter()
            try:
                data = read_file(path)
                if data != expected:
                    failures.append(f"reader {i} read {len(data)} wrong bytes")
            except OSError as error:
                failures.append(f"reader {i}: {error}")
            latencies[i] = time.perf_counter() - began

        threads = [threading.Thread(target=reader, args=(i,)) for i in range(readers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        after = daemon.fresh_status()["cache"]["backend_calls"]
        daemon.cleanup()
        if failures:
            raise RuntimeError("; ".join(failures[:5]))
        ms = [x * 1e3 for x in latencies]
        results.append({"calls": after - before, "p50": percentile(ms, 50), "p99": percentile(ms, 99)})
    bench.results["herd"] = {
        "calls": [r["calls"] for r in results],
        "single": single,
        "p50": median([r["p50"] for r in results]),
        "p99": median([r["p99"] for r in results]),
        "rounds": results}
