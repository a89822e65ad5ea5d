"""`--cache-ttl 0` against a real OpenBao, its requests counted by OpenBao itself (a file audit
device): one backend read per open (DESIGN §1.1), a lone `cat` of a secret two folders deep costs
at most two requests on a fresh mount and after an idle pause (issue 16 §1), and nothing read is
ever stale: a value changed, a secret deleted, a folder made at the store are seen by the next
`cat`; a folder removed at the store stops existing within the negative TTL."""

import errno
import json
import os
import subprocess
import time

import pytest

from conftest import wait_for
from peers import errno_of
from mounts import mount_vault

NEGATIVE_TTL = 3


def served(server):
    """Every request OpenBao has served so far, in order, as "operation path". No `.status` is read
    while these are counted: its health check costs a token lookup-self at OpenBao, which the
    mount's own count of backend calls leaves out."""
    requests = []
    with open(server.audit) as f:
        for line in f:
            entry = json.loads(line)
            if entry.get("type") == "request":
                requests.append(f"{entry['request'].get('operation')} {entry['request'].get('path')}")
    return requests


def cat(m, *parts):
    """One `cat` in a process of its own, as a user runs it."""
    result = subprocess.run(["cat", m.p(*parts)], capture_output=True, timeout=30)
    if result.returncode != 0:
        raise FileNotFoundError(errno.ENOENT, result.stderr.decode(errors="replace"))
    return result.stdout


def counted(server, body):
    before = len(served(server))
    value = body()
    return value, served(server)[before:]


def test_a_lone_cat_two_folders_deep_costs_at_most_two_requests(env, server):
    env.plant("ttl-zero-lone-0001")
    server.vault.put("team/app/key", {"value": "ttl-zero-lone-0001"})
    m = mount_vault(env, server.vault, "--cache-ttl", "0", "--negative-ttl", f"{NEGATIVE_TTL}s")
    figures = {}
    # On a fresh mount; after an idle pause past the moment listings are shared; and past the
    # negative TTL, when nothing is remembered any more.
    for case, pause in (("fresh", 0), ("idle", 1.5), ("past the negative TTL", NEGATIVE_TTL + 1)):
        time.sleep(pause)
        value, requests = counted(server, lambda: cat(m, "team", "app", "key"))
        assert value == b"ttl-zero-lone-0001"
        assert len(requests) <= 2, f"{case}: {requests}"
        assert "read secret/data/team/app/key" in requests, f"{case}: {requests}"
        figures[case] = len(requests)
    print(f"OpenBao requests per lone cat at --cache-ttl 0: {figures}")


def test_nothing_read_at_ttl_zero_is_stale(env, server):
    env.plant("ttl-zero-fresh-0001", "ttl-zero-fresh-0002", "ttl-zero-fresh-0003", "ttl-zero-fresh-0004")
    vault = server.vault
    vault.put("team/app/key", {"value": "ttl-zero-fresh-0001"})
    vault.put("team/old/key", {"value": "ttl-zero-fresh-0004"})
    m = mount_vault(env, vault, "--cache-ttl", "0", "--negative-ttl", f"{NEGATIVE_TTL}s")
    assert cat(m, "team", "app", "key") == b"ttl-zero-fresh-0001"
    assert cat(m, "team", "old", "key") == b"ttl-zero-fresh-0004"

    # A value changed at the store: the very next cat shows it, every time.
    for value in ("ttl-zero-fresh-0002", "ttl-zero-fresh-0001", "ttl-zero-fresh-0002"):
        vault.put("team/app/key", {"value": value})
        assert cat(m, "team", "app", "key") == value.encode()

    # A new secret in a new folder: found by the next cat.
    vault.put("team/new/deep/key", {"value": "ttl-zero-fresh-0003"})
    assert cat(m, "team", "new", "deep", "key") == b"ttl-zero-fresh-0003"

    # A secret deleted at the store: gone at once, though its folder is remembered a while.
    vault.request("DELETE", "secret/metadata/team/old/key")
    removed = time.monotonic()
    with pytest.raises(FileNotFoundError):
        cat(m, "team", "old", "key")
    assert errno_of(lambda: os.stat(m.p("team", "old", "key"))) == errno.ENOENT
    # The folder it was the last secret of stops existing within the negative TTL (an `ls` of it in
    # between lists it anew, so shows nothing in it).
    if os.path.isdir(m.p("team", "old")):
        assert [name for name in os.listdir(m.p("team", "old")) if not name.startswith(".")] == []
    assert wait_for(lambda: not os.path.exists(m.p("team", "old")), NEGATIVE_TTL + 5)
    assert time.monotonic() - removed <= NEGATIVE_TTL + 5
    assert sorted(name for name in os.listdir(m.p("team")) if not name.startswith(".")) == ["app", "new"]
    assert m.process.poll() is None


def backend_calls(m):
    # From a new process each time: one process is shown the same `.status` for a second.
    out = subprocess.run(["cat", m.p(".status")], capture_output=True, check=True, timeout=30).stdout
    return json.loads(out)["cache"]["backend_calls"]


class SecretsManager:
    """Secrets Manager through moto: names under a prefix, `/` as folders."""
    backend = "aws"

    def __init__(self, endpoint):
        from peers import aws_client, aws_environment, unique
        self.client = aws_client(endpoint)
        self.prefix = unique("t0")
        self.args = ["--aws-prefix", self.prefix]
        self.environment = aws_environment(endpoint)

    def put(self, name, value):
        try:
            self.client.create_secret(Name=f"{self.prefix}/{name}", SecretString=value)
        except self.client.exceptions.ResourceExistsException:
            self.client.put_secret_value(SecretId=f"{self.prefix}/{name}", SecretString=value)

    def delete(self, name):
        self.client.delete_secret(SecretId=f"{self.prefix}/{name}", ForceDeleteWithoutRecovery=True)


class ParameterStore:
    """SSM Parameter Store through moto: parameters under a path."""
    backend = "ssm"

    def __init__(self, endpoint):
        import boto3
        from peers import AWS_REGION, unique
        from peers import ssm_environment
        self.client = boto3.client("ssm", endpoint_url=endpoint, region_name=AWS_REGION,
                                   aws_access_key_id="testing", aws_secret_access_key="testing")
        self.prefix = "/" + unique("t0")
        self.args = ["--ssm-prefix", self.prefix]
        self.environment = ssm_environment(endpoint)

    def put(self, name, value):
        self.client.put_parameter(Name=f"{self.prefix}/{name}", Value=value, Type="SecureString", Overwrite=True)

    def delete(self, name):
        self.client.delete_parameter(Name=f"{self.prefix}/{name}")


@pytest.mark.parametrize("kind", [SecretsManager, ParameterStore], ids=["aws", "ssm"])
def test_aws_stores_at_ttl_zero_probe_names_and_stay_fresh(env, kind):
    """AWS names use `/` as folders implied by prefixes; the GET of a name that is only a prefix
    answers not-found, one call, where the listing it replaces pages through every name below.
    Counted by the daemon (`.status` backend calls), each count from a process of its own."""
    from peers import require
    store = kind(require("SECRETSFS_TEST_AWS_ENDPOINT"))
    env.plant("aws-ttl-zero-0001", "aws-ttl-zero-0002", "aws-ttl-zero-0003")
    store.put("team/app/key", "aws-ttl-zero-0001")
    m = env.mount("--cache-ttl", "0", "--negative-ttl", f"{NEGATIVE_TTL}s", *store.args,
                  backend=["--backend", store.backend], env=store.environment)
    before = backend_calls(m)
    assert cat(m, "team", "app", "key") == b"aws-ttl-zero-0001"
    fresh = backend_calls(m) - before
    time.sleep(1.5)
    before = backend_calls(m)
    assert cat(m, "team", "app", "key") == b"aws-ttl-zero-0001"
    idle = backend_calls(m) - before
    print(f"{store.backend} backend calls per lone cat at --cache-ttl 0: fresh {fresh}, after 1.5 s idle {idle}")
    assert fresh <= 2 and idle <= 2, (fresh, idle)

    store.put("team/app/key", "aws-ttl-zero-0002")
    assert cat(m, "team", "app", "key") == b"aws-ttl-zero-0002"
    store.put("team/new/key", "aws-ttl-zero-0003")
    assert cat(m, "team", "new", "key") == b"aws-ttl-zero-0003"
    store.delete("team/app/key")
    assert errno_of(lambda: os.stat(m.p("team", "app", "key"))) == errno.ENOENT
    assert wait_for(lambda: not os.path.exists(m.p("team", "app")), NEGATIVE_TTL + 5)
    assert m.process.poll() is None
