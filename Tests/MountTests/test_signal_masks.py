"""The supervisor's signals (issue 28): SIGTERM, SIGINT, SIGHUP and SIGCHLD are read by its Dispatch
sources (a signalfd on Linux) and by nothing else, so every thread of `secretsfs-supervise` blocks them:
a thread that does not takes such a signal at its disposition, and a SIGCHLD taken at SIG_DFL is lost
(a worker refused at start was once left a zombie and `mount --daemon` waited 60 s). Whatever secretsfs
starts begins with no signal blocked, whichever of its threads started it. Real processes of real
mounts; the masks are /proc/PID/task/TID/status's SigBlk."""

import os
import signal
import subprocess
import sys
from pathlib import Path

from conftest import BIN, is_mounted, status, wait_for, write_control

SUPERVISE = Path(BIN).with_name("secretsfs-supervise")
HANDLED = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGCHLD}


def mask_recorder(env):
    """A script that writes the SigBlk line of its own /proc status to the file named by its argument:
    the process started is the one that reads it (`exec`; a shell blocks signals while it waits for a
    child of its own)."""
    script = env.workdir / "record-mask.sh"
    script.write_text("exec grep '^SigBlk:' /proc/self/status > \"$1\"\n")
    return str(script)


def recorded(path):
    return path.exists() and path.read_text().strip() != ""


def blocked(status_file):
    """The signals a SigBlk line (or a /proc status file) says are blocked."""
    text = Path(status_file).read_text()
    line = next(line for line in text.splitlines() if line.startswith("SigBlk:"))
    mask = int(line.split()[1], 16)
    return {number for number in range(1, 65) if mask >> (number - 1) & 1}


def test_every_thread_of_the_supervisor_blocks_what_its_sources_read_and_they_still_work(sample):
    m = sample.mount()
    supervisor = m.process.pid
    assert os.readlink(f"/proc/{supervisor}/exe") == str(SUPERVISE.resolve())
    threads = sorted(Path(f"/proc/{supervisor}/task").iterdir())
    # The main thread, Dispatch's, the worker's line reader at least.
    assert len(threads) >= 3, threads
    for thread in threads:
        assert HANDLED <= blocked(thread / "status"), f"thread {thread.name} of the supervisor takes signals"

    # SIGCHLD: a killed worker is reaped and replaced.
    first = status(m)["worker"]["pid"]
    os.kill(first, signal.SIGKILL)
    assert wait_for(lambda: status(m)["worker"]["pid"] != first, 30), m.log_text()
    assert m.read("top") == b"top-level-value-xyz"
    # SIGHUP: a reload starts a new worker.
    second = status(m)["worker"]["pid"]
    m.process.send_signal(signal.SIGHUP)
    assert wait_for(lambda: status(m)["worker"]["pid"] != second, 30), m.log_text()
    # The threads started since (a line reader per worker) block them too.
    for thread in Path(f"/proc/{supervisor}/task").iterdir():
        assert HANDLED <= blocked(thread / "status"), f"thread {thread.name} of the supervisor takes signals"
    # SIGTERM: the mount stops.
    m.process.send_signal(signal.SIGTERM)
    assert m.process.wait(30) == 0
    assert not is_mounted(m.path)


def test_the_worker_starts_with_no_signal_blocked(sample):
    """Its FUSE loop thread is its own, not Dispatch's (which block nearly all): it shows the mask the
    worker was started with, SIGUSR1 (which wakes it) unblocked on top."""
    m = sample.mount()
    worker = status(m)["worker"]["pid"]
    loops = [thread for thread in Path(f"/proc/{worker}/task").iterdir()
             if (thread / "comm").read_text().strip() == "secretsfs-fuse"]
    assert loops, "the worker has no FUSE loop thread"
    assert blocked(loops[0] / "status") == set()


def test_an_on_change_program_starts_with_no_signal_blocked(sample):
    out = sample.workdir / "on-change-mask"
    config = sample.workdir / "mask.yaml"
    config.write_text(f'on_change:\n  - paths: ["openai/*"]\n    exec: ["sh", "{mask_recorder(sample)}", "{out}"]\n'
                      "    debounce: 100ms\n")
    m = sample.mount("--config", str(config))
    write_control(m.p("openai/.rotate"), b"api_key\n")
    assert wait_for(lambda: recorded(out), 30), m.log_text()
    assert blocked(out) == set(), out.read_text()


def test_an_exec_program_starts_with_no_signal_blocked(sample):
    out = sample.workdir / "exec-mask"
    result = subprocess.run(
        [BIN, "exec", "--store", sample.store, "--env", "API_KEY=openai/api_key", "--", "sh", mask_recorder(sample),
         str(out)], capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    assert blocked(out) == set(), out.read_text()
    # The program's status is still passed on: its SIGCHLD reached secretsfs.
    failing = subprocess.run([BIN, "exec", "--store", sample.store, "--env", "API_KEY=openai/api_key", "--",
                              sys.executable, "-c", "raise SystemExit(7)"], capture_output=True, timeout=60)
    assert failing.returncode == 7, failing.stderr
