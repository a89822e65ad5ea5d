"""READDIRPLUS (issue 16 §1): `ls -l` of a fresh mount gets names and attributes from one listing,
not one LOOKUP per name, and what it shows is what a LOOKUP of each name answers. Requests are
counted by `.metrics` (`secretsfs_fuse_requests_total{op=...}`)."""

import json
import os
import re
import sqlite3
import stat
import subprocess
import time

import pytest

from conftest import wait_for
from mounts import kill_worker

COUNT = 200


def seed(env, count=COUNT, folder="many"):
    """`count` secrets in `folder` (s0000 holds 10 bytes, each next one a byte more): the first through
    the CLI, which makes the store, the rest by the statements the local store uses."""
    values = {f"{folder}/s{i:04d}": f"v{i:04d}-".ljust(10 + i, "x") for i in range(count)}
    names = list(values)
    env.put(names[0], values[names[0]])
    now = time.time()
    with sqlite3.connect(env.store) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 1
        for name in names[1:]:
            db.execute("INSERT INTO versions (path, version, created_at, kind, content) VALUES (?, 1, ?, 0, ?)",
                       (name, now, values[name].encode()))
            db.execute("INSERT INTO secrets (path, current_version) VALUES (?, 1)", (name,))
    return values


def requests(m):
    """The kernel's requests so far, by operation; read by a new process, as each gets a new snapshot."""
    text = subprocess.run(["cat", m.p(".metrics")], capture_output=True, check=True, timeout=30).stdout.decode()
    return {op: int(n) for op, n in re.findall(r'^secretsfs_fuse_requests_total\{op="(\w+)"\} (\d+)$', text, re.M)}


def listing(path):
    """`ls -l --time-style=+%s -i` of `path`: name -> (inode, mode string, owner, group, size, mtime)."""
    out = subprocess.run(["ls", "-l", "-i", "-n", "--time-style=+%s", path], capture_output=True, check=True,
                         timeout=60, env={**os.environ, "LC_ALL": "C"}).stdout.decode()
    shown = {}
    for line in out.splitlines()[1:]:
        inode, mode, _, uid, gid, size, mtime, name = line.split(None, 7)
        shown[name] = (int(inode), mode[:10], int(uid), int(gid), int(size), int(mtime))
    return shown


def stat_of(path):
    st = os.lstat(path)
    return (st.st_ino, st.st_mode, st.st_uid, st.st_gid, st.st_size, int(st.st_mtime))


def drop_kernel_caches():
    # Folders' and files' dentries and inodes go: the kernel FORGETs every node it was given.
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("2\n")


def test_ls_l_of_a_fresh_mount_needs_no_lookup_per_name_and_shows_what_lookup_answers(env, tmp_path):
    values = seed(env)
    config = tmp_path / "rules.yaml"
    # A rule for some files: readdirplus must give each file its own owner and mode, as LOOKUP does.
    config.write_text('permissions:\n  - paths: ["many/s00[0-4]*"]\n    mode: 0440\n    uid: 1000\n    gid: 1000\n')
    m = env.mount("--config", str(config))
    before = requests(m)
    shown = listing(m.p("many"))
    after = requests(m)
    assert sorted(shown) == sorted(name.split("/")[1] for name in values)
    # One LOOKUP for the folder and a few for `.metrics` itself, not one per name (200 without READDIRPLUS).
    assert after["lookup"] - before["lookup"] < COUNT // 10, (before, after)
    assert after["readdirplus"] > before["readdirplus"]
    for name, (inode, mode, uid, gid, size, _) in shown.items():
        assert size == len(values[f"many/{name}"]), name
        ruled = int(name[1:]) < 50
        assert (mode, uid, gid) == (("-r--r-----", 1000, 1000) if ruled else ("-r--------", 0, 0)), name

    # What LOOKUP answers for each name, once the kernel has forgotten what READDIRPLUS gave it:
    # the same inode numbers, modes, owners, sizes and times.
    drop_kernel_caches()
    lookups = requests(m)["lookup"]
    for name, (inode, mode, uid, gid, size, mtime) in shown.items():
        st = stat_of(m.p("many", name))
        assert st[0] == inode and st[2:] == (uid, gid, size, mtime), name
        assert open(m.p("many", name), "rb").read() == values[f"many/{name}"].encode()
    assert requests(m)["lookup"] - lookups >= COUNT, "the stats after dropping caches must have asked"

    # Another fresh mount that never lists: its LOOKUPs answer what READDIRPLUS gave.
    other = env.mount("--config", str(config))
    for name, (_, mode, uid, gid, size, mtime) in shown.items():
        st = stat_of(other.p("many", name))
        assert (stat.filemode(st[1]), st[2:]) == (mode, (uid, gid, size, mtime)), name


def errors(m):
    lines = [json.loads(line) for line in m.log_text().splitlines() if line.startswith("{")]
    return [line.get("message") for line in lines if line.get("level") in ("error", "critical")]


def test_forget_accounting_holds_through_many_listings_and_dropped_caches(env):
    values = seed(env, count=50)
    m = env.mount()
    for _ in range(20):
        assert len(listing(m.p("many"))) == 50
    subprocess.run(["find", m.path, "-type", "f"], capture_output=True, check=True, timeout=60)
    drop_kernel_caches()
    assert wait_for(lambda: requests(m).get("forget", 0) >= 50, 30), requests(m)
    for name, value in values.items():
        assert open(m.p(name), "rb").read() == value.encode()
    # A value rotated after all that is seen through the names the kernel learned again.
    shown = listing(m.p("many"))
    with open(m.p("many", ".rotate"), "w") as f:
        f.write("s0007\n")
    rotated = open(m.p("many", "s0007"), "rb").read()
    assert rotated != values["many/s0007"].encode() and len(rotated) == 32
    st = os.stat(m.p("many", "s0007"))
    assert st.st_size == 32 and st.st_ino != shown["s0007"][0]
    assert errors(m) == []


def test_a_secret_changed_at_the_store_after_ls_l_is_seen_once_its_ttl_passes(env):
    values = seed(env, count=20)
    m = env.mount("--cache-ttl", "2s", "--refresh-jitter", "0")
    first = listing(m.p("many"))
    assert first["s0003"][4] == len(values["many/s0003"])
    env.put("many/s0003", "changed-at-the-store-0123456789")

    def changed():
        shown = listing(m.p("many"))
        return shown["s0003"][4] == 31 and open(m.p("many", "s0003"), "rb").read() == b"changed-at-the-store-0123456789"

    assert wait_for(changed, 30, every=0.5)
    assert os.stat(m.p("many", "s0003")).st_size == 31


@pytest.mark.parametrize("mode", ["ttl0", "events", "audit"])
def test_every_mode_lists_right_and_each_open_still_reaches_the_daemon(env, tmp_path, mode):
    values = seed(env, count=40)
    audit = tmp_path / "audit.log"
    args = {"ttl0": ["--cache-ttl", "0"], "events": ["--events"], "audit": ["--audit-log", str(audit)]}[mode]
    m = env.mount(*args)
    before = requests(m)
    shown = listing(m.p("many"))
    after = requests(m)
    for name, (_, mode_string, _, _, size, _) in shown.items():
        assert size == len(values[f"many/{name}"]) and mode_string == "-r--------", name
    if mode == "ttl0":
        # The kernel keeps nothing at TTL 0: plain READDIR, and every name is looked up.
        assert after.get("readdirplus", 0) == 0 and after["lookup"] - before["lookup"] >= 40
    else:
        assert after["lookup"] - before["lookup"] < 10, (before, after)
        assert after["readdirplus"] > before["readdirplus"]
    opens = requests(m)["open"]
    for name, value in values.items():
        assert open(m.p(name), "rb").read() == value.encode()
    assert requests(m)["open"] - opens >= 40, "each open reaches the daemon in these modes"
    if mode == "audit":
        def audited():
            # Written off the read path: the last lines may come a moment after the reads.
            try:
                opened = {json.loads(line).get("path") for line in audit.read_text().splitlines() if line.strip()}
            except ValueError:  # a line half written
                return False
            return all(name in opened for name in values)

        assert wait_for(audited, 30), "an audit line per secret opened"


def test_a_worker_that_takes_over_answers_for_the_nodes_readdirplus_gave(env):
    values = seed(env, count=60)
    m = env.mount()
    shown = listing(m.p("many"))
    kill_worker(m)
    # The kernel still holds the nodes READDIRPLUS gave: a stat is answered from them or by the new
    # worker, which numbers them the same.
    for name, (inode, _, _, _, size, _) in shown.items():
        st = os.stat(m.p("many", name))
        assert (st.st_ino, st.st_size) == (inode, size), name
        assert open(m.p("many", name), "rb").read() == values[f"many/{name}"].encode()
    drop_kernel_caches()
    again = listing(m.p("many"))
    assert {name: entry[0] for name, entry in again.items()} == {name: entry[0] for name, entry in shown.items()}
    assert [line for line in errors(m) if not line.startswith("worker was killed")] == []
