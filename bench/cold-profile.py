"""Issue 28's cold Vault read, by hand: the first open+read of secrets of a listed folder through one
mount per binary given (--bin, repeatable: before and after a change) against direct keep-alive GETs
from this process, all against one OpenBao, alternating round by round (medians; ratios per round).
Also the worker's CPU per miss (--cpu), a `perf record -g` of the workers during the rounds
(--profile FILE), and one more round of each under a kernel trace of this process, the workers and
OpenBao (--trace FILE --bao-pid PID), which bench/cold-segments.py cuts into the legs of each read.
--floor BIN adds bench/cold-floor.c's least possible FUSE daemon twice, as it is and with its
thread hand-off (--hop), and prints the median of each one's own GETs.

    SECRETSFS_TEST_VAULT_ADDR=... SECRETSFS_TEST_VAULT_TOKEN=... python3 bench/cold-profile.py \
        --bin OLD/secretsfs --bin NEW/secretsfs --rounds 6 --per-round 100 --cpu [--trace t.data --bao-pid P]
"""
import argparse, http.client, json, os, secrets, statistics, sys, time, urllib.parse, subprocess, tempfile
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "MountTests"))
from daemon import Daemon
from mounts import vault_backend, vault_env
from peers import Vault
from floor import Floor

ap = argparse.ArgumentParser()
ap.add_argument("--bin", action="append", default=[])
ap.add_argument("--floor", default="", help="bench/cold-floor.c built: mounted as is (f0) and with --hop (f1)")
ap.add_argument("--rounds", type=int, default=4)
ap.add_argument("--per-round", type=int, default=200)
ap.add_argument("--extra", default="", help="more mount flags")
ap.add_argument("--bao-pid", default="")
ap.add_argument("--trace", default="", help="one more round of each under perf record into this file")
ap.add_argument("--profile", default="")
ap.add_argument("--reader", choices=["python", "unbuffered"], default="python",
                help="python: open(p, 'rb').read(), as scripts/bench reads (its isatty is one IOCTL more); "
                     "unbuffered: os.open and os.read, as cat and C programs read")
ap.add_argument("--cpu", action="store_true", help="report worker CPU per miss (/proc ticks of 10 ms: coarse for small rounds) "
                "and this process's CPU per direct GET")
o = ap.parse_args()
if not o.bin and not o.floor:
    ap.error("give --bin or --floor")
if o.trace and not o.bao_pid:
    ap.error("--trace needs --bao-pid (OpenBao's pid, traced too)")

vault = Vault(os.environ["SECRETSFS_TEST_VAULT_ADDR"], os.environ["SECRETSFS_TEST_VAULT_TOKEN"])
url = urllib.parse.urlsplit(vault.addr)
conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
work = tempfile.mkdtemp(prefix="coldprof-")
prefix = f"cp{secrets.token_hex(3)}"
values = {}

def read_through(path):
    if o.reader == "python":
        with open(path, "rb") as f:
            return f.read().decode()
    fd = os.open(path, os.O_RDONLY)
    try:
        parts = []
        while chunk := os.read(fd, 65536):
            parts.append(chunk)
        return b"".join(parts).decode()
    finally:
        os.close(fd)

def vault_get(name):
    conn.request("GET", f"/v1/secret/data/{name}", headers={"X-Vault-Token": vault.token})
    r = conn.getresponse(); data = r.read()
    assert r.status == 200, r.status
    return json.loads(data)["data"]["data"]["value"]

floors = ["f0", "f1"] if o.floor else []
cases = [f"m{i}" for i in range(len(o.bin))] + floors + ["direct"]
folders = {(c, r): f"{prefix}/{c}r{r}" for c in cases for r in range(o.rounds)}
for f in folders.values():
    for i in range(o.per_round):
        n = f"{f}/s{i:03d}"; values[n] = secrets.token_hex(16)
        vault.request("POST", f"secret/data/{n}", {"data": {"value": values[n]}})
if o.trace:
    for c in cases:
        for i in range(o.per_round):
            n = f"{prefix}/trace{c}/s{i:03d}"; values[n] = secrets.token_hex(16)
            vault.request("POST", f"secret/data/{n}", {"data": {"value": values[n]}})
vault.request("POST", "secret/data/cpwarm", {"data": {"value": "w"}})

daemons = []
for i, b in enumerate(o.bin):
    mp = os.path.join(work, f"mnt{i}")
    d = Daemon([b, "mount", mp, "--log-level", "error", *o.extra.split(), *vault_backend(vault)], mp,
               env=vault_env(vault.token), log_path=os.path.join(work, f"d{i}.log"))
    d.start(probe="cpwarm")
    daemons.append(d)
floor_mounts = {c: Floor(o.floor, os.path.join(work, c), vault, *(["--hop"] if c == "f1" else [])) for c in floors}

def under(c, name):
    return floor_mounts[c].path(name) if c in floor_mounts else daemons[int(c[1:])].p(name)

for _ in range(20):
    vault_get("cpwarm")
    for d in daemons: d.read("cpwarm")
    for c in floors: read_through(under(c, "cpwarm"))
pids = [d.worker_pid() for d in daemons]

def cpu(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")

prof = None
if o.profile:
    prof = subprocess.Popen(["perf", "record", "-F", "2999", "-g", "-p", ",".join(map(str, pids)), "-o", o.profile], stderr=subprocess.DEVNULL)
    time.sleep(1.5)
samples = {c: [] for c in cases}; cpus = {c: [] for c in cases}; hits = {c: [] for c in cases}
for r in range(o.rounds):
    order = cases[r % len(cases):] + cases[:r % len(cases)]
    for c in order:
        f = folders[(c, r)]; names = [f"{f}/s{i:03d}" for i in range(o.per_round)]
        if c == "direct":
            call = vault_get
        else:
            listed = [e for e in os.listdir(under(c, f)) if not e.startswith(".")]
            assert len(listed) == (0 if c in floors else o.per_round)
            call = lambda n, c=c: read_through(under(c, n))
        c0 = time.process_time() if c == "direct" else cpu(floor_mounts[c].process.pid if c in floors else pids[int(c[1:])])
        lat = []
        for n in names:
            t = time.perf_counter(); v = call(n); lat.append(time.perf_counter() - t)
            assert v == values[n]
        if c == "direct":
            # This process's own CPU per GET (http.client and json.loads), the direct side's share.
            cpus[c].append((time.process_time() - c0) / o.per_round * 1e6)
        else:
            cpus[c].append((cpu(floor_mounts[c].process.pid if c in floors else pids[int(c[1:])]) - c0) / o.per_round * 1e6)
            hl = []
            for n in names:
                t = time.perf_counter(); call(n); hl.append(time.perf_counter() - t)
            hits[c].append(statistics.median(hl) * 1e6)
        samples[c].append(statistics.median(lat) * 1e6)
    line = " | ".join(f"{c} {samples[c][-1]:.0f}" for c in cases)
    print(f"round {r+1}: {line} | " + " ".join(f"{c}/direct {samples[c][-1]/samples['direct'][-1]:.2f}x" for c in cases[:-1]), flush=True)
print("median: " + " | ".join(f"{c} {statistics.median(samples[c]):.0f} µs" for c in cases))
for c in cases[:-1]:
    ratios = [a / b for a, b in zip(samples[c], samples["direct"])]
    what = ("cold-floor" + (" --hop" if c == "f1" else "")) if c in floors else o.bin[int(c[1:])]
    print(f"{c} ({what}): ratio median {statistics.median(ratios):.2f}x, per round "
          + ", ".join(f"{x:.2f}" for x in ratios) + f"; cached read {statistics.median(hits[c]):.0f} µs; "
          + (f"worker CPU/miss {statistics.median(cpus[c]):.0f} µs" if o.cpu else ""))
if o.cpu:
    print(f"direct: this process's CPU per GET {statistics.median(cpus['direct']):.0f} µs")
if prof:
    prof.send_signal(2); prof.wait()
if o.trace:
    events = ["fuse:fuse_request_send", "fuse:fuse_request_end", "sched:sched_switch",
              "raw_syscalls:sys_enter", "raw_syscalls:sys_exit"]
    ids = "id == 0 || id == 1 || id == 3 || id == 16 || id == 19 || id == 20 || id == 39 || id == 44 || id == 45 || id == 46 || id == 47 || id == 232 || id == 281 || id == 257 || id == 7 || id == 202"
    bao = o.bao_pid
    argv = ["perf", "record", "-k", "CLOCK_MONOTONIC", "-p", ",".join([str(os.getpid()), bao, *map(str, pids)]), "-o", o.trace, "-m", "8M"]
    for e in events:
        argv += ["-e", e]
        if e.startswith("raw_syscalls"):
            argv += ["--filter", ids]
    perf = subprocess.Popen(argv, stderr=subprocess.DEVNULL)
    time.sleep(2)
    for c in cases:
        f = f"{prefix}/trace{c}"; names = [f"{f}/s{i:03d}" for i in range(o.per_round)]
        if c == "direct":
            call = vault_get
        else:
            os.listdir(under(c, f))
            call = lambda n, c=c: read_through(under(c, n))
        time.sleep(0.2)
        for n in names:
            os.getpid(); v = call(n); os.getpid()
            assert v == values[n]
            time.sleep(0.002)
    perf.send_signal(2); perf.wait()
    print("trace: python pid", os.getpid(), "workers", pids, "cases", cases)
for c, floor in floor_mounts.items():
    print(f"{c}: its own GETs, median {floor.stop():.0f} µs")
for d in daemons: d.cleanup()
