"""The local store encrypted at rest (issue 17 §4): a mount and the CLI with --store-key-file or
SECRETSFS_STORE_KEY_FILE, `secretsfs store encrypt` on a store with versions, and the refusals."""

import os
import re
import subprocess

from conftest import BIN, is_mounted
from conftest import write_control as write


def all_store_bytes(env):
    data = b""
    for suffix in ("", "-wal", "-journal", "-shm"):
        try:
            with open(env.store + suffix, "rb") as f:
                data += f.read()
        except FileNotFoundError:
            pass
    return data


def make_key(env, name="store.key"):
    path = env.workdir / name
    path.write_bytes(os.urandom(32))
    os.chmod(path, 0o600)
    return str(path)


def test_store_encrypt_then_mount_reads_every_version(sample):
    env = sample
    assert b"sk-current-00000003" in all_store_bytes(env)
    key = make_key(env)
    out = env.cli("store", "encrypt", "--store-key-file", key).stdout.decode()
    assert re.fullmatch(r"encrypted \d+ versions in .*\n", out)
    blob = all_store_bytes(env)
    for planted in env.planted:
        if len(planted) >= 6:
            assert planted not in blob, "a value stayed on disk in the clear after store encrypt"

    m = env.mount("--store-key-file", key)
    assert m.read("openai", "api_key") == b"sk-current-00000003"
    assert m.read("openai", ".versions", "api_key", "1") == b"sk-first-0000000001"
    assert m.read("db", "password") == b"hunter2-password"
    assert m.read("bin", "blob") == bytes([0, 1, 2, 255, 254, 10, 0])
    assert write(m.p("openai", ".rotate"), b"api_key\n") == len(b"api_key\n")
    rotated = m.read("openai", "api_key")
    assert re.fullmatch(rb"[A-Za-z0-9]{32}", rotated)
    assert rotated not in all_store_bytes(env)
    # The CLI with the key in the environment, as systemd's LoadCredential= would give its path.
    environ = dict(os.environ, SECRETSFS_STORE_KEY_FILE=key)
    assert env.cli("get", "openai/api_key", env=environ).stdout == rotated


def test_an_encrypted_store_refuses_a_mount_without_or_with_a_wrong_key(sample):
    env = sample
    key = make_key(env)
    env.cli("store", "encrypt", "--store-key-file", key)
    for extra, words in (([], "is encrypted: give its key"),
                         (["--store-key-file", make_key(env, "other.key")], "does not open")):
        mountpoint = env.workdir / "refused"
        os.makedirs(mountpoint, exist_ok=True)
        result = subprocess.run([BIN, "mount", str(mountpoint), "--store", env.store, *extra],
                                capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        assert result.returncode != 0
        line = result.stderr.decode()
        assert words in line and line.count("\n") == 1, line
        env.assert_no_planted_values(result.stderr, "the mount's error")
        assert not is_mounted(str(mountpoint))
        got = env.cli("get", "top", *extra, check=False)
        assert got.returncode != 0 and got.stdout == b"" and words in got.stderr.decode()


def test_a_plain_store_with_values_is_not_opened_with_a_key(sample):
    got = sample.cli("get", "top", "--store-key-file", make_key(sample), check=False)
    assert got.returncode != 0 and b"is not encrypted; 'secretsfs store encrypt" in got.stderr


def test_a_bad_key_file_is_one_clear_line(env):
    bad = env.workdir / "bad.key"
    bad.write_bytes(b"not-a-key-at-all\n")
    os.chmod(bad, 0o600)
    got = env.cli("get", "x", "--store-key-file", str(bad), check=False)
    assert got.returncode != 0 and b"does not hold a 32-byte key" in got.stderr
    assert b"not-a-key-at-all" not in got.stderr


def test_a_new_store_given_a_key_starts_encrypted(env):
    key = make_key(env)
    env.cli("put", "app/token", "--store-key-file", key, input=b"fresh-sealed-value-77")
    assert b"fresh-sealed-value-77" not in all_store_bytes(env)
    m = env.mount("--store-key-file", key)
    assert m.read("app", "token") == b"fresh-sealed-value-77"


def test_store_encrypt_refuses_a_store_a_mount_holds(sample):
    """Issue 27 §4: sealing a store under a running mount made it serve ciphertext after the TTL."""
    env = sample
    m = env.mount("--cache-ttl", "1s")
    assert m.read("openai", "api_key") == b"sk-current-00000003"
    key = make_key(env)
    result = env.cli("store", "encrypt", "--store-key-file", key, check=False)
    assert result.returncode != 0
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "unmount it first" in lines[0], lines
    assert b"sk-current-00000003" in all_store_bytes(env)  # left as it was
    assert m.read("openai", "api_key") == b"sk-current-00000003"


def test_store_encrypt_refuses_a_store_that_does_not_exist(env):
    key = make_key(env)
    missing = env.workdir / "nowhere" / "secrets.db"
    result = env.cli("store", "encrypt", "--store-key-file", key, backend=["--store", str(missing)], check=False)
    assert result.returncode != 0
    assert "no store at" in result.stderr.decode()
    assert not missing.exists() and not missing.parent.exists()
