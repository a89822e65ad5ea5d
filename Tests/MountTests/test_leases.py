"""Dynamic credentials (`leases:`, DESIGN §11, issue 30) against a real OpenBao database secrets engine
and a real PostgreSQL: the folder shows the user and password Vault made, psql logs in with them, the
lease is renewed at 2/3 of its time and replaced before the role's max TTL ends (logins every 0.5 s see
no failure), a worker SIGKILL and a reload keep the lease, unmount revokes it (the user leaves
pg_roles), Vault unreachable serves the credential until its lease ends and then EIO, and a role that
does not exist is one line while the rest serves. OpenBao's audit log counts what the mount asked.
The lease id is never in a file, a log line or `.status`."""

import json
import os
import signal
import subprocess
import time

import pytest

from conftest import BIN, is_mounted, wait_for
from db_engine import Engine, Postgres
from fake_systemd import FakeSystemd
from peers import clean_environment, errno_of, start_audited_bao, unique
from mounts import Inotifywait, mount_vault


@pytest.fixture(scope="module")
def postgres():
    server = Postgres()
    yield server
    server.stop()


def lease_config(env, text):
    path = env.workdir / f"{unique('leases-')}.yaml"
    path.write_text(text)
    return str(path)


def credential(m):
    return m.read("db", "app", "username").decode(), m.read("db", "app", "password").decode()


def lease_status(m, path="db/app"):
    # `.status` is made once a second per reading process.
    time.sleep(1.1)
    return next(lease for lease in json.loads(m.read(".status"))["leases"] if lease["path"] == path)


def assert_no_lease_id(env, m, engine):
    """The lease ids Vault made for this engine appear nowhere the mount writes or shows."""
    listed = engine.vault.request("LIST", f"sys/leases/lookup/{engine.mount}/creds/app", expect=None)[1]
    ids = [f"{engine.mount}/creds/app/{key}" for key in ((listed or {}).get("data") or {}).get("keys", [])]
    assert ids, "Vault lists no lease to look for"
    shown = m.read(".status").decode() + m.log_text()
    for lease_id in ids:
        assert lease_id not in shown and lease_id.rsplit("/", 1)[1] not in shown
    return ids


# MARK: 1. database credentials


def test_credentials_log_in_and_unmount_revokes(env, audited_bao, postgres):
    engine = Engine(audited_bao, postgres)
    config = lease_config(env, f"""\
leases:
  - path: db/app
    read: {engine.mount}/creds/app
    mode: 0440
""")
    started = time.monotonic()
    m = mount_vault(env, audited_bao.vault, "--config", config)
    # Made on first use: nothing asked yet.
    assert engine.creds_reads() == 0
    assert sorted(name for name in os.listdir(m.p("db", "app")) if not name.startswith(".")) == ["password", "username"]
    username, password = credential(m)
    env.planted.append(password.encode())
    assert username.startswith(engine.prefix)
    assert postgres.login(username, password)
    print(f"mount to first login: {time.monotonic() - started:.2f}s")
    assert os.stat(m.p("db", "app", "password")).st_mode & 0o777 == 0o440
    # One credential however often it is read.
    for _ in range(5):
        assert credential(m) == (username, password)
    assert engine.creds_reads() == 1
    assert postgres.users_like(engine.prefix) == [username]
    lease = lease_status(m)
    assert lease["made"] == 1 and lease["renewals"] == 0 and 3000 < lease["expires_in_seconds"] <= 3600
    assert_no_lease_id(env, m, engine)
    assert m.stop() == 0
    assert engine.requests("sys/leases/revoke") >= 1
    assert wait_for(lambda: postgres.users_like(engine.prefix) == [], 30)
    assert not postgres.login(username, password)


def test_revoke_false_keeps_the_user_and_prefetch_makes_it_at_mount(env, audited_bao, postgres):
    engine = Engine(audited_bao, postgres)
    config = lease_config(env, f"""\
leases:
  - path: db/app
    read: {engine.mount}/creds/app
    prefetch: true
    revoke: false
""")
    m = mount_vault(env, audited_bao.vault, "--config", config)
    assert wait_for(lambda: engine.creds_reads() == 1, 20)
    assert wait_for(lambda: len(postgres.users_like(engine.prefix)) == 1, 20)
    username, password = credential(m)
    env.planted.append(password.encode())
    assert engine.creds_reads() == 1
    revokes = engine.requests("sys/leases/revoke")
    assert m.stop() == 0
    assert engine.requests("sys/leases/revoke") == revokes
    assert postgres.users_like(engine.prefix) == [username]
    assert postgres.login(username, password)


# MARK: 2. renewal and replacement


def test_renewed_then_replaced_before_the_max_ttl_without_a_failed_login(env, audited_bao, postgres):
    engine = Engine(audited_bao, postgres, default_ttl="6s", max_ttl="15s")
    marker = env.workdir / "changed"
    config = lease_config(env, f"""\
leases:
  - path: db/app
    read: {engine.mount}/creds/app
files:
  - path: pg/service
    template: |
      [app]
      host=127.0.0.1
      port={postgres.port}
      dbname=postgres
      user={{{{ "db/app/username"|secret }}}}
      password={{{{ "db/app/password"|secret }}}}
on_change:
  - paths: ["db/app/*"]
    exec: ["/bin/sh", "-c", "echo x >> {marker}"]
""")
    m = mount_vault(env, audited_bao.vault, "--config", config, "--cache-ttl", "2s")
    watcher = Inotifywait(m.p("db", "app"))
    seen = []
    failures = []
    try:
        deadline = time.monotonic() + 34
        while time.monotonic() < deadline:
            username, password = credential(m)
            env.planted.append(password.encode())
            if username not in seen:
                seen.append(username)
            if not postgres.login(username, password):
                failures.append((time.monotonic(), username))
            time.sleep(0.5)
        events = []
        while (event := watcher.next(0.1)) is not None:
            events.append(event)
    finally:
        watcher.stop()
    lease = lease_status(m)
    print(f"users seen {len(seen)}, renewals {engine.requests('sys/leases/renew')}, "
          f"credential reads {engine.creds_reads()}, status {lease}")
    assert failures == []
    # Made at 0, replaced near 14 and 28: three users in 34 s, each read once.
    assert len(seen) >= 3, seen
    assert engine.creds_reads() == len(seen)
    # Renewed at 4, 8 and 12 s of each credential (2/3 of what is left each time).
    assert engine.requests("sys/leases/renew") >= 4
    assert any("password" == name for _, _, name in events), events
    assert wait_for(lambda: marker.exists() and len(marker.read_text().split()) >= 2, 10)
    # The libpq service file rendered from the folder logs in too.
    service = subprocess.run(["psql", "-w", "service=app", "-At", "-c", "select current_user"],
                             env={**os.environ, "PGSERVICEFILE": m.p("pg", "service")}, capture_output=True,
                             timeout=30)
    assert service.returncode == 0, service.stderr
    assert service.stdout.decode().strip().startswith(engine.prefix)
    # The users replaced are dropped by Vault when their leases end.
    assert wait_for(lambda: set(postgres.users_like(engine.prefix)) <= set(seen[-2:]), 30)
    assert_no_lease_id(env, m, engine)


# MARK: 3. lifetime


def test_a_killed_worker_and_a_reload_keep_the_lease(env, audited_bao, postgres):
    engine = Engine(audited_bao, postgres)
    config = lease_config(env, f"""\
leases:
  - path: db/app
    read: {engine.mount}/creds/app
""")
    m = mount_vault(env, audited_bao.vault, "--config", config)
    first = credential(m)
    env.planted.append(first[1].encode())
    old = m.worker_pid()
    os.kill(old, signal.SIGKILL)
    assert wait_for(lambda: m.worker_pid() != old, 30)
    assert credential(m) == first
    result = env.cli("reload", m.path, backend=[], check=False)
    assert result.returncode == 0, result.stderr
    assert wait_for(lambda: json.loads(m.read(".status"))["worker"]["reloads"] == 1, 30)
    assert credential(m) == first
    assert engine.creds_reads() == 1
    assert postgres.users_like(engine.prefix) == [first[0]]
    assert postgres.login(*first)
    assert lease_status(m)["made"] == 1
    assert_no_lease_id(env, m, engine)
    assert m.stop() == 0
    assert wait_for(lambda: postgres.users_like(engine.prefix) == [], 30)


def test_a_restart_through_the_systemd_descriptor_store_keeps_the_lease(env, audited_bao, postgres, tmp_path):
    """`systemctl restart` of a unit with FileDescriptorStoreMax=5: the stop half leaves the mount and the
    stored `leases` descriptor; the next process serves the same credential without a `creds` read and
    revokes it at its own stop."""
    engine = Engine(audited_bao, postgres)
    config = lease_config(env, f"""\
leases:
  - path: db/app
    read: {engine.mount}/creds/app
""")
    systemd = FakeSystemd(str(tmp_path))
    m = mount_vault(env, audited_bao.vault, "--config", config,
                    extra_env={"NOTIFY_SOCKET": systemd.path, "FDSTORE": "5"})
    first = credential(m)
    env.planted.append(first[1].encode())
    second, log_path = None, tmp_path / "second.log"
    log = open(log_path, "wb")
    try:
        assert wait_for(lambda: "leases" in systemd.stored, 10), sorted(systemd.stored)
        assert m.stop(signal.SIGTERM) == 0  # systemctl restart: the stop half
        assert is_mounted(m.path), "the mount must stay for the next process"
        assert postgres.users_like(engine.prefix) == [first[0]], "a restart must not revoke"
        command, place, keep = systemd.launch_arguments(
            [BIN, "mount", m.path, "--log-format", "json", "--backend", "vault",
             "--vault-addr", audited_bao.vault.addr, "--config", config])
        second = subprocess.Popen(
            command, stdout=log, stderr=log, stdin=subprocess.DEVNULL, preexec_fn=place, pass_fds=keep,
            env=clean_environment(VAULT_TOKEN=audited_bao.vault.token))
        assert wait_for(lambda: b"serving the mount systemd kept" in log_path.read_bytes(), 30)
        assert credential(m) == first
        assert engine.creds_reads() == 1
        assert postgres.users_like(engine.prefix) == [first[0]]
        assert postgres.login(*first)
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0
        second = None
        assert wait_for(lambda: postgres.users_like(engine.prefix) == [], 30)
        shown = log_path.read_bytes()
        assert first[1].encode() not in shown and audited_bao.vault.token.encode() not in shown
    finally:
        if second is not None:
            second.kill()
            second.wait()
        log.close()
        systemd.close()
    assert not is_mounted(m.path)


# MARK: 4. faults


def test_vault_unreachable_serves_until_the_lease_ends_then_eio(env, postgres, tmp_path):
    server = start_audited_bao(tmp_path)
    try:
        engine = Engine(server, postgres, default_ttl="10s", max_ttl="1h")
        config = lease_config(env, f"""\
leases:
  - path: db/app
    read: {engine.mount}/creds/app
""")
        m = mount_vault(env, server.vault, "--config", config, "--cache-ttl", "1s", "--backend-timeout", "2s")
        username, password = credential(m)
        env.planted.append(password.encode())
        server.pause()
        paused = time.monotonic()
        # Within the lease: the credential in hand, though renewals fail.
        while time.monotonic() - paused < 7:
            assert credential(m) == (username, password)
            time.sleep(0.5)
        # After its end: EIO, not a dead credential.
        assert wait_for(lambda: errno_of(lambda: m.read("db", "app", "password")) == 5, 15)
        warnings = [line for line in m.log_text().splitlines() if "lease not renewed or replaced" in line]
        assert len(warnings) == 1, warnings
        server.process.send_signal(signal.SIGCONT)
        assert wait_for(lambda: errno_of(lambda: m.read("db", "app", "password")) is None, 60)
        again = credential(m)
        env.planted.append(again[1].encode())
        assert postgres.login(*again)
    finally:
        server.process.send_signal(signal.SIGCONT)
        for m in env.mounts:
            m.cleanup()
        server.stop()


def test_a_role_that_does_not_exist_is_one_line_and_the_rest_serves(env, audited_bao, postgres):
    engine = Engine(audited_bao, postgres)
    config = lease_config(env, f"""\
leases:
  - path: db/app
    read: {engine.mount}/creds/app
  - path: db/nope
    read: {engine.mount}/creds/nope
""")
    m = mount_vault(env, audited_bao.vault, "--config", config)
    assert errno_of(lambda: m.read("db", "nope", "password")) == 5
    assert errno_of(lambda: m.read("db", "nope", "password")) == 5
    username, password = credential(m)
    env.planted.append(password.encode())
    assert postgres.login(username, password)
    lines = [line for line in m.log_text().splitlines() if "credential not made" in line]
    assert len(lines) == 1, lines
    assert json.loads(lines[0])["path"] == "db/nope" and "unknown role" in lines[0]
    status = lease_status(m, "db/nope")
    assert status["made"] == 0 and status["problem"]


def test_bad_lease_entries_refuse_the_mount_with_one_line(env, tmp_path):
    for text, words in [
        ("leases:\n  - path: db/app\n", "needs a 'read'"),
        ("leases:\n  - read: database/creds/app\n", "needs a 'path'"),
        ("leases:\n  - path: db/app\n    read: database/creds/app\n    colour: blue\n", "colour"),
        ("leases:\n  - path: db/app\n    read: a/creds/x\n  - path: db/app/x\n    read: a/creds/y\n", "overlap"),
        ("leases:\n  - path: db/app\n    read: database/creds/app\n    revoke: maybe\n", "true or false"),
        # SSH certificate entries (`sign:`), refused the same way.
        ("leases:\n  - path: ssh/a\n    sign: ssh/sign/a\n    read: db/creds/a\n", "not both"),
        ("leases:\n  - path: ssh/a\n    sign: ssh/sign/a\n    public_key: /nonexistent/k.pub\n", "public_key"),
        ("leases:\n  - path: ssh/a\n    read: db/creds/a\n    principals: [x]\n", "SSH certificates"),
    ]:
        config = tmp_path / f"{unique('bad-')}.yaml"
        config.write_text(text)
        result = subprocess.run(
            [BIN, "mount", str(tmp_path / "never"), "--backend", "vault", "--vault-addr", "http://127.0.0.1:9",
             "--config", str(config)],
            capture_output=True, timeout=60, env={"PATH": os.environ["PATH"], "VAULT_TOKEN": "unused-token-01"})
        assert result.returncode != 0
        lines = result.stderr.decode().strip().splitlines()
        assert len(lines) == 1 and words in lines[0], lines
