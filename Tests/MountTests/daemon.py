"""A FUSE daemon on its own mountpoint, and the kernel-side checks around it. Plain Python with no
pytest, so the mount tests (conftest's `Mount`) and bench/ start, wait for and unmount a daemon
the same way."""

import json
import os
import signal
import subprocess
import time


def wait_for(predicate, timeout, every=0.05):
    """Polls `predicate` until it holds or `timeout` seconds pass; returns its last answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return predicate()


def json_lines(path):
    """The JSON lines of a log (an audit log, OpenBao's audit device); none while it does not exist."""
    try:
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []


class ReadLog:
    """The log a looping reader in a container writes, one `TIME ok|err DETAIL` line per read
    (DETAIL: the value's hash, or the error)."""

    def __init__(self, log, name=None):
        self.log, self.name = log, name  # name: the reader's container, where it has one

    def lines(self):
        """(time, ok, detail) for each read so far."""
        if not os.path.exists(self.log):
            return []
        out = []
        with open(self.log, errors="replace") as f:
            for line in f.read().splitlines():
                parts = line.split(" ", 2)
                if len(parts) == 3 and parts[1] in ("ok", "err"):
                    out.append((float(parts[0]), parts[1] == "ok", parts[2]))
        return out

    def since(self, t):
        return [entry for entry in self.lines() if entry[0] >= t]


def write_control(path, data):
    """One write(2) to a `.rotate` file; returns what write returned, raises OSError with the errno."""
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    try:
        return os.write(fd, data)
    finally:
        os.close(fd)


def mount_entries(mountpoint):
    """How many mounts the kernel shows on `mountpoint` (a dead one under a live one counts too)."""
    # The parent resolved, not the mountpoint: a stat of a mount nobody serves waits forever.
    path = os.path.abspath(str(mountpoint))
    target = os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))
    with open("/proc/self/mountinfo") as f:
        return sum(1 for line in f if line.split()[4] == target)


def is_mounted(mountpoint):
    return mount_entries(mountpoint) > 0


def force_unmount(mountpoint):
    subprocess.run(["fusermount3", "-uz", str(mountpoint)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def proc_status(pid, field="VmRSS"):
    """A figure of /proc/PID/status in KiB (VmRSS, RssAnon, RssFile…)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


class Daemon:
    """One FUSE daemon (`secretsfs mount`, or libfuse's `hello`) on its own mountpoint; `cleanup()`
    always leaves the mountpoint unmounted, and `cleanup_all()` does so for every daemon launched."""

    live = []
    # What a failed start raises: the tests' subclass raises AssertionError.
    failure = RuntimeError

    def __init__(self, argv, mountpoint, env=None, log_path=None):
        self.argv = argv
        self.mountpoint = str(mountpoint)
        self.env = env
        self.log_path = log_path or f"{mountpoint}.log"
        self.process = None
        self.log = None
        # Not for a mount already there (a restart through the descriptor store): makedirs would
        # stat it, and a stat waits while no supervisor serves it.
        if not is_mounted(self.mountpoint):
            os.makedirs(self.mountpoint, exist_ok=True)

    def launch(self, argv=None, **popen):
        """Spawns the daemon and returns at once (start() waits for it too)."""
        self.log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            argv or self.argv, stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL, env=self.env, **popen)
        Daemon.live.append(self)

    def start(self, probe=None, timeout=60, ready=None, every=0.001):
        """Starts the daemon; returns once the kernel shows the mount, `ready()` holds and `probe` (a
        path under the mountpoint) reads. Returns the seconds that took, measured from just before
        the spawn."""
        began = time.perf_counter()
        self.launch()
        deadline = began + timeout
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise self.failure(f"mount exited with {self.process.returncode}: {self.describe()}")
            if is_mounted(self.mountpoint) and (ready is None or ready()):
                if probe is None:
                    return time.perf_counter() - began
                try:
                    self.read(probe)
                    return time.perf_counter() - began
                except OSError:
                    pass
            time.sleep(every)
        raise self.failure(f"{self.argv[0]} not ready after {timeout}s: {self.describe()}")

    def describe(self):
        return f"log {self.log_path}"

    def stop(self, sig=signal.SIGTERM, timeout=20):
        """Stops the daemon with `sig` (killed after `timeout`); returns its exit code."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def cleanup(self):
        """Stops the daemon and unmounts whatever it left."""
        self.stop()
        if is_mounted(self.mountpoint):
            force_unmount(self.mountpoint)
        self.forget()

    def forget(self):
        """For a daemon that has exited and left its mount to the next one: cleanup() would unmount."""
        if self in Daemon.live:
            Daemon.live.remove(self)
        if self.log is not None:
            self.log.close()

    @classmethod
    def cleanup_all(cls):
        for daemon in list(cls.live):
            daemon.cleanup()

    @property
    def pid(self):
        return self.process.pid

    def p(self, *parts):
        return os.path.join(self.mountpoint, *parts)

    def read(self, *parts):
        with open(self.p(*parts), "rb") as f:
            return f.read()

    def log_text(self):
        if self.log is not None and not self.log.closed:
            self.log.flush()
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def fresh_status(self):
        """`.status` as a new process sees it (`cat` opens anew): one process gets the same snapshot
        for a second, and the page cache may keep an older one."""
        result = subprocess.run(["cat", self.p(".status")], capture_output=True, timeout=30)
        if result.returncode != 0:
            raise RuntimeError(f"cat .status: {result.stderr!r}")
        return json.loads(result.stdout)

    def worker_pid(self):
        """The pid of the worker serving the mount now (the process started is its supervisor)."""
        return json.loads(self.read(".status"))["worker"]["pid"]

    def rss_kib(self, field="VmRSS"):
        return proc_status(self.pid, field)

    def worker_rss_kib(self, field="VmRSS"):
        """The same figure of the worker, the process that serves the mount and holds the cache
        (`rss_kib` is the supervisor's, which only keeps the mount alive)."""
        return proc_status(self.fresh_status()["worker"]["pid"], field)
