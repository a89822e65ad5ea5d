"""The access policy and the audit log through a real mount, with readers running as a second user.

The mount is made by root with `--allow-other` and open modes (0444 files, 0555 folders), so the kernel
lets everyone in and the policy from `--config` decides: the first rule whose path glob matches decides,
and a path no rule matches is denied to everyone, root included. `--audit-log` gets one JSON line per
open and per rotation, never a value. Also checked here: the daemon cannot dump core, and `--mlock`
locks its memory."""

import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from callers import LIST, OTHER_GID, OTHER_UID, READ, SECOND_GID, as_user, audit_lines, run_as
from conftest import BIN, is_mounted, wait_for

CAT = os.path.realpath(shutil.which("cat"))

POLICY = f"""\
policy:
  - path: "team/*"
    uids: [0, {OTHER_UID}]
  - path: "root-only/**"
    uids: [0]
  - path: "group/*"
    gids: [{OTHER_GID}]
  - path: "catonly/*"
    executables: ["{CAT}"]
  - path: "db/**"
"""

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to mount for others and to switch user")


def ROTATE(path, line):
    return write_rotate(path, line)


def write_rotate(path, line):
    try:
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)
    except OSError as error:
        return error.errno
    return 0


@pytest.fixture
def policed(shared_env):
    env = shared_env
    env.put("team/shared", "team-shared-value-001")
    env.put("root-only/key", "root-only-value-00002")
    env.put("group/key", "group-value-000000003")
    env.put("catonly/key", "cat-only-value-000004")
    env.put("nomatch/key", "no-rule-value-0000005")
    env.put("db", "db-user-value-0000006", field="username")
    env.put("db", "db-pass-value-0000007", field="password")
    config = env.workdir / "secretsfs.yaml"
    config.write_text(POLICY)
    audit = env.workdir / "audit.log"
    m = env.mount("--allow-other", "--file-mode", "0444", "--dir-mode", "0555", "--config", str(config),
                  "--audit-log", str(audit))
    return env, m, audit


def test_the_policy_decides_who_reads_what(policed):
    env, m, _ = policed
    paths = [m.p("team", "shared"), m.p("root-only", "key"), m.p("nomatch", "key"), m.p("group", "key"),
             m.p("catonly", "key")]
    seen = run_as(READ, *paths)
    assert seen[m.p("team", "shared")] == "team-shared-value-001"
    assert seen[m.p("root-only", "key")] == errno.EACCES
    assert seen[m.p("nomatch", "key")] == errno.EACCES
    assert seen[m.p("group", "key")] == "group-value-000000003"
    # Python is not cat: the executables rule refuses it.
    assert seen[m.p("catonly", "key")] == errno.EACCES

    # Groups: the primary group or a supplementary one admits; neither refuses.
    assert run_as(READ, m.p("group", "key"), gid=SECOND_GID)[m.p("group", "key")] == errno.EACCES
    assert run_as(READ, m.p("group", "key"), gid=SECOND_GID, groups=[OTHER_GID])[m.p("group", "key")] == \
        "group-value-000000003"

    # Root is refused where no rule matches or the rule names other programs, too.
    with pytest.raises(PermissionError):
        m.read("nomatch", "key")
    with pytest.raises(PermissionError):
        m.read("catonly", "key")
    assert m.read("root-only", "key") == b"root-only-value-00002"


def test_an_executables_rule_admits_the_named_program(policed):
    env, m, _ = policed
    result = subprocess.run([CAT, m.p("catonly", "key")], preexec_fn=as_user(), capture_output=True, timeout=30,
                            cwd="/")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"cat-only-value-000004"
    result = subprocess.run([CAT, m.p("root-only", "key")], preexec_fn=as_user(), capture_output=True, timeout=30)
    assert result.returncode != 0
    assert result.stdout == b""


def test_listings_leave_out_what_the_caller_may_not_read(policed):
    env, m, _ = policed
    seen = run_as(LIST, m.path, m.p("team"), m.p("group"))
    root = seen[m.path]
    assert "team" in root and "group" in root
    assert "root-only" not in root and "nomatch" not in root
    assert "catonly" not in root  # python may read nothing below it
    assert "shared" in seen[m.p("team")]
    assert "key" in seen[m.p("group")]

    mine = os.listdir(m.path)
    assert "root-only" in mine and "team" in mine and "db" in mine
    assert "nomatch" not in mine  # no rule: nobody, root included
    # A name the caller is refused is not there, but opening it still says EACCES, not ENOENT.
    assert run_as(READ, m.p("root-only", "key"))[m.p("root-only", "key")] == errno.EACCES


def test_rotate_follows_the_policy(policed):
    env, m, audit = policed
    before = env.cli("get", "catonly/key").stdout
    versions_before = env.cli("versions", "catonly/key").stdout
    # Root passes the kernel's check on .rotate (0600, root's), so the policy is what refuses python here.
    assert write_rotate(m.p(".rotate"), "catonly/key\n") == errno.EACCES
    assert write_rotate(m.p(".rotate"), "nomatch/key\n") == errno.EACCES
    assert env.cli("get", "catonly/key").stdout == before
    assert env.cli("versions", "catonly/key").stdout == versions_before

    # Another user never gets as far as the policy: .rotate is the mounting user's, mode 0600.
    assert run_as(ROTATE, m.p("team", ".rotate"), "shared\n") == errno.EACCES
    # An allowed rotation goes through.
    old = env.cli("get", "team/shared").stdout
    assert write_rotate(m.p("team", ".rotate"), "shared\n") == 0
    assert env.cli("get", "team/shared").stdout != old

    assert wait_for(lambda: sum(1 for e in audit_lines(audit) if e["action"] == "rotate") >= 3, 5)
    rotations = [e for e in audit_lines(audit) if e["action"] == "rotate"]
    assert {(e["path"], e["outcome"]) for e in rotations} >= {
        ("catonly/key", "denied"), ("nomatch/key", "denied"), ("team/shared", "ok")}


def test_the_audit_log_has_one_line_per_open_and_rotation_and_no_value(policed):
    env, m, audit = policed
    assert m.read("team", "shared") == b"team-shared-value-001"
    cat = subprocess.Popen([CAT, m.p("team", "shared")], preexec_fn=as_user(), stdout=subprocess.PIPE, cwd="/")
    assert cat.communicate(timeout=30)[0] == b"team-shared-value-001"
    run_as(READ, m.p("root-only", "key"))
    assert m.read("db", "username") == b"db-user-value-0000006"
    assert write_rotate(m.p(".rotate"), "team/missing\n") == errno.ENOENT
    assert write_rotate(m.p(".rotate"), "db\n") == errno.EINVAL  # a whole multi-field secret: name a field
    assert write_rotate(m.p("db", ".rotate"), "password\n") == 0

    assert os.stat(audit).st_mode & 0o777 == 0o600
    assert wait_for(lambda: len(audit_lines(audit)) >= 7, 5)
    events = audit_lines(audit)
    for event in events:
        assert set(event) >= {"time", "action", "path", "version", "outcome", "cache", "uid", "gid", "pid",
                              "executable"}
        assert event["action"] in ("open", "rotate")
        assert event["outcome"] in ("ok", "denied", "not_found", "stale", "error")
        assert event["time"].endswith("Z") and event["time"][:4].isdigit()

    opens = [e for e in events if e["action"] == "open"]
    mine = [e for e in opens if e["path"] == "team/shared" and e["uid"] == 0]
    assert mine and mine[0]["outcome"] == "ok" and mine[0]["version"] == "1"
    assert mine[0]["cache"] in ("hit", "miss")
    assert mine[0]["executable"] == os.path.realpath(sys.executable)
    theirs = [e for e in opens if e["path"] == "team/shared" and e["uid"] == OTHER_UID]
    assert theirs and theirs[0]["gid"] == OTHER_GID and theirs[0]["pid"] == cat.pid
    assert theirs[0]["executable"] == CAT and theirs[0]["outcome"] == "ok"
    assert theirs[0]["cache"] == "hit"  # read a moment ago
    denied = [e for e in opens if e["path"] == "root-only/key"]
    assert denied and denied[0]["outcome"] == "denied" and denied[0]["uid"] == OTHER_UID
    assert any(e["path"] == "db/username" and e["outcome"] == "ok" for e in opens)

    rotations = {(e["path"], e["outcome"]) for e in events if e["action"] == "rotate"}
    assert ("team/missing", "not_found") in rotations
    assert ("db", "error") in rotations
    assert ("db/password", "ok") in rotations
    ok = [e for e in events if e["action"] == "rotate" and e["outcome"] == "ok"]
    assert ok[0]["version"] == "3"  # the new version: two puts, then this rotation

    text = audit.read_text().encode()
    env.assert_no_planted_values(text, "the audit log")
    assert env.cli("get", "db/password").stdout not in text  # the rotated value


def test_the_daemon_cannot_dump_core(shared_env):
    shared_env.put("x/y", "core-test-value-00008")
    m = shared_env.mount()
    for pid in (m.process.pid, m.worker_pid()):
        limits = Path(f"/proc/{pid}/limits").read_text()
        core = next(line for line in limits.splitlines() if line.startswith("Max core file size"))
        assert core.split()[4:6] == ["0", "0"], core
    # PR_SET_DUMPABLE 0 makes /proc/PID/* files of the daemon root's, whoever runs it; a non-dumpable
    # process's memory cannot be read by another user's ptrace.
    status = Path(f"/proc/{m.process.pid}/status").read_text()
    assert "VmRSS" in status


def test_mlock_locks_the_daemon_memory_or_fails_with_one_line(shared_env):
    shared_env.put("x/y", "mlock-test-value-0009")
    m = shared_env.mount("--mlock", start=False)
    try:
        m.start()
    except AssertionError:
        # mlockall refused here: the mount must fail with one clear line, never a trace or a value.
        assert m.process.returncode != 0
        errors = [line for line in m.log_text().splitlines() if "mlock" in line.lower()]
        assert len(errors) >= 1
        assert "raise RLIMIT_MEMLOCK" in m.log_text() or "CAP_IPC_LOCK" in m.log_text()
        assert not is_mounted(m.path)
        return
    locked = next(line for line in Path(f"/proc/{m.worker_pid()}/status").read_text().splitlines()
                  if line.startswith("VmLck:"))
    assert int(locked.split()[1]) > 0, locked
    assert m.read("x", "y") == b"mlock-test-value-0009"


@pytest.mark.skipif(not (shutil.which("prlimit") and shutil.which("setpriv")), reason="needs prlimit and setpriv")
def test_mlock_that_cannot_lock_fails_with_one_clear_line(shared_env):
    # Root may always lock; without CAP_IPC_LOCK and with no lockable memory, mlockall is refused.
    mountpoint = shared_env.workdir / "mlock-mnt"
    mountpoint.mkdir()
    result = subprocess.run(
        ["prlimit", "--memlock=0:0", "setpriv", "--bounding-set=-ipc_lock", "--inh-caps=-ipc_lock",
         BIN, "mount", str(mountpoint), "--mlock", "--store", shared_env.store],
        capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 78
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1, lines
    assert "--mlock" in lines[0] and ("RLIMIT_MEMLOCK" in lines[0] or "CAP_IPC_LOCK" in lines[0])
    assert not is_mounted(str(mountpoint))


def test_pages_kept_while_every_open_is_checked_and_recorded(shared_env):
    """The page cache keeps values between opens in the policy and audit modes too; every open must
    still reach the daemon, be checked and be recorded, and a rotation must still show."""
    env = shared_env
    env.put("team/shared", "team-shared-value-001")
    env.put("root-only/key", "root-only-value-00002")
    config = env.workdir / "secretsfs.yaml"
    config.write_text(POLICY)
    audit = env.workdir / "audit.log"
    m = env.mount("--allow-other", "--file-mode", "0444", "--dir-mode", "0555", "--config", str(config),
                  "--audit-log", str(audit))
    for _ in range(5):
        assert m.read("team", "shared") == b"team-shared-value-001"
    # Root's reads left the value in the page cache; another user is still refused at open.
    assert m.read("root-only", "key") == b"root-only-value-00002"
    seen = run_as(READ, m.p("root-only", "key"), m.p("team", "shared"))
    assert seen[m.p("root-only", "key")] == errno.EACCES
    assert seen[m.p("team", "shared")] == "team-shared-value-001"

    assert write_rotate(m.p("team", ".rotate"), "shared\n") == 0
    rotated = env.cli("get", "team/shared").stdout
    assert rotated != b"team-shared-value-001"
    assert m.read("team", "shared") == rotated  # the next open sees the new version

    assert wait_for(lambda: sum(1 for e in audit_lines(audit) if e["action"] == "open") >= 9, 5)
    opens = [e for e in audit_lines(audit) if e["action"] == "open"]
    by_root = [e for e in opens if e["path"] == "team/shared" and e["uid"] == 0]
    assert len(by_root) == 6 and all(e["outcome"] == "ok" for e in by_root)
    assert [e["version"] for e in by_root][-1] != by_root[0]["version"]
    assert {(e["path"], e["uid"], e["outcome"]) for e in opens} >= {
        ("root-only/key", OTHER_UID, "denied"), ("team/shared", OTHER_UID, "ok")}
