"""Vault KV v1 through a real mount (issue 17 §2): the engine asked of OpenBao at start, files and
fields, no `.versions`, rotation that writes the whole map back, and an outside change seen after
the TTL."""

import errno
import json
import os
import re
import time

import pytest

from peers import errno_of, shared_vault, unique, write_control
from mounts import mount_vault


@pytest.fixture
def kv1():
    vault = shared_vault()
    mount = unique("kv1")
    vault.request("POST", f"sys/mounts/{mount}", {"type": "kv", "options": {"version": "1"}})
    yield vault, mount
    vault.disable(mount)


def test_files_fields_rotation_and_outside_changes(env, kv1):
    vault, mount = kv1
    env.plant("kv1-token-value-1", "kv1-user-value", "kv1-pass-value-1", "kv1-token-value-2")
    vault.request("POST", f"{mount}/app/token", {"value": "kv1-token-value-1"})
    vault.request("POST", f"{mount}/db", {"username": "kv1-user-value", "password": "kv1-pass-value-1", "port": 5432})
    m = mount_vault(env, vault, "--vault-mount", mount, "--cache-ttl", "1s")
    assert {"app", "db"} <= set(os.listdir(m.p()))
    assert m.read("app", "token") == b"kv1-token-value-1"
    assert m.read("db", "username") == b"kv1-user-value"
    assert m.read("db", "port") == b"5432"
    # KV v1 keeps no versions: no `.versions` folder, as with the env backend.
    assert ".versions" not in os.listdir(m.p("db"))
    assert errno_of(lambda: os.listdir(m.p(".versions"))) == errno.ENOENT

    assert write_control(m.p("db", ".rotate"), b"password\n") == len(b"password\n")
    raw = vault.request("GET", f"{mount}/db")[1]["data"]
    new = raw["password"].encode()
    env.plant(new)
    assert re.fullmatch(rb"[A-Za-z0-9]{32}", new)
    assert raw["username"] == "kv1-user-value" and raw["port"] == 5432
    assert m.read("db", "password") == new

    vault.request("POST", f"{mount}/app/token", {"value": "kv1-token-value-2"})
    deadline = time.monotonic() + 10
    while m.read("app", "token") != b"kv1-token-value-2":
        assert time.monotonic() < deadline, "an outside change on KV v1 was not seen after the TTL"
        time.sleep(0.2)
    assert json.loads(m.read(".status"))["backend"] == "vault"
    assert b"kv_version" in open(m.log_path, "rb").read()


def test_the_version_flag_wins_over_asking(env, kv1):
    vault, mount = kv1
    env.plant("kv1-flag-value-01")
    vault.request("POST", f"{mount}/k", {"value": "kv1-flag-value-01"})
    m = mount_vault(env, vault, "--vault-mount", mount, "--vault-kv-version", "1")
    assert m.read("k") == b"kv1-flag-value-01"
    bad = env.cli("ls", "--backend", "vault", "--vault-addr", vault.addr, "--vault-kv-version", "3", check=False,
                  backend=[])
    assert bad.returncode == 64 and b"--vault-kv-version must be 1 or 2" in bad.stderr
