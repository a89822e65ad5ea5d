"""Each subcommand's `--help` fits a screen (issue 25 item 13): the backends' flags are under
headings in `secretsfs help backends` (and `--help-hidden`), not in every subcommand's help; no
default is printed twice; `help nosuch` is an error (item 10). Completions keep every flag."""

import re
import subprocess

import pytest

from conftest import BIN

SCREEN = 40
BACKEND_FLAGS = ["--store", "--env-prefix", "--vault-addr", "--vault-prefix", "--aws-region", "--ssm-prefix"]
HEADINGS = ["LOCAL STORE:", "ENVIRONMENT VARIABLES:", "VAULT AND OPENBAO:", "AWS SECRETS MANAGER AND SSM PARAMETER STORE:"]


def run(*args):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("command", [
    ["get"], ["put"], ["exec"], ["render"], ["store", "encrypt"], ["ls"], ["versions"], ["rotate"], ["health"],
    ["check"], ["unmount"], ["status"], ["reload"], ["mount"],
])
def test_a_subcommands_help_fits_a_screen_and_points_at_the_backends_page(command):
    result = run(*command, "--help")
    assert result.returncode == 0, result.stderr
    shown = result.stdout.rstrip("\n").splitlines()
    print(f"{' '.join(command)} --help: {len(shown)} lines")
    assert len(shown) <= SCREEN, f"{' '.join(command)} --help is {len(shown)} lines"
    for flag in BACKEND_FLAGS:
        assert not re.search(re.escape(flag) + r"(?![\w-])", result.stdout), flag
    if "--backend" in result.stdout:
        assert "secretsfs help backends" in result.stdout


@pytest.mark.parametrize("command", [["get"], ["put"], ["mount"], ["store", "encrypt"], ["backends"]])
def test_no_default_is_printed_twice(command):
    text = run("help", *command).stdout + run(*command, "--help-hidden").stdout
    # An option's help may wrap; join each option's lines before counting.
    for entry in re.split(r"\n  (?=-)", text):
        assert len(re.findall(r"\bdefault\b", entry)) <= 1, entry


MOUNT_TUNING = ["--refresh-jitter", "--negative-ttl", "--cache-max-entries", "--cache-file", "--direct-io",
                "--busy-poll", "--worker-timeout", "--rotation-length", "--mlock", "--nonempty", "--backend-timeout"]


def test_mount_help_folds_its_tuning_flags_and_says_where_they_are():
    shown = run("mount", "--help").stdout
    for flag in MOUNT_TUNING:
        assert not re.search(re.escape(flag) + r"(?![\w-])", shown.split("OPTIONS:")[1]), flag
    assert "secretsfs mount --help-hidden" in shown
    hidden = run("mount", "--help-hidden").stdout
    for flag in MOUNT_TUNING:
        assert flag in hidden, flag
    # Folded is not gone: each still parses (a bad value is refused by name) and completes.
    bad = run("mount", "/nonexistent-mp", "--busy-poll", "99999")
    assert bad.returncode == 64 and "--busy-poll" in bad.stderr
    bash = run("--generate-completion-script", "bash").stdout
    for flag in MOUNT_TUNING:
        assert flag in bash, flag


def test_help_backends_shows_every_backend_flag_under_its_heading():
    result = run("help", "backends")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    for heading in HEADINGS:
        assert heading in text, heading
    positions = [text.index(heading) for heading in HEADINGS]
    assert positions == sorted(positions)
    vault = text[text.index(HEADINGS[2]):text.index(HEADINGS[3])]
    assert "--vault-addr" in vault and "--vault-prefix" in vault and "--aws-region" not in vault
    for flag in BACKEND_FLAGS:
        assert flag in text, flag
    # --help-hidden of a subcommand shows them too, under the same headings.
    hidden = run("get", "--help-hidden").stdout
    assert all(heading in hidden for heading in HEADINGS)


def test_the_backend_flags_still_parse_and_complete(tmp_path):
    store = tmp_path / "s.db"
    put = subprocess.run([BIN, "put", "a", "--store", str(store)], input=b"help-value-0001", capture_output=True)
    assert put.returncode == 0, put.stderr
    assert run("get", "a", "--store", str(store)).stdout == "help-value-0001"
    bash = run("--generate-completion-script", "bash").stdout
    for flag in BACKEND_FLAGS:
        assert flag in bash, flag


def test_help_of_an_unknown_subcommand_is_an_error():
    result = run("help", "nosuch")
    assert result.returncode == 64
    assert result.stdout == "" and len(result.stderr.strip().splitlines()) == 1
    assert "unknown subcommand" in result.stderr
