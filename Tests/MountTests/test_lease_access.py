"""Leased credentials (`leases:`, DESIGN section 11) as other users would try them (docs/SECURITY.md):
the files of a lease obey the entry's mode, uid and gid for a user reading through `--allow-other`,
and the supervisor's lease memfd, which carries the lease ids to the next worker, cannot be opened
through /proc/PID/fd of the worker or the supervisor by another user. Real OpenBao database secrets
engine and real PostgreSQL, as in test_leases.py."""

import errno
import os
import subprocess

import pytest

from callers import OTHER_GID, OTHER_UID, READ, run_as
from conftest import wait_for
from db_engine import Engine, Postgres
from mounts import mount_vault
from peers import unique

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to mount for others and to switch user")

NOBODY = 65534
STRANGER = 4713  # neither the lease's owner nor in its group
PYTHON = "/usr/bin/python3"


@pytest.fixture(scope="module")
def postgres():
    server = Postgres()
    yield server
    server.stop()


def lease_fds(pid):
    """The descriptors of `pid` that are the supervisor's lease memfd, as root sees them."""
    found = []
    for name in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{name}").startswith("/memfd:secretsfs-leases"):
                found.append(int(name))
        except OSError:
            pass
    return found


def REACH(*targets):
    """What another user gets for each "PID" (a listing of its fd folder) or "PID/N" (an open)."""
    out = {}
    for target in targets:
        pid, _, fd = target.partition("/")
        try:
            if fd:
                os.close(os.open(f"/proc/{pid}/fd/{fd}", os.O_RDONLY))
                out[target] = "opened"
            else:
                out[target] = sorted(os.listdir(f"/proc/{pid}/fd"))
        except OSError as error:
            out[target] = error.errno
    return out


def test_lease_files_obey_mode_and_group_and_the_lease_memfd_is_out_of_reach(shared_env, bao, postgres):
    env = shared_env
    server = bao()
    engine = Engine(server, postgres)
    config = env.workdir / f"{unique('leases-')}.yaml"
    config.write_text(f"""\
leases:
  - path: db/app
    read: {engine.mount}/creds/app
    mode: 0440
    gid: {OTHER_GID}
""")
    os.chmod(config, 0o600)
    m = mount_vault(env, server.vault, "--allow-other", "--file-mode", "0444", "--dir-mode", "0555",
                    "--config", str(config))
    files = [m.p("db", "app", "username"), m.p("db", "app", "password")]
    username, password = (m.read("db", "app", name).decode() for name in ("username", "password"))
    env.planted.append(password.encode())
    for path in files:
        info = os.stat(path)
        assert (info.st_mode & 0o777, info.st_uid, info.st_gid) == (0o440, 0, OTHER_GID), path

    # The group the entry names reads them; a user outside it, and nobody, get EACCES.
    assert run_as(READ, *files, uid=OTHER_UID, gid=OTHER_GID) == dict(zip(files, (username, password)))
    for uid in (STRANGER, NOBODY):
        assert run_as(READ, *files, uid=uid, gid=uid) == {path: errno.EACCES for path in files}, uid

    # The lease memfd: held by the supervisor and the worker (its descriptor 8); nobody reaches it.
    supervisor, worker = m.process.pid, m.worker_pid()
    assert wait_for(lambda: lease_fds(worker) and lease_fds(supervisor), 5), "no lease memfd to try"
    targets = [str(supervisor), str(worker)] + [f"{supervisor}/{fd}" for fd in lease_fds(supervisor)] + \
        [f"{worker}/{fd}" for fd in lease_fds(worker)]
    # The control: a memfd of nobody's own process is reachable by nobody, so the probe proves something.
    control = subprocess.Popen(
        ["setpriv", "--reuid", str(NOBODY), "--regid", str(NOBODY), "--clear-groups", PYTHON, "-c",
         "import os, time; os.memfd_create('control'); print(flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE)
    try:
        control.stdout.readline()
        seen = run_as(REACH, f"{control.pid}/3", *targets, uid=NOBODY, gid=NOBODY)
    finally:
        control.kill()
        control.wait()
    assert seen.pop(f"{control.pid}/3") == "opened", "the probe cannot open even nobody's own memfd"
    assert seen == {target: errno.EACCES for target in targets}, seen
    # The mount still serves.
    assert m.read("db", "app", "password").decode() == password
    assert m.stop() == 0
