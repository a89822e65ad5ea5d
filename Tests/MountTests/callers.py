"""Readers that are not the mounting user: a forked child that has become another user runs one
action on the mount's paths and hands its answer back as JSON. Shared by the policy and security
tests, which judge what such a reader may see."""

import json
import os

from daemon import json_lines


OTHER_UID = 4711
OTHER_GID = 4711
SECOND_GID = 4712


def as_user(uid=OTHER_UID, gid=OTHER_GID, groups=()):
    def switch():
        os.setgroups(list(groups))
        os.setgid(gid)
        os.setuid(uid)
    return switch


def run_as(action, *paths, uid=OTHER_UID, gid=OTHER_GID, groups=()):
    """Runs `action(*paths)` in a forked child that has become another user (python's own files are
    not theirs to exec); returns what it returned, through a pipe as JSON."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(read_end)
            as_user(uid, gid, groups)()
            os.write(write_end, json.dumps(action(*paths)).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0 and data, "the child running as another user failed"
    return json.loads(data)


def READ(*paths):
    out = {}
    for path in paths:
        try:
            with open(path, "rb") as f:
                out[path] = f.read().decode()
        except OSError as error:
            out[path] = error.errno
    return out


def LIST(*paths):
    out = {}
    for path in paths:
        try:
            out[path] = sorted(os.listdir(path))
        except OSError as error:
            out[path] = error.errno
    return out


def audit_lines(audit):
    return json_lines(audit)
