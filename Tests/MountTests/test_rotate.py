"""`.rotate` through a real mount: what the kernel and the process add. Lines, fields, the history and
each bad line's errno are in the case list (`Tests/SecretsFileSystemTests/Cases/RotateCases.swift`)."""

import errno
import json
import os
import re

import pytest

from conftest import write_control as write


def test_rotate_replaces_value_visible_on_next_open(sample):
    m = sample.mount()  # default TTL of 300 s: the new value must not wait for it
    old = m.read("openai", "api_key")
    assert write(m.p("openai", ".rotate"), b"api_key\n") == len(b"api_key\n")
    new = m.read("openai", "api_key")
    assert new != old and re.fullmatch(rb"[A-Za-z0-9]{32}", new)
    assert os.stat(m.p("openai", "api_key")).st_size == 32
    versions = m.p("openai", ".versions", "api_key")
    assert "4" in os.listdir(versions)
    assert os.readlink(os.path.join(versions, "current")) == "4"
    assert os.readlink(os.path.join(versions, "previous")) == "3"
    assert m.read("openai", ".versions", "api_key", "3") == old
    got = sample.cli("get", "openai/api_key").stdout
    assert got == new


def test_shell_redirect_rotates(sample):
    m = sample.mount()
    old = m.read("top")
    result = os.system(f"echo top > {m.p('.rotate')}")
    assert result == 0
    assert m.read("top") != old


def test_rotating_a_field_keeps_the_others(sample):
    m = sample.mount()
    write(m.p("db", ".rotate"), b"password\n")
    assert m.read("db", "username") == b"alice-the-user"
    assert re.fullmatch(rb"[A-Za-z0-9]{32}", m.read("db", "password"))
    write(m.p(".rotate"), b"db/username")
    assert m.read("db", "username") != b"alice-the-user"


def test_rotate_on_env_is_eopnotsupp(env):
    m = env.mount(backend=["--backend", "env", "--env-prefix", "APP_"],
                  env={**os.environ, "APP_OPENAI_API_KEY": "env-value-123456"})
    assert m.read("openai", "api_key") == b"env-value-123456"
    with pytest.raises(OSError) as failure:
        write(m.p("openai", ".rotate"), b"api_key\n")
    assert failure.value.errno == errno.EOPNOTSUPP


def test_rotation_length_is_configurable(sample):
    m = sample.mount("--rotation-length", "48")
    write(m.p(".rotate"), b"top\n")
    assert re.fullmatch(rb"[A-Za-z0-9]{48}", m.read("top"))


def test_a_rotation_and_stopping_are_each_logged_once(sample):
    """The backend and the mount both said "rotated". "stopping" twice (issue 25) was not seen here
    (SIGTERM to the supervisor, to both processes, or an unmount): checked as a guard."""
    m = sample.mount()
    assert write(m.p(".rotate"), b"top\n") == len(b"top\n")
    assert m.stop() == 0
    lines = [json.loads(line) for line in m.log_text().splitlines() if line.startswith("{")]
    said = [line["message"] for line in lines if line.get("level") in ("info", "notice", "warning")]
    assert len([message for message in said if message.startswith("rotated")]) == 1, said
    assert said.count("stopping") == 1, said


def test_stopping_is_logged_once_when_a_worker_was_told_to_stop_before(sample):
    """A worker told to stop (SIGTERM, as systemd's control-group kill or an operator sends it) said
    "stopping" while the mount went on under its replacement, and the mount said it again when it
    stopped (issue 25 item 10): only the mount's own stop is "stopping"."""
    import signal
    from conftest import wait_for
    m = sample.mount()
    first = m.worker_pid()
    os.kill(first, signal.SIGTERM)
    assert wait_for(lambda: m.worker_pid() != first, 30), "no worker replaced the one told to stop"
    assert m.read("top") == b"top-level-value-xyz"
    assert m.stop() == 0
    lines = [json.loads(line) for line in m.log_text().splitlines() if line.startswith("{")]
    said = [line["message"] for line in lines if line.get("level") in ("info", "notice", "warning")]
    assert said.count("stopping") == 1, said
