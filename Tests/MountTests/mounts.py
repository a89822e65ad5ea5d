"""What many test modules do to a mount or its store: mount one on Vault, write a secret into a
private OpenBao, kill the worker and wait for the next, watch a file with inotifywait. One copy of
each, so a test module imports from here and never from another test module."""

import json
import os
import queue
import signal
import subprocess
import threading
import time

from daemon import wait_for
from peers import clean_environment


def vault_backend(vault, *extra):
    """The flags of a Vault backend at `vault`'s address (never its token)."""
    return ["--backend", "vault", "--vault-addr", vault.addr, *extra]


def vault_env(token, **extra):
    """A clean environment whose only credential is the Vault token."""
    return clean_environment(VAULT_TOKEN=token, **extra)


def mount_vault(env, vault, *args, token=None, extra_env=None, check=True):
    """A mount of `vault` (a `Vault` client or a private server) with its root token (or `token`) in
    the daemon's environment, never argv; the token is planted so the teardown proves the log never
    shows it. With `check`, `.status` is read once to prove it names the backend and not the token
    (a fault test that counts requests leaves that out)."""
    token = token or vault.token
    env.plant(token)
    m = env.mount(
        *args, backend=["--backend", "vault", "--vault-addr", vault.addr],
        env=clean_environment(VAULT_TOKEN=token, **(extra_env or {})))
    if check:
        status = m.read(".status")
        assert token.encode() not in status
        assert json.loads(status)["backend"] == "vault"
    return m


def put_vault_secret(env, server, path, value):
    """Writes `value` as the secret `path` in `server` and plants it (never to be logged)."""
    env.plant(value)
    server.vault.put(path, {"value": value})


def new_worker(m, old, timeout=10):
    """Waits until a worker other than `old` serves the mount; returns its pid."""
    found = {}

    def serving():
        try:
            found["pid"] = m.worker_pid()
        except OSError:
            return False
        return found["pid"] != old

    assert wait_for(serving, timeout), f"no new worker after {old} died"
    return found["pid"]


def kill_worker(m):
    old = m.worker_pid()
    os.kill(old, signal.SIGKILL)
    return new_worker(m, old)


class Inotifywait:
    """`inotifywait -m` on one path, its events as (events, name) pairs in the order they came."""

    def __init__(self, path, events="modify,close_write,attrib"):
        self.process = subprocess.Popen(
            ["inotifywait", "-m", "-e", events, "--format", "%e|%f", path],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # inotifywait says so on stderr once its watches are set, before any event can be missed.
        lines = [self.process.stderr.readline() for _ in range(2)]
        assert "Watches established" in lines[-1], lines
        self.lines = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.process.stdout:
            self.lines.put((time.monotonic(), line.strip()))

    def next(self, timeout):
        """The next event after now, as (seconds it took, events, name); None when none came."""
        try:
            at, line = self.lines.get(timeout=timeout)
        except queue.Empty:
            return None
        events, _, name = line.partition("|")
        return at, set(events.split(",")), name

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=5)
