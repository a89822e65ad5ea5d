"""Where operators run things: config file, systemd notify, daemon mode, mount(8) and fstab,
extended attributes, completions, man pages and `secretsfs status`."""

import ctypes
import errno
import os
import re
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import BIN, ROOT, is_mounted


def mount_flags():
    """Every long flag `secretsfs mount --help-hidden` lists (`--help` folds the tuning and backend ones)."""
    text = subprocess.run([BIN, "mount", "--help-hidden"], capture_output=True, text=True).stdout
    return set(re.findall(r"--([a-z][a-z-]+)", text.split("OPTIONS:")[1])) - {"help", "version", "help-hidden"}


def test_every_mount_flag_has_a_config_key_documented_in_the_example():
    example = (ROOT / "examples" / "secretsfs.yaml").read_text()
    keys = set(re.findall(r"^#? ?([a-z][a-z-]+):", example, re.MULTILINE))
    missing = mount_flags() - keys - {"config"}
    assert not missing, f"flags without a key in examples/secretsfs.yaml: {missing}"
    assert "policy" in keys


def test_config_file_sets_options_and_flags_and_environment_win(env, tmp_path):
    env.put("a", "config-file-value-1")
    config = tmp_path / "c.yaml"
    config.write_text(f"store: {env.store}\nfile-mode: '0440'\ndir-mode: '0550'\ncache-ttl: 1h\n")
    m = env.mount("--config", str(config), backend=[])
    assert m.read("a") == b"config-file-value-1"
    assert os.stat(m.p("a")).st_mode & 0o777 == 0o440
    m.stop()
    flag_wins = env.mount("--config", str(config), "--file-mode", "0400", backend=[])
    assert os.stat(flag_wins.p("a")).st_mode & 0o777 == 0o400
    flag_wins.stop()
    other = tmp_path / "other.db"
    environment = {**os.environ, "SECRETSFS_STORE": str(other)}
    env_wins = env.mount("--config", str(config), backend=[], env=environment)
    assert "a" not in os.listdir(env_wins.path), "SECRETSFS_STORE must win over the file's store"


def test_config_file_through_the_environment_variable(env, tmp_path):
    env.put("b", "config-env-value-2")
    config = tmp_path / "c.yaml"
    config.write_text(f"store: {env.store}\n")
    result = env.cli("get", "b", backend=[], env={**os.environ, "SECRETSFS_CONFIG": str(config)})
    assert result.stdout == b"config-env-value-2"


@pytest.mark.parametrize("text, named", [
    ("no-such-key: 1\n", "no-such-key"),
    ("cache-ttl: [1, 2\n", "not valid YAML"),
    ("policy:\n  - path: a\n    bogus: 1\n", "bogus"),
    ("allow-other: maybe\n", "allow-other"),
])
def test_bad_config_is_one_line_naming_the_problem(env, tmp_path, text, named):
    config = tmp_path / "bad.yaml"
    config.write_text(text)
    result = env.cli("mount", str(tmp_path), "--config", str(config), check=False)
    assert result.returncode == 78
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and named in lines[0], lines


def test_systemd_notify_ready_and_stopping(env, tmp_path):
    env.put("n", "notify-value-12345")
    path = str(tmp_path / "notify.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(path)
    listener.settimeout(20)
    try:
        m = env.mount(env={**os.environ, "NOTIFY_SOCKET": path})
        ready = listener.recv(4096).decode()
        assert "READY=1" in ready
        assert m.read("n") == b"notify-value-12345"
        assert m.stop() == 0
        assert "STOPPING=1" in listener.recv(4096).decode()
    finally:
        listener.close()


def test_daemon_mode_returns_once_serving(env, tmp_path):
    env.put("d", "daemon-value-12345")
    mp = tmp_path / "dm"
    mp.mkdir()
    log = tmp_path / "daemon.log"
    try:
        result = env.cli("mount", str(mp), "--daemon", "--log-file", str(log))
        assert result.returncode == 0
        assert is_mounted(str(mp))
        assert (mp / "d").read_bytes() == b"daemon-value-12345"
    finally:
        env.cli("unmount", str(mp), backend=[], check=False)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "unmounted" not in log.read_text():
        time.sleep(0.05)
    assert "unmounted" in log.read_text()
    assert b"daemon-value" not in log.read_bytes()


def test_daemon_mode_reports_the_childs_error(env, tmp_path):
    mp = tmp_path / "dm"
    mp.mkdir()
    result = env.cli("mount", str(mp), "--daemon", "--audit-log", str(tmp_path / "no" / "such" / "dir" / "a.log"),
                     check=False)
    assert result.returncode != 0
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "audit log" in lines[0], lines
    assert not is_mounted(str(mp))


def test_mount_helper_form_and_fstab_style_options(env, tmp_path):
    """`mount -t fuse 'PROG#SOURCE' MP -o opts` runs mount.fuse3, which runs
    `secretsfs SOURCE MP -o opts`; our options map to flags, the rest go to the kernel."""
    env.put("f", "fstab-value-12345")
    mp = tmp_path / "fm"
    mp.mkdir()
    options = f"store={env.store},cache_ttl=60s,file_mode=0440,noatime"
    result = subprocess.run(["mount", "-t", "fuse", f"{BIN}#local", str(mp), "-o", options],
                            capture_output=True, timeout=60)
    try:
        assert result.returncode == 0, result.stderr
        assert (mp / "f").read_bytes() == b"fstab-value-12345"
        assert os.stat(mp / "f").st_mode & 0o777 == 0o440
        line = next(l for l in Path("/proc/self/mountinfo").read_text().splitlines() if f" {mp} " in l)
        assert "noatime" in line and "fuse.secretsfs" in line
    finally:
        subprocess.run(["umount", str(mp)], capture_output=True)
    assert not is_mounted(str(mp))


def test_extended_attributes_through_the_kernel(sample):
    """Each attribute's value and each name's errno are in the case list (`XattrCases`); here what the
    kernel adds: its size probe and ERANGE for a buffer too small, `getfattr -d`, and the namespaces
    `ls -l` asks of every file."""
    m = sample.mount()
    path = m.p("openai", "api_key")
    names = os.listxattr(path)
    assert set(names) == {f"user.secretsfs.{n}" for n in ["version", "created", "backend", "stale", "ttl"]}
    assert os.getxattr(path, "user.secretsfs.backend") == b"local"
    libc = ctypes.CDLL(None, use_errno=True)
    libc.getxattr.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t]
    libc.listxattr.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t]
    assert libc.getxattr(path.encode(), b"user.secretsfs.backend", None, 0) == len(b"local")
    small = ctypes.create_string_buffer(2)
    assert libc.getxattr(path.encode(), b"user.secretsfs.backend", small, 2) == -1
    assert ctypes.get_errno() == errno.ERANGE
    assert libc.listxattr(path.encode(), None, 0) == sum(len(n) + 1 for n in names)
    assert libc.listxattr(path.encode(), small, 2) == -1
    assert ctypes.get_errno() == errno.ERANGE
    for name, expected in (("security.selinux", errno.EOPNOTSUPP), ("user.other", errno.ENODATA)):
        with pytest.raises(OSError) as raised:
            os.getxattr(path, name)
        assert raised.value.errno == expected, name
    assert subprocess.run(["ls", "-l", m.p("openai")], capture_output=True, timeout=30).returncode == 0
    dump = subprocess.run(["getfattr", "-d", path], capture_output=True).stdout
    assert b"user.secretsfs.version" in dump
    for value in sample.planted:
        assert value not in dump


def test_status_command_summarises(sample):
    m = sample.mount()
    m.read("top")
    out = sample.cli("status", m.path, backend=[]).stdout.decode()
    assert "backend:    local" in out and "healthy" in out and "hit rate" in out
    raw = sample.cli("status", m.path, "--json", backend=[]).stdout
    assert raw.startswith(b"{")
    result = sample.cli("status", str(sample.workdir), backend=[], check=False)
    assert result.returncode == 2


def test_completions_and_man_pages_match_the_commands():
    script = subprocess.run([BIN, "--generate-completion-script", "bash"], capture_output=True, text=True).stdout
    assert "mount" in script and "--cache-ttl" in script
    committed = (ROOT / "contrib" / "completions" / "secretsfs.bash").read_text()
    assert committed == script, "contrib/completions is stale: run scripts/gen-docs"
    for command in ["mount", "unmount", "get", "ls", "versions", "put", "rotate", "health", "status"]:
        page = ROOT / "docs" / "man" / f"secretsfs.{command}.1"
        assert page.exists(), f"no man page for {command}: run scripts/gen-docs"
    mount_page = (ROOT / "docs" / "man" / "secretsfs.mount.1").read_text()
    for flag in mount_flags():
        assert f"-{flag}" in mount_page, f"man page lacks --{flag}: run scripts/gen-docs"
