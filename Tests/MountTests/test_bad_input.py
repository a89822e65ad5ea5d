"""Bad input to the CLI (issue 11, items 13-17): each mistake is refused with one line on stderr and
the exit code of its kind, and no line ever quotes a value a user may have pasted by mistake."""

import os
import subprocess
import time

from conftest import BIN, force_unmount, is_mounted


def one_line(result):
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def run_briefly(args, timeout=30, env=None):
    """Runs the binary; a command that should have been refused but runs on is killed, and its
    exit code is then None."""
    process = subprocess.Popen([BIN, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               stdin=subprocess.DEVNULL, env=env)
    try:
        out, err = process.communicate(timeout=timeout)
        return subprocess.CompletedProcess(args, process.returncode, out, err)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        return subprocess.CompletedProcess(args, None, out, err)


# MARK: item 13, rotate --length


def test_rotate_length_zero_is_refused_and_writes_nothing(env):
    env.put("r", "value-before-rotation")
    result = env.cli("rotate", "r", "--length", "0", check=False)
    assert result.returncode == 64
    line = one_line(result)
    assert "--length" in line and "8" in line and "4096" in line
    assert env.cli("get", "r").stdout == b"value-before-rotation"
    assert env.cli("versions", "r").stdout.decode().count("\n") == 1


def test_rotate_length_huge_is_refused_at_once(env):
    env.put("r", "value-before-rotation")
    started = time.monotonic()
    result = run_briefly(["rotate", "r", "--length", "99999999", "--store", env.store], timeout=30)
    # Refusing is parsing only; the generous bound is for a loaded CI machine.
    assert time.monotonic() - started < 20
    assert result.returncode == 64, result.stderr
    assert "--length" in one_line(result)
    assert env.cli("get", "r").stdout == b"value-before-rotation"


def test_rotate_length_bounds_are_the_mounts(env):
    env.put("r", "value-before-rotation")
    for length in ("8", "4096"):
        env.cli("rotate", "r", "--length", length)
        assert len(env.cli("get", "r").stdout) == int(length)
    for length in ("7", "4097", "-1"):
        assert env.cli("rotate", "r", "--length", length, check=False).returncode == 64
    # The mount has said 8-4096 all along; both now say it the same way.
    mount = env.cli("mount", str(env.workdir), "--rotation-length", "7", check=False)
    assert mount.returncode == 64 and "8" in one_line(mount) and "4096" in one_line(mount)


# MARK: item 14, --backend-timeout 0


def test_backend_timeout_zero_is_refused_by_mount(env, tmp_path):
    target = tmp_path / "mp"
    target.mkdir()
    try:
        result = run_briefly(["mount", str(target), "--backend-timeout", "0", "--store", env.store], timeout=20)
        assert result.returncode == 64, (result.returncode, result.stderr)
        assert "--backend-timeout" in one_line(result)
        assert not is_mounted(str(target))
    finally:
        # A mount that was taken (the defect) is killed by run_briefly and left dead: clear it.
        if is_mounted(str(target)):
            force_unmount(str(target))


def test_backend_timeout_zero_is_refused_by_every_subcommand(env):
    env.put("x", "value-for-timeout")
    for args in (["get", "x"], ["ls"], ["health"], ["rotate", "x"]):
        result = env.cli(*args, "--backend-timeout", "0s", check=False)
        assert result.returncode == 64, (args, result.stderr)
        assert "--backend-timeout" in one_line(result)
    assert env.cli("get", "x", "--backend-timeout", "1s").stdout == b"value-for-timeout"


# MARK: item 15, bad values in the config file


PASTED = "sekrit-pasted-by-mistake-4242"


def config(tmp_path, text):
    path = tmp_path / "secretsfs.yaml"
    path.write_text(text)
    return str(path)


def test_bad_config_value_names_file_line_and_key_never_the_value(env, tmp_path):
    path = config(tmp_path, f"log-level: error\ncache-ttl: {PASTED}\nnegative-ttl: 5s\n")
    target = tmp_path / "mp"
    target.mkdir()
    result = run_briefly(["mount", str(target), "--config", path, "--store", env.store], timeout=20)
    assert result.returncode == 78, result.stderr
    line = one_line(result)
    assert path in line and "line 2" in line and "cache-ttl" in line, line
    assert PASTED not in result.stderr.decode() and "sekrit" not in result.stderr.decode()


def test_bad_config_values_of_every_kind_are_never_echoed(env, tmp_path):
    cases = [
        # (file text, the subcommand, the key, the line)
        (f"backend-timeout: {PASTED}\n", ["get", "x"], "backend-timeout", 1),
        (f"# a comment\n\nbackend: {PASTED}\n", ["get", "x"], "backend", 3),
        (f"json-fields: {PASTED}\n", ["ls"], "json-fields", 1),
        (f"log-level: {PASTED}\n", ["ls"], "log-level", 1),
        (f"uid: {PASTED}\n", ["mount", str(tmp_path)], "uid", 1),
        (f"file-mode: {PASTED}\n", ["mount", str(tmp_path)], "file-mode", 1),
        (f"cache-max-entries: {PASTED}\n", ["mount", str(tmp_path)], "cache-max-entries", 1),
        (f"allow-other: {PASTED}\n", ["mount", str(tmp_path)], "allow-other", 1),
        (f"env-include:\n  - A_*\n  - [{PASTED}]\n", ["ls"], "env-include", 3),
        # A value of the right type that a check refuses names its place too.
        ("cache-max-entries: 0\n", ["mount", str(tmp_path)], "cache-max-entries", 1),
        ("backend-timeout: 0\n", ["get", "x"], "backend-timeout", 1),
    ]
    for text, args, key, line_number in cases:
        path = config(tmp_path, text)
        result = run_briefly([*args, "--config", path, "--store", env.store], timeout=20)
        assert result.returncode == 78, (text, result.returncode, result.stderr)
        line = one_line(result)
        assert path in line and f"line {line_number}" in line and f"'{key}'" in line, (text, line)
        assert "sekrit" not in result.stderr.decode(), (text, line)


def test_good_config_still_works_and_flags_win(env, tmp_path):
    env.put("x", "config-good-value")
    path = config(tmp_path, "backend-timeout: 3s\nlog-level: error\n")
    assert env.cli("get", "x", "--config", path).stdout == b"config-good-value"
    # A bad value the command line overrides is never looked at, as before.
    path = config(tmp_path, f"backend-timeout: {PASTED}\n")
    assert env.cli("get", "x", "--config", path, "--backend-timeout", "2s").stdout == b"config-good-value"


# MARK: item 17, small ones


def test_name_longer_than_255_bytes_is_enametoolong_without_echo(env):
    long_name = "n" * 256
    for args in (["get", long_name], ["get", f"folder/{long_name}"], ["versions", long_name], ["rotate", long_name],
                 ["ls", long_name]):
        result = env.cli(*args, check=False)
        assert result.returncode == 64, (args[0], result.stderr)
        line = one_line(result)
        assert "name longer than 255 bytes" in line, line
        assert "n" * 40 not in line
    result = env.cli("put", long_name, input=b"value-not-written", check=False)
    assert result.returncode == 64 and "name longer than 255 bytes" in one_line(result)
    # 255 bytes is a name like any other.
    env.put("m" * 255, "value-of-long-name")
    assert env.cli("get", "m" * 255).stdout == b"value-of-long-name"


def test_other_bad_paths_say_the_rule_not_the_path(env):
    result = env.cli("get", "a/.hidden-pasted-thing", check=False)
    assert result.returncode == 64
    line = one_line(result)
    assert "reserved" in line and "hidden-pasted-thing" not in line


def test_help_prints_durations_as_typed(env):
    text = env.cli("help", "mount", backend=[]).stdout.decode()
    assert "DurationArgument" not in text
    assert "(default: 300s)" in text and "(default: 24h)" in text
    # --negative-ttl is folded into --help-hidden with the other tuning flags.
    hidden = env.cli("mount", "--help-hidden", backend=[]).stdout.decode()
    assert "DurationArgument" not in hidden and "(default: 10s)" in hidden


# MARK: item 16, owners and modes the kernel will not let in


def warnings_about_others(mount):
    import json
    lines = [json.loads(line) for line in mount.log_text().splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("level") == "warning" and "allow-other" in line.get("message", "")]


def test_uid_of_another_user_without_allow_other_warns_once(env):
    env.put("x", "value-for-uid-test")
    other = 65534 if os.getuid() != 65534 else 65533
    m = env.mount("--uid", str(other))
    assert m.read("x") == b"value-for-uid-test"  # the mounting user still gets in
    found = warnings_about_others(m)
    assert len(found) == 1, found
    assert str(other) in found[0]["message"]


def test_mode_for_others_without_allow_other_warns_once(env):
    env.put("x", "value-for-mode-test")
    m = env.mount("--file-mode", "0444", "--dir-mode", "0555")
    found = warnings_about_others(m)
    assert len(found) == 1, found


def test_no_warning_when_others_can_get_in_or_nobody_else_is_meant(env):
    env.put("x", "value-for-no-warning")
    for args in (["--uid", "65534", "--allow-other"], ["--file-mode", "0444", "-o", "allow_other"],
                 ["--uid", str(os.getuid())], []):
        m = env.mount(*args)
        assert m.read("x") == b"value-for-no-warning"
        assert warnings_about_others(m) == [], args
        m.stop()


# MARK: item 17, the README's git credential helper


def test_readme_git_credential_helper_reads_the_mount_and_store_cannot_write(env, tmp_path):
    from conftest import ROOT
    readme = (ROOT / "README.md").read_text()
    helper = next(line for line in readme.splitlines() if line.startswith("git config --global credential.helper"))
    assert "cat /run/secrets/git/credential" in helper
    env.put("git/credential", "username=ci-bot\npassword=planted-git-token-7788\n")
    m = env.mount()
    gitconfig = tmp_path / "gitconfig"
    command = helper.replace("/run/secrets", m.path).replace("--global", f"--file {gitconfig}")
    assert subprocess.run(command, shell=True).returncode == 0
    environment = {**os.environ, "GIT_CONFIG_GLOBAL": str(gitconfig), "GIT_CONFIG_NOSYSTEM": "1",
                   "GIT_TERMINAL_PROMPT": "0", "HOME": str(tmp_path)}
    ask = b"protocol=https\nhost=git.example.com\n\n"
    filled = subprocess.run(["git", "credential", "fill"], input=ask, capture_output=True, env=environment)
    assert filled.returncode == 0, filled.stderr
    assert b"username=ci-bot\n" in filled.stdout and b"password=planted-git-token-7788\n" in filled.stdout
    # After a login git hands the credential back to every helper to store; this one ignores that.
    approved = subprocess.run(["git", "credential", "approve"], input=filled.stdout, capture_output=True,
                              env=environment)
    assert approved.returncode == 0 and approved.stderr == b"", approved.stderr
    # What the README warns about: the `store` helper tries to rewrite the file on the mount.
    store = f"store --file={m.p('git', 'credential')}"
    stored = subprocess.run(["git", "-c", "credential.helper=", "-c", f"credential.helper={store}", "credential",
                             "approve"], input=filled.stdout, capture_output=True, env=environment)
    assert b"Read-only file system" in stored.stderr or b"lock" in stored.stderr, stored.stderr
    env.assert_no_planted_values(stored.stderr + approved.stderr, "git's stderr")
