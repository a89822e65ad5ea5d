"""`secretsfs exec` (issue 14 §4): a program started with secrets in its environment, its exit
status passed through, signals forwarded, restarted or signalled when a secret changes; the values
never in secretsfs's own argv, environment or log."""

import os
import signal
import subprocess
import sys

from conftest import BIN, wait_for

CHILD = r"""
import os, signal, sys, time
out = sys.argv[1]
def note(text):
    with open(out, "a") as f:
        f.write(text + "\n")
signal.signal(signal.SIGHUP, lambda *_: note("hup"))
signal.signal(signal.SIGTERM, lambda *_: (note("term"), sys.exit(0)))
note(f"start {os.getpid()} {os.environ['API_KEY']} {os.environ['DB_PASSWORD']}")
while True:
    time.sleep(0.05)
"""


def start_exec(env, out, *extra):
    script = env.workdir / "child.py"
    script.write_text(CHILD)
    log = open(env.workdir / "exec.log", "wb")
    process = subprocess.Popen(
        [BIN, "exec", "--store", env.store, "--env", "API_KEY=openai/api_key", "--env", "DB_PASSWORD=db/password",
         "--poll", "200ms", *extra, "--", sys.executable, str(script), str(out)],
        stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    assert wait_for(lambda: out.exists() and "start" in out.read_text(), 30)
    return process


def lines(out):
    return out.read_text().splitlines()


def test_the_program_sees_its_secrets_and_secretsfs_shows_none(sample, tmp_path):
    out = tmp_path / "out"
    process = start_exec(sample, out)
    try:
        first = lines(out)[0].split()
        assert first[2:] == ["sk-current-00000003", "hunter2-password"]
        child = int(first[1])
        with open(f"/proc/{child}/environ", "rb") as f:
            assert b"API_KEY=sk-current-00000003" in f.read().split(b"\0")
        for name in ("cmdline", "environ"):
            with open(f"/proc/{process.pid}/{name}", "rb") as f:
                text = f.read()
            sample.assert_no_planted_values(text, f"secretsfs's /proc/PID/{name}")
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    assert lines(out)[-1] == "term", "SIGTERM reached the program, which ended with 0"
    sample.assert_no_planted_values((sample.workdir / "exec.log").read_bytes(), "the exec log")


def test_the_backends_credentials_are_not_passed_on(sample):
    token = "s.planted-vault-token-0001"
    sample.planted.append(token.encode())
    result = subprocess.run(
        [BIN, "exec", "--store", sample.store, "--env", "K=top", "--",
         "sh", "-c", 'test -z "${VAULT_TOKEN+set}${AWS_SECRET_ACCESS_KEY+set}" && test "$KEEP" = kept'],
        capture_output=True, timeout=60,
        env=dict(os.environ, VAULT_TOKEN=token, AWS_SECRET_ACCESS_KEY=token, KEEP="kept"))
    assert result.returncode == 0, result.stderr
    sample.assert_no_planted_values(result.stdout + result.stderr, "exec's output")


def test_the_exit_status_is_the_programs(sample):
    for code, command in ((7, ["sh", "-c", "exit 7"]), (0, ["true"]), (128 + 9, ["sh", "-c", "kill -9 $$"])):
        result = subprocess.run([BIN, "exec", "--store", sample.store, "--env", "K=top", "--", *command],
                                capture_output=True, timeout=60)
        assert result.returncode == code, (command, result.stderr)


def test_a_program_that_cannot_start_exits_as_a_shell_would(sample, tmp_path):
    script = tmp_path / "not-executable"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o644)
    for code, program in ((127, "/nonexistent/program"), (127, "no-such-program-here"), (126, str(script))):
        result = subprocess.run([BIN, "exec", "--store", sample.store, "--env", "K=top", "--", program],
                                capture_output=True, timeout=60)
        assert result.returncode == code, (program, result.stderr)
        lines = result.stderr.decode().strip().splitlines()
        assert len(lines) == 1 and "cannot start" in lines[0], lines


def test_a_rotation_restarts_the_program_with_the_new_value(sample, tmp_path):
    out = tmp_path / "out"
    process = start_exec(sample, out, "--on-change", "restart")
    try:
        old_pid = lines(out)[0].split()[1]
        sample.cli("rotate", "openai/api_key")
        new = sample.cli("get", "openai/api_key").stdout.decode()
        sample.planted.append(new.encode())
        assert wait_for(lambda: any(line.startswith("start") and new in line for line in lines(out)), 30)
        starts = [line.split() for line in lines(out) if line.startswith("start")]
        assert starts[-1][1] != old_pid and "term" in lines(out), lines(out)
        assert process.poll() is None
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    sample.assert_no_planted_values((sample.workdir / "exec.log").read_bytes(), "the exec log")


def test_a_change_can_signal_instead(sample, tmp_path):
    out = tmp_path / "out"
    process = start_exec(sample, out, "--on-change", "signal:HUP")
    try:
        sample.cli("rotate", "db/password")
        assert wait_for(lambda: "hup" in lines(out), 30)
        assert len([line for line in lines(out) if line.startswith("start")]) == 1
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def test_bad_input_is_one_clear_line(sample):
    for args, words in ((["--env", "1X=top"], "not an environment variable name"),
                        (["--env", "top"], "expected NAME=secret/path"),
                        (["--env", "K=top", "--on-change", "signal:NOPE"], "not one of HUP"),
                        (["--env", "K=top", "--on-change", "sometimes"], "expected restart, signal:NAME or none")):
        result = subprocess.run([BIN, "exec", "--store", sample.store, *args, "--", "true"],
                                capture_output=True, timeout=60)
        assert result.returncode == 64 and words in result.stderr.decode(), (args, result.stderr)
    missing = subprocess.run([BIN, "exec", "--store", sample.store, "--env", "K=no/such", "--", "true"],
                             capture_output=True, timeout=60)
    assert missing.returncode != 0 and b"no/such" in missing.stderr
