"""The sealed cache file (`--cache-file`, docs/SECURITY.md) as another user (uid 65534) would try it:
the file and its key can be neither read nor replaced, and a cache file that user planted where the
mount keeps its own (a shared sticky folder, as /tmp is) is refused with one line, not restored, and
replaced by the mount's own at the next write; a symlink planted there is never followed."""

import base64
import errno
import json
import os
import shutil
import stat
import tempfile

import pytest

from callers import run_as
from conftest import fresh_status

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch user")

NOBODY = 65534
VALUE = "cachefile-access-4b17"


@pytest.fixture
def folder():
    """A root-owned folder under /tmp, which uid 65534 can reach (pytest's tmp_path is 0700)."""
    path = tempfile.mkdtemp(prefix="secretsfs-cachefile-", dir="/tmp")
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def key_file(folder):
    path = os.path.join(folder, "cache.key")
    with open(path, "w") as f:
        f.write(base64.b64encode(os.urandom(32)).decode() + "\n")
    os.chmod(path, 0o600)
    return path


def mount_with(env, cache, key):
    env.put("app/plain", VALUE)
    return env.mount("--cache-ttl", "300s", "--cache-file", cache, "--cache-key-file", key)


def TAMPER(cache, key):
    """Every way uid 65534 might read or replace the two files; each outcome or its errno."""
    out = {}

    def attempt(name, action):
        try:
            action()
            out[name] = "done"
        except OSError as error:
            out[name] = error.errno

    for what, path in (("cache", cache), ("key", key)):
        attempt(f"read {what}", lambda: open(path, "rb").read())
        attempt(f"write {what}", lambda: open(path, "r+b").write(b"x"))
        attempt(f"unlink {what}", lambda: os.unlink(path))
        attempt(f"chmod {what}", lambda: os.chmod(path, 0o666))
    mine = os.path.join("/tmp", f"secretsfs-nobody-{os.getpid()}")
    with open(mine, "wb") as f:
        f.write(b"secretsfs cache file v1\n" + os.urandom(64))
    attempt("rename over cache", lambda: os.rename(mine, cache))
    attempt("link beside cache", lambda: os.link(mine, cache + ".planted"))
    os.unlink(mine)
    return out


def PLANT(cache, victim):
    """uid 65534 plants a file of its own at `cache` and a symlink to `victim` at `cache`.link."""
    with open(cache, "wb") as f:
        f.write(b"secretsfs cache file v1\n" + os.urandom(64))
    os.chmod(cache, 0o600)
    os.symlink(victim, cache + ".link")
    return [os.lstat(cache).st_uid, os.lstat(cache + ".link").st_uid]


def test_another_user_can_neither_read_nor_replace_the_cache_file_or_its_key(env, folder):
    cache, key = os.path.join(folder, "cache.sealed"), key_file(folder)
    m = mount_with(env, cache, key)
    assert m.read("app", "plain") == VALUE.encode()
    assert m.stop() == 0
    info = os.stat(cache)
    assert (stat.S_IMODE(info.st_mode), info.st_uid) == (0o600, 0)
    before = open(cache, "rb").read()

    seen = run_as(TAMPER, cache, key, uid=NOBODY, gid=NOBODY)
    # chmod is refused as not the owner's (EPERM); everything else by the modes (EACCES).
    assert len(seen) == 10 and seen == {
        name: errno.EPERM if name.startswith("chmod") else errno.EACCES for name in seen}, seen
    assert open(cache, "rb").read() == before and stat.S_IMODE(os.stat(key).st_mode) == 0o600


def test_a_cache_file_planted_by_another_user_is_refused_with_one_line_and_replaced(env, folder):
    shared = os.path.join(folder, "shared")
    os.mkdir(shared)
    os.chmod(shared, 0o1777)  # root's sticky folder: anyone may create a file, only its owner remove it
    victim = os.path.join(folder, "victim")
    with open(victim, "wb") as f:
        f.write(b"root's own file\n")
    cache = os.path.join(shared, "cache.sealed")
    assert run_as(PLANT, cache, victim, uid=NOBODY, gid=NOBODY) == [NOBODY, NOBODY]
    key = key_file(folder)

    for path, reason in ((cache, f"is owned by uid {NOBODY}"), (cache + ".link", f"symlink {cache}.link is owned")):
        m = mount_with(env, path, key)
        assert m.read("app", "plain") == VALUE.encode()  # the mount serves, from its store
        document = fresh_status(m)
        assert document["cache_file"]["restored"] == 0
        assert reason in document["cache_file"]["problem"], document["cache_file"]
        lines = [json.loads(line) for line in m.log_text().splitlines() if "the cache file is not used" in line]
        assert len(lines) == 1 and reason in lines[0]["error"], lines
        assert m.stop() == 0
        # The mount's own file took the planted one's place; the symlink's target is untouched.
        info = os.lstat(path)
        assert stat.S_ISREG(info.st_mode) and (stat.S_IMODE(info.st_mode), info.st_uid) == (0o600, 0), path
        assert VALUE.encode() not in open(path, "rb").read()
    assert open(victim, "rb").read() == b"root's own file\n"
