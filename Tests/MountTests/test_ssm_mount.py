"""AWS SSM Parameter Store through a real mount (issue 17 §1): the built binary against moto.

Parameters are made with boto3; each test works under its own path, shown at the root with
`--ssm-prefix`. The endpoint reaches the daemon as AWS_ENDPOINT_URL_SSM, as the SDKs name it."""

import errno
import json
import os
import re

import boto3
import pytest

from peers import AWS_REGION, errno_of, require, ssm_environment, unique, write_control

ALNUM32 = re.compile(rb"[A-Za-z0-9]{32}")


@pytest.fixture
def endpoint():
    return require("SECRETSFS_TEST_AWS_ENDPOINT")


@pytest.fixture
def ssm(endpoint):
    return boto3.client("ssm", endpoint_url=endpoint, region_name=AWS_REGION,
                        aws_access_key_id="testing", aws_secret_access_key="testing")




def put(env, ssm, name, value, kind="SecureString", **extra):
    env.planted.append(value.encode())
    return ssm.put_parameter(Name=name, Value=value, Type=kind, Overwrite=True, **extra)["Version"]


def test_parameters_as_files_versions_labels_and_rotation(env, ssm, endpoint):
    root = "/" + unique("ps")
    put(env, ssm, f"{root}/db/password", "ssm-mount-first-001")
    put(env, ssm, f"{root}/db/password", "ssm-mount-second-02")
    put(env, ssm, f"{root}/db/hosts", "h1,h2", kind="StringList")
    put(env, ssm, f"{root}/flag", "on-value", kind="String")
    ssm.label_parameter_version(Name=f"{root}/db/password", ParameterVersion=1, Labels=["golden"])
    m = env.mount("--ssm-prefix", root, "--cache-ttl", "1h", backend=["--backend", "ssm"],
                  env=ssm_environment(endpoint))
    assert json.loads(m.read(".status"))["backend"] == "ssm"
    assert {"hosts", "password"} == {n for n in os.listdir(m.p("db")) if not n.startswith(".")}
    assert m.read("db", "password") == b"ssm-mount-second-02"
    assert m.read("db", "hosts") == b"h1,h2"
    assert m.read("flag") == b"on-value"
    versions = m.p("db", ".versions", "password")
    assert {"1", "2", "current", "previous", "golden"} <= set(os.listdir(versions))
    assert os.readlink(os.path.join(versions, "golden")) == "1"
    assert m.read("db", ".versions", "password", "1") == b"ssm-mount-first-001"

    assert write_control(m.p("db", ".rotate"), b"password\n") == len(b"password\n")
    answer = ssm.get_parameter(Name=f"{root}/db/password", WithDecryption=True)["Parameter"]
    new = answer["Value"].encode()
    env.planted.append(new)
    assert answer["Version"] == 3 and answer["Type"] == "SecureString" and ALNUM32.fullmatch(new)
    assert m.read("db", "password") == new
    history = [json.loads(line) for line in m.read("db", ".rotate").splitlines()]
    assert history[-1]["new_version"] == "3" and new not in m.read("db", ".rotate")
    assert errno_of(lambda: open(m.p("db", "nope"), "rb")) == errno.ENOENT


def test_cli_put_and_get_through_ssm(env, ssm, endpoint):
    root = "/" + unique("pscli")
    environ = ssm_environment(endpoint)
    backend = ["--backend", "ssm", "--ssm-prefix", root]
    env.planted.append(b"cli-ssm-value-0042")
    env.cli("put", "app/key", input=b"cli-ssm-value-0042", backend=backend, env=environ)
    assert ssm.get_parameter(Name=f"{root}/app/key", WithDecryption=True)["Parameter"]["Type"] == "SecureString"
    assert env.cli("get", "app/key", backend=backend, env=environ).stdout == b"cli-ssm-value-0042"
    refused = env.cli("put", "app/bin", input=bytes([0, 255, 1]), backend=backend, env=environ, check=False)
    assert refused.returncode != 0 and b"holds one text value" in refused.stderr
