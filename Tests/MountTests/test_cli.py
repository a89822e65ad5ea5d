"""Every subcommand of DESIGN section 5 and the bad inputs: one line on stderr, a non-zero exit."""

import json
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest
from conftest import is_mounted, status, wait_for


def one_line(result):
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_put_and_get_bytes_exactly(env):
    env.put("a/b", b"no-newline-here")
    assert env.cli("get", "a/b").stdout == b"no-newline-here"
    blob = bytes(range(256))
    env.put("bin", blob)
    assert env.cli("get", "bin").stdout == blob


def test_put_from_file(env, tmp_path):
    source = tmp_path / "value"
    source.write_bytes(b"from-a-file-value")
    env.planted.append(b"from-a-file-value")
    env.cli("put", "f", "--from-file", str(source))
    assert env.cli("get", "f").stdout == b"from-a-file-value"


def test_put_empty_is_refused_and_writes_nothing(env):
    env.put("keep", "kept-value-123456")
    result = env.cli("put", "keep", input=b"", check=False)
    assert result.returncode != 0 and "empty" in one_line(result)
    assert env.cli("get", "keep").stdout == b"kept-value-123456"


def test_put_without_field_onto_fields_is_refused_and_writes_nothing(env):
    env.put("db", "alice-username", field="username")
    env.put("db", "s3cret-password", field="password")
    before = env.cli("versions", "db").stdout
    result = env.cli("put", "db", input=b"whole-new-value-1", check=False)
    assert result.returncode == 64
    line = one_line(result)
    assert "--field" in line and "--replace" in line
    assert b"whole-new-value" not in result.stderr
    assert env.cli("versions", "db").stdout == before
    assert env.cli("get", "db/password").stdout == b"s3cret-password"
    env.planted.append(b"whole-new-value-1")
    env.cli("put", "db", "--replace", input=b"whole-new-value-1")
    assert env.cli("get", "db").stdout == b"whole-new-value-1"


def test_get_version_and_versions(env):
    env.put("v", "first-value-00001")
    env.put("v", "second-value-0002")
    assert env.cli("get", "v", "--version", "1").stdout == b"first-value-00001"
    lines = env.cli("versions", "v").stdout.decode().splitlines()
    assert [line.split("\t")[0] for line in lines] == ["1", "2"]
    assert lines[1].split("\t")[2].split(",") == ["current"]
    assert "previous" in lines[0]


def test_get_version_by_the_labels_versions_shows(env):
    env.put("v", "first-value-00001")
    env.put("v", "second-value-0002")
    assert env.cli("get", "v", "--version", "previous").stdout == b"first-value-00001"
    assert env.cli("get", "v", "--version", "current").stdout == b"second-value-0002"
    env.put("db", "old-password-0001", field="password")
    env.put("db", "new-password-0002", field="password")
    assert env.cli("get", "db/password", "--version", "previous").stdout == b"old-password-0001"
    result = env.cli("get", "v", "--version", "nosuchlabel", check=False)
    assert result.returncode != 0
    one_line(result)


def test_get_field(env):
    env.put("db", "alice-username", field="username")
    env.put("db", "s3cret-password", field="password")
    assert env.cli("get", "db/password").stdout == b"s3cret-password"
    result = env.cli("get", "db", check=False)
    assert result.returncode != 0 and "password" in one_line(result)
    assert b"s3cret" not in result.stderr


def test_ls_and_recursive(env):
    env.put("openai/api_key", "value-one-12345")
    env.put("openai/org/id", "value-two-12345")
    env.put("top", "value-three-1234")
    assert env.cli("ls").stdout.decode().splitlines() == ["openai/", "top"]
    assert env.cli("ls", "openai").stdout.decode().splitlines() == ["api_key", "org/"]
    assert env.cli("ls", "--recursive").stdout.decode().splitlines() == ["openai/api_key", "openai/org/id", "top"]


def test_rotate_command(env):
    env.put("r", "before-rotation-1")
    out = env.cli("rotate", "r").stdout.decode()
    assert "1 -> 2" in out
    new = env.cli("get", "r").stdout
    assert len(new) == 32 and new.isalnum()
    assert new.decode() not in out


def test_health(env):
    env.put("x", "health-check-value")
    assert "healthy" in env.cli("health").stdout.decode()


def test_unknown_path_is_exit_2(env):
    result = env.cli("get", "nope/nothing", check=False)
    assert result.returncode == 2
    assert "nope/nothing" in one_line(result)


def test_bad_option_is_one_line(env):
    result = env.cli("get", "x", "--bogus", check=False)
    assert result.returncode == 64
    assert "bogus" in one_line(result)


def test_bad_duration_is_one_line(env, tmp_path):
    result = env.cli("mount", str(tmp_path), "--cache-ttl", "soon", check=False)
    assert result.returncode == 64
    assert "cache-ttl" in one_line(result)


def test_bad_backend_is_one_line(env):
    result = env.cli("get", "x", backend=["--backend", "nosuch"], check=False)
    assert result.returncode == 64
    line = one_line(result)
    assert "--backend" in line and "nosuch" not in line


PLANTED = "hunter2-PLANTED-value"


@pytest.mark.parametrize("args", [
    ["put", "app/x", PLANTED],
    ["mount", "/nonexistent-mnt", "--cache-ttl", PLANTED],
    ["mount", "/nonexistent-mnt", f"--cache-ttl={PLANTED}"],
    ["get", "x", "--version", "1", PLANTED],
    ["mount", "/nonexistent-mnt", f"--direct-io={PLANTED}"],
])
def test_parser_errors_name_the_argument_never_its_value(env, args):
    result = env.cli(*args, input=b"", check=False)
    assert result.returncode == 64
    line = one_line(result)
    assert PLANTED not in line and PLANTED.encode() not in result.stdout


def test_a_refused_kernel_option_is_named_without_its_value(env, tmp_path):
    mountpoint = tmp_path / "mp"
    mountpoint.mkdir()
    result = env.cli("mount", str(mountpoint), "-o", f"nosuchopt={PLANTED}", check=False)
    assert result.returncode == 78
    line = one_line(result)
    assert "nosuchopt" in line and PLANTED not in line
    assert not is_mounted(mountpoint)


def test_invalid_path_is_one_line(env):
    result = env.cli("get", "a/../b", check=False)
    assert result.returncode != 0
    one_line(result)


def test_unreachable_vault_at_get_is_one_line(env):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    environment = {**os.environ, "VAULT_TOKEN": "s.planted-token-value"}
    result = env.cli("get", "x", backend=["--backend", "vault", "--vault-addr", f"http://127.0.0.1:{port}",
                                          "--backend-timeout", "2s"], env=environment, check=False)
    assert result.returncode != 0
    line = one_line(result)
    assert "planted-token" not in line


def test_unmount_of_a_plain_folder_fails_clearly(env, tmp_path):
    result = env.cli("unmount", str(tmp_path), backend=[], check=False)
    assert result.returncode != 0
    assert "not a mountpoint" in one_line(result)


def test_unmount_refuses_a_mount_that_is_not_secretsfs(env, tmp_path):
    """A tmpfs (a typo of /run for /run/secrets, say) stays mounted, its files with it."""
    target = tmp_path / "tmpfs"
    target.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(target)], check=True)
    try:
        (target / "keep").write_text("still here")
        result = env.cli("unmount", str(target), backend=[], check=False)
        assert result.returncode == 64
        line = one_line(result)
        assert "not a secretsfs mount" in line and "tmpfs" in line
        assert is_mounted(str(target))
        assert (target / "keep").read_text() == "still here"
    finally:
        subprocess.run(["umount", str(target)], check=False)


def test_unmount_of_a_secretsfs_mount(sample):
    mount = sample.mount()
    result = sample.cli("unmount", mount.path, backend=[], check=False)
    assert result.returncode == 0, result.stderr
    assert wait_for(lambda: not is_mounted(mount.path), 10)


def test_unmount_of_a_mount_in_use_is_refused_in_one_line_and_keeps_serving(sample):
    """A process with its working folder in the mount keeps it busy: refused (EX_UNAVAILABLE) after
    the half second unmount gives a passing walk, still mounted and read; once it leaves, unmounted."""
    mount = sample.mount()
    holder = subprocess.Popen(["sleep", "60"], cwd=mount.p("openai"))
    try:
        started = time.monotonic()
        result = sample.cli("unmount", mount.path, backend=[], check=False)
        assert result.returncode == 69, result.stderr
        assert "is busy (a process is using it)" in one_line(result)
        assert time.monotonic() - started >= 0.4
        assert is_mounted(mount.path)
        assert len(mount.read("openai", "api_key")) > 0
    finally:
        holder.kill()
        holder.wait()
    result = sample.cli("unmount", mount.path, backend=[], check=False)
    assert result.returncode == 0, result.stderr
    assert wait_for(lambda: not is_mounted(mount.path), 10)


def test_a_mistyped_subcommand_is_refused_not_mounted(env, tmp_path):
    target = tmp_path / "dir"
    target.mkdir()
    result = env.cli("chek", str(target), backend=[], check=False)
    assert result.returncode == 64
    line = one_line(result)
    assert line.startswith("secretsfs: unknown subcommand") and "chek" not in line
    assert not is_mounted(str(target))
    assert "did you mean 'health'" in one_line(env.cli("heath", backend=[], check=False))


def test_a_non_empty_mountpoint_needs_nonempty(env, tmp_path):
    env.put("x", "nonempty-value-001")
    target = tmp_path / "full"
    target.mkdir()
    (target / "already-here").write_text("kept")
    result = env.cli("mount", str(target), check=False)
    assert result.returncode == 78
    line = one_line(result)
    assert "not empty" in line and "--nonempty" in line
    assert not is_mounted(str(target))
    for flag in (["--nonempty"], ["-o", "nonempty"]):
        mount = env.mount(*flag, start=False)
        (Path(mount.path) / "already-here").write_text("kept")
        mount.start()
        assert mount.read("x") == b"nonempty-value-001"
        mount.stop()
        assert wait_for(lambda: not is_mounted(mount.path), 10)
        assert (Path(mount.path) / "already-here").read_text() == "kept"


def test_version_is_printed_and_shown_in_status(sample):
    result = sample.cli("--version", backend=[], check=False)
    assert result.returncode == 0 and result.stderr == b""
    version = result.stdout.decode().strip()
    assert version and version[0].isdigit() and "\n" not in version
    assert sample.cli("get", "openai/api_key", "--version", "1").stdout == b"sk-first-0000000001"
    mount = sample.mount()
    assert status(mount)["version"] == version


def test_log_file_without_daemon_is_said(env, tmp_path):
    env.put("x", "log-file-value-001")
    mount = env.mount("--log-file", str(tmp_path / "never.log"))
    assert mount.read("x") == b"log-file-value-001"
    assert "--log-file is for --daemon" in mount.log_text()
    assert not (tmp_path / "never.log").exists()


def test_help_exits_zero(env):
    result = env.cli("--help", backend=[], check=False)
    assert result.returncode == 0 and b"mount" in result.stdout


def test_racing_first_writes_to_a_new_store_all_land(env, tmp_path):
    """Several CLIs creating the same new store file meet in SQLite's lock upgrade; none may fail."""
    import subprocess as sp
    for round_ in range(4):
        store = str(tmp_path / f"race-{round_}.db")
        procs = [sp.Popen([env_bin(), "put", f"k{i}", "--store", store], stdin=sp.PIPE, stdout=sp.DEVNULL, stderr=sp.PIPE)
                 for i in range(4)]
        for i, p in enumerate(procs):
            p.stdin.write(f"race-value-{i}".encode())
            p.stdin.close()
        results = [(p.wait(timeout=60), p.stderr.read()) for p in procs]
        assert all(code == 0 for code, _ in results), results
        listed = env.cli("ls", backend=["--store", store]).stdout.decode().split()
        assert listed == ["k0", "k1", "k2", "k3"]


def env_bin():
    from conftest import BIN
    return BIN


# MARK: `mount -o` in the direct form, and `--daemon` failing as the foreground does (issue 25 items 6, 7)


def unmount_quietly(env, mountpoint):
    env.cli("unmount", str(mountpoint), backend=[], check=False)
    if is_mounted(str(mountpoint)):
        subprocess.run(["fusermount3", "-uz", str(mountpoint)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.mark.parametrize("daemon", [False, True])
def test_mount_o_takes_our_options_in_the_direct_form(env, tmp_path, daemon):
    """`secretsfs mount MP -o store=…,cache_ttl=0,show-versions`: underscores or dashes, `key=value` or a bare
    flag, each becomes its flag; `ro` goes to the kernel mount."""
    env.put("app/key", "direct-o-first-0001")
    options = f"store={env.store},cache_ttl=0,show-versions,ro"
    if daemon:
        mountpoint = tmp_path / "mp"
        mountpoint.mkdir()
        try:
            result = env.cli("mount", str(mountpoint), "-o", options, "--daemon", backend=[], check=False)
            assert result.returncode == 0, result.stderr
            check_direct_o_mount(env, str(mountpoint))
        finally:
            unmount_quietly(env, mountpoint)
    else:
        mount = env.mount("-o", options, backend=[])
        check_direct_o_mount(env, mount.path)


def check_direct_o_mount(env, path):
    with open(os.path.join(path, ".status")) as f:
        assert json.load(f)["address"] == env.store
    with open(os.path.join(path, "app", "key"), "rb") as f:
        assert f.read() == b"direct-o-first-0001"
    # At the default TTL (5m) the first value would still be served.
    env.put("app/key", "direct-o-second-0002")
    with open(os.path.join(path, "app", "key"), "rb") as f:
        assert f.read() == b"direct-o-second-0002"
    assert ".versions" in os.listdir(os.path.join(path, "app"))
    mountinfo = Path("/proc/self/mountinfo").read_text().splitlines()
    line = next(line for line in mountinfo if line.split()[4] == os.path.realpath(path))
    assert "ro" in line.split()[5].split(",")


@pytest.mark.parametrize("daemon", [[], ["--daemon"]])
def test_a_mistyped_mount_option_is_named_never_its_value(env, tmp_path, daemon):
    mountpoint = tmp_path / "mp"
    mountpoint.mkdir()
    try:
        result = env.cli("mount", str(mountpoint), "-o", f"cahce_ttl=5m,store={env.store}", *daemon, backend=[],
                         check=False)
        assert result.returncode != 0
        line = one_line(result)
        assert "cahce_ttl" in line and "5m" not in line
        assert not is_mounted(str(mountpoint))
        # A value-taking option of ours given bare is named too.
        result = env.cli("mount", str(mountpoint), "-o", "cache_ttl", *daemon, check=False)
        assert result.returncode == 64 and "cache_ttl" in one_line(result)
    finally:
        unmount_quietly(env, mountpoint)


def broken_mounts(env, tmp_path):
    folder_store = tmp_path / "a-folder"
    folder_store.mkdir()
    on_change = tmp_path / "on-change.yaml"
    on_change.write_text('on_change:\n  - paths: ["a"]\n    nosuchkey: 1\n')
    return {
        # Said by the worker, which exits 78.
        "store is a folder": ["--store", str(folder_store)],
        # Said by the supervisor before it mounts (78 in the foreground; 69 with --daemon before).
        "on_change unknown key": ["--store", env.store, "--config", str(on_change)],
        # Said by libfuse on stderr, which a daemon has not got.
        "kernel refuses the mount": ["--store", env.store, "-o", "context=nosuch-context-value"],
    }


@pytest.mark.parametrize("case", ["store is a folder", "on_change unknown key", "kernel refuses the mount"])
def test_daemon_fails_with_the_foreground_status_and_line(env, tmp_path, case):
    backend = broken_mounts(env, tmp_path)[case]
    answers = []
    for daemon in ([], ["--daemon"]):
        mountpoint = tmp_path / f"mp{len(answers)}"
        mountpoint.mkdir()
        try:
            result = env.cli("mount", str(mountpoint), *daemon, "--log-format", "json", backend=backend, check=False)
        finally:
            unmount_quietly(env, mountpoint)
        # The foreground's log lines are JSON; its one plain line is the error.
        lines = [line for line in result.stderr.decode().splitlines() if not line.startswith("{")]
        assert len(lines) == 1, lines
        assert "nosuch-context-value" not in lines[0]
        answers.append((result.returncode, lines[0].replace(str(tmp_path / "mp1"), str(tmp_path / "mp0"))))
    assert answers[0][0] != 0
    assert answers[0] == answers[1]


def test_daemon_fails_with_the_foreground_status_for_a_wrong_vault_token(env, tmp_path):
    from peers import clean_environment, start_private_bao
    server = start_private_bao(str(tmp_path))
    backend = ["--backend", "vault", "--vault-addr", server.addr]
    environment = clean_environment(VAULT_TOKEN="wrong-token-" + "0" * 20)
    answers = []
    try:
        for daemon in ([], ["--daemon"]):
            mountpoint = tmp_path / f"mp{len(answers)}"
            mountpoint.mkdir()
            try:
                result = env.cli("mount", str(mountpoint), *daemon, "--log-format", "json", backend=backend,
                                 env=environment, check=False)
            finally:
                unmount_quietly(env, mountpoint)
            lines = [line for line in result.stderr.decode().splitlines() if not line.startswith("{")]
            assert len(lines) == 1, lines
            assert "wrong-token" not in result.stderr.decode()
            answers.append((result.returncode, lines[0].replace(str(tmp_path / "mp1"), str(tmp_path / "mp0"))))
    finally:
        server.stop()
    assert answers[0][0] == 77, answers
    assert answers[0] == answers[1]
