"""Python's cached reads through one mount at a time, where only Python's isatty IOCTL reaches the
daemon (the prefetched first read of scripts/bench's section 3, and section 1's Python row): rounds
of 200 `open(p, 'rb').read()` of prefetched secrets, one binary's mount after the other's (--bin,
repeatable), each alone on the machine, with the CPUs the reader and the FUSE thread ran on and that
thread's context switches. Shows whether a reader waits for a spinning FUSE loop that shares its CPU.

    SECRETSFS_TEST_VAULT_ADDR=... SECRETSFS_TEST_VAULT_TOKEN=... python3 bench/ioctl-rounds.py \\
        --bin OLD/secretsfs --bin NEW/secretsfs --runs 3 --rounds 15 [--extra "--busy-poll 0"]
"""
import argparse, os, secrets, statistics, sys, tempfile, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "MountTests"))
from daemon import Daemon
from mounts import vault_backend, vault_env
from peers import Vault

ap = argparse.ArgumentParser()
ap.add_argument("--bin", action="append", required=True)
ap.add_argument("--runs", type=int, default=3, help="mounts of each binary, alternating")
ap.add_argument("--rounds", type=int, default=15)
ap.add_argument("--extra", default="", help="more mount flags")
ap.add_argument("--verbose", action="store_true", help="print every round")
ap.add_argument("--same", action="store_true", help="read one file 200 times a round, as section 1's Python row does")
o = ap.parse_args()

vault = Vault(os.environ["SECRETSFS_TEST_VAULT_ADDR"], os.environ["SECRETSFS_TEST_VAULT_TOKEN"])
prefix = f"io{secrets.token_hex(3)}"
names = [f"{prefix}/s{i:03d}" for i in range(200)]
for n in names:
    vault.request("POST", f"secret/data/{n}", {"data": {"value": secrets.token_hex(16)}})


def task_field(pid, tid, index):
    return open(f"/proc/{pid}/task/{tid}/stat").read().rsplit(")", 1)[1].split()[index]


def switches(pid, tid):
    lines = open(f"/proc/{pid}/task/{tid}/status").read().splitlines()
    return [int(line.split()[1]) for line in lines if "ctxt_switches" in line]


def one_run(binary):
    work = tempfile.mkdtemp(prefix="ioctl-rounds-")
    mp = os.path.join(work, "mnt")
    d = Daemon([binary, "mount", mp, "--log-level", "error", "--prefetch", f"{prefix}/**", *o.extra.split(),
                *vault_backend(vault)], mp, env=vault_env(vault.token), log_path=os.path.join(work, "d.log"))
    d.start(probe=names[0])
    time.sleep(2)  # the kernel warm-up of the prefetched files runs after ready
    worker = d.worker_pid()
    fuse = next(t for t in os.listdir(f"/proc/{worker}/task")
                if open(f"/proc/{worker}/task/{t}/comm").read().strip() == "secretsfs-fuse")
    medians = []
    for r in range(o.rounds):
        before = switches(worker, fuse)
        lat = []
        for n in (names[:1] * len(names) if o.same else names):
            began = time.perf_counter()
            with open(os.path.join(mp, n), "rb") as f:
                f.read()
            lat.append(time.perf_counter() - began)
        after = switches(worker, fuse)
        medians.append(statistics.median(lat) * 1e6)
        if o.verbose:
            print(f"  round {r}: {medians[-1]:5.1f} µs, reader on CPU {task_field(os.getpid(), os.getpid(), 36)}, "
                  f"FUSE thread on CPU {task_field(worker, fuse, 36)}, its switches voluntary "
                  f"+{after[0] - before[0]} involuntary +{after[1] - before[1]}")
        time.sleep(0.05)
    d.cleanup()
    return medians


results = {b: [] for b in o.bin}
for run in range(o.runs):
    for b in (o.bin if run % 2 == 0 else list(reversed(o.bin))):
        medians = one_run(b)
        results[b].append(medians)
        print(f"run {run + 1} {b}: median {statistics.median(medians):.1f} µs, min {min(medians):.1f}, "
              f"max {max(medians):.1f} (rounds of 200)", flush=True)
for b, runs in results.items():
    every = [m for medians in runs for m in medians]
    print(f"{b}: median of all rounds {statistics.median(every):.1f} µs, max {max(every):.1f}")
