"""FUSE INTERRUPT through a real mount: a reader blocked on a hung backend gets a signal, and its read
ends at once instead of when the backend call times out (the daemon cancels the request's task and
answers EINTR)."""

import signal
import subprocess
import sys
import time

from conftest import is_mounted
from mounts import mount_vault, put_vault_secret

READER = r"""
import signal, sys
class Interrupted(Exception):
    pass
def interrupted(number, frame):
    raise Interrupted()
signal.signal(signal.SIGUSR1, interrupted)
print("ready", flush=True)
try:
    with open(sys.argv[1], "rb") as f:
        f.read()
    print("read", flush=True)
except Interrupted:
    print("interrupted", flush=True)
except OSError as error:
    print("errno", error.errno, flush=True)
"""


def test_a_signal_ends_a_read_waiting_on_a_hung_backend(env, bao):  # noqa: F811
    server = bao()
    put_vault_secret(env, server, "app/slow", "slow-value-interrupt-0001")
    # A backend timeout far longer than the test waits: only the interrupt can end the read in time.
    m = mount_vault(env, server, "--cache-ttl", "0", "--backend-timeout", "60s", check=False)
    assert m.read("app", "slow") == b"slow-value-interrupt-0001"

    server.pause()
    try:
        reader = subprocess.Popen([sys.executable, "-c", READER, m.p("app", "slow")], stdout=subprocess.PIPE)
        assert reader.stdout.readline().strip() == b"ready"
        time.sleep(0.5)  # the read is now waiting in the daemon
        assert reader.poll() is None, "the read did not wait on the hung backend"
        sent = time.monotonic()
        reader.send_signal(signal.SIGUSR1)
        out, _ = reader.communicate(timeout=10)
        took = time.monotonic() - sent
        assert out.strip() == b"interrupted", out
        assert took < 3, f"the interrupted read took {took:.2f}s to end"
        assert m.process.poll() is None and is_mounted(m.path)
    finally:
        server.process.send_signal(signal.SIGCONT)

    # The mount goes on answering, and stops cleanly.
    assert m.read("app", "slow") == b"slow-value-interrupt-0001"
    assert m.stop() == 0
