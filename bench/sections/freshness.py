"""Section 16: AWS secrets kept fresh within a target by the mount while a reader reads them all
along and one changes every 10 s; every request counted at a moto of the section's own."""

import os
import time
from concurrent.futures import ThreadPoolExecutor

from harness import aws_client, log, read_file, start_private_moto


def run(bench):
    """Issue 16 §3, compressed 10× in time: N AWS secrets kept fresh within 6 s (for 60 s) over
    60 s (for 10 minutes), read by a reader all along, one changed every 10 s with boto3; every
    request counted at a moto of this section's own (its request log), the changes' own puts
    taken out. Scaled to 1,000 secrets and an hour at a 60 s target."""
    count = 100 if bench.quick else 1000
    target, seconds = 6, 60
    moto = start_private_moto(bench.fresh_dir("freshness-moto"))
    moto_log = moto.log
    try:
        sm = aws_client(moto.addr)
        log(f"16: {count} AWS secrets fresh within {target} s, over {seconds} s, counted at moto")
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda i: sm.create_secret(Name=f"fresh/s{i:04d}", SecretString=f"v{i}-0"),
                          range(count)))
        # A change is seen within the interval plus one round (a listing of N/100 pages): the
        # interval leaves a tenth of the target for the round.
        daemon = bench.aws_mount("freshness", "--cache-ttl", f"{target * 10}s",
                                 "--refresh-interval", f"{int(target * 900)}ms", "--aws-prefix", "fresh",
                                 endpoint=moto.addr)
        daemon.start(probe="s0000")
        names = [f"s{i:04d}" for i in range(count)]

        def posts():
            moto_log.flush()
            with open(moto_log.name, "rb") as f:
                return f.read().count(b'"POST / HTTP')

        for name in names:
            read_file(os.path.join(daemon.mountpoint, name))
        before, lags, changes = posts(), [], 0
        began = time.monotonic()
        next_change = began + 5
        while time.monotonic() - began < seconds:
            if time.monotonic() >= next_change and time.monotonic() - began < seconds - 2 * target:
                changes += 1
                name = names[changes % count]
                new = f"v{changes}-changed".encode()
                sm.put_secret_value(SecretId=f"fresh/{name}", SecretString=new.decode())
                at = time.monotonic()
                while read_file(os.path.join(daemon.mountpoint, name)) != new and time.monotonic() - at < 30:
                    time.sleep(0.05)
                lags.append(time.monotonic() - at)
                next_change = at + 10
            for name in names:
                read_file(os.path.join(daemon.mountpoint, name))
            time.sleep(0.5)
        elapsed = time.monotonic() - began
        calls = posts() - before - changes
        daemon.cleanup()
    finally:
        moto.stop()
    # Listings scale with N/100 pages, the compressed minute is 10 real minutes.
    per_hour = calls * (1000 / count) * (3600 / (elapsed * 10))
    bench.results["freshness"] = {"secrets": count, "target_s": target, "seconds": elapsed, "calls": calls,
                                 "changes": changes, "max_lag_s": max(lags) if lags else None,
                                 "per_hour_1000_at_60s": per_hour}
