"""The legs of each read of bench/cold-profile.py's traced round: the kernel's FUSE requests, the
worker's FUSE thread and event loop, OpenBao's and this process's syscalls, medians in µs. Tracing every
syscall slows each leg, so read the legs against each other, not as the untraced time.

    perf script -i t.data --ns -F comm,tid,time,event,trace > t.txt
    python3 bench/cold-segments.py t.txt PYTHON_PID [split]   # split: two binaries, in --bin order"""
import re, statistics, sys
rx = re.compile(r"^\s*(\S.*?)\s+(\d+)\s+([\d.]+):\s+(\S+):\s+(.*)$")
ev = []
for line in open(sys.argv[1]):
    m = rx.match(line)
    if not m: continue
    comm, tid, t, name, rest = m.groups()
    ev.append((float(t) * 1e6, comm, int(tid), name, rest))
py = int(sys.argv[2])
def nr(rest):
    m = re.match(r"NR (\d+)", rest); return int(m.group(1)) if m else -1
def ret(rest):
    m = re.search(r"= (-?\d+)", rest); return int(m.group(1)) if m else None
def arg(rest, i):
    m = re.search(r"\((.*)\)", rest); return int(m.group(1).split(",")[i].strip(), 16)
# cut into reads by python getpid pairs
marks = [i for i, e in enumerate(ev) if e[2] == py and e[3] == "raw_syscalls:sys_exit" and nr(e[4]) == 39]
enters = [i for i, e in enumerate(ev) if e[2] == py and e[3] == "raw_syscalls:sys_enter" and nr(e[4]) == 39]
reads = []
for s in marks:
    e = next((j for j in enters if j > s), None)
    if e is None: break
    reads.append((s, e))
# pairs: (exit getpid, next enter getpid) alternate begin/end: keep those whose span holds a LOOKUP or a sendto
segs_m, segs_d = {}, {}
mreads = []
def first(i0, i1, pred):
    for j in range(i0, i1):
        if pred(ev[j]): return j
    return None
for s, e in reads:
    span = ev[s:e]
    t0 = ev[s][0]; tend = ev[e][0]
    lk = first(s, e, lambda x: x[3] == "fuse:fuse_request_send" and "FUSE_LOOKUP" in x[4])
    snd = first(s, e, lambda x: x[2] == py and x[3] == "raw_syscalls:sys_enter" and nr(x[4]) == 44)
    if lk is not None:
        f1 = first(lk, e, lambda x: x[1].startswith("secretsfs-fuse") and x[3] == "raw_syscalls:sys_exit" and nr(x[4]) == 0 and ret(x[4]) > 0)
        if f1 is None: continue
        h0 = first(f1, e, lambda x: x[1].startswith("NIO") and x[3] == "raw_syscalls:sys_enter" and nr(x[4]) in (1, 20) and not (nr(x[4]) == 1 and arg(x[4], 2) == 8))
        n1 = first(f1, h0 or e, lambda x: x[1].startswith("NIO") and x[3] == "raw_syscalls:sys_exit" and nr(x[4]) == 232)
        b0 = first(h0, e, lambda x: x[1] == "bao" and x[3] == "raw_syscalls:sys_exit" and nr(x[4]) == 0 and ret(x[4]) > 0)
        b1 = first(b0, e, lambda x: x[1] == "bao" and x[3] == "raw_syscalls:sys_enter" and nr(x[4]) == 1)
        h1 = first(b1, e, lambda x: x[1].startswith("NIO") and x[3] == "raw_syscalls:sys_exit" and nr(x[4]) == 0 and ret(x[4]) > 8)
        r0 = first(h1, e, lambda x: x[3] == "raw_syscalls:sys_enter" and nr(x[4]) == 20 and x[1] != "python3")
        l1 = first(r0, e, lambda x: x[3] == "fuse:fuse_request_end")
        p1 = first(l1, e, lambda x: x[2] == py and x[3] == "raw_syscalls:sys_exit" and nr(x[4]) == 257)
        if None in (h0, n1, b0, b1, h1, r0, l1, p1): continue
        T = lambda j: ev[j][0]
        d = {"python open → LOOKUP sent": T(lk) - t0, "LOOKUP sent → FUSE thread reads it": T(f1) - T(lk),
             "FUSE thread → event loop awake": T(n1) - T(f1), "loop awake → HTTP request written": T(h0) - T(n1),
             "request written → OpenBao read it": T(b0) - T(h0), "OpenBao: read → answer written": T(b1) - T(b0),
             "answer written → loop read it": T(h1) - T(b1), "loop read answer → reply written": T(r0) - T(h1),
             "reply written → open() returns": T(p1) - T(r0), "after open: IOCTL, READ, close": tend - T(p1),
             "total": tend - t0}
        mreads.append(d)
    elif snd is not None:
        b0 = first(snd, e, lambda x: x[1] == "bao" and x[3] == "raw_syscalls:sys_exit" and nr(x[4]) == 0 and ret(x[4]) > 0)
        b1 = first(b0, e, lambda x: x[1] == "bao" and x[3] == "raw_syscalls:sys_enter" and nr(x[4]) == 1)
        rc = first(b1, e, lambda x: x[2] == py and x[3] == "raw_syscalls:sys_exit" and nr(x[4]) in (0, 45) and (ret(x[4]) or 0) > 0)
        if None in (b0, b1, rc): continue
        T = lambda j: ev[j][0]
        d = {"python → request sent": T(snd) - t0, "request sent → OpenBao read it": T(b0) - T(snd),
             "OpenBao: read → answer written": T(b1) - T(b0), "answer written → python read it": T(rc) - T(b1),
             "python: parse, json.loads": tend - T(rc), "total": tend - t0}
        for k, v in d.items(): segs_d.setdefault(k, []).append(v)
half = len(mreads) // 2 if len(sys.argv) > 3 else len(mreads)
blocks = [("mount miss, first binary", mreads[:half])] + ([("mount miss, second binary", mreads[half:])] if half < len(mreads) else [])
out = []
for title, rs in blocks:
    segs = {}
    for d in rs:
        for k, v in d.items(): segs.setdefault(k, []).append(v)
    out.append((title, segs))
out.append(("direct GET", segs_d))
for title, segs in out:
    n = len(segs.get("total", []))
    print(f"{title} ({n} reads), median µs:")
    for k, v in segs.items(): print(f"  {k:40s} {statistics.median(v):8.1f}")
