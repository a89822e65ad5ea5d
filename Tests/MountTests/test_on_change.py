"""`on_change` actions of the config, on real mounts of the built binary: an exec action after a
rotation through `.rotate` and after a change made at the store while nobody reads the file (the cache
keeps watched secrets fresh, fetching each once a TTL, counted at the server), debounce (10 rotations in 1 s make one run), a `signal`
action reaching a program through its pid file, nginx serving TLS from the mount reloaded by an exec
action after a certificate is replaced at the store and then serving the new certificate. Bad input: an
unknown key refuses the mount with one line, a missing pid file and a hanging program are each one log
line and a failure in `.status` while the mount keeps serving. No planted value reaches a log (the `env`
fixture greps every mount's log at teardown)."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import BIN, ROOT, status, wait_for, write_control


def config_file(env, text):
    path = env.workdir / f"on-change-{len(env.mounts)}.yaml"
    path.write_text(text)
    return str(path)


def log_records(mount):
    records = []
    for line in mount.log_text().splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue
    return records


def messages(mount, text):
    return [r for r in log_records(mount) if text in r.get("message", "")]


def lines(path):
    return path.read_text().splitlines() if path.exists() else []


def recorder(env, mountpoint):
    """An exec action that copies what the mount shows of app/token, keeps its environment and notes the
    paths it was told of."""
    runs = env.workdir / "runs.txt"
    seen = env.workdir / "seen.txt"
    script = (f'cat "{mountpoint}/app/token" > "{seen}"; env > "{env.workdir}/environment.txt"; '
              f'echo "$SECRETSFS_CHANGED_PATHS" >> "{runs}"')
    return runs, seen, json.dumps(["sh", "-c", script])


def test_an_exec_action_runs_once_after_a_rotation_and_after_an_outside_change(env):
    env.put("app/token", "first-token-value-0001")
    env.put("other/thing", "unwatched-value-00001")
    mountpoint = env.workdir / "m0" / "mnt"
    runs, seen, argv = recorder(env, mountpoint)
    config = config_file(env, f"""\
on_change:
  - paths: ["app/*"]
    exec: {argv}
    debounce: 500ms
""")
    # The backend's credentials stay with secretsfs: the local store ignores this one, the action must not get it.
    token = "planted-vault-token-value-0001"
    env.planted.append(token.encode())
    m = env.mount("--cache-ttl", "1s", "--config", config, env={**os.environ, "VAULT_TOKEN": token})
    assert m.path == str(mountpoint)
    write_control(m.p("app/.rotate"), b"token\n")
    assert wait_for(lambda: len(lines(runs)) >= 1, 20), m.log_text()
    rotated = m.read("app/token")
    env.planted.append(rotated)
    # The action read the new value through the mount: it runs after the kernel let the old one go.
    assert seen.read_bytes() == rotated
    environment = (env.workdir / "environment.txt").read_text()
    assert "SECRETSFS_CHANGED_PATHS=app/token" in environment and "PATH=" in environment
    names = {line.partition("=")[0] for line in environment.splitlines()}
    assert "VAULT_TOKEN" not in names and token not in environment
    # A change of a secret no action watches runs nothing.
    write_control(m.p("other/.rotate"), b"thing\n")
    time.sleep(3)
    assert lines(runs) == ["app/token"]

    # Changed at the store, nobody reading the file: the runner's own reads find it after the TTL.
    env.put("app/token", "outside-token-value-02")
    assert wait_for(lambda: len(lines(runs)) >= 2, 30), m.log_text()
    time.sleep(3)
    assert lines(runs) == ["app/token", "app/token"]
    assert seen.read_bytes() == b"outside-token-value-02"
    figures = status(m)["actions"]
    assert figures[0]["runs"] == 2 and figures[0]["failures"] == 0 and figures[0]["last_exit_status"] == 0
    assert figures[0]["kind"] == "exec" and "last_run" in figures[0]
    metrics = m.read(".metrics").decode()
    assert 'secretsfs_action_runs_total{action="1",kind="exec"} 2' in metrics
    assert 'secretsfs_action_failures_total{action="1",kind="exec"} 0' in metrics


def test_ten_rotations_within_a_second_make_one_run(env):
    env.put("app/token", "first-token-value-0001")
    mountpoint = env.workdir / "m0" / "mnt"
    runs, _, argv = recorder(env, mountpoint)
    config = config_file(env, f"""\
on_change:
  - paths: ["app/**"]
    exec: {argv}
    debounce: 2s
""")
    m = env.mount("--config", config)
    started = time.monotonic()
    times = []
    for _ in range(10):
        write_control(m.p("app/.rotate"), b"token\n")
        times.append(time.monotonic())
    # What one run needs is no gap of 2 s between them (a loaded machine may take more than 1 s in all).
    gaps = [later - earlier for earlier, later in zip([started] + times, times)]
    assert max(gaps) < 1.5, f"a rotation took {max(gaps):.1f} s: the test means nothing"
    assert wait_for(lambda: len(lines(runs)) >= 1, 20), m.log_text()
    time.sleep(5)
    assert lines(runs) == ["app/token"]
    assert status(m)["actions"][0]["runs"] == 1


SIGNAL_RECORDER = """\
import os, signal, sys, time
out = sys.argv[2]
def record(number, frame):
    with open(out, "a") as f:
        f.write(signal.Signals(number).name + "\\n")
signal.signal(signal.SIGUSR1, record)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(f"{os.getpid()}\\n")
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    time.sleep(1)
"""


def test_a_signal_action_reaches_the_program_of_its_pid_file(env):
    env.put("db", "alice-the-user", field="username")
    env.put("db", "hunter2-password", field="password")
    pid_file = env.workdir / "app.pid"
    received = env.workdir / "signals.txt"
    program = subprocess.Popen([sys.executable, "-c", SIGNAL_RECORDER, str(pid_file), str(received)])
    try:
        assert wait_for(pid_file.exists, 20)
        config = config_file(env, f"""\
on_change:
  - paths: ["db/password"]
    signal: USR1
    pid_file: {pid_file}
    debounce: 200ms
""")
        m = env.mount("--config", config)
        # A field the action does not name changes nothing.
        write_control(m.p("db/.rotate"), b"username\n")
        time.sleep(2)
        assert lines(received) == []
        write_control(m.p("db/.rotate"), b"password\n")
        assert wait_for(lambda: lines(received) == ["SIGUSR1"], 20), m.log_text()
        figures = status(m)["actions"][0]
        assert figures["kind"] == "signal" and figures["runs"] == 1 and figures["failures"] == 0
        assert program.poll() is None
    finally:
        program.kill()
        program.wait()


def make_pair(work, name):
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-keyout", f"{name}.key", "-out", f"{name}.pem", "-subj", f"/CN=app.test {name}", "-days", "2",
         "-addext", "subjectAltName=DNS:app.test"],
        cwd=work, check=True, capture_output=True)
    return (work / f"{name}.pem").read_bytes(), (work / f"{name}.key").read_bytes()


def fingerprint(pem):
    return subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256"], input=pem,
                          capture_output=True, check=True).stdout.strip()


def served_fingerprint(port):
    hello = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "app.test"],
        stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    if b"BEGIN CERTIFICATE" not in hello.stdout:
        return None
    return fingerprint(hello.stdout)


def nginx_binary():
    nginx = os.environ.get("SECRETSFS_TEST_NGINX")
    if nginx:
        return nginx
    fetched = ROOT / ".build" / "nginx" / "usr" / "sbin" / "nginx"
    return str(fetched) if fetched.exists() else None


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_nginx_reloads_by_an_exec_action_and_serves_the_new_certificate(env):
    from peers import free_port, nginx_tls_server
    nginx = nginx_binary()
    if not nginx:
        pytest.skip("SECRETSFS_TEST_NGINX is not set: scripts/test fetches Debian's nginx")
    work = env.workdir / "tls"
    work.mkdir()
    old_cert, old_key = make_pair(work, "old")
    new_cert, new_key = make_pair(work, "new")
    env.planted += [old_key, new_key]
    env.cli("put", "tls/cert", input=old_cert)
    env.cli("put", "tls/key", input=old_key)
    mountpoint = env.workdir / "m0" / "mnt"
    port = free_port()
    args = nginx_tls_server(work, port, f"{mountpoint}/tls/cert", f"{mountpoint}/tls/key", "app.test", master=True)
    reload = json.dumps([nginx, *args, "-s", "reload"])
    config = config_file(env, f"""\
on_change:
  - paths: ["tls/*"]
    exec: {reload}
    debounce: 2s
    timeout: 20s
""")
    m = env.mount("--cache-ttl", "1s", "--config", config)
    server = subprocess.Popen([nginx, *args],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert wait_for(lambda: served_fingerprint(port) is not None, 30, every=0.3), "nginx did not answer"
        assert served_fingerprint(port) == fingerprint(old_cert)
        # Replaced at the store, as a certificate manager would: nobody reads the files meanwhile.
        env.cli("put", "tls/key", input=new_key)
        env.cli("put", "tls/cert", input=new_cert)
        assert wait_for(lambda: served_fingerprint(port) == fingerprint(new_cert), 60, every=0.5), m.log_text()
        assert server.poll() is None
        ran = messages(m, "on_change action done")
        assert ran and all(r.get("metadata", r).get("exit_status", "0") == "0" for r in ran), ran
    finally:
        server.terminate()
        errors = server.communicate(timeout=20)[1]
    env.assert_no_planted_values(errors, "nginx's log")


def test_an_unknown_action_key_refuses_the_mount_with_one_line(env):
    env.put("a", "some-value-000001")
    config = config_file(env, """\
on_change:
  - paths: ["a"]
    exec: ["true"]
    comand: ["typo"]
""")
    mountpoint = env.workdir / "never"
    mountpoint.mkdir()
    result = subprocess.run([BIN, "mount", str(mountpoint), "--config", config, "--store", env.store],
                            capture_output=True, timeout=60)
    assert result.returncode != 0
    errors = result.stderr.decode().strip().splitlines()
    assert len(errors) == 1, errors
    assert f"config file {config}, line 2" in errors[0] and "on_change action 1" in errors[0], errors
    assert "unknown key 'comand'" in errors[0], errors


def test_a_missing_pid_file_is_one_log_line_and_a_counted_failure(env):
    env.put("app/token", "first-token-value-0001")
    missing = env.workdir / "nobody.pid"
    config = config_file(env, f"""\
on_change:
  - paths: ["app/token"]
    signal: HUP
    pid_file: {missing}
    debounce: 100ms
""")
    m = env.mount("--config", config)
    write_control(m.p("app/.rotate"), b"token\n")
    assert wait_for(lambda: messages(m, "cannot read its pid file"), 20), m.log_text()
    assert len(messages(m, "cannot read its pid file")) == 1
    figures = status(m)["actions"][0]
    assert figures["runs"] == 1 and figures["failures"] == 1 and figures["last_failure"] == "pid_file"
    # The mount serves on, and the next change is tried again.
    assert len(m.read("app/token")) == 32
    missing.write_text("not a pid\n")
    write_control(m.p("app/.rotate"), b"token\n")
    assert wait_for(lambda: messages(m, "does not hold a process id"), 20), m.log_text()
    assert status(m)["actions"][0]["failures"] == 2


def test_an_exec_that_hangs_is_stopped_at_its_timeout(env):
    env.put("app/token", "first-token-value-0001")
    pid_file = env.workdir / "hang.pid"
    argv = json.dumps(["sh", "-c", f'echo $$ > "{pid_file}"; echo hanging now; exec sleep 600'])
    config = config_file(env, f"""\
on_change:
  - paths: ["app/token"]
    exec: {argv}
    debounce: 100ms
    timeout: 1s
""")
    m = env.mount("--config", config)
    write_control(m.p("app/.rotate"), b"token\n")
    assert wait_for(lambda: messages(m, "on_change action timed out"), 30), m.log_text()
    assert wait_for(lambda: status(m)["actions"][0]["failures"] == 1, 20), status(m)
    figures = status(m)["actions"][0]
    assert figures["last_failure"] == "timeout" and figures["last_exit_status"] == 128 + signal.SIGTERM
    pid = int(pid_file.read_text())
    assert wait_for(lambda: not Path(f"/proc/{pid}").exists(), 10), "the hanging program was not stopped"
    # Its output went to the log with the action's number.
    output = messages(m, "on_change action output")
    assert any("hanging now" in json.dumps(r) for r in output), output
    assert len(m.read("app/token")) == 32


def test_a_watched_rendered_file_runs_its_action_when_an_input_changes_at_the_store(env):
    """The action names the rendered file, not its inputs: the cache keeps the inputs fresh."""
    env.put("db/password", "first-password-value-01")
    out = env.workdir / "rendered-runs.txt"
    copy = env.workdir / "rendered-copy.txt"
    mountpoint = env.workdir / "m0" / "mnt"
    script = f'cat "{mountpoint}/app/db.conf" > "{copy}"; echo "$SECRETSFS_CHANGED_PATHS" >> "{out}"'
    config = config_file(env, f"""\
files:
  - path: app/db.conf
    template: 'password={{{{ "db/password"|secret }}}}'
on_change:
  - paths: ["app/db.conf"]
    exec: {json.dumps(["sh", "-c", script])}
    debounce: 300ms
""")
    m = env.mount("--cache-ttl", "1s", "--config", config)
    assert m.read("app/db.conf") == b"password=first-password-value-01"
    time.sleep(2.5)
    assert lines(out) == [], "nothing changed yet"
    env.put("db/password", "second-password-value-2")
    assert wait_for(lambda: "app/db.conf" in lines(out), 30), m.log_text()
    assert copy.read_bytes() == b"password=second-password-value-2"


def test_a_watched_secret_nobody_reads_is_read_by_the_cache_alone_once_a_ttl(env, server):
    """The watch subscribes: the cache fetches the watched value again as it expires, and the runner
    reads nothing itself (before, it read every watched path once a TTL through the cache). Counted at
    the server: one GET of the secret a TTL, not two."""
    from mounts import mount_vault, put_vault_secret
    put_vault_secret(env, server, "app/token", "watched-token-value-0001")
    runs = env.workdir / "watched-runs.txt"
    config = config_file(env, f"""\
on_change:
  - paths: ["app/token"]
    exec: {json.dumps(["sh", "-c", f'echo "$SECRETSFS_CHANGED_PATHS" >> "{runs}"'])}
    debounce: 100ms
""")
    m = mount_vault(env, server.vault, "--cache-ttl", "2s", "--refresh-jitter", "0", "--config", config)
    data = "secret/data/app/token"
    # The first round (one TTL after the start) reads the value nobody has read.
    assert wait_for(lambda: server.requests(data) >= 1, 20), m.log_text()
    start = server.requests(data)
    began = time.monotonic()
    time.sleep(10)
    reads = server.requests(data) - start
    ttls = (time.monotonic() - began) / 2
    # One fetch a TTL (5 here), by the cache's refresh at each expiry; a reader of its own would double it.
    assert ttls - 2 <= reads <= ttls + 1, (reads, ttls)
    assert lines(runs) == [], "nothing changed yet"
    put_vault_secret(env, server, "app/token", "watched-token-value-0002")
    assert wait_for(lambda: "app/token" in lines(runs), 20), m.log_text()
