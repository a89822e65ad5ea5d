"""A value's pages with its entry (issue 28): where the kernel opens files without asking, the
answer to a LOOKUP of a value file also puts its bytes into the kernel's page cache, so the read
after it sends no READ; and `--prefetch` looks its secrets up through the mount once it serves, so
a program's first read of one sends nothing at all. Counted by the mount's `.metrics`."""

import errno
import os
import re
import signal
import subprocess
import time

from callers import run_as
from conftest import wait_for, write_control


def requests(m):
    """The kernel's requests so far, by operation, from `.metrics` (read from a process of its own)."""
    text = subprocess.run(["cat", m.p(".metrics")], capture_output=True, check=True, text=True).stdout
    return {op: int(float(n)) for op, n in re.findall(r'fuse_requests_total\{op="(\w+)"\} (\S+)', text)}


def cat(path):
    """A C reader (no `isatty` ioctl, unlike Python's `open`)."""
    return subprocess.run(["cat", path], capture_output=True, check=True).stdout


def sent_while(m, action):
    """The requests `action` made the kernel send, less what reading `.metrics` itself costs."""
    requests(m)
    steady = [requests(m) for _ in range(2)]
    own = {op: steady[1].get(op, 0) - steady[0].get(op, 0) for op in steady[1]}
    before = requests(m)
    action()
    after = requests(m)
    return {op: after.get(op, 0) - before.get(op, 0) - own.get(op, 0) for op in after}


def test_a_looked_up_value_is_read_with_no_read_request_and_a_rotation_is_still_seen(env):
    values = {f"app/s{i}": f"paged-value-{i}-5c1e9a" for i in range(5)}
    for path, value in values.items():
        env.put(path, value)
    m = env.mount()
    for path in values:
        subprocess.run(["stat", "-c", "%s", m.p(*path.split("/"))], capture_output=True, check=True)
    time.sleep(1.0)  # the pages go in from a queue of their own, once each LOOKUP's reader made the inode

    got = {}
    sent = sent_while(m, lambda: got.update({path: cat(m.p(*path.split("/"))) for path in values}))
    assert got == {path: value.encode() for path, value in values.items()}
    assert sent.get("read", 0) == 0, sent
    assert sent.get("lookup", 0) == 0, sent

    # A rotation makes another inode, looked up anew with its own pages: never the old bytes.
    old = values["app/s0"].encode()
    write_control(m.p("app", ".rotate"), b"s0\n")
    new = cat(m.p("app", "s0"))
    assert new != old and len(new) >= 16
    assert cat(m.p("app", "s0")) == new


def test_with_direct_io_every_read_still_reaches_the_daemon(env):
    """The control: the same reads where the kernel keeps no pages, so the count above can fail."""
    values = {f"app/s{i}": f"direct-value-{i}-9b3d70" for i in range(5)}
    for path, value in values.items():
        env.put(path, value)
    m = env.mount("--direct-io")
    for path in values:
        subprocess.run(["stat", "-c", "%s", m.p(*path.split("/"))], capture_output=True, check=True)
    time.sleep(0.5)
    sent = sent_while(m, lambda: [cat(m.p(*path.split("/"))) for path in values])
    assert sent.get("read", 0) >= len(values), sent


def test_prefetched_secrets_are_read_with_no_request_at_all(env):
    values = {"app/one": "warm-one-61d0c2", "app/two": "warm-two-07f9ee", "other/three": "cold-three-a41b58"}
    for path, value in values.items():
        env.put(path, value)
    env.put("app/db", "warm-user-3e8d", field="username")
    env.put("app/db", "warm-pass-c90b17", field="password")
    m = env.mount("--prefetch", "app/**")
    assert wait_for(lambda: "prefetched files are in the kernel" in m.log_text(), 30), m.log_text()[-2000:]
    time.sleep(0.5)  # the last pages land from their queue

    got = {}
    prefetched = ["app/one", "app/two", "app/db/username", "app/db/password"]
    sent = sent_while(m, lambda: got.update({path: cat(m.p(*path.split("/"))) for path in prefetched}))
    assert got == {
        "app/one": b"warm-one-61d0c2", "app/two": b"warm-two-07f9ee",
        "app/db/username": b"warm-user-3e8d", "app/db/password": b"warm-pass-c90b17",
    }
    assert sent.get("lookup", 0) == 0, sent
    assert sent.get("read", 0) == 0, sent

    # Not prefetched: looked up at its first read.
    sent = sent_while(m, lambda: got.update({"other/three": cat(m.p("other", "three"))}))
    assert got["other/three"] == b"cold-three-a41b58"
    assert sent.get("lookup", 0) >= 1, sent


def test_with_a_policy_nothing_is_looked_up_ahead(env):
    """Where every open must reach the daemon (a policy, an audit log), the kernel keeps nothing
    ahead of a checked open: the prefetched secret's first read still looks it up."""
    env.put("app/one", "policed-one-55e2a1")
    audit = env.workdir / "audit.log"
    m = env.mount("--prefetch", "app/**", "--audit-log", str(audit))
    time.sleep(1.0)
    sent = sent_while(m, lambda: cat(m.p("app", "one")))
    assert sent.get("lookup", 0) >= 1, sent
    assert "prefetched files are in the kernel" not in m.log_text()


def read_or_errno(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode()
    except OSError as e:
        return e.errno


def test_pages_the_kernel_holds_ahead_open_to_nobody_the_modes_keep_out(env):
    """An attacker's view: values put in the kernel ahead of any read are still behind the file's
    mode, which the kernel checks at every open (`default_permissions`)."""
    env.put("app/one", "ahead-one-7e21c4")
    m = env.mount("--prefetch", "app/**", "--allow-other", "--dir-mode", "0555")
    assert wait_for(lambda: "prefetched files are in the kernel" in m.log_text(), 30), m.log_text()[-2000:]
    time.sleep(0.5)
    # Mode 0400, owned by the mounting user: another user is refused, though the pages are there.
    assert run_as(read_or_errno, m.p("app", "one")) == errno.EACCES
    sent = sent_while(m, lambda: cat(m.p("app", "one")))
    assert sent.get("read", 0) == 0 and sent.get("lookup", 0) == 0, sent
    assert cat(m.p("app", "one")) == b"ahead-one-7e21c4"


def test_a_dead_mount_hands_a_value_to_new_opens_no_longer_than_its_ttl(env):
    """An attacker's view of a daemon gone for good (supervisor and worker killed): nothing is left
    to drop what the kernel holds, but a new open needs the file's dentry, which the kernel keeps
    no longer than the TTL (the entry timeout); then it must ask, and a dead mount answers ENOTCONN."""
    env.put("app/one", "dead-mount-value-3b91f0")
    env.put("app/two", "dead-mount-never-read-77c2a4")
    m = env.mount("--cache-ttl", "3s")
    assert cat(m.p("app", "one")) == b"dead-mount-value-3b91f0"
    subprocess.run(["stat", m.p("app", "two")], capture_output=True, check=True)  # looked up, pages stored
    worker = m.worker_pid()
    os.kill(m.pid, signal.SIGKILL)
    os.kill(worker, signal.SIGKILL)
    killed = time.monotonic()
    # A name the kernel never looked up must be asked for: the mount is dead at once.
    assert wait_for(lambda: read_or_errno(m.p("app", "three")) == errno.ENOTCONN, 5)

    def both_refused():
        return all(read_or_errno(m.p("app", name)) == errno.ENOTCONN for name in ("one", "two"))

    # Looked up 0-1 s before the kill with a 3 s TTL: refused within 3 s of it, with room for a loaded machine.
    assert wait_for(both_refused, 10), [read_or_errno(m.p("app", name)) for name in ("one", "two")]
    print(f"a dead mount refused both values {time.monotonic() - killed:.1f}s after the kill (TTL 3s)")
