"""Issue 24 through a real mount, as a local attacker would try it: a second user (uid 4711) reading
with `--allow-other` and open modes, so the policy, `permissions:` and the one judge behind them
(DESIGN §10) are all that stand in the way. Each test failed on the mount before the judge."""

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from callers import LIST, OTHER_UID, READ, as_user, audit_lines, run_as
from conftest import BIN, wait_for, write_control

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to mount for others and to switch user")

# Another user's program: the system's Python, which that user may run (a pyenv one under /root is not).
PYTHON = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable

OPEN_MODES = ("--allow-other", "--file-mode", "0444", "--dir-mode", "0555")

FIELD_POLICY = f"""\
policy:
  - path: "db/password"
    uids: [0]
  - path: "**"
    uids: [0, {OTHER_UID}]
"""


def put_db(env):
    env.put("db", "db-user-value-000011", field="username")
    env.put("db", "db-old-password-0012", field="password")
    env.put("db", "db-new-password-0013", field="password")


def version_ids(m, secret):
    return sorted(name for name in os.listdir(m.p(".versions", secret)) if name.isdigit())


def test_a_denied_field_stays_denied_in_every_version(shared_env):
    env = shared_env
    put_db(env)
    config = env.workdir / "policy.yaml"
    config.write_text(FIELD_POLICY)
    m = env.mount(*OPEN_MODES, "--config", str(config))
    ids = [i for i in version_ids(m, "db") if "password" in os.listdir(m.p(".versions", "db", i))]
    assert len(ids) == 2
    password_files = [m.p("db", "password"), m.p(".versions", "db", "current", "password"),
                      m.p(".versions", "db", "previous", "password")] + \
        [m.p(".versions", "db", i, "password") for i in ids]
    seen = run_as(READ, *password_files, m.p(".versions", "db", "current", "username"))
    for path in password_files:
        assert seen[path] == errno.EACCES, path
    assert seen[m.p(".versions", "db", "current", "username")] == "db-user-value-000011"
    # Root, whom the rule names, still reads each of them.
    assert m.read(".versions", "db", "previous", "password") == b"db-old-password-0012"

    # The field's name is left out of every listing the policy hides it from.
    listed = run_as(LIST, m.p("db"), m.p(".versions", "db", ids[-1]))
    assert [n for n in listed[m.p("db")] if not n.startswith(".")] == ["username"]
    assert listed[m.p(".versions", "db", ids[-1])] == ["username"]

    # Its xattrs (version, times) are judged as its value.
    def XATTR(*paths):
        out = {}
        for path in paths:
            try:
                out[path] = os.getxattr(path, "user.secretsfs.version").decode()
            except OSError as error:
                out[path] = error.errno
        return out
    attrs = run_as(XATTR, m.p("db", "password"), m.p(".versions", "db", ids[-1], "password"),
                   m.p("db", "username"))
    assert attrs[m.p("db", "password")] == errno.EACCES
    assert attrs[m.p(".versions", "db", ids[-1], "password")] == errno.EACCES
    assert attrs[m.p("db", "username")].isdigit()


def test_permissions_give_a_version_field_its_own_mode(shared_env):
    env = shared_env
    put_db(env)
    config = env.workdir / "permissions.yaml"
    config.write_text('permissions:\n  - paths: ["db/password"]\n    mode: "0400"\n  - paths: ["**"]\n    mode: "0444"\n')
    m = env.mount("--allow-other", "--dir-mode", "0555", "--config", str(config))
    ids = [i for i in version_ids(m, "db") if "password" in os.listdir(m.p(".versions", "db", i))]
    for path in [m.p("db", "password"), m.p(".versions", "db", "current", "password")] + \
            [m.p(".versions", "db", i, "password") for i in ids]:
        assert os.stat(path).st_mode & 0o777 == 0o400, path
    assert os.stat(m.p(".versions", "db", "current", "username")).st_mode & 0o777 == 0o444
    seen = run_as(READ, m.p(".versions", "db", "previous", "password"), m.p(".versions", "db", "current", "username"))
    assert seen[m.p(".versions", "db", "previous", "password")] == errno.EACCES
    assert seen[m.p(".versions", "db", "current", "username")] == "db-user-value-000011"


def test_a_rendered_file_is_judged_by_each_input(shared_env):
    env = shared_env
    put_db(env)
    env.put("app/name", "app-name-value-00014")
    config = env.workdir / "rendered.yaml"
    config.write_text(FIELD_POLICY + """\
files:
  - path: conf/app.ini
    template: 'user={{ "db/username"|secret }} pass={{ "db/password"|secret }}'
  - path: conf/name.ini
    template: 'name={{ "app/name"|secret }}'
""")
    m = env.mount(*OPEN_MODES, "--config", str(config))
    seen = run_as(READ, m.p("conf", "app.ini"), m.p("conf", "name.ini"))
    assert seen[m.p("conf", "app.ini")] == errno.EACCES
    assert seen[m.p("conf", "name.ini")] == "name=app-name-value-00014"
    assert b"db-new-password-0013" in m.read("conf", "app.ini")
    assert [n for n in run_as(LIST, m.p("conf"))[m.p("conf")] if not n.startswith(".")] == ["name.ini"]


def test_a_reload_cannot_add_a_policy_where_opens_stay_in_the_kernel(shared_env):
    env = shared_env
    env.put("db/password", "reload-db-password-15")
    env.put("app/key", "reload-app-key-000016")
    config = env.workdir / "reload.yaml"
    config.write_text("cache-ttl: 300s\n")
    m = env.mount(*OPEN_MODES, "--config", str(config))
    assert run_as(READ, m.p("db", "password"))[m.p("db", "password")] == "reload-db-password-15"
    worker = m.worker_pid()
    assert json.loads(m.read(".status"))["opens"] == "kernel"

    audit = env.workdir / "audit.log"
    config.write_text(f"cache-ttl: 300s\naudit-log: {audit}\n" + f"""\
policy:
  - path: "db/**"
    uids: [0]
  - path: "**"
    uids: [0, {OTHER_UID}]
""")
    result = subprocess.run([BIN, "reload", m.path], capture_output=True, timeout=60)
    assert result.returncode != 0
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "new mount" in lines[0], lines

    # The same order without the command's own check (systemctl reload sends SIGHUP): the new worker
    # refuses it, and the running one keeps serving.
    m.process.send_signal(signal.SIGHUP)
    assert wait_for(lambda: "reload refused" in m.log_text(), 30)
    assert "new mount" in m.log_text()
    time.sleep(0.5)
    assert m.worker_pid() == worker
    # Never "names hidden, values readable": the listing and the read agree, and no audit log pretends.
    seen = run_as(LIST, m.path)
    assert "db" in seen[m.path]
    assert run_as(READ, m.p("db", "password"))[m.p("db", "password")] == "reload-db-password-15"
    assert not audit.exists() or audit_lines(audit) == []


def test_a_reload_that_tightens_a_policy_holds_for_every_later_open(shared_env):
    env = shared_env
    env.put("db/password", "tight-db-password-017")
    config = env.workdir / "tight.yaml"
    config.write_text(f'policy:\n  - path: "**"\n    uids: [0, {OTHER_UID}]\n')
    m = env.mount(*OPEN_MODES, "--config", str(config))
    assert run_as(READ, m.p("db", "password"))[m.p("db", "password")] == "tight-db-password-017"
    config.write_text(f'policy:\n  - path: "db/**"\n    uids: [0]\n  - path: "**"\n    uids: [0, {OTHER_UID}]\n')
    result = subprocess.run([BIN, "reload", m.path], capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert run_as(READ, m.p("db", "password"))[m.p("db", "password")] == errno.EACCES
    assert m.read("db", "password") == b"tight-db-password-017"


@pytest.mark.skipif(not shutil.which("unshare"), reason="needs unshare")
def test_an_executables_rule_is_not_fooled_by_a_bind_mount(shared_env):
    env = shared_env
    env.put("tool/key", "tool-key-value-000018")
    sha = os.path.realpath(shutil.which("sha256sum"))
    cat = os.path.realpath(shutil.which("cat"))
    config = env.workdir / "exe.yaml"
    config.write_text(f'policy:\n  - path: "tool/**"\n    executables: ["{sha}"]\n  - path: "**"\n    uids: [0]\n')
    audit = env.workdir / "audit.log"
    m = env.mount(*OPEN_MODES, "--config", str(config), "--audit-log", str(audit))
    real = subprocess.run([sha, m.p("tool", "key")], preexec_fn=as_user(), capture_output=True, timeout=30,
                          cwd="/")
    assert real.returncode == 0, real.stderr
    probe = subprocess.run(["unshare", "-Urm", "true"], preexec_fn=as_user(), capture_output=True, timeout=30)
    if probe.returncode != 0:
        pytest.skip("unprivileged user namespaces are off here")
    fake = subprocess.run(
        ["unshare", "-Urm", "sh", "-c", f'mount --bind {cat} {sha} && exec {sha} "$0"', m.p("tool", "key")],
        preexec_fn=as_user(), capture_output=True, timeout=30, cwd="/")
    assert b"tool-key-value-000018" not in fake.stdout
    assert fake.returncode != 0
    assert b"Permission denied" in fake.stderr
    assert wait_for(lambda: any(e["outcome"] == "denied" for e in audit_lines(audit)), 10)
    denied = [e for e in audit_lines(audit) if e["outcome"] == "denied"]
    assert denied[-1]["uid"] == OTHER_UID and denied[-1]["executable"] != sha
    env.assert_no_planted_values(fake.stderr, "the fake program's error")


POLLER = """
import os, select, sys
fds = [os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK) for _ in range(8)]
poller = select.poll()
for fd in fds:
    poller.register(fd, select.POLLIN)
print("ready", flush=True)
sys.stdin.readline()
end = __import__("time").monotonic() + float(sys.argv[2])
while __import__("time").monotonic() < end:
    poller.poll(1)
print("done", flush=True)
"""


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(next(line for line in f if line.startswith("VmRSS:")).split()[1])


def test_a_poll_loop_does_not_grow_the_daemon(shared_env):
    env = shared_env
    env.put("app/key", "poll-app-key-00000019")
    m = env.mount(*OPEN_MODES, "--events")
    worker = m.worker_pid()
    poller = subprocess.Popen([PYTHON, "-c", POLLER, m.p(".events"), "8"], preexec_fn=as_user(),
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd="/")
    try:
        assert poller.stdout.readline() == b"ready\n"
        # The first polls' allocations settle first; the loop's growth is what is measured.
        poller.stdin.write(b"go\n")
        poller.stdin.flush()
        time.sleep(1)
        before = rss_kib(worker)
        assert poller.stdout.readline() == b"done\n"
        grown = rss_kib(worker) - before
    finally:
        poller.kill()
        poller.wait()
    # Before the fix the loop left a callback per POLL: +20 MiB in 12 s here.
    print(f"worker RSS across 8 s of 8 descriptors polled every 1 ms: {grown:+d} KiB")
    assert grown < 4096, f"the worker grew by {grown} KiB under a poll loop"
    assert m.read("app", "key") == b"poll-app-key-00000019"


EVENTS_READER = """
import os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK)
print("ready", flush=True)
out = b""
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    try:
        out += os.read(fd, 65536)
    except BlockingIOError:
        time.sleep(0.05)
sys.stdout.write(out.decode())
"""


def test_events_and_status_show_a_reader_only_names_it_may_see(shared_env):
    env = shared_env
    env.put("hidden/key", "hidden-key-value-0020")
    env.put("pub/key", "pub-key-value-0000021")
    config = env.workdir / "events.yaml"
    config.write_text(f'policy:\n  - path: "hidden/**"\n    uids: [0]\n  - path: "**"\n    uids: [0, {OTHER_UID}]\n')
    m = env.mount(*OPEN_MODES, "--events", "--config", str(config))
    reader = subprocess.Popen([PYTHON, "-c", EVENTS_READER, m.p(".events"), "4"], preexec_fn=as_user(),
                              stdout=subprocess.PIPE, cwd="/")
    assert reader.stdout.readline() == b"ready\n"
    write_control(m.p("hidden", ".rotate"), b"key\n")
    write_control(m.p("pub", ".rotate"), b"key\n")
    out = reader.communicate(timeout=30)[0].decode()
    paths = [json.loads(line)["path"] for line in out.splitlines() if line.strip()]
    assert "pub/key" in paths
    assert "hidden/key" not in paths

    # A name someone probed is in .status for root and the mount's owner, and for nobody else.
    with pytest.raises(FileNotFoundError):
        m.read("hidden", "typo-name-0022")
    run_as(READ, m.p("pub", "probe-name-0023"))
    mine = json.loads(m.read(".status"))["last_errors"]
    assert {"hidden/typo-name-0022", "pub/probe-name-0023"} <= {e.get("path") for e in mine}

    def STATUS(path):
        with open(path, "rb") as f:
            return f.read().decode()
    theirs = run_as(STATUS, m.p(".status"))
    assert "typo-name-0022" not in theirs and "probe-name-0023" not in theirs
    assert json.loads(theirs)["last_errors"], "the errors are still counted for everyone"
