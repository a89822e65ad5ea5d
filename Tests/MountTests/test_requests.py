"""What common programs cost the daemon, counted by the mount's own `.metrics`
(`secretsfs_fuse_requests_total`), and first reads of one folder answered side by side through a
slow Vault. Each test fails when a request per file (or a wait per secret) comes back."""

import errno
import os
import re
import signal
import subprocess
import threading
import time

from conftest import wait_for  # noqa: F401
from peers import clean_environment, shared_vault, unique
from proxies import SlowProxy


def requests(m):
    """The kernel's requests so far, by operation, from `.metrics` (read from a process of its own)."""
    text = subprocess.run(["cat", m.p(".metrics")], capture_output=True, check=True, text=True).stdout
    return {op: int(float(n)) for op, n in re.findall(r'fuse_requests_total\{op="(\w+)"\} (\S+)', text)}


def test_ls_l_asks_no_extended_attribute_per_file(env):
    for i in range(30):
        env.put(f"many/s{i:02d}", f"listed-value-{i:02d}-abcdef")
    m = env.mount()
    listing = subprocess.run(["ls", "-l", m.p("many")], capture_output=True, text=True, check=True).stdout
    assert sum(line.startswith("-r") for line in listing.splitlines()) == 30
    before = requests(m)
    for _ in range(2):
        subprocess.run(["ls", "-l", m.p("many")], capture_output=True, check=True)
    after = requests(m)
    # `ls` asks its first file for the security label and the ACL; told the namespace is not kept
    # (EOPNOTSUPP) it asks no other file of the device. ENODATA made that 2 a file: 126 here.
    asked = after["getxattr"] - before["getxattr"]
    assert asked <= 2 * 2, f"two `ls -l` of 30 files sent {asked} GETXATTR"
    # Our own attributes are still there.
    assert os.getxattr(m.p("many", "s00"), "user.secretsfs.version") == b"1"


def test_python_opens_are_counted_and_answered_as_no_terminal(env):
    env.put("py/key", "python-reads-this-0001")
    m = env.mount()
    assert m.read("py", "key") == b"python-reads-this-0001"
    before = requests(m)
    for _ in range(20):
        with open(m.p("py", "key"), "rb") as f:  # buffered: `open` asks isatty, an IOCTL
            assert not f.isatty()
            f.read()
    after = requests(m)
    # Each open's isatty and each explicit one: 40 IOCTLs, every one of them counted.
    assert after["ioctl"] - before["ioctl"] >= 40, (before.get("ioctl"), after.get("ioctl"))


def slow_vault_mount(env, delay, *args):
    """A mount of a fresh prefix of the shared OpenBao, reached through a proxy that holds every
    answer `delay` seconds; (mount, Vault client, prefix, proxy)."""
    vault = shared_vault()
    prefix = unique("slow")
    proxy = SlowProxy(int(vault.addr.rsplit(":", 1)[1]), delay, every_answer=True)
    environment = clean_environment(VAULT_ADDR=f"http://127.0.0.1:{proxy.port}", VAULT_TOKEN=vault.token)
    m = env.mount("--vault-prefix", prefix, *args, backend=["--backend", "vault"], env=environment)
    return m, vault, prefix, proxy


def read_all(m, names):
    """Each name read by a thread of its own, all at once: {name: bytes or errno name}, seconds."""
    results = {}

    def reader(name):
        try:
            results[name] = m.read(*name.split("/"))
        except OSError as error:
            results[name] = errno.errorcode.get(error.errno, error.errno)

    threads = [threading.Thread(target=reader, args=(name,), daemon=True) for name in names]
    began = time.monotonic()
    for t in threads:
        t.start()
    return threads, results, began


def test_first_reads_of_one_folder_wait_for_the_backend_side_by_side(env):
    """8 threads, each the first reader of a different secret of one listed folder, Vault 0.5 s away:
    together about one backend call, as in 8 folders. The kernel took the folder's lock around each
    LOOKUP (no FUSE_PARALLEL_DIROPS at INIT): 8 calls one after another, 4 s."""
    names = [f"team/s{i}" for i in range(8)]
    m, vault, prefix, proxy = slow_vault_mount(env, 0.5, "--backend-timeout", "10s")
    try:
        for i, name in enumerate(names):
            env.planted.append(f"side-by-side-{i}-value".encode())
            vault.put(f"{prefix}/{name}", {"value": f"side-by-side-{i}-value"})
        listed = sorted(n for n in os.listdir(m.p("team")) if not n.startswith("."))
        assert listed == sorted(n.split("/")[1] for n in names)
        threads, results, began = read_all(m, names)
        for t in threads:
            t.join(30)
        took = time.monotonic() - began
        assert results == {name: f"side-by-side-{i}-value".encode() for i, name in enumerate(names)}
        # One backend call is 0.5 s here; one after another would be 4 s. Room for a loaded machine.
        assert took < 2.0, f"8 first reads in one folder took {took:.2f} s"
    finally:
        proxy.close()


def test_sigterm_answers_first_reads_of_one_folder_in_flight(env):
    """Issue 27 §2: 16 threads each read a different secret of one folder, Vault 1.2 s away, SIGTERM
    0.8 s after they start: the worker answers every request it holds before it unmounts."""
    names = [f"drain/s{i:02d}" for i in range(16)]
    m, vault, prefix, proxy = slow_vault_mount(env, 1.2, "--backend-timeout", "5s")
    try:
        for i, name in enumerate(names):
            env.planted.append(f"drained-answer-{i:02d}".encode())
            vault.put(f"{prefix}/{name}", {"value": f"drained-answer-{i:02d}"})
        os.listdir(m.path)  # the root listed once: only the folder's listing and the values wait
        threads, results, _ = read_all(m, names)
        time.sleep(0.8)
        m.process.send_signal(signal.SIGTERM)
        for t in threads:
            t.join(40)
        assert m.process.wait(40) == 0
        failures = sorted(str(r) for r in results.values() if not isinstance(r, bytes))
        answered = sum(results.get(name) == f"drained-answer-{i:02d}".encode() for i, name in enumerate(names))
        assert answered == 16, f"{answered} of 16 reads answered; failures: {failures}"
    finally:
        proxy.close()
