"""`secretsfs check` (issue 25 item 12, DESIGN §5.1): every check `mount` makes, without mounting, one
line per finding, exit 0 only when clean; the status and the line are `mount`'s for the same mistake.
Against the local store, a real OpenBao (a wrong token, a missing mount, an empty prefix) and moto.
Also the warning a mount gives for an empty --vault-prefix (item 9), at no cost in requests."""

import json
import os
import subprocess

import pytest

from conftest import BIN, is_mounted
from peers import aws_client, aws_environment, json_lines, require, unique
from mounts import vault_backend, vault_env


def run(*args, env=None):
    return subprocess.run([BIN, *args], capture_output=True, env=env, timeout=60, stdin=subprocess.DEVNULL)


def lines(result):
    return result.stderr.decode().strip().splitlines()


# MARK: the local store

VALUE = b"check-top-value-xyz"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One small store for the module: each `put` is a process start, and these tests only read."""
    path = tmp_path_factory.mktemp("check") / "secrets.db"
    subprocess.run([BIN, "put", "top", "--store", str(path)], input=VALUE, check=True, capture_output=True)
    return str(path)


def test_a_clean_setup_exits_0_with_one_line(store, tmp_path):
    mountpoint = tmp_path / "empty"
    mountpoint.mkdir()
    result = run("check", str(mountpoint), "--store", store, "--cache-ttl", "5m")
    assert result.returncode == 0, result.stderr
    assert result.stderr == b""
    assert result.stdout.decode().startswith("ok: local "), result.stdout
    assert len(result.stdout.decode().strip().splitlines()) == 1
    assert not is_mounted(str(mountpoint))
    assert VALUE not in result.stdout + result.stderr


def test_without_a_mountpoint_the_rest_is_checked(store, tmp_path):
    result = run("check", "--store", store)
    assert result.returncode == 0, result.stderr
    assert "names at the root" in result.stdout.decode()
    # The mountpoint after the options, as mount takes it, is checked too.
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep").write_text("x")
    later = run("check", "--store", store, str(full))
    assert later.returncode == 78 and "not empty" in later.stderr.decode(), later.stderr


def same_as_mount(mountpoint, *args, env=None):
    """check's answer and mount's for the same arguments: the status and the line must agree."""
    checked = run("check", str(mountpoint), *args, env=env)
    mounted = run("mount", str(mountpoint), *args, env=env)
    assert not is_mounted(str(mountpoint)), "mount was meant to fail"
    assert checked.returncode == mounted.returncode != 0, (checked.stderr, mounted.stderr)
    assert len(lines(checked)) == 1, lines(checked)
    assert lines(checked)[0] in mounted.stderr.decode(), (checked.stderr, mounted.stderr)
    return checked


def test_a_bad_flag_is_mounts_usage_error_and_quotes_no_value(store, tmp_path):
    mountpoint = tmp_path / "mp"
    mountpoint.mkdir()
    result = run("check", str(mountpoint), "--store", store, "--cache-ttl", "hunter2-SECRET")
    assert result.returncode == 64, result.stderr
    assert len(lines(result)) == 1 and "--cache-ttl" in lines(result)[0], lines(result)
    assert b"hunter2" not in result.stderr + result.stdout


@pytest.mark.parametrize("config, named", [
    ("cahce-ttl: 5m\n", "cahce-ttl"),
    ("files:\n  - path: app/db.conf\n    template: 'password={{ \"top\"|secret '\n", "app/db.conf"),
    ("files:\n  - path: app/x\n    template_file: /nonexistent/x.tmpl\n", "/nonexistent/x.tmpl"),
    ("on_change:\n  - paths: ['*']\n    signal: HUP\n", "pid_file"),
])
def test_a_config_mistake_is_the_line_and_status_mount_gives(store, tmp_path, config, named):
    mountpoint = tmp_path / "mp"
    mountpoint.mkdir()
    path = tmp_path / "c.yaml"
    path.write_text(config)
    result = same_as_mount(mountpoint, "--store", store, "--config", str(path))
    assert result.returncode == 78
    assert named in lines(result)[0], lines(result)


def test_a_non_empty_mountpoint_is_mounts_refusal(store, tmp_path):
    mountpoint = tmp_path / "full"
    mountpoint.mkdir()
    (mountpoint / "keep").write_text("x")
    result = same_as_mount(mountpoint, "--store", store)
    assert "not empty" in lines(result)[0]
    assert (mountpoint / "keep").read_text() == "x"


def test_a_rendered_file_whose_input_is_missing_is_a_warning(store, tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("files:\n  - path: app/db.conf\n    template: 'password={{ \"no/such\"|secret }}'\n"
                    "  - path: app/top.conf\n    template: 'top={{ \"top\"|secret }}'\n")
    result = run("check", "--store", store, "--config", str(path))
    assert result.returncode == 1, result.stderr
    assert lines(result) == [l for l in lines(result) if l.startswith("secretsfs: warning: ")]
    assert len(lines(result)) == 1 and "app/db.conf" in lines(result)[0] and "no/such" in lines(result)[0]
    assert result.stdout == b""
    assert VALUE not in result.stderr


def test_a_missing_store_is_a_warning_and_is_not_made(tmp_path):
    store = tmp_path / "none.db"
    result = run("check", "--store", str(store))
    assert result.returncode == 1 and len(lines(result)) == 1, result.stderr
    assert "does not exist" in lines(result)[0]
    assert not store.exists()


def test_every_finding_is_a_line_of_its_own(store, tmp_path):
    """Two mistakes at once: both are said, and the status is the first error's."""
    mountpoint = tmp_path / "full"
    mountpoint.mkdir()
    (mountpoint / "keep").write_text("x")
    path = tmp_path / "c.yaml"
    path.write_text("files:\n  - path: app/db.conf\n    template: 'password={{ \"no/such\"|secret }}'\n")
    result = run("check", str(mountpoint), "--store", store, "--config", str(path))
    assert result.returncode == 78, result.stderr
    said = lines(result)
    assert len(said) == 2 and "not empty" in said[0] and "no/such" in said[1], said


# MARK: OpenBao


@pytest.fixture
def vault():
    from peers import shared_vault
    return shared_vault()


def test_vault_clean_prefix(env, vault):
    prefix = unique("ck")
    env.plant("check-value-0001", vault.token)
    vault.put(f"{prefix}/app/key", {"value": "check-value-0001"})
    result = run("check", *vault_backend(vault, "--vault-prefix", prefix), env=vault_env(vault.token))
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().startswith("ok: vault ") and "1 names at the root" in result.stdout.decode()
    env.assert_no_planted_values(result.stdout + result.stderr, "check's output")


def test_vault_wrong_token_is_77_as_at_mount(env, vault, tmp_path):
    env.plant("not-a-real-token-xyz")
    mountpoint = tmp_path / "mp"
    mountpoint.mkdir()
    result = same_as_mount(mountpoint, *vault_backend(vault), env=vault_env("not-a-real-token-xyz"))
    assert result.returncode == 77, result.stderr
    assert b"not-a-real-token-xyz" not in result.stderr + result.stdout


def test_vault_missing_mount_is_78_as_at_mount(env, vault, tmp_path):
    env.plant(vault.token)
    mountpoint = tmp_path / "mp"
    mountpoint.mkdir()
    result = same_as_mount(
        mountpoint, *vault_backend(vault, "--vault-mount", "secrets"), env=vault_env(vault.token))
    assert result.returncode == 78
    assert "no secrets engine at secrets/" in lines(result)[0]


def test_vault_empty_prefix_is_a_warning(env, vault):
    env.plant(vault.token)
    prefix = unique("nothing")
    result = run("check", *vault_backend(vault, "--vault-prefix", prefix), env=vault_env(vault.token))
    assert result.returncode == 1, result.stderr
    assert len(lines(result)) == 1, lines(result)
    assert lines(result)[0].startswith("secretsfs: warning: nothing under --vault-prefix " + prefix)


def served(server):
    entries = json_lines(server.audit)
    return [f"{e['request'].get('operation')} {e['request'].get('path')}" for e in entries if e.get("type") == "request"]


def test_a_mount_of_an_empty_prefix_warns_once_in_the_log_and_status_at_no_extra_request(env, server):
    """Item 9: the warning comes from the root listing a reader makes anyway; the mount asks OpenBao
    for nothing more than a mount of a prefix that holds something."""
    vault = server.vault
    env.plant(vault.token, "check-full-value-01")
    vault.put("full/key", {"value": "check-full-value-01"})
    counts = {}
    for prefix in ("full", "empty"):
        before = len(served(server))
        m = env.mount(backend=vault_backend(vault, "--vault-prefix", prefix), env=vault_env(vault.token))
        listed = [name for name in os.listdir(m.path) if not name.startswith(".")]
        assert listed == (["key"] if prefix == "full" else [])
        counts[prefix] = served(server)[before:]
        if prefix == "empty":
            os.listdir(m.path)
            status = json.loads(m.read(".status"))
            assert status["healthy"] is True
            assert status["warnings"] == [f"nothing under --vault-prefix empty in the KV mount secret/; "
                                          "'bao kv list secret/' shows what is there"]
            log = [json.loads(l) for l in m.log_text().splitlines() if l.startswith("{")]
            warned = [l for l in log if l.get("level") == "warning" and "--vault-prefix" in l["message"]]
            assert len(warned) == 1, warned
            words = run("status", m.path).stdout.decode()
            assert "warning:    nothing under --vault-prefix empty" in words, words
        else:
            assert "warnings" not in json.loads(m.read(".status"))
        m.stop()
    print(f"OpenBao requests from start to the first listing: full {len(counts['full'])}, "
          f"empty {len(counts['empty'])}")
    # The empty prefix was listed once (the reader's listing), and nothing was asked beyond what the
    # mount of a prefix that holds something asks.
    assert len([r for r in counts["empty"] if "metadata/empty" in r]) == 1, counts["empty"]
    assert len(counts["empty"]) <= len(counts["full"]), counts


# MARK: moto


@pytest.fixture
def endpoint():
    return require("SECRETSFS_TEST_AWS_ENDPOINT")


def test_aws_clean_prefix_and_empty_prefix(env, endpoint):
    prefix = unique("ck")
    env.plant("check-aws-value-01")
    aws_client(endpoint).create_secret(Name=prefix + "/key", SecretString="check-aws-value-01")
    result = run("check", "--backend", "aws", "--aws-prefix", prefix, env=aws_environment(endpoint))
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().startswith("ok: aws ") and "1 names at the root" in result.stdout.decode()
    empty = run("check", "--backend", "aws", "--aws-prefix", unique("none"), env=aws_environment(endpoint))
    assert empty.returncode == 1 and len(lines(empty)) == 1 and "nothing at the root" in lines(empty)[0], empty.stderr
    env.assert_no_planted_values(result.stdout + result.stderr + empty.stderr, "check's output")


@pytest.mark.parametrize("change, status, named", [
    ({"AWS_REGION": None}, 78, "region"),
    ({"AWS_REGION": None, "AWS_PROFILE": "no-such-profile"}, 78, "no-such-profile"),
    # Refused at once; on a loaded machine the deadline may cut the retries first.
    ({"AWS_ENDPOINT_URL_SECRETS_MANAGER": "http://127.0.0.1:9"}, 69, ("refused", "timed out")),
])
def test_aws_region_profile_and_endpoint(env, endpoint, tmp_path, change, status, named):
    environment = aws_environment(endpoint)
    for key, value in change.items():
        if value is None:
            environment.pop(key, None)
        else:
            environment[key] = value
    result = run("check", "--backend", "aws", env=environment)
    assert result.returncode == status, result.stderr
    named = named if isinstance(named, tuple) else (named,)
    assert len(lines(result)) == 1 and any(word in lines(result)[0] for word in named), lines(result)
    assert b"testing" not in result.stderr
