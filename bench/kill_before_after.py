#!/usr/bin/env python3
# Usage: bench/kill_before_after.py BIN MOUNTPOINT STORE KILLS [mount flags...]  (a local store with app/key)
"""Before/after for issue 12: 4 reader threads loop open+read on a mount while the serving process
is SIGKILLed; counts reader errors by errno and the longest single read."""
import errno, json, os, signal, subprocess, sys, threading, time
BIN, MP, STORE, KILLS = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
os.makedirs(MP, exist_ok=True)
p = subprocess.Popen([BIN, "mount", MP, "--store", STORE, *sys.argv[5:]], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
time.sleep(2)
path = os.path.join(MP, "app", "key")
errors, longest, reads, done = {}, [0.0], [0], threading.Event()
def reader():
    while not done.is_set():
        t = time.monotonic()
        try:
            with open(path, "rb") as f: f.read()
            reads[0] += 1
        except OSError as e:
            name = errno.errorcode.get(e.errno, str(e.errno)); errors[name] = errors.get(name, 0) + 1
            time.sleep(0.001)
        longest[0] = max(longest[0], time.monotonic() - t)
ts = [threading.Thread(target=reader, daemon=True) for _ in range(4)]
for t in ts: t.start()
for i in range(KILLS):
    time.sleep(2.6)
    try:
        pid = json.load(open(os.path.join(MP, ".status")))["worker"]["pid"]
    except Exception:
        pid = p.pid  # no supervisor: the daemon itself
    os.kill(pid, signal.SIGKILL)
time.sleep(2)
done.set()
for t in ts: t.join(5)
print(json.dumps({"kills": KILLS, "reads": reads[0], "errors": errors, "longest_read_s": round(longest[0], 3)}))
p.kill()
subprocess.run(["fusermount3", "-uz", MP], stderr=subprocess.DEVNULL)
