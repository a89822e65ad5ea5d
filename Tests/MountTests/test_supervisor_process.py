"""The process that lives as long as the mount (DESIGN.md section 6) is `secretsfs-supervise`, which
`secretsfs mount` execs from beside itself once the mount is made: the same pid (systemd's MainPID,
`--daemon`'s wait), none of the mount command's Foundation, NIO or parsed configuration, so it holds a
few MiB (issue 28: VmRSS at most 10 MiB, private at most 4 MiB). These tests look at the real processes of a real mount."""

import os
import subprocess
import time
from pathlib import Path

from conftest import BIN, status

SUPERVISE = Path(BIN).with_name("secretsfs-supervise")
MIB = 1024


def rollup(pid):
    """/proc/PID/smaps_rollup's figures in KiB, by name."""
    figures = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":")
        figures[name] = int(value.split()[0])
    return figures


def test_the_mount_is_supervised_by_the_small_program_under_the_mount_commands_pid(sample):
    m = sample.mount()
    worker = status(m)["worker"]
    assert worker["supervisor_pid"] == m.process.pid
    assert os.readlink(f"/proc/{m.process.pid}/exe") == str(SUPERVISE.resolve())
    maps = Path(f"/proc/{m.process.pid}/maps").read_text()
    assert "Foundation" not in maps and "libfuse" not in maps, "the supervisor loaded Foundation or libfuse"
    # The worker is still the secretsfs binary, and the mount serves.
    assert os.readlink(f"/proc/{worker['pid']}/exe") == str(Path(BIN).resolve())
    assert m.read("top") == b"top-level-value-xyz"


def test_the_supervisor_of_a_static_build_holds_at_most_10_mib(sample):
    m = sample.mount()
    # At rest: a few heartbeats have run since the mount served (and the program's code was handed back).
    time.sleep(3)
    maps = Path(f"/proc/{m.process.pid}/maps").read_text()
    figures = rollup(m.process.pid)
    if "libswiftCore" in maps:
        # A debug build loads the Swift runtime as shared libraries: its figures say nothing of the
        # static release build users run; only what the process itself wrote is bounded here.
        assert figures["Anonymous"] <= 4 * MIB, figures
        return
    assert figures["Rss"] <= 10 * MIB, figures
    # Private in all: its own code pages count too, since no other process maps the program's file.
    assert figures["Private_Clean"] + figures["Private_Dirty"] <= 4 * MIB, figures
    assert figures["Anonymous"] <= 4 * MIB, figures


def test_secretsfs_supervise_started_by_hand_says_one_line_and_does_nothing(tmp_path):
    result = subprocess.run([str(SUPERVISE), "--mountpoint", str(tmp_path)], capture_output=True, text=True,
                            timeout=10)
    assert result.returncode == 64
    assert result.stderr.strip().splitlines() == [
        "secretsfs-supervise: error: started by `secretsfs mount`, not by hand"]
    assert result.stdout == ""
