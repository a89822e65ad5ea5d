"""`.rotate` through a real mount: synchronous rotation, the errno table, and the history."""

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


def test_root_rotate_takes_full_paths(sample):
    m = sample.mount()
    old = m.read("openai", "api_key")
    write(m.p(".rotate"), b"openai/api_key\n")
    assert m.read("openai", "api_key") != old


def test_rotating_a_field_keeps_the_others(sample):
    m = sample.mount()
    write(m.p("db", ".rotate"), b"password\n")
    assert m.read("db", "username") == b"alice-the-user"
    assert re.fullmatch(rb"[A-Za-z0-9]{32}", m.read("db", "password"))
    write(m.p(".rotate"), b"db/username")
    assert m.read("db", "username") != b"alice-the-user"


def test_rotate_history_is_json_lines_without_values(sample):
    m = sample.mount()
    write(m.p("openai", ".rotate"), b"api_key\n")
    with pytest.raises(OSError):
        write(m.p("openai", ".rotate"), b"missing\n")
    lines = [json.loads(line) for line in m.read("openai", ".rotate").splitlines()]
    assert len(lines) == 2
    ok, failed = lines
    assert ok["path"] == "openai/api_key" and ok["outcome"] == "ok"
    assert ok["old_version"] == "3" and ok["new_version"] == "4" and "time" in ok
    assert failed["path"] == "openai/missing" and failed["outcome"] != "ok"
    assert m.read("db", ".rotate") == b""
    root_lines = m.read(".rotate").splitlines()
    assert len(root_lines) == 2
    new_value = m.read("openai", "api_key")
    assert new_value not in m.read(".rotate")


@pytest.mark.parametrize(
    "data, expected",
    [
        (b"nope\n", errno.ENOENT),
        (b"\n", errno.EINVAL),
        (b"\n\n  \n", errno.EINVAL),
        (b"a" * 4097, errno.EINVAL),
        (b"\xff\xfe\n", errno.EINVAL),
        (b".status\n", errno.EINVAL),
        (b"../escape\n", errno.EINVAL),
        (b"openai\n", errno.EINVAL),
    ],
)
def test_rotate_errors(sample, data, expected):
    m = sample.mount()
    before = m.read("openai", "api_key")
    folder = m.path if data == b"openai\n" else m.p("openai")
    with pytest.raises(OSError) as failure:
        write(os.path.join(folder, ".rotate"), data)
    assert failure.value.errno == expected
    assert m.read("openai", "api_key") == before
    assert sample.cli("versions", "openai/api_key").stdout.count(b"\n") == 3


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
    import time
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
