"""The Vault backend through a real mount (issue 3): the built binary against a real OpenBao.

Data is written through Vault's HTTP API and checked there; every test works under its own prefix,
so tests sharing the server never see each other. The token reaches the daemon through VAULT_TOKEN
in its environment, never argv."""

import datetime
import errno
import json
import os
import re
import signal
import stat
import time

import pytest

from mounts import mount_vault, vault_backend, vault_env
from peers import (
    Vault, clean_environment, errno_of, require, shared_tls_vault, shared_vault, start_private_bao, unique, write_control)

ALNUM32 = re.compile(rb"[A-Za-z0-9]{32}")


def created_time(text):
    """Seconds since the epoch of Vault's RFC 3339 `created_time` (nanoseconds, `Z`)."""
    whole, _, rest = text.rstrip("Z").partition(".")
    seconds = datetime.datetime.fromisoformat(whole).replace(tzinfo=datetime.timezone.utc).timestamp()
    return seconds + float("0." + rest) if rest else seconds


@pytest.fixture
def vault():
    return shared_vault()


@pytest.fixture
def prefix():
    return unique("vt")


# MARK: layout


def test_value_files_fields_and_merged_folders(env, vault, prefix):
    env.plant("plain-value-0001", "alice-vault-user", "s3cr3t-vault-pass", "child-of-db-value", "deep-value-xyz1")
    vault.put(f"{prefix}/plain", {"value": "plain-value-0001"})
    vault.put(f"{prefix}/db", {"username": "alice-vault-user", "password": "s3cr3t-vault-pass"})
    # A secret `db/extra` beside the multi-field secret `db`: the folder shows both (DESIGN 1.3).
    vault.put(f"{prefix}/db/extra", {"value": "child-of-db-value"})
    vault.put(f"{prefix}/a/b/deep", {"value": "deep-value-xyz1"})
    m = mount_vault(env, vault, "--vault-prefix", prefix)

    assert m.read("plain") == b"plain-value-0001"  # exact bytes, no newline
    st = os.stat(m.p("plain"))
    assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o400 and st.st_size == 16
    assert stat.S_ISDIR(os.stat(m.p("db")).st_mode)
    assert m.read("db", "username") == b"alice-vault-user"
    assert m.read("db", "password") == b"s3cr3t-vault-pass"
    assert m.read("db", "extra") == b"child-of-db-value"
    assert {"username", "password", "extra"} <= set(os.listdir(m.p("db")))
    assert m.read("a", "b", "deep") == b"deep-value-xyz1"
    assert {"plain", "db", "a", ".rotate", ".status", ".metrics"} <= set(os.listdir(m.path))
    assert errno_of(lambda: open(m.p("plain"), "wb")) in (errno.EROFS, errno.EACCES)


def test_vault_prefix_shows_a_sub_path_at_the_root(env, vault, prefix):
    env.plant("inside-prefix-val", "outside-prefix-val")
    vault.put(f"{prefix}/team/app/key", {"value": "inside-prefix-val"})
    vault.put(f"{prefix}/other/key", {"value": "outside-prefix-val"})
    m = mount_vault(env, vault, "--vault-prefix", f"{prefix}/team")
    assert sorted(n for n in os.listdir(m.path) if not n.startswith(".")) == ["app"]
    assert m.read("app", "key") == b"inside-prefix-val"
    assert errno_of(lambda: m.read("other", "key")) == errno.ENOENT
    assert f"{prefix}/team" in json.loads(m.read(".status"))["address"]


def test_second_kv_mount(env, vault, prefix):
    kv = unique("kv")
    vault.enable_kv2(kv)
    try:
        env.plant("second-mount-value")
        vault.put(f"{prefix}/k", {"value": "second-mount-value"}, mount=kv)
        m = mount_vault(env, vault, "--vault-mount", kv, "--vault-prefix", prefix)
        assert m.read("k") == b"second-mount-value"
        # The same path in the default mount is not what this mount shows.
        m2 = mount_vault(env, vault, "--vault-prefix", prefix)
        assert errno_of(lambda: m2.read("k")) == errno.ENOENT
    finally:
        for mount in env.mounts:
            mount.stop()
        vault.disable(kv)


def test_namespace(env, vault, prefix):
    namespace = unique("ns")
    vault.request("POST", f"sys/namespaces/{namespace}", {})
    inside = Vault(vault.addr, vault.token, namespace=namespace)
    try:
        inside.enable_kv2("secret")
        env.plant("namespaced-value-77")
        inside.put(f"{prefix}/k", {"value": "namespaced-value-77"})
        m = mount_vault(env, vault, "--vault-prefix", prefix, extra_env={"VAULT_NAMESPACE": namespace})
        assert m.read("k") == b"namespaced-value-77"
        assert namespace in json.loads(m.read(".status"))["address"]
        flag = mount_vault(env, vault, "--vault-namespace", namespace, "--vault-prefix", prefix)
        assert flag.read("k") == b"namespaced-value-77"
        outside = mount_vault(env, vault, "--vault-prefix", prefix)
        assert errno_of(lambda: outside.read("k")) == errno.ENOENT
    finally:
        for mount in env.mounts:
            mount.stop()
        inside.disable("secret")
        vault.request("DELETE", f"sys/namespaces/{namespace}", expect=None)


# MARK: versions


def test_versions_folder_lists_readable_versions_with_labels_and_times(env, vault, prefix):
    values = [f"version-value-{n:04d}" for n in range(1, 6)]
    env.plant(*values)
    for value in values:
        vault.put(f"{prefix}/api_key", {"value": value})
    vault.delete_versions(f"{prefix}/api_key", [2])
    vault.destroy_versions(f"{prefix}/api_key", [3])
    meta = vault.metadata(f"{prefix}/api_key")["versions"]
    m = mount_vault(env, vault, "--vault-prefix", prefix)

    folder = m.p(".versions", "api_key")
    assert sorted(os.listdir(folder)) == ["1", "4", "5", "current", "previous"]
    assert os.readlink(os.path.join(folder, "current")) == "5"
    assert os.readlink(os.path.join(folder, "previous")) == "4"
    assert m.read(".versions", "api_key", "1") == b"version-value-0001"
    assert m.read(".versions", "api_key", "current") == b"version-value-0005"
    assert m.read(".versions", "api_key", "previous") == b"version-value-0004"
    assert m.read("api_key") == b"version-value-0005"
    for number in ("1", "4", "5"):
        expected = created_time(meta[number]["created_time"])
        assert abs(os.stat(os.path.join(folder, number)).st_mtime - expected) <= 1
    assert abs(os.stat(m.p("api_key")).st_mtime - created_time(meta["5"]["created_time"])) <= 1

    # Deleted, destroyed and never-written versions are not there.
    for missing in ("2", "3", "99", "0"):
        assert errno_of(lambda: m.read(".versions", "api_key", missing)) == errno.ENOENT

    # Deleting the current version through the API (DELETE on data) makes the secret unreadable after the TTL.
    vault.request("DELETE", f"secret/data/{prefix}/api_key")
    m2 = mount_vault(env, vault, "--vault-prefix", prefix)
    assert errno_of(lambda: m2.read("api_key")) == errno.ENOENT
    assert "5" not in os.listdir(m2.p(".versions", "api_key"))
    assert "current" not in os.listdir(m2.p(".versions", "api_key"))


def test_multi_field_versions_are_folders(env, vault, prefix):
    env.plant("mf-user-one-111", "mf-pass-one-111", "mf-pass-two-222")
    vault.put(f"{prefix}/db", {"username": "mf-user-one-111", "password": "mf-pass-one-111"})
    vault.put(f"{prefix}/db", {"username": "mf-user-one-111", "password": "mf-pass-two-222"})
    m = mount_vault(env, vault, "--vault-prefix", prefix)
    assert stat.S_ISDIR(os.stat(m.p(".versions", "db", "1")).st_mode)
    assert m.read(".versions", "db", "1", "password") == b"mf-pass-one-111"
    assert m.read(".versions", "db", "current", "password") == b"mf-pass-two-222"
    assert errno_of(lambda: m.read(".versions", "db", "1", "nope")) == errno.ENOENT


# MARK: rotation


def test_rotate_a_field_keeps_the_others_and_is_visible_at_once(env, vault, prefix):
    env.plant("rot-user-abcdef", "rot-pass-abcdef", "rot-port-5432")
    old_version = vault.put(f"{prefix}/db", {"username": "rot-user-abcdef", "password": "rot-pass-abcdef",
                                             "port": "rot-port-5432"})
    m = mount_vault(env, vault, "--vault-prefix", prefix, "--cache-ttl", "1h")
    assert m.read("db", "password") == b"rot-pass-abcdef"

    assert write_control(m.p("db", ".rotate"), b"password\n") == len(b"password\n")
    now = vault.read(f"{prefix}/db")
    assert now["metadata"]["version"] == old_version + 1
    assert now["data"]["username"] == "rot-user-abcdef"
    assert now["data"]["port"] == "rot-port-5432"
    new = now["data"]["password"].encode()
    env.plant(new)
    assert ALNUM32.fullmatch(new)
    # The next open sees the new value although the TTL is an hour.
    assert m.read("db", "password") == new
    assert m.read("db", "username") == b"rot-user-abcdef"
    assert os.readlink(m.p(".versions", "db", "current")) == str(old_version + 1)
    history = [json.loads(line) for line in m.read("db", ".rotate").splitlines()]
    assert history[-1]["outcome"] == "ok" and history[-1]["new_version"] == str(old_version + 1)
    assert new not in m.read("db", ".rotate") and new not in m.read(".rotate")


def test_rotate_a_value_through_the_root_and_the_shell(env, vault, prefix):
    env.plant("rot-plain-original")
    vault.put(f"{prefix}/svc/token", {"value": "rot-plain-original"})
    m = mount_vault(env, vault, "--vault-prefix", prefix)
    assert m.read("svc", "token") == b"rot-plain-original"
    assert os.system(f"echo token > {m.p('svc', '.rotate')}") == 0
    after = vault.read(f"{prefix}/svc/token")
    assert after["metadata"]["version"] == 2 and list(after["data"]) == ["value"]
    env.plant(after["data"]["value"])
    assert m.read("svc", "token") == after["data"]["value"].encode()
    write_control(m.p(".rotate"), b"svc/token\n")
    third = vault.read(f"{prefix}/svc/token")
    env.plant(third["data"]["value"])
    assert third["metadata"]["version"] == 3 and m.read("svc", "token") == third["data"]["value"].encode()
    assert m.read("svc", ".versions", "token", "1") == b"rot-plain-original"


def test_non_string_json_fields_show_as_json_text_and_survive_rotation(env, vault, prefix):
    env.plant("json-host-value-1")
    vault.put(f"{prefix}/svc", {"host": "json-host-value-1", "port": 5432, "tls": True, "opts": {"b": 1, "a": [2]}})
    m = mount_vault(env, vault, "--vault-prefix", prefix)
    assert m.read("svc", "host") == b"json-host-value-1"
    assert m.read("svc", "port") == b"5432"
    assert m.read("svc", "tls") == b"true"
    assert m.read("svc", "opts") == b'{"a":[2],"b":1}'
    write_control(m.p("svc", ".rotate"), b"host\n")
    data = vault.read(f"{prefix}/svc")["data"]
    env.plant(data["host"])
    # The neighbours go back as the same JSON values, not as strings.
    assert data["port"] == 5432 and data["tls"] is True and data["opts"] == {"b": 1, "a": [2]}
    assert ALNUM32.fullmatch(data["host"].encode())


def test_outside_change_is_seen_after_the_ttl(env, vault, prefix):
    env.plant("outside-change-one", "outside-change-two")
    vault.put(f"{prefix}/k", {"value": "outside-change-one"})
    m = mount_vault(env, vault, "--vault-prefix", prefix, "--cache-ttl", "1s")
    assert m.read("k") == b"outside-change-one"
    vault.put(f"{prefix}/k", {"value": "outside-change-two"})
    deadline = time.monotonic() + 10
    while m.read("k") != b"outside-change-two":
        assert time.monotonic() < deadline, "an outside change was not seen 10 s after a 1 s TTL"
        time.sleep(0.2)


# MARK: errors and auth


def test_missing_secret_field_and_version_are_enoent(env, vault, prefix):
    env.plant("enoent-user-val", "enoent-plain-val")
    vault.put(f"{prefix}/db", {"username": "enoent-user-val", "password": "enoent-plain-val"})
    vault.put(f"{prefix}/plain", {"value": "enoent-plain-val"})
    m = mount_vault(env, vault, "--vault-prefix", prefix)
    assert errno_of(lambda: m.read("nope")) == errno.ENOENT
    assert errno_of(lambda: m.read("deeper", "nope")) == errno.ENOENT
    assert errno_of(lambda: m.read("db", "nope")) == errno.ENOENT
    assert errno_of(lambda: m.read(".versions", "plain", "7")) == errno.ENOENT
    assert errno_of(lambda: os.listdir(m.p(".versions", "nope"))) == errno.ENOENT
    assert errno_of(lambda: write_control(m.p(".rotate"), b"nope\n")) == errno.ENOENT


def test_denied_read_is_eacces(env, vault, prefix):
    env.plant("allowed-value-123", "denied-value-456")
    vault.put(f"{prefix}/open", {"value": "allowed-value-123"})
    vault.put(f"{prefix}/closed", {"value": "denied-value-456"})
    policy = unique("pol")
    vault.policy(policy, f"""
path "secret/metadata/{prefix}/*" {{ capabilities = ["list", "read"] }}
path "secret/data/{prefix}/open" {{ capabilities = ["read"] }}
""")
    token = vault.token_with(policy)
    m = mount_vault(env, vault, "--vault-prefix", prefix, token=token)
    assert m.read("open") == b"allowed-value-123"
    assert errno_of(lambda: m.read("closed")) == errno.EACCES
    assert errno_of(lambda: write_control(m.p(".rotate"), b"open\n")) == errno.EACCES
    assert vault.read(f"{prefix}/open")["metadata"]["version"] == 1


def test_approle_read_only_policy(env, vault, prefix, tmp_path):
    env.plant("approle-visible-val")
    vault.put(f"{prefix}/app/key", {"value": "approle-visible-val"})
    policy = unique("ro")
    vault.policy(policy, f"""
path "secret/metadata/{prefix}/*" {{ capabilities = ["list", "read"] }}
path "secret/data/{prefix}/*" {{ capabilities = ["read"] }}
""")
    vault.ensure_auth("approle")
    role_id, secret_id = vault.approle(unique("role"), policy)
    env.plant(secret_id)
    secret_file = tmp_path / "secret-id"
    secret_file.write_text(secret_id + "\n")
    secret_file.chmod(0o600)
    args = ["--vault-auth", "approle", "--vault-role-id", role_id, "--vault-secret-id-file", str(secret_file),
            "--vault-prefix", prefix]
    m = env.mount(*args, backend=vault_backend(vault), env=clean_environment())
    assert m.read("app", "key") == b"approle-visible-val"
    assert secret_id.encode() not in m.read(".status")
    assert os.system(f"echo key > {m.p('app', '.rotate')} 2>/dev/null") != 0
    assert errno_of(lambda: write_control(m.p("app", ".rotate"), b"key\n")) == errno.EACCES
    assert vault.read(f"{prefix}/app/key")["metadata"]["version"] == 1
    assert "approle" in m.log_text()


def test_bad_token_fails_the_mount_with_one_line(env, vault, tmp_path):
    env.plant("not-a-real-token-xyz")
    mount = env.mount(backend=vault_backend(vault), env=vault_env("not-a-real-token-xyz"), start=False)
    with pytest.raises(AssertionError, match="mount exited"):
        mount.start(timeout=20)
    assert mount.process.returncode != 0


# MARK: faults


def test_server_stopped_while_mounted_serves_stale_then_eio(env, tmp_path):
    server = start_private_bao(str(tmp_path))
    try:
        vault = server.vault
        env.plant("read-before-stop-1", "never-read-value-2")
        vault.put("f/seen", {"value": "read-before-stop-1"})
        vault.put("f/unseen", {"value": "never-read-value-2"})
        m = mount_vault(env, vault, "--cache-ttl", "1s", "--backend-timeout", "2s")
        assert m.read("f", "seen") == b"read-before-stop-1"
        assert "unseen" in os.listdir(m.p("f"))
        server.stop(signal.SIGKILL)
        time.sleep(1.5)  # past the TTL: what follows must come from the stale copy or fail

        assert m.read("f", "seen") == b"read-before-stop-1"
        assert os.getxattr(m.p("f", "seen"), "user.secretsfs.stale") == b"true"
        started = time.monotonic()
        assert errno_of(lambda: m.read("f", "unseen")) == errno.EIO
        assert time.monotonic() - started < 15
        status = json.loads(m.read(".status"))
        assert status["cache"]["stale_serves"] >= 1
        assert status["healthy"] is False
        assert m.process.poll() is None
        assert m.stop(signal.SIGTERM) == 0
    finally:
        server.stop()


def test_tls_with_cacert(env, tmp_path):
    vault = shared_tls_vault()
    prefix = unique("tls")
    env.plant("value-over-tls-123")
    vault.put(f"{prefix}/k", {"value": "value-over-tls-123"})
    cacert = require("SECRETSFS_TEST_VAULT_CACERT")
    m = mount_vault(env, vault, "--vault-cacert", cacert, "--vault-prefix", prefix)
    assert m.read("k") == b"value-over-tls-123"
    assert json.loads(m.read(".status"))["address"].startswith("https://")
    # Without the CA the certificate is not trusted: one line on stderr, non-zero, no token.
    result = env.cli("get", f"{prefix}/k", check=False, backend=vault_backend(vault),
                     env=vault_env(vault.token))
    assert result.returncode != 0 and result.stdout == b""
    assert len(result.stderr.strip().splitlines()) == 1 and vault.token.encode() not in result.stderr
    ok = env.cli("get", f"{prefix}/k", backend=vault_backend(vault), env=vault_env(vault.token, VAULT_CACERT=cacert))
    assert ok.stdout == b"value-over-tls-123"


# MARK: the CLI


def test_cli_subcommands(env, vault, prefix, tmp_path):
    env.plant(vault.token)
    backend = vault_backend(vault, "--vault-prefix", prefix)
    environment = vault_env(vault.token)

    def cli(*args, **kwargs):
        result = env.cli(*args, backend=backend, env=environment, **kwargs)
        env.assert_no_planted_values(result.stderr, "the CLI's stderr")
        return result

    env.plant("cli-put-value-001", "cli-put-value-002", "cli-db-user-xyz")
    cli("put", "app/key", input=b"cli-put-value-001")
    cli("put", "app/key", input=b"cli-put-value-002")
    cli("put", "db", "--field", "username", input=b"cli-db-user-xyz")
    binary = bytes([0, 1, 2, 0xFF, 0xFE, 0x80, 10])
    cli("put", "bin", input=binary)

    assert vault.read(f"{prefix}/app/key")["data"] == {"value": "cli-put-value-002"}
    assert vault.read(f"{prefix}/db")["data"] == {"username": "cli-db-user-xyz"}
    # Issue 25: one value put over fields is refused, naming --field; Vault keeps the fields.
    refused = env.cli("put", "db", input=b"whole-new-value-1", check=False, backend=backend, env=environment)
    assert refused.returncode == 64 and b"--field" in refused.stderr and b"whole-new-value" not in refused.stderr
    assert vault.read(f"{prefix}/db")["data"] == {"username": "cli-db-user-xyz"}
    assert vault.read(f"{prefix}/db")["metadata"]["version"] == 1
    stored = vault.read(f"{prefix}/bin")["data"]
    assert stored[".secretsfs-base64"] == ["value"]  # non-UTF-8 bytes are kept base64 under a hidden key

    assert cli("get", "app/key").stdout == b"cli-put-value-002"
    assert cli("get", "app/key", "--version", "1").stdout == b"cli-put-value-001"
    assert cli("get", "app/key", "--version", "previous").stdout == b"cli-put-value-001"
    assert cli("get", "app/key", "--version", "current").stdout == b"cli-put-value-002"
    assert cli("get", "db/username").stdout == b"cli-db-user-xyz"
    assert cli("get", "bin").stdout == binary
    assert cli("ls").stdout.decode().split() == ["app/", "bin", "db"]
    assert set(cli("ls", "--recursive").stdout.decode().split()) == {"app/key", "bin", "db"}
    lines = [line.split("\t") for line in cli("versions", "app/key").stdout.decode().splitlines()]
    assert [line[0] for line in lines] == ["1", "2"]
    assert "current" in lines[1][2] and "previous" in lines[0][2]
    cli("rotate", "app/key")
    rotated = vault.read(f"{prefix}/app/key")
    env.plant(rotated["data"]["value"])
    assert rotated["metadata"]["version"] == 3 and ALNUM32.fullmatch(rotated["data"]["value"].encode())
    assert b"healthy" in cli("health").stdout
    missing = env.cli("get", "nope", check=False, backend=backend, env=environment)
    assert missing.returncode == 2 and missing.stdout == b""

    m = mount_vault(env, vault, "--vault-prefix", prefix)
    assert m.read("bin") == binary
    assert m.read("db", "username") == b"cli-db-user-xyz"
    assert ".secretsfs-base64" not in os.listdir(m.p("db"))


@pytest.mark.parametrize("mount, expected", [
    ("secrets", "no secrets engine at secrets/"),
    ("secret/apps/web", "use --vault-mount secret --vault-prefix apps/web"),
])
def test_a_vault_mount_that_does_not_exist_is_refused_with_one_line(env, vault, mount, expected):
    """Issue 25 §9: a mistyped or `bao kv`-style --vault-mount mounted an empty tree and looked healthy."""
    import subprocess
    from conftest import BIN, is_mounted
    env.plant(vault.token)
    mountpoint = env.workdir / "refused"
    mountpoint.mkdir()
    result = subprocess.run(
        [BIN, "mount", str(mountpoint), *vault_backend(vault, "--vault-mount", mount)], env=vault_env(vault.token),
        capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 78, result.stderr
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], lines
    assert vault.token.encode() not in result.stderr
    assert not is_mounted(str(mountpoint))
