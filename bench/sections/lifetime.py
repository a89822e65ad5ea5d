"""Section 7: the mount outlives its worker (issue 12). bench/lifeloop readers on a cached and an
uncached mount while the worker is SIGKILLed, the supervisor restarted through systemd's descriptor
store (the tests' stand-in) and `secretsfs reload` run; then the supervisor's and worker's memory
and CPU at rest."""

import errno
import json
import os
import signal
import subprocess
import time

from fake_systemd import FakeSystemd
from harness import Daemon, is_mounted, log, read_file


def errno_name(number):
    return errno.errorcode.get(number, str(number))


def since_event(events, at):
    """Seconds from the last event that began at or before `at` (None when before the first)."""
    started = [e["at"] for e in events if e["at"] <= at]
    return round(at - max(started), 3) if started else None


class Readers:
    """Processes running bench/lifeloop on one file until told to stop through a shared flag byte;
    each prints what it saw (reads, errors by errno, the longest iteration, slow iterations)."""

    live = []

    def __init__(self, program, path, count, flag_path):
        self.flag_path = flag_path
        with open(flag_path, "wb") as f:
            f.write(b"\0")
        self.processes = [subprocess.Popen([program, path, flag_path], stdout=subprocess.PIPE,
                                           stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
                          for _ in range(count)]
        Readers.live.append(self)

    def stop(self, timeout=30):
        """Returns (the readers' reports, how many did not stop within `timeout` and were killed)."""
        with open(self.flag_path, "r+b") as f:
            f.write(b"\1")
        reports, hung = [], 0
        deadline = time.monotonic() + timeout
        for process in self.processes:
            try:
                out, err = process.communicate(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                hung += 1
                process.kill()
                out, err = process.communicate()
                continue
            if process.returncode != 0:
                raise RuntimeError(f"lifeloop exited with {process.returncode}: {err.decode()[:300]}")
            reports.append(json.loads(out))
        if self in Readers.live:
            Readers.live.remove(self)
        return reports, hung

    @classmethod
    def stop_all(cls):
        for readers in list(cls.live):
            readers.stop(timeout=5)


def worker(mountpoint, accept=lambda worker: True, timeout=20):
    """`.status` `worker` once `accept` holds, each read by a new `cat` (a hung read is killed)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            out = subprocess.run(["cat", os.path.join(mountpoint, ".status")], capture_output=True,
                                 check=True, timeout=max(0.5, deadline - time.monotonic()))
            last = json.loads(out.stdout)["worker"]
            if accept(last):
                return last
        except (subprocess.SubprocessError, ValueError, KeyError):
            pass
        time.sleep(0.005)
    raise RuntimeError(f"{mountpoint}: no worker as expected within {timeout}s (last seen {last})")

def cpu(pid):
    """(utime+stime in clock ticks, on-CPU ns of all threads from schedstat, voluntary switches)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15 of stat(5)
    ns = switches = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                ns += int(f.read().split()[0])
            with open(f"/proc/{pid}/task/{task}/status") as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches:"):
                        switches += int(line.split()[1])
        except FileNotFoundError:
            pass
    return ticks, ns, switches

def memory(pid):
    """VmRSS, RssAnon and Pss (smaps_rollup) in KiB."""
    found = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key = line.split(":", 1)[0]
            if key in ("VmRSS", "RssAnon", "RssFile"):
                found[key] = int(line.split()[1])
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                found["Pss"] = int(line.split()[1])
    return found

def lifetime_phase(bench, daemon, path, kind, count, readers, spacing, systemd=None):
    """`readers` lifeloop processes on `path` while `count` events of `kind` happen: worker
    kills, `secretsfs reload`s or descriptor-store restarts. Returns the readers' figures."""
    mp = daemon.mountpoint
    flag = os.path.join(os.path.dirname(mp), f"stop-{kind}.flag")
    state = {"daemon": daemon, "last": 0.0}
    events = []

    def kill():
        old = worker(mp)["pid"]
        # 5 deaths within 10 s stop the mount: never closer than `spacing` (≥ 2.2 s).
        time.sleep(max(0.0, state["last"] + spacing - time.monotonic()))
        at = time.monotonic()
        os.kill(old, signal.SIGKILL)
        state["last"] = at
        worker(mp, lambda w: w["pid"] != old)
        return {"at": at, "took": time.monotonic() - at}

    def reload():
        old = worker(mp)["pid"]
        time.sleep(max(0.0, state["last"] + spacing - time.monotonic()))
        at = time.monotonic()
        result = subprocess.run([bench.bin, "reload", mp], capture_output=True, timeout=60)
        took = time.monotonic() - at
        state["last"] = at
        if result.returncode != 0 or b"reloaded" not in result.stdout:
            raise RuntimeError(f"secretsfs reload: exit {result.returncode}: {result.stderr.decode()[:300]}")
        if worker(mp)["pid"] == old:
            raise RuntimeError("secretsfs reload left the old worker serving")
        return {"at": at, "took": took}

    def restart():
        # systemctl restart: SIGTERM to the supervisor (it retires its worker and leaves the
        # mount, whose descriptors systemd holds), then a new `secretsfs mount` with them.
        old = state["daemon"]
        time.sleep(max(0.0, state["last"] + spacing - time.monotonic()))
        at = time.monotonic()
        old.process.send_signal(signal.SIGTERM)
        status = old.process.wait(30)
        stopped = time.monotonic() - at
        state["last"] = at
        old.forget()
        if status != 0:
            raise RuntimeError(f"the supervisor exited with {status} on SIGTERM; log {old.log_path}")
        if not is_mounted(mp):
            raise RuntimeError("the mount went with the supervisor: the descriptor store did not keep it")
        new = Daemon(old.argv, mp, env=old.env, log_path=old.log_path)
        command, place, keep = systemd.launch_arguments(new.argv)
        new.launch(command, preexec_fn=place, pass_fds=keep)
        state["daemon"] = new
        worker(mp, lambda w: w["supervisor_pid"] == new.pid)
        return {"at": at, "took": time.monotonic() - at, "stopped": stopped}

    action = {"kill": kill, "reload": reload, "restart": restart}[kind]
    readers_ = Readers(bench.lifeloop(), path, readers, flag)
    try:
        time.sleep(1.0)
        for _ in range(count):
            events.append(action())
        time.sleep(1.0)
    finally:
        reports, hung = readers_.stop()
    serving = worker(mp)
    errors = [e for r in reports for e in r["error_list"]]
    longest = max(reports, key=lambda r: r["max_ns"]) if reports else None
    result = {
        "kind": kind, "count": count, "readers": readers, "hung": hung,
        "reads": sum(r["reads"] for r in reports),
        "errors": sum(r["errors"] for r in reports), "wrong": sum(r["wrong"] for r in reports),
        "error_list": [{"op": e["op"], "errno": errno_name(e["errno"]), "ms": e["ns"] / 1e6,
                        "after_event_s": since_event(events, e["at"])} for e in errors[:20]],
        "max_stall_ms": longest["max_ns"] / 1e6 if longest else None,
        "max_stall_after_event_s": since_event(events, longest["max_at"]) if longest else None,
        "slow_20ms": sum(r["slow_count"] for r in reports),
        "slow_100ms": sum(1 for r in reports for s in r["slow"] if s[1] >= 100e6),
        # The longest read that began within 2 s after each event: the stall each event caused.
        "per_event_stall_ms": [max([s[1] / 1e6 for r in reports for s in r["slow"]
                                    if e["at"] <= s[0] + s[1] / 1e9 and s[0] <= e["at"] + 2.0] or [0])
                               for e in events],
        "event_took_ms": [e["took"] * 1e3 for e in events],
        "stopped_ms": [e["stopped"] * 1e3 for e in events if "stopped" in e],
        "worker": serving,
        "supervisor_rss_kib_after": memory(state["daemon"].pid)["VmRSS"],
    }
    return result, state["daemon"]

def run(bench):
    kills = 5 if bench.quick else 20
    restarts = 3 if bench.quick else 10
    readers = 8
    spacing = 3.0  # 5 deaths within 10 s stop the mount: 4 gaps must add up to more than 10 s
    log(f"7: {readers} lifeloop readers each on a cached and an uncached (--cache-ttl 0) mount while the "
        f"worker is SIGKILLed {kills} times ({spacing} s apart), across {restarts} descriptor-store "
        f"restarts and {restarts} reloads (1.5 s apart); then RSS and CPU at rest")
    bench.cli("put", "bench/life", input=bench.value32)
    results = {"kills": kills, "restarts": restarts, "readers": readers, "spacing": spacing, "phases": {}}
    for mode, extra in (("cached", ()), ("uncached", ("--cache-ttl", "0"))):
        folder = bench.fresh_dir(f"life-{mode}")
        systemd = FakeSystemd(folder)
        # As systemd runs the unit: NOTIFY_SOCKET, and FDSTORE (FileDescriptorStoreMax, systemd ≥ 254).
        env = {**os.environ, "NOTIFY_SOCKET": systemd.path, "FDSTORE": "4"}
        mountpoint = os.path.join(folder, "mnt")
        daemon = Daemon([bench.bin, "mount", mountpoint, "--log-level", "info", *extra, "--store", bench.store],
                        mountpoint, env=env, log_path=os.path.join(folder, "daemon.log"))
        try:
            daemon.start(probe="bench/life")
            deadline = time.monotonic() + 10
            while not {"fuse", "inodes", "cache", "mountpoint"} <= set(systemd.stored):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the supervisor stored {sorted(systemd.stored)} with systemd, not "
                                       "fuse, inodes, cache and mountpoint")
                time.sleep(0.01)
            path = os.path.join(mountpoint, "bench", "life")
            if read_file(path) != bench.value32:
                raise RuntimeError(f"{path} does not read back the value")
            for kind, count in (("kill", kills), ("restart", restarts), ("reload", restarts)):
                phase, daemon = lifetime_phase(bench, daemon, path, kind, count, readers,
                                                    spacing if kind == "kill" else 1.5, systemd)
                results["phases"][f"{mode}_{kind}"] = phase
                log(f"7: {mode} {kind} ×{count}: {phase['reads']:,} reads, {phase['errors']} errors, "
                    f"{phase['wrong']} wrong, longest read {phase['max_stall_ms']:.0f} ms")
                if phase["errors"]:
                    log(f"7: {mode} {kind}: errors {phase['error_list']}")
        finally:
            # SIGTERM leaves the mount to systemd's copy of /dev/fuse; closed, the kernel ends the
            # connection, and only then can cleanup() unmount without waiting on a mount nobody serves.
            if daemon.process is not None and daemon.process.poll() is None:
                daemon.process.send_signal(signal.SIGTERM)
                try:
                    daemon.process.wait(30)
                except subprocess.TimeoutExpired:
                    daemon.process.kill()
            systemd.close()
            daemon.cleanup()

    # At rest: a fresh default mount, one read, then nothing.
    daemon = bench.mount("life-rest")
    daemon.start(probe="bench/life")
    worker_pid = worker(daemon.mountpoint)["pid"]
    time.sleep(2.0)
    pids = {"supervisor": daemon.pid, "worker": worker_pid}
    before = {name: cpu(pid) for name, pid in pids.items()}
    began = time.monotonic()
    time.sleep(10.0)
    after = {name: cpu(pid) for name, pid in pids.items()}
    elapsed = time.monotonic() - began
    rest = {}
    for name, pid in pids.items():
        rest[name] = {**memory(pid), "ticks": after[name][0] - before[name][0],
                      "cpu_ms": (after[name][1] - before[name][1]) / 1e6,
                      "wakeups": after[name][2] - before[name][2], "seconds": elapsed}
    daemon.cleanup()
    results["rest"] = rest
    results["clock_ticks"] = os.sysconf("SC_CLK_TCK")
    bench.results["lifetime"] = results
