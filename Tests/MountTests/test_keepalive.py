"""Idle keep-alive connections dropped between client and server (issue 11, item 10).

A load balancer in front of Vault (or an AWS endpoint) forgets connections idle past its timeout;
the next request on such a pooled connection is lost before any answer. A read (GET, LIST, or an
AWS read-only action) is retried once at once on a new connection, so readers never see that, and
the circuit breaker does not count it."""

import errno
import json
import os
import time
import uuid

import pytest

from proxies import IdleClosingProxy, KeepAliveFront
from peers import aws_client, aws_environment, clean_environment, require, shared_vault, unique

READS = 30
# Past the proxy's idle timeout of 0.2 s, so each read finds its pooled connection dropped.
SPACING = 0.35


def cold_reads(mount, names, expected):
    """Reads each name once, spaced past the idle timeout; returns the names that failed, with errno."""
    failures = []
    for name in names:
        time.sleep(SPACING)
        try:
            value = mount.read(*name.split("/"))
            if value != expected[name]:
                failures.append((name, "wrong value"))
        except OSError as error:
            failures.append((name, errno.errorcode.get(error.errno, error.errno)))
    return failures


@pytest.mark.parametrize("mode", ["rst", "fin"])
def test_vault_reads_survive_dropped_idle_connections(env, mode):
    vault = shared_vault()
    prefix = unique("ka")
    expected = {}
    for i in range(READS):
        value = f"keepalive-vault-{i:02d}-{uuid.uuid4().hex[:8]}"
        expected[f"s{i:02d}"] = value.encode()
        vault.put(f"{prefix}/s{i:02d}", {"value": value})
        env.plant(value)
    proxy = IdleClosingProxy(vault.addr, idle=0.2, mode=mode)
    try:
        env.plant(vault.token)
        m = env.mount("--vault-prefix", prefix, backend=["--backend", "vault", "--vault-addr", proxy.addr],
                      env=clean_environment(VAULT_TOKEN=vault.token))
        # The root listing first, so each read below is one GET of a value not yet cached.
        assert len([n for n in os.listdir(m.path) if not n.startswith(".")]) == READS
        failures = cold_reads(m, sorted(expected), expected)
        assert proxy.dropped >= READS // 2, (proxy.dropped, proxy.connections)
        assert failures == [], f"{len(failures)} of {READS} cold reads failed: {failures}"
        status = json.loads(m.read(".status"))
        assert status["cache"]["breaker_state"] == "closed"
        assert status["errors_by_kind"].get("unavailable", 0) == 0, status["errors_by_kind"]
    finally:
        proxy.stop()


def test_aws_reads_survive_dropped_idle_connections(env):
    endpoint = require("SECRETSFS_TEST_AWS_ENDPOINT")
    client = aws_client(endpoint)
    prefix = unique("ka")
    expected = {}
    for i in range(READS):
        value = f"keepalive-aws-{i:02d}-{uuid.uuid4().hex[:8]}"
        expected[f"s{i:02d}"] = value.encode()
        client.create_secret(Name=f"{prefix}/s{i:02d}", SecretString=value)
        env.plant(value)
    # moto closes every connection after one answer; the front keeps them open, as AWS does.
    proxy = KeepAliveFront(endpoint, idle=0.2, mode="rst")
    try:
        m = env.mount("--aws-prefix", prefix, backend=["--backend", "aws"], env=aws_environment(proxy.addr))
        assert len([n for n in os.listdir(m.path) if not n.startswith(".")]) == READS
        failures = cold_reads(m, sorted(expected), expected)
        assert proxy.dropped >= READS // 2, (proxy.dropped, proxy.connections)
        assert failures == [], f"{len(failures)} of {READS} cold reads failed: {failures}"
        status = json.loads(m.read(".status"))
        assert status["cache"]["breaker_state"] == "closed"
        assert status["errors_by_kind"].get("unavailable", 0) == 0, status["errors_by_kind"]
        # The AWS client retried a lost request before too, but only after a backoff (25-100 ms) and
        # spending one of its 4 attempts; a dropped connection now costs neither.
        log = [json.loads(line) for line in m.log_text().splitlines() if line.startswith("{")]
        backoffs = [line for line in log if line["message"] == "AWS call failed; retrying"]
        resends = [line for line in log if line["message"] == "AWS connection closed before an answer; sending again"]
        assert backoffs == [], backoffs[:3]
        assert len(resends) >= READS // 2, len(resends)
    finally:
        proxy.stop()
