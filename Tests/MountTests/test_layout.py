"""DESIGN section 1 through a real mount of the local store: what the kernel and the command line add.
Names, bytes, modes, versions, `.status` and `.metrics` as the daemon answers them are in the case list
(`Tests/SecretsFileSystemTests/Cases/`); docs/TESTING.md has the split."""

import errno
import os
import stat
import subprocess

import pytest

from conftest import status


def test_fstat_then_single_read_gets_everything(sample):
    m = sample.mount()
    fd = os.open(m.p("top"), os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        assert os.read(fd, size) == b"top-level-value-xyz"
        assert os.read(fd, 10) == b""
    finally:
        os.close(fd)


def test_errnos_the_kernel_answers_itself(sample):
    """ENOTDIR and EISDIR never reach the daemon: the kernel knows a file from a folder by the modes the
    daemon gave it (the case list has what the daemon would answer if asked)."""
    m = sample.mount()
    for path, expected in ((m.p("top", "below"), errno.ENOTDIR), (m.p("db", "password", "x"), errno.ENOTDIR)):
        with pytest.raises(OSError) as failure:
            os.stat(path)
        assert failure.value.errno == expected, path
    with pytest.raises(OSError) as failure:
        os.open(m.p("openai"), os.O_WRONLY)
    assert failure.value.errno == errno.EISDIR
    fd = os.open(m.p("openai"), os.O_RDONLY)
    try:
        with pytest.raises(OSError) as failure:
            os.read(fd, 10)
        assert failure.value.errno == errno.EISDIR
    finally:
        os.close(fd)


def test_modes_and_owner_default(sample):
    m = sample.mount()
    st = os.stat(m.p("openai", "api_key"))
    assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o400
    assert st.st_uid == os.getuid() and st.st_gid == os.getgid()
    folder = os.stat(m.p("openai"))
    assert stat.S_ISDIR(folder.st_mode) and stat.S_IMODE(folder.st_mode) == 0o500
    assert stat.S_IMODE(os.stat(m.p("openai", ".rotate")).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(m.p(".status")).st_mode) == 0o444
    assert stat.S_IMODE(os.stat(m.p(".metrics")).st_mode) == 0o444


def test_mode_and_owner_flags(sample):
    m = sample.mount("--uid", "1234", "--gid", "4321", "--file-mode", "0440", "--dir-mode", "0550")
    st = os.stat(m.p("openai", "api_key"))
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (1234, 4321, 0o440)
    assert stat.S_IMODE(os.stat(m.p("openai")).st_mode) == 0o550


def test_versions_folder_lists_versions_and_labels(sample):
    m = sample.mount()
    assert set(os.listdir(m.p("openai", ".versions"))) == {"api_key"}
    versions = m.p("openai", ".versions", "api_key")
    assert set(os.listdir(versions)) == {"1", "2", "3", "current", "previous"}
    assert os.readlink(os.path.join(versions, "current")) == "3"
    assert os.readlink(os.path.join(versions, "previous")) == "2"
    assert m.read("openai", ".versions", "api_key", "1") == b"sk-first-0000000001"
    assert m.read("openai", ".versions", "api_key", "current") == b"sk-current-00000003"
    assert stat.S_IMODE(os.stat(os.path.join(versions, "1")).st_mode) == 0o400
    with pytest.raises(FileNotFoundError):
        os.stat(os.path.join(versions, "9"))


def test_writes_anywhere_but_rotate_are_erofs(sample):
    m = sample.mount()
    attempts = [
        lambda: open(m.p("openai", "api_key"), "wb"),
        lambda: open(m.p("openai", "new_file"), "wb"),
        lambda: os.mkdir(m.p("newdir")),
        lambda: os.unlink(m.p("top")),
        lambda: os.rmdir(m.p("openai")),
        lambda: os.rename(m.p("top"), m.p("top2")),
        lambda: os.chmod(m.p("top"), 0o644),
        lambda: os.symlink("top", m.p("link")),
        lambda: os.setxattr(m.p("top"), "user.x", b"1"),
        lambda: open(m.p(".status"), "wb"),
    ]
    for attempt in attempts:
        with pytest.raises(OSError) as failure:
            attempt()
        assert failure.value.errno == errno.EROFS, attempt
    assert m.read("top") == b"top-level-value-xyz"


def test_a_walk_of_a_fresh_mount_costs_one_store_query_per_folder(env):
    """Issue 16 §1: the local store lists a folder with its current secrets, so `find` and `ls -l`
    need no store read per entry, and a multi-field secret still lists as a folder."""
    expected = []
    for folder in ("d0", "d1", "d2"):
        for i in range(8):
            env.put(f"{folder}/s{i}", f"walk-value-{folder}-{i:04d}")
            expected.append(f"{folder}/s{i}")
    env.put("multi", "walk-user-000001", field="user")
    env.put("multi", "walk-pass-000002", field="password")
    expected += ["multi/password", "multi/user"]
    m = env.mount()
    found = subprocess.run(["find", m.path, "-type", "f", "-not", "-name", ".*"], capture_output=True, text=True,
                           check=True, timeout=60).stdout.split()
    assert sorted(os.path.relpath(path, m.path) for path in found) == sorted(expected)
    listed = subprocess.run(["ls", "-l", m.p("d1")], capture_output=True, text=True, check=True, timeout=60).stdout
    assert sum(1 for line in listed.splitlines() if line.startswith("-r") and line.split()[4] == "18") == 8
    assert m.read("d2", "s7") == b"walk-value-d2-0007"
    # The root, d0, d1 and d2, each listed once; every value came with its folder's listing.
    assert status(m)["cache"]["backend_calls"] == 4
