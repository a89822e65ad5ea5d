"""The AWS Secrets Manager backend through a real mount (issue 4): the built binary against moto.

Secrets are made with boto3 and checked there; every test works under its own name prefix (shown at
the root with `--aws-prefix`), so tests sharing the server never see each other. The daemon gets dummy
keys, the region and the endpoint through its environment."""

import errno
import json
import os
import re
import signal
import stat
import time
import urllib.request

import pytest

from peers import aws_client, aws_environment, errno_of, require, start_private_moto, unique, write_control

ALNUM32 = re.compile(rb"[A-Za-z0-9]{32}")


@pytest.fixture
def endpoint():
    return require("SECRETSFS_TEST_AWS_ENDPOINT")


@pytest.fixture
def sm(endpoint):
    return aws_client(endpoint)


@pytest.fixture
def prefix():
    return unique("at")


def mount_aws(env, endpoint, *args):
    m = env.mount(*args, backend=["--backend", "aws"], env=aws_environment(endpoint))
    status = json.loads(m.read(".status"))
    assert status["backend"] == "aws"
    assert b"testing" not in m.read(".status")  # the (dummy) key never shows
    return m


def create(sm, env, name, string=None, binary=None):
    env.plant(string if string is not None else binary)
    kwargs = {"SecretString": string} if string is not None else {"SecretBinary": binary}
    return sm.create_secret(Name=name, **kwargs)["VersionId"]


def current(sm, name, stage="AWSCURRENT"):
    return sm.get_secret_value(SecretId=name, VersionStage=stage)


# MARK: layout


def test_strings_binaries_json_and_folders(env, endpoint, sm, prefix):
    create(sm, env, f"{prefix}/plain", "aws-plain-value-01")
    binary = bytes([0, 1, 2, 0xFF, 0xFE, 0x80, 10, 0])
    create(sm, env, f"{prefix}/bin", binary=binary)
    document = json.dumps({"username": "aws-json-user", "password": "aws-json-pass-99"})
    create(sm, env, f"{prefix}/db", document)
    env.plant("aws-json-user", "aws-json-pass-99")
    create(sm, env, f"{prefix}/team/app/key", "aws-nested-value-7")
    create(sm, env, f"{prefix}-sibling/other", "aws-sibling-value-8")

    m = mount_aws(env, endpoint, "--aws-prefix", prefix)
    assert m.read("plain") == b"aws-plain-value-01"
    st = os.stat(m.p("plain"))
    assert stat.S_ISREG(st.st_mode) and st.st_size == len(b"aws-plain-value-01")
    assert m.read("bin") == binary and os.stat(m.p("bin")).st_size == len(binary)
    assert m.read("db") == document.encode()  # raw by default
    assert m.read("team", "app", "key") == b"aws-nested-value-7"
    assert stat.S_ISDIR(os.stat(m.p("team", "app")).st_mode)
    assert sorted(n for n in os.listdir(m.path) if not n.startswith(".")) == ["bin", "db", "plain", "team"]
    assert errno_of(lambda: open(m.p("plain"), "wb")) in (errno.EROFS, errno.EACCES)

    expanded = mount_aws(env, endpoint, "--aws-prefix", prefix, "--json-fields", "expand")
    assert stat.S_ISDIR(os.stat(expanded.p("db")).st_mode)
    assert sorted(n for n in os.listdir(expanded.p("db")) if not n.startswith(".")) == ["password", "username"]
    assert expanded.read("db", "username") == b"aws-json-user"
    assert expanded.read("db", "password") == b"aws-json-pass-99"
    assert expanded.read("plain") == b"aws-plain-value-01"


def test_json_that_is_not_a_flat_object_of_strings_stays_a_file(env, endpoint, sm, prefix):
    nested = json.dumps({"port": 5432, "host": "db-host-nested"})
    create(sm, env, f"{prefix}/nested", nested)
    m = mount_aws(env, endpoint, "--aws-prefix", prefix, "--json-fields", "expand")
    assert m.read("nested") == nested.encode()


def test_more_than_one_list_page(env, endpoint, sm, prefix):
    # The store asks for 100 names a page and moto honours it: 110 secrets need two pages.
    names = [f"s{n:03d}" for n in range(110)]
    for name in names:
        sm.create_secret(Name=f"{prefix}/many/{name}", SecretString=f"page-value-{name}")
    first = sm.list_secrets(MaxResults=100, Filters=[{"Key": "name", "Values": [f"{prefix}/"]}])
    assert len(first["SecretList"]) == 100 and first.get("NextToken")
    m = mount_aws(env, endpoint, "--aws-prefix", prefix)
    assert sorted(os.listdir(m.p("many"))) == sorted(names + [".rotate"])  # .versions opens by name only
    assert m.read("many", "s109") == b"page-value-s109"
    assert m.read("many", "s000") == b"page-value-s000"


def test_aws_prefix_is_a_folder_prefix(env, endpoint, sm, prefix):
    create(sm, env, f"{prefix}/team/app/db", "prefixed-value-11")
    create(sm, env, f"{prefix}/team-other/x", "not-under-prefix-12")
    m = mount_aws(env, endpoint, "--aws-prefix", f"{prefix}/team")
    assert sorted(n for n in os.listdir(m.path) if not n.startswith(".")) == ["app"]
    assert m.read("app", "db") == b"prefixed-value-11"
    assert f"{prefix}/team" in json.loads(m.read(".status"))["address"]


# MARK: versions


def test_versions_and_stage_symlinks(env, endpoint, sm, prefix):
    name = f"{prefix}/api_key"
    v1 = create(sm, env, name, "aws-version-one-1")
    env.plant("aws-version-two-2", "aws-version-three-3")
    v2 = sm.put_secret_value(SecretId=name, SecretString="aws-version-two-2")["VersionId"]
    time.sleep(1.1)  # distinct CreatedDate seconds, so "oldest first" is unambiguous
    v3 = sm.put_secret_value(SecretId=name, SecretString="aws-version-three-3")["VersionId"]
    sm.update_secret_version_stage(SecretId=name, VersionStage="blue", MoveToVersionId=v1)

    m = mount_aws(env, endpoint, "--aws-prefix", prefix)
    folder = m.p(".versions", "api_key")
    entries = set(os.listdir(folder))
    assert {v2, v3, "AWSCURRENT", "AWSPREVIOUS", "current", "previous", "blue"} <= entries
    assert os.readlink(os.path.join(folder, "AWSCURRENT")) == v3
    assert os.readlink(os.path.join(folder, "current")) == v3
    assert os.readlink(os.path.join(folder, "AWSPREVIOUS")) == v2
    assert os.readlink(os.path.join(folder, "previous")) == v2
    assert os.readlink(os.path.join(folder, "blue")) == v1
    assert v1 in entries  # still labelled (blue), so not deprecated
    assert m.read(".versions", "api_key", v1) == b"aws-version-one-1"
    assert m.read(".versions", "api_key", v2) == b"aws-version-two-2"
    assert m.read(".versions", "api_key", "blue") == b"aws-version-one-1"
    assert m.read(".versions", "api_key", "previous") == b"aws-version-two-2"
    assert m.read("api_key") == b"aws-version-three-3"
    created = current(sm, name)["CreatedDate"].timestamp()
    assert abs(os.stat(m.p("api_key")).st_mtime - created) <= 1
    assert errno_of(lambda: m.read(".versions", "api_key", "0" * 36)) == errno.ENOENT
    assert errno_of(lambda: m.read(".versions", "api_key", "nolabel")) == errno.ENOENT


# MARK: rotation and errors


def test_rotate_moves_the_old_value_to_awsprevious(env, endpoint, sm, prefix):
    name = f"{prefix}/svc/token"
    old_id = create(sm, env, name, "aws-rotate-original")
    m = mount_aws(env, endpoint, "--aws-prefix", prefix)  # default TTL 300 s
    assert m.read("svc", "token") == b"aws-rotate-original"
    assert write_control(m.p("svc", ".rotate"), b"token\n") == len(b"token\n")

    now = current(sm, name)
    env.plant(now["SecretString"])
    assert ALNUM32.fullmatch(now["SecretString"].encode())
    assert current(sm, name, "AWSPREVIOUS")["SecretString"] == "aws-rotate-original"
    assert current(sm, name, "AWSPREVIOUS")["VersionId"] == old_id
    assert m.read("svc", "token") == now["SecretString"].encode()  # visible at the next open
    assert os.readlink(m.p("svc", ".versions", "token", "AWSCURRENT")) == now["VersionId"]
    history = [json.loads(line) for line in m.read("svc", ".rotate").splitlines()]
    assert history[-1]["outcome"] == "ok" and history[-1]["old_version"] == old_id
    assert now["SecretString"].encode() not in m.read(".rotate")

    assert os.system(f"echo svc/token > {m.p('.rotate')}") == 0
    third = current(sm, name)
    env.plant(third["SecretString"])
    assert third["VersionId"] != now["VersionId"]
    assert current(sm, name, "AWSPREVIOUS")["SecretString"] == now["SecretString"]


def test_rotate_a_json_field_keeps_the_others(env, endpoint, sm, prefix):
    name = f"{prefix}/db"
    create(sm, env, name, json.dumps({"username": "aws-field-user", "password": "aws-field-pass-1"}))
    env.plant("aws-field-user", "aws-field-pass-1")
    m = mount_aws(env, endpoint, "--aws-prefix", prefix, "--json-fields", "expand")
    assert m.read("db", "password") == b"aws-field-pass-1"
    write_control(m.p("db", ".rotate"), b"password\n")
    fields = json.loads(current(sm, name)["SecretString"])
    env.plant(fields["password"])
    assert fields["username"] == "aws-field-user"
    assert ALNUM32.fullmatch(fields["password"].encode())
    assert m.read("db", "password") == fields["password"].encode()
    assert json.loads(current(sm, name, "AWSPREVIOUS")["SecretString"])["password"] == "aws-field-pass-1"


def test_missing_is_enoent(env, endpoint, sm, prefix):
    create(sm, env, f"{prefix}/there", "aws-enoent-there-1")
    m = mount_aws(env, endpoint, "--aws-prefix", prefix)
    assert errno_of(lambda: m.read("nope")) == errno.ENOENT
    assert errno_of(lambda: m.read("deep", "nope")) == errno.ENOENT
    assert errno_of(lambda: os.listdir(m.p(".versions", "nope"))) == errno.ENOENT
    assert errno_of(lambda: write_control(m.p(".rotate"), b"nope\n")) == errno.ENOENT
    assert errno_of(lambda: write_control(m.p(".rotate"), b".status\n")) == errno.EINVAL


def test_bad_credentials_are_eacces(env, tmp_path, prefix):
    # moto checks signatures only when told to, which would change the shared server for every test:
    # a private one is told instead.
    server = start_private_moto(str(tmp_path))
    try:
        private = aws_client(server.addr)
        create(private, env, f"{prefix}/k", "aws-denied-value-1")
        m = mount_aws(env, server.addr, "--aws-prefix", prefix)
        assert m.read("k") == b"aws-denied-value-1"
        request = urllib.request.Request(f"{server.addr}/moto-api/reset-auth", data=b"0", method="POST",
                                         headers={"Content-Type": "text/plain"})
        urllib.request.urlopen(request, timeout=5).read()
        # The dummy key is unknown to moto's IAM once auth is on: every call is denied.
        result = env.cli("get", "k", check=False, backend=["--backend", "aws", "--aws-prefix", prefix],
                         env=aws_environment(server.addr))
        assert result.returncode == 77, result.stderr
        assert errno_of(lambda: write_control(m.p(".rotate"), b"k\n")) == errno.EACCES
    finally:
        for mount in env.mounts:
            mount.stop()
        server.stop()


# MARK: the CLI


def test_cli_subcommands(env, endpoint, sm, prefix):
    backend = ["--backend", "aws", "--aws-prefix", prefix]
    environment = aws_environment(endpoint)

    def cli(*args, **kwargs):
        result = env.cli(*args, backend=backend, env=environment, **kwargs)
        env.assert_no_planted_values(result.stderr, "the CLI's stderr")
        return result

    env.plant("aws-cli-value-001", "aws-cli-value-002", "aws-cli-user-xyz")
    assert b"wrote app/key" in cli("put", "app/key", input=b"aws-cli-value-001").stdout  # creates the secret
    assert current(sm, f"{prefix}/app/key")["SecretString"] == "aws-cli-value-001"
    cli("put", "app/key", input=b"aws-cli-value-002")
    cli("put", "db", "--field", "username", input=b"aws-cli-user-xyz")
    binary = bytes([0xFF, 0, 0xFE, 10, 0x80])
    cli("put", "bin", input=binary)
    assert current(sm, f"{prefix}/bin")["SecretBinary"] == binary
    assert json.loads(current(sm, f"{prefix}/db")["SecretString"]) == {"username": "aws-cli-user-xyz"}

    assert cli("get", "app/key").stdout == b"aws-cli-value-002"
    assert cli("get", "bin").stdout == binary
    assert cli("get", "app/key", "--version", "AWSPREVIOUS").stdout == b"aws-cli-value-001"
    assert cli("ls").stdout.decode().split() == ["app/", "bin", "db"]
    assert set(cli("ls", "--recursive").stdout.decode().split()) == {"app/key", "bin", "db"}
    lines = [line.split("\t") for line in cli("versions", "app/key").stdout.decode().splitlines()]
    assert len(lines) == 2
    assert "AWSPREVIOUS" in lines[0][2] and "AWSCURRENT" in lines[1][2] and "current" in lines[1][2]
    old_id = lines[0][0]
    assert cli("get", "app/key", "--version", old_id).stdout == b"aws-cli-value-001"

    cli("rotate", "app/key")
    rotated = current(sm, f"{prefix}/app/key")["SecretString"]
    env.plant(rotated)
    assert ALNUM32.fullmatch(rotated.encode())
    assert current(sm, f"{prefix}/app/key", "AWSPREVIOUS")["SecretString"] == "aws-cli-value-002"
    assert b"healthy" in cli("health").stdout
    missing = env.cli("get", "nope", check=False, backend=backend, env=environment)
    assert missing.returncode == 2 and missing.stdout == b""

    # `put --rotate-every`: the value is written, then the schedule set at AWS, which checks the Lambda exists.
    rotator = "arn:aws:lambda:us-east-1:123456789012:function:no-such-rotator"
    env.plant("aws-cli-value-003")
    scheduled = cli("put", "app/sched", "--rotate-every", "30d", "--rotation-lambda", rotator,
                    input=b"aws-cli-value-003", check=False)
    assert scheduled.returncode != 0 and b"wrote app/sched" in scheduled.stdout
    assert len(scheduled.stderr.decode().strip().splitlines()) == 1, scheduled.stderr
    assert current(sm, f"{prefix}/app/sched")["SecretString"] == "aws-cli-value-003"
    # A store with no rotation schedule of its own refuses before writing anything.
    local = env.cli("put", "sched", "--rotate-every", "30d", "--rotation-lambda", rotator,
                    input=b"aws-cli-value-003", check=False)
    assert local.returncode != 0 and b"--rotate-every needs --backend aws" in local.stderr, local.stderr
    assert env.cli("get", "sched", check=False).returncode == 2


# MARK: faults


def test_moto_killed_while_mounted_serves_stale_then_eio(env, tmp_path, prefix):
    server = start_private_moto(str(tmp_path))
    try:
        private = aws_client(server.addr)
        create(private, env, f"{prefix}/seen", "aws-read-before-kill")
        create(private, env, f"{prefix}/unseen", "aws-never-read-value")
        m = mount_aws(env, server.addr, "--aws-prefix", prefix, "--cache-ttl", "1s", "--backend-timeout", "2s")
        assert m.read("seen") == b"aws-read-before-kill"
        assert "unseen" in os.listdir(m.path)
        server.stop(signal.SIGKILL)
        time.sleep(1.5)  # past the TTL

        assert m.read("seen") == b"aws-read-before-kill"
        assert os.getxattr(m.p("seen"), "user.secretsfs.stale") == b"true"
        started = time.monotonic()
        assert errno_of(lambda: m.read("unseen")) == errno.EIO
        assert time.monotonic() - started < 15
        status = json.loads(m.read(".status"))
        assert status["cache"]["stale_serves"] >= 1 and status["healthy"] is False
        assert m.process.poll() is None
        assert m.stop(signal.SIGTERM) == 0
    finally:
        server.stop()
