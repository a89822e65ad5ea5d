"""`--cache-file` (issue 27 §5): a host that reboots while the backend is down starts with the values
it had. A real OpenBao is stopped (SIGSTOP: it takes connections and never answers) between two
mounts; the second serves what the first read, stale, from the sealed file, and takes the new value
once OpenBao answers again."""

import base64
import errno
import os
import signal
import stat
import subprocess
import time

from conftest import BIN, fresh_status
from peers import clean_environment, errno_of, start_private_bao

VALUES = {"username": "cachefile-user-7f21", "password": "cachefile-pass-9e04"}
PLAIN = "cachefile-plain-3c88"


def key_file(env, name):
    path = env.workdir / name
    path.write_text(base64.b64encode(os.urandom(32)).decode() + "\n")
    os.chmod(path, 0o600)
    return str(path)


def mount_on(env, server, *args):
    env.planted.append(server.token.encode())
    return env.mount(
        "--cache-ttl", "2s", "--max-stale", "1h", "--backend-timeout", "1s", *args,
        backend=["--backend", "vault", "--vault-addr", server.addr],
        env=clean_environment(VAULT_TOKEN=server.token))


def test_a_mount_started_while_vault_is_down_serves_the_sealed_values_and_takes_new_ones_after(env):
    server = start_private_bao(str(env.workdir))
    try:
        env.planted.extend(value.encode() for value in [*VALUES.values(), PLAIN, "cachefile-new-5d19"])
        server.vault.put("app/db", VALUES)
        server.vault.put("app/plain", {"value": PLAIN})
        server.vault.put("app/unread", {"value": "cachefile-unread-11aa"})
        cache, key = str(env.workdir / "cache.sealed"), key_file(env, "cache.key")
        options = ("--cache-file", cache, "--cache-key-file", key)

        first = mount_on(env, server, *options)
        assert first.read("app", "db", "username") == VALUES["username"].encode()
        assert first.read("app", "db", "password") == VALUES["password"].encode()
        assert first.read("app", "plain") == PLAIN.encode()
        assert first.stop() == 0
        # Sealed: 0600, and no value, token or path in plaintext.
        assert stat.S_IMODE(os.stat(cache).st_mode) == 0o600
        sealed = open(cache, "rb").read()
        assert sealed.startswith(b"secretsfs cache file v1\n")
        for needle in [*VALUES.values(), PLAIN, server.token, "app/db"]:
            assert needle.encode() not in sealed

        server.pause()  # the outage: connections are taken and never answered
        started = time.monotonic()
        second = mount_on(env, server, *options)
        print(f"mount ready {time.monotonic() - started:.2f} s after start with Vault stopped")
        assert second.read("app", "db", "username") == VALUES["username"].encode()
        assert second.read("app", "plain") == PLAIN.encode()
        document = fresh_status(second)
        assert document["cache_file"]["path"] == cache
        assert document["cache_file"]["restored"] >= 3
        assert document["cache"]["stale_serves"] >= 1
        assert '"answers restored from the cache file' in second.log_text()
        # What was never read is not in the file: an error, not a hang.
        assert errno_of(lambda: second.read("app", "unread")) == errno.EIO

        # Vault back, a new value written: the mount takes it within a TTL and a probe.
        server.process.send_signal(signal.SIGCONT)
        server.vault.put("app/plain", {"value": "cachefile-new-5d19"})
        deadline = time.monotonic() + 30
        while second.read("app", "plain") != b"cachefile-new-5d19":
            assert time.monotonic() < deadline, "the new value was never served"
            time.sleep(0.25)
        assert second.stop() == 0
        assert fresh_file_holds_no_value(cache)
    finally:
        server.stop()


def fresh_file_holds_no_value(path):
    data = open(path, "rb").read()
    return all(value.encode() not in data for value in [*VALUES.values(), PLAIN, "cachefile-new-5d19"])


def test_a_wrong_key_is_one_line_and_an_empty_cache_and_no_key_is_refused(env):
    server = start_private_bao(str(env.workdir))
    try:
        env.planted.append(PLAIN.encode())
        server.vault.put("app/plain", {"value": PLAIN})
        cache = str(env.workdir / "cache.sealed")
        first = mount_on(env, server, "--cache-file", cache, "--cache-key-file", key_file(env, "one.key"))
        assert first.read("app", "plain") == PLAIN.encode()
        assert first.stop() == 0
        assert os.path.exists(cache)

        second = mount_on(env, server, "--cache-file", cache, "--cache-key-file", key_file(env, "two.key"))
        assert second.read("app", "plain") == PLAIN.encode()  # from Vault: the mount serves
        document = fresh_status(second)
        assert document["cache_file"]["restored"] == 0
        assert "does not open with the key" in document["cache_file"]["problem"]
        lines = [line for line in second.log_text().splitlines() if "the cache file is not used" in line]
        assert len(lines) == 1, second.log_text()

        # Never written without a key: refused at once, naming what is missing.
        mountpoint = env.workdir / "refused"
        mountpoint.mkdir()
        result = subprocess.run(
            [BIN, "mount", str(mountpoint), "--cache-file", cache, "--store", env.store],
            capture_output=True, timeout=60, env=clean_environment())
        assert result.returncode == 78, result
        assert b"--cache-key-file" in result.stderr
        assert len(result.stderr.decode().strip().splitlines()) == 1, result.stderr
    finally:
        server.stop()
