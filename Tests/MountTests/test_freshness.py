"""Cheap freshness on AWS (issue 16 §3) through a real mount against moto: every --refresh-interval
one ListSecrets tells which cached values changed; a change made behind the mount's back (boto3,
straight to moto) is seen within the interval, and an unchanged secret is never read again."""

import time

import pytest

from conftest import fresh_status, wait_for
from peers import aws_client, aws_environment, require, unique


@pytest.fixture
def endpoint():
    return require("SECRETSFS_TEST_AWS_ENDPOINT")


def test_a_change_elsewhere_is_seen_within_the_interval_and_unchanged_secrets_are_not_read(env, endpoint):
    sm = aws_client(endpoint)
    prefix = unique("fr")
    values = {name: f"fresh-{name}-{unique('v')}" for name in ("a", "b", "c")}
    for name, value in values.items():
        sm.create_secret(Name=f"{prefix}/{name}", SecretString=value)
        env.planted.append(value.encode())
    m = env.mount("--cache-ttl", "10m", "--refresh-interval", "1s", "--aws-prefix", prefix,
                  backend=["--backend", "aws"], env=aws_environment(endpoint))
    for name, value in values.items():
        assert m.read(name) == value.encode()
    start = fresh_status(m)["cache"]

    # Rounds go by; nothing changed, so nothing is read.
    assert wait_for(lambda: fresh_status(m)["cache"]["freshness_checks"] >= start["freshness_checks"] + 3, 30)
    quiet = fresh_status(m)["cache"]
    assert quiet["confirmed_fresh"] >= start["confirmed_fresh"] + 3 * 3
    assert quiet["misses"] == start["misses"]
    assert quiet["refreshes"] == start["refreshes"]
    # Every backend call since was a listing page: no GetSecretValue, no batch.
    assert quiet["backend_calls"] - start["backend_calls"] == quiet["freshness_checks"] - start["freshness_checks"]

    changed = f"fresh-b-changed-{unique('v')}"
    env.planted.append(changed.encode())
    sm.put_secret_value(SecretId=f"{prefix}/b", SecretString=changed)
    changed_at = time.monotonic()
    # Within the interval on an idle machine; generous for a loaded one.
    assert wait_for(lambda: m.read("b") == changed.encode(), 30), "the change is seen"
    assert time.monotonic() - changed_at < 30
    assert m.read("a") == values["a"].encode()
    after = fresh_status(m)["cache"]
    listings = after["freshness_checks"] - start["freshness_checks"]
    # The listings, plus the BatchGetSecretValue for the one changed secret, and no reader's miss. A
    # listing round or a batch may take a second page when moto holds many secrets (ListSecrets pages
    # before it filters by name), so the calls are bounded rather than counted exactly.
    extra = after["backend_calls"] - start["backend_calls"] - listings
    assert 1 <= extra <= listings + 1, (after, start)
    assert after["misses"] == start["misses"], "the changed secret came in the batch, not by a reader's read"


def test_ssm_prefetch_reads_in_bulk_and_a_changed_parameter_is_seen_within_the_interval(env, endpoint):
    import boto3
    from peers import ssm_environment
    ssm = boto3.client("ssm", endpoint_url=endpoint, region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    root = "/" + unique("sf")
    values = {f"app/p{i}": f"ssm-fresh-{i}-{unique('v')}" for i in range(12)}
    for name, value in values.items():
        ssm.put_parameter(Name=f"{root}/{name}", Value=value, Type="SecureString")
        env.planted.append(value.encode())
    m = env.mount("--ssm-prefix", root, "--cache-ttl", "10m", "--refresh-interval", "1s", "--prefetch", "app/*",
                  backend=["--backend", "ssm"], env=ssm_environment(endpoint))
    first = fresh_status(m)
    assert first["prefetch"]["matched"] == 12 and first["prefetch"]["read"] == 12
    calls = first["cache"]["backend_calls"]
    checks = first["cache"]["freshness_checks"]
    for name, value in values.items():
        assert m.read(*name.split("/")) == value.encode()
    assert wait_for(lambda: fresh_status(m)["cache"]["freshness_checks"] >= checks + 2, 30)
    after_reads = fresh_status(m)["cache"]
    assert after_reads["misses"] == first["cache"]["misses"], "the prefetched reads were hits"
    # Only listing pages since (12 parameters, 10 a page): no read of an unchanged one.
    assert after_reads["backend_calls"] - calls == 2 * (after_reads["freshness_checks"] - checks)

    changed = f"ssm-fresh-changed-{unique('v')}"
    env.planted.append(changed.encode())
    ssm.put_parameter(Name=f"{root}/app/p3", Value=changed, Type="SecureString", Overwrite=True)
    assert wait_for(lambda: m.read("app", "p3") == changed.encode(), 30), "the change is seen"
    assert m.read("app", "p4") == values["app/p4"].encode()
