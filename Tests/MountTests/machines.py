"""Debian machines booted by systemd 252 as PID 1 in a podman container (`podman run
--systemd=always`, the image scripts/lib/containers.sh makes): the package's systemd tests install
the .deb on one, the CSI plugin's node tests run the plugin and its volumes' units on one.

Readers loop inside a machine and write one line per read to a log the host reads: the time, then
`ok` and the SHA-256 of what they read, or `err` and the error text; the value itself is never
written or printed."""

import subprocess
import uuid

import pytest

from daemon import ReadLog, wait_for
from conftest import ROOT

HELPER = ROOT / "scripts" / "lib" / "containers.sh"
IMAGE = "localhost/secretsfs-systemd:cache"
PODMAN = ["podman", "--runtime", "/usr/sbin/runc"]
LIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]
FUSE_FLAGS = ["--device", "/dev/fuse", "--cap-add", "SYS_ADMIN", "--security-opt", "apparmor=unconfined"]

# One read per ~0.05 s of the path $1, logged to $2.
READER_LOOP = r"""
while :; do
    t=$(date +%s.%N)
    if out=$(sha256sum "$1" 2>&1); then echo "$t ok ${out%% *}"; else echo "$t err ${out##*: }"; fi
    sleep 0.05
done >>"$2" 2>&1
"""

STOP_READERS = r"""
readers() {
    for p in /proc/[0-9]*; do
        pid=${p#/proc/}
        [ "$pid" = $$ ] && continue
        tr '\0' ' ' <$p/cmdline 2>/dev/null | grep -qE '^sha256sum |reads-[0-9]+[.]log' && echo $pid
    done
}
for pid in $(readers); do kill $pid 2>/dev/null; done
for _ in $(seq 100); do
    left=$(readers)
    [ -z "$left" ] && exit 0
    kill -9 $left 2>/dev/null
    sleep 0.1
done
echo "reader processes left: $left" >&2
exit 1
"""

def ensure_prerequisites():
    """podman, runc and the systemd image (built once, cached); fails the test when podman cannot work."""
    ensured = subprocess.run(["bash", str(HELPER), "ensure"], capture_output=True, text=True, timeout=900)
    if ensured.returncode != 0:
        pytest.fail(f"container prerequisites are missing and could not be made:\n{ensured.stderr}", pytrace=False)


class Machine:
    """A booted machine named `name`; `logs` is the host folder bound at /log in it."""

    def __init__(self, name, logs):
        self.name, self.logs, self.readers = name, logs, 0

    @classmethod
    def boot(cls, logs, label, volumes=()):
        """Starts one (no network; /dev/fuse and CAP_SYS_ADMIN for mounts) with `-v` `volumes`."""
        name = f"secretsfs-test-{label}-{uuid.uuid4().hex[:8]}"
        logs.chmod(0o777)
        binds = [word for volume in volumes for word in ("-v", volume)]
        subprocess.run([*PODMAN, "run", "-d", "--name", name, "--label", f"secretsfs-test={label}", "--systemd=always",
                        "--network", "none", *LIMITS, *FUSE_FLAGS, *binds, "-v", f"{logs}:/log", IMAGE],
                       check=True, capture_output=True, timeout=120)
        return cls(name, logs)

    def remove(self):
        self.stop_readers()
        subprocess.run([*PODMAN, "rm", "-f", "-t", "5", self.name], capture_output=True, timeout=120)

    def run(self, script, check=True, timeout=120, input=None):
        result = subprocess.run([*PODMAN, "exec", *(["-i"] if input is not None else []), self.name, "bash", "-c",
                                 script], capture_output=True, text=True, timeout=timeout, input=input)
        if check and result.returncode != 0:
            raise AssertionError(f"in the machine, `{script}` exited {result.returncode}: "
                                 f"{result.stdout[-1500:]}{result.stderr[-1500:]}")
        return result

    def reader(self, path):
        self.readers += 1
        log = f"/log/reads-{self.readers}.log"
        subprocess.run([*PODMAN, "exec", "-d", self.name, "bash", "-c", READER_LOOP, "reader", path, log], check=True,
                       capture_output=True)
        reader = ReadLog(self.logs / f"reads-{self.readers}.log")
        assert wait_for(lambda: len(reader.lines()) >= 3, 20), f"the reader of {path} wrote no reads"
        return reader

    def stop_readers(self):
        """Ends every reader loop and waits until none of them, nor a read it started, is left: an
        unmount finds the mount busy while a `sha256sum` still has the file open. The script's own
        command line names the logs too, so it skips itself (it killed itself part-way before)."""
        self.run(STOP_READERS, check=False)

    def wait_running(self, timeout=90):
        def up():
            state = self.run("systemctl is-system-running", check=False).stdout.strip()
            return state in ("running", "degraded")
        assert wait_for(up, timeout, every=0.5), \
            f"systemd did not finish booting: {self.run('systemctl --failed --no-legend', check=False).stdout}"


def figures(entries, digest, start):
    """Reads, errors (a failed read or another value), the longest time between two reads."""
    errors = [e for e in entries if not e[1] or e[2] != digest]
    times = [start] + [e[0] for e in entries]
    gap = max((b - a for a, b in zip(times, times[1:])), default=0.0)
    return len(entries), errors, gap
