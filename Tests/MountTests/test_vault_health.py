"""`.status` of a Vault mount covers authentication (issue 11, item 11): a server that is unsealed
and answering is not healthy for a mount whose token expired or whose login fails, since every
uncached read is then EACCES."""

import errno
import json
import time

import pytest

from conftest import wait_for
from peers import clean_environment, errno_of, shared_vault, unique


def read_policy(vault, prefix):
    policy = unique("pol")
    vault.policy(policy, f"""
path "secret/metadata/{prefix}/*" {{ capabilities = ["list", "read"] }}
path "secret/data/{prefix}/*" {{ capabilities = ["read"] }}
""")
    return policy


def status(mount):
    return json.loads(mount.read(".status"))


@pytest.fixture
def vault():
    return shared_vault()


@pytest.fixture
def prefix():
    return unique("vh")


def test_expired_token_makes_the_mount_unhealthy(env, vault, prefix):
    env.plant("read-while-valid-01", "never-read-value-02")
    vault.put(f"{prefix}/early", {"value": "read-while-valid-01"})
    vault.put(f"{prefix}/late", {"value": "never-read-value-02"})
    answer = vault.request("POST", "auth/token/create", {
        "policies": [read_policy(vault, prefix)], "ttl": "6s", "renewable": False})[1]
    token = answer["auth"]["client_token"]
    env.plant(token)
    m = env.mount("--vault-prefix", prefix, backend=["--backend", "vault", "--vault-addr", vault.addr],
                  env=clean_environment(VAULT_TOKEN=token))
    assert m.read("early") == b"read-while-valid-01"
    first = status(m)
    assert first["healthy"] is True, first
    # Past the token's TTL every uncached read is denied; health must say why.
    time.sleep(7)
    assert errno_of(lambda: m.read("late")) == errno.EACCES
    assert wait_for(lambda: status(m)["healthy"] is False, timeout=10, every=1.1), status(m)
    detail = status(m)["health_detail"]
    assert "token expired" in detail, detail
    assert token.encode() not in m.read(".status")
    assert b"secretsfs_backend_healthy{backend=\"vault\"} 0" in m.read(".metrics")


def test_failing_login_makes_the_mount_unhealthy_and_recovers(env, vault, prefix, tmp_path):
    env.plant("approle-health-value")
    vault.put(f"{prefix}/k", {"value": "approle-health-value"})
    # An AppRole mount of its own without Vault's user lockout: the daemon tries to log in about once a
    # second while logins fail, and after 5 failures a lockout would refuse the good secret id as well.
    auth_mount = unique("ar")
    vault.request("POST", f"sys/auth/{auth_mount}", {"type": "approle"})
    vault.request("POST", f"sys/auth/{auth_mount}/tune", {"user_lockout_config": {"lockout_disable": True}})
    role = unique("role")
    vault.request("POST", f"auth/{auth_mount}/role/{role}", {
        "token_policies": [read_policy(vault, prefix)], "token_ttl": "4s", "token_max_ttl": "4s"})
    role_id = vault.request("GET", f"auth/{auth_mount}/role/{role}/role-id")[1]["data"]["role_id"]
    secret_id = vault.request("POST", f"auth/{auth_mount}/role/{role}/secret-id", {})[1]["data"]["secret_id"]
    env.plant(secret_id)
    secret_file = tmp_path / "secret-id"
    secret_file.write_text(secret_id)
    m = env.mount("--vault-prefix", prefix, "--cache-ttl", "0", "--vault-auth", "approle",
                  "--vault-auth-mount", auth_mount, "--vault-role-id", role_id, "--vault-secret-id-file", str(secret_file),
                  backend=["--backend", "vault", "--vault-addr", vault.addr], env=clean_environment())
    assert status(m)["healthy"] is True
    # The secret id is read at every login: a wrong one makes every login after this one fail.
    secret_file.write_text("00000000-0000-0000-0000-000000000000")
    time.sleep(5)
    assert errno_of(lambda: m.read("k")) == errno.EACCES
    assert wait_for(lambda: status(m)["healthy"] is False, timeout=10, every=1.1), status(m)
    detail = status(m)["health_detail"]
    assert "login failing" in detail, detail
    # Once the login works again, so does the mount, and health says so.
    secret_file.write_text(secret_id)
    assert wait_for(lambda: status(m)["healthy"] is True, timeout=10, every=1.1), status(m)
    assert m.read("k") == b"approle-health-value"


def test_refused_token_error_reads_well(env, vault):
    env.plant("not-a-valid-token-123")
    result = env.cli("get", "x", backend=["--backend", "vault", "--vault-addr", vault.addr],
                     env=clean_environment(VAULT_TOKEN="not-a-valid-token-123"), check=False)
    assert result.returncode == 77
    line = result.stderr.decode().strip()
    assert "refused the token" in line and "token token" not in line, line
    assert "not-a-valid-token" not in line
