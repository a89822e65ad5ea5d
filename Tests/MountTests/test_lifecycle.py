"""The daemon's life: freshness after the TTL, clean exit on signals, recovery from a dead mount."""

import json
import os
import signal
import subprocess
import time

import pytest

from conftest import Mount, is_mounted, mount_entries, wait_for




@pytest.mark.parametrize("mode", [[], ["--direct-io"], ["--audit-log", "AUDIT"]],
                         ids=["page-cache", "direct-io", "audit"])
def test_outside_change_is_visible_after_the_ttl(sample, mode, tmp_path):
    mode = [str(tmp_path / "audit.log") if word == "AUDIT" else word for word in mode]
    m = sample.mount("--cache-ttl", "1s", *mode)
    assert m.read("top") == b"top-level-value-xyz"
    sample.put("top", "changed-outside-999")
    # Within the TTL the cached value may still be served; after it, the new one must be.
    time.sleep(1.5)
    assert wait_for(lambda: m.read("top") == b"changed-outside-999", 3)
    assert os.stat(m.p("top")).st_size == len(b"changed-outside-999")


def test_outside_change_is_not_seen_before_the_ttl(sample):
    m = sample.mount("--cache-ttl", "1h")
    assert m.read("top") == b"top-level-value-xyz"
    sample.put("top", "changed-outside-888")
    assert m.read("top") == b"top-level-value-xyz"


def test_new_secret_appears_after_the_ttl(sample):
    m = sample.mount("--cache-ttl", "1s", "--negative-ttl", "1s")
    assert "later" not in os.listdir(m.path)
    sample.put("later", "appeared-later-123")
    assert wait_for(lambda: "later" in os.listdir(m.path), 4)
    assert m.read("later") == b"appeared-later-123"


def test_cache_ttl_zero_reads_through(sample):
    m = sample.mount("--cache-ttl", "0")
    assert m.read("top") == b"top-level-value-xyz"
    sample.put("top", "changed-outside-777")
    assert wait_for(lambda: m.read("top") == b"changed-outside-777", 2)


def test_cache_ttl_zero_costs_one_store_read_per_cat(env):
    """DESIGN §1.1: at TTL 0 the requests the kernel sends for one `cat` (a lookup per name, open,
    getattr, reads) share one read of the value; the folders along the path share one listing each
    for a moment. Counted by the daemon's own backend-call counter."""
    env.put("team/app/key", "ttl-zero-value-0001")
    m = env.mount("--cache-ttl", "0")

    def calls():
        # From a new process each time: one process is shown the same `.status` for a second.
        out = subprocess.run(["cat", m.p(".status")], capture_output=True, check=True, timeout=30).stdout
        return json.loads(out)["cache"]["backend_calls"]

    def cat():
        return subprocess.run(["cat", m.p("team/app/key")], capture_output=True, check=True, timeout=30).stdout

    assert cat() == b"ttl-zero-value-0001"
    cats = 10
    before = calls()
    started = time.monotonic()
    for _ in range(cats):
        assert cat() == b"ttl-zero-value-0001"
    elapsed = time.monotonic() - started
    spent = calls() - before
    # One read a cat, and the three listings (root, team, team/app) again each second that passed;
    # without sharing, each cat costs 12 (a listing and a read per request).
    assert cats <= spent <= cats + 3 * (1 + int(elapsed)), f"{spent} backend calls for {cats} cats in {elapsed:.1f}s"
    # Still fresh: a change at the store is what the very next cat shows.
    env.put("team/app/key", "ttl-zero-value-0002")
    assert cat() == b"ttl-zero-value-0002"
    env.put("team/new", "ttl-zero-value-0003")
    assert cat() == b"ttl-zero-value-0002"
    assert m.read("team", "new") == b"ttl-zero-value-0003"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_unmounts_cleanly_and_exits_zero(sample, sig):
    m = sample.mount()
    assert m.read("top") == b"top-level-value-xyz"
    assert m.stop(sig) == 0
    assert not is_mounted(m.path)
    assert '"unmounted"' in m.log_text() or "unmounted" in m.log_text()


def test_unmount_command_ends_the_daemon(sample):
    m = sample.mount()
    sample.cli("unmount", m.path, backend=[])
    assert m.process.wait(timeout=10) == 0
    assert not is_mounted(m.path)


def test_killed_supervisor_leaves_its_worker_serving_until_the_next_mount(sample):
    m = sample.mount()
    worker = m.worker_pid()
    m.stop(signal.SIGKILL)
    # The worker holds its own copy of /dev/fuse: readers never notice.
    assert m.read("top") == b"top-level-value-xyz"
    again = Mount(sample.workdir / "m0", ["--store", sample.store])
    sample.mounts.append(again)
    again.path = m.path
    again.start()
    assert again.read("top") == b"top-level-value-xyz"
    assert again.worker_pid() != worker
    assert mount_entries(m.path) == 1
    # The orphaned worker saw its mount go and ended.
    assert wait_for(lambda: not os.path.exists(f"/proc/{worker}") or
                    open(f"/proc/{worker}/stat").read().rsplit(")", 1)[1].split()[0] == "Z", 10)


def test_killed_daemon_leaves_dead_mount_that_next_mount_clears(sample):
    m = sample.mount()
    worker = m.worker_pid()
    os.kill(worker, signal.SIGSTOP)  # so the supervisor cannot replace it first
    m.stop(signal.SIGKILL)
    os.kill(worker, signal.SIGKILL)
    with pytest.raises(OSError):
        os.listdir(m.path)
    again = Mount(sample.workdir / "m0", ["--store", sample.store])
    sample.mounts.append(again)
    again.path = m.path
    again.start()
    assert again.read("top") == b"top-level-value-xyz"
    # The dead mount was cleared, not stacked on.
    assert mount_entries(m.path) == 1
    assert again.stop() == 0
    assert mount_entries(m.path) == 0
    assert os.listdir(m.path) == []


def test_missing_mountpoint_is_one_clear_line(env):
    result = env.cli("mount", str(env.workdir / "does-not-exist"), check=False)
    assert result.returncode != 0
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "does not exist" in lines[0], lines


def cpu_seconds(pid):
    """User plus system CPU time the process has used so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.parametrize("window", ["0", "50", "2000"])
def test_busy_poll_serves_bursts_and_sleeps_at_rest(sample, window):
    # Direct I/O sends every open and read to the daemon: a burst the loop stays awake for.
    mount = sample.mount("--direct-io", "--busy-poll", window)
    for _ in range(3000):
        assert mount.read("top") == b"top-level-value-xyz"
    time.sleep(0.3)
    worker = mount.worker_pid()
    pids = {"worker": worker, "supervisor": mount.process.pid}
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    time.sleep(1.0)
    for name, pid in pids.items():
        used = cpu_seconds(pid) - before[name]
        # A loop that kept polling would use the whole second of a CPU.
        assert used < 0.2, f"the {name} used {used:.2f} s of CPU in a second at rest"


def test_busy_poll_out_of_range_is_one_line(env, tmp_path):
    result = env.cli("mount", str(tmp_path), "--busy-poll", "20000", check=False)
    assert result.returncode == 64
    message = result.stderr.decode().strip()
    assert "\n" not in message and "busy-poll" in message


def test_keep_pages_with_direct_io_is_one_line(env, tmp_path):
    result = env.cli("mount", str(tmp_path), "--keep-pages", "--direct-io", check=False)
    assert result.returncode == 64
    message = result.stderr.decode().strip()
    assert "\n" not in message and "--keep-pages" in message and "--direct-io" in message
