"""Python's first read of a secret, binaries side by side (issue 28): each binary mounts one local
store; per round and binary, a fresh Python process lists a folder of its own and then reads each
of its 200 secrets once (`open(p, 'rb').read()`, so its `isatty` IOCTL included), and prints the
median of its reads. Rounds alternate between the binaries.

    python3 bench/first-read-ab.py BEFORE/secretsfs AFTER/secretsfs [--rounds 6] [--per-round 200]
"""
import argparse, os, secrets, statistics, subprocess, sys, tempfile
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "MountTests"))
from daemon import Daemon

ap = argparse.ArgumentParser()
ap.add_argument("bins", nargs="+")
ap.add_argument("--rounds", type=int, default=6)
ap.add_argument("--per-round", type=int, default=200)
o = ap.parse_args()

work = tempfile.mkdtemp(prefix="first-read-")
store = os.path.join(work, "store.db")
for r in range(o.rounds):
    for b in range(len(o.bins)):
        for k in range(o.per_round):
            subprocess.run([o.bins[0], "put", f"r{r}b{b}/s{k:03d}", "--store", store],
                           input=secrets.token_hex(16).encode(), check=True, capture_output=True)
daemons = []
for b, binary in enumerate(o.bins):
    mp = os.path.join(work, f"m{b}")
    os.makedirs(mp)
    d = Daemon([binary, "mount", mp, "--store", store, "--log-level", "error"], mp,
               log_path=os.path.join(work, f"d{b}.log"))
    d.start()
    daemons.append(d)

READER = r"""
import sys, time
took = []
for p in sys.argv[1:]:
    t = time.perf_counter()
    with open(p, "rb") as f:
        f.read()
    took.append(time.perf_counter() - t)
took.sort()
print(took[len(took) // 2] * 1e6)
"""
medians = {b: [] for b in range(len(o.bins))}
try:
    for r in range(o.rounds):
        for b in range(len(o.bins)):
            folder = os.path.join(work, f"m{b}", f"r{r}b{b}")
            os.listdir(folder)
            paths = [os.path.join(folder, f"s{k:03d}") for k in range(o.per_round)]
            out = subprocess.run(["python3", "-c", READER, *paths], capture_output=True, text=True, check=True)
            medians[b].append(float(out.stdout))
        print(f"round {r + 1}: " + " | ".join(f"b{b} {m[-1]:.1f} µs" for b, m in medians.items()), flush=True)
    for b, binary in enumerate(o.bins):
        print(f"b{b} {binary}: median of rounds {statistics.median(medians[b]):.1f} µs")
finally:
    for d in daemons:
        d.stop()
