"""`--prefetch` (issue 16 §2): matching secrets are in the cache before the mount serves, so the
first read of each costs no backend call; a secret that cannot be read is one log line, never a
failed mount. Counted through `.status`."""

import json
import os
import sqlite3
import subprocess

import pytest

from conftest import BIN, fresh_status
from peers import aws_client, aws_environment, clean_environment, require, shared_vault, unique


def break_secret(env, path):
    """Makes one stored secret unreadable while it stays listed: its current version gets a kind
    of content no build of the store knows."""
    with sqlite3.connect(env.store) as db:
        db.execute("UPDATE versions SET kind = 77 WHERE path = ?", (path,))


def test_prefetched_secrets_cost_no_backend_call_and_a_broken_one_does_not_fail_the_mount(env):
    values = {
        "app/one": "prefetch-one-4b1c",
        "app/two": "prefetch-two-77ad",
        "app/deep/three": "prefetch-three-09e2",
        "other/four": "prefetch-four-5a5a",
        "app/broken": "prefetch-broken-c3c3",
    }
    for path, value in values.items():
        env.put(path, value)
    break_secret(env, "app/broken")

    m = env.mount("--prefetch", "app/**", "--cache-ttl", "5m")
    first = fresh_status(m)
    assert first["prefetch"]["matched"] == 4
    assert first["prefetch"]["read"] == 3
    assert first["prefetch"]["failed"] == 1
    assert first["prefetch"]["seconds"] >= 0
    calls = first["cache"]["backend_calls"]

    for path in ("app/one", "app/two", "app/deep/three"):
        assert m.read(*path.split("/")) == values[path].encode()
    after = fresh_status(m)
    assert after["cache"]["backend_calls"] == calls, "prefetched reads are all hits"
    assert after["cache"]["misses"] == first["cache"]["misses"]

    # Not prefetched: read on demand, at a cost.
    assert m.read("other", "four") == values["other/four"].encode()
    assert fresh_status(m)["cache"]["backend_calls"] > calls

    # The broken one is an error for its reader, and the mount goes on serving.
    try:
        m.read("app", "broken")
        raise AssertionError("a broken secret reads as an error")
    except OSError:
        pass
    assert m.read("app", "one") == values["app/one"].encode()
    lines = [json.loads(line) for line in m.log_text().splitlines() if line.startswith("{")]
    failures = [line for line in lines if line["message"].startswith("prefetch could not read a secret")]
    assert [line["path"] for line in failures] == ["app/broken"]


def test_the_config_key_takes_a_list_and_the_daemon_parent_exits_after_the_prefetch(env):
    env.put("team/a", "prefetch-config-a-1111")
    env.put("team/b", "prefetch-config-b-2222")
    env.put("else/c", "prefetch-config-c-3333")
    config = env.workdir / "secretsfs.yaml"
    config.write_text("prefetch:\n  - team/*\n  - nothing/**\n")
    os.chmod(config, 0o600)
    mountpoint = env.workdir / "daemon-mnt"
    mountpoint.mkdir()
    result = subprocess.run(
        [BIN, "mount", str(mountpoint), "--daemon", "--config", str(config), "--store", env.store],
        capture_output=True, timeout=60)
    try:
        assert result.returncode == 0, result.stderr
        with open(mountpoint / ".status", "rb") as f:
            document = json.loads(f.read())
        assert document["prefetch"] == {
            "matched": 2, "read": 2, "failed": 0, "failed_listings": 0, "seconds": document["prefetch"]["seconds"]}
        calls = document["cache"]["backend_calls"]
        with open(mountpoint / "team" / "a", "rb") as f:
            assert f.read() == b"prefetch-config-a-1111"
        with open(mountpoint / ".status", "rb") as f:
            assert json.loads(f.read())["cache"]["backend_calls"] == calls
    finally:
        unmounted = subprocess.run([BIN, "unmount", str(mountpoint)], capture_output=True, timeout=30)
    # Right after a prefetch the worker is still looking its files up through the mount (the kernel
    # warm-up): an unmount then found the mount busy once and left the daemon running.
    assert unmounted.returncode == 0, unmounted.stderr


@pytest.mark.parametrize("backend", ["local", "vault", "aws"])
def test_the_first_read_of_a_prefetched_secrets_field_costs_no_call(env, backend):
    """A multi-field secret is a folder of its fields; a lookup inside it asks for its own listing
    first. Prefetch keeps that (empty) listing too, so the first `cat` of a field is a hit."""
    fields = {"username": "prefetch-field-user-61", "password": "prefetch-field-pass-62"}
    env.planted.extend(value.encode() for value in fields.values())
    if backend == "vault":
        vault, prefix = shared_vault(), unique("prefetch")
        vault.put(f"{prefix}/app/db", fields)
        vault.put(f"{prefix}/app/deep/db", fields)
        env.planted.append(vault.token.encode())
        m = env.mount(
            "--vault-prefix", prefix, "--prefetch", "app/**", "--cache-ttl", "5m",
            backend=["--backend", "vault", "--vault-addr", vault.addr],
            env=clean_environment(VAULT_TOKEN=vault.token))
    elif backend == "aws":
        endpoint, prefix = require("SECRETSFS_TEST_AWS_ENDPOINT"), unique("prefetch")
        for path in ("app/db", "app/deep/db"):
            aws_client(endpoint).create_secret(Name=f"{prefix}/{path}", SecretString=json.dumps(fields))
        m = env.mount(
            "--aws-prefix", prefix, "--json-fields", "expand", "--prefetch", "app/**", "--cache-ttl", "5m",
            backend=["--backend", "aws"], env=aws_environment(endpoint))
    else:
        for path in ("app/db", "app/deep/db"):
            for name, value in fields.items():
                env.put(path, value, field=name)
        m = env.mount("--prefetch", "app/**", "--cache-ttl", "5m")
    first = fresh_status(m)
    assert first["prefetch"]["read"] == 2
    calls = first["cache"]["backend_calls"]
    for folder in (("app", "db"), ("app", "deep", "db")):
        for name, value in fields.items():
            assert m.read(*folder, name) == value.encode()
    after = fresh_status(m)
    assert after["cache"]["backend_calls"] == calls, "a prefetched secret's fields are hits"
    assert after["cache"]["misses"] == first["cache"]["misses"]
