"""DESIGN section 1 through a real mount of the local store: files, folders, versions, modes."""

import errno
import os
import stat
import subprocess
import time

import pytest

from conftest import status


def test_secret_file_holds_exact_bytes_and_size(sample):
    m = sample.mount()
    assert m.read("openai", "api_key") == b"sk-current-00000003"
    assert os.stat(m.p("openai", "api_key")).st_size == len(b"sk-current-00000003")
    blob = bytes([0, 1, 2, 255, 254, 10, 0])
    assert m.read("bin", "blob") == blob
    assert os.stat(m.p("bin", "blob")).st_size == len(blob)


def test_fstat_then_single_read_gets_everything(sample):
    m = sample.mount()
    fd = os.open(m.p("top"), os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        assert os.read(fd, size) == b"top-level-value-xyz"
        assert os.read(fd, 10) == b""
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


def test_mtime_is_version_creation_time(sample):
    before = time.time()
    sample.put("fresh/one", "a-fresh-value-1")
    after = time.time()
    m = sample.mount()
    mtime = os.stat(m.p("fresh", "one")).st_mtime
    assert before - 1 <= mtime <= after + 1
    old = os.stat(m.p("openai", "api_key")).st_mtime
    assert old <= mtime


def test_listing_shows_secrets_folders_and_dot_files(sample):
    m = sample.mount()
    root = set(os.listdir(m.path))
    assert {"openai", "db", "bin", "top", ".rotate", ".status", ".metrics"} <= root
    # .versions is not listed (DESIGN 1.4, as ZFS hides .zfs); it opens by name.
    assert ".versions" not in root
    assert set(os.listdir(m.p("openai"))) == {"api_key", ".rotate"}
    assert not os.path.exists(m.p("openai", ".status"))


def test_inode_numbers_are_stable(sample):
    m = sample.mount()
    first = os.stat(m.p("openai", "api_key")).st_ino
    os.listdir(m.p("openai"))
    assert os.stat(m.p("openai", "api_key")).st_ino == first
    assert os.stat(m.p("db", "password")).st_ino != first


def test_multi_field_secret_is_a_folder_of_fields(sample):
    m = sample.mount()
    assert os.path.isdir(m.p("db"))
    assert set(os.listdir(m.p("db"))) == {"username", "password", ".rotate"}
    assert m.read("db", "username") == b"alice-the-user"
    assert m.read("db", "password") == b"hunter2-password"


def test_unknown_and_reserved_names_are_enoent(sample):
    m = sample.mount()
    for name in ["nope", ".hidden", "openai/nope", "db/nofield", "openai/.status"]:
        with pytest.raises(FileNotFoundError):
            os.stat(m.p(name))


def test_name_longer_than_255_bytes_is_enametoolong(sample):
    m = sample.mount()
    with pytest.raises(OSError) as failure:
        os.stat(m.p("a" * 256))
    assert failure.value.errno == errno.ENAMETOOLONG


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


def test_multi_field_version_is_a_folder_of_fields(sample):
    m = sample.mount()
    first = m.p(".versions", "db", "1")
    assert os.path.isdir(first)
    assert os.listdir(first) == ["username"]
    assert set(os.listdir(m.p(".versions", "db", "2"))) == {"username", "password"}


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


def test_status_is_json_with_figures_and_no_values(sample):
    m = sample.mount()
    m.read("openai", "api_key")
    m.read("openai", "api_key")
    doc = status(m)
    assert doc["backend"] == "local"
    assert doc["address"] == sample.store
    assert doc["healthy"] is True
    for key in ["entries", "hits", "misses", "hit_rate", "stale_serves", "backend_calls"]:
        assert key in doc["cache"]
    assert doc["cache"]["backend_calls"] >= 1
    assert "uptime_seconds" in doc and "errors_by_kind" in doc and "last_errors" in doc
    sample.assert_no_planted_values(m.read(".status"), ".status")


def test_status_records_errors_by_path_and_kind(sample):
    m = sample.mount()
    with pytest.raises(FileNotFoundError):
        os.stat(m.p("openai", "missing_one"))
    doc = status(m)
    assert doc["errors_by_kind"].get("not_found", 0) >= 1
    assert any(e["path"] == "openai/missing_one" and e["kind"] == "not_found" for e in doc["last_errors"])


def test_metrics_is_prometheus_text(sample):
    m = sample.mount()
    m.read("top")
    text = m.read(".metrics").decode()
    samples = {}
    for line in text.splitlines():
        if line.startswith("#"):
            assert line.startswith("# HELP ") or line.startswith("# TYPE ")
            continue
        name, value = line.rsplit(" ", 1)
        float(value)
        samples[name] = float(value)
    assert samples['secretsfs_backend_healthy{backend="local"}'] == 1
    assert samples["secretsfs_backend_calls_total"] >= 1
    assert "secretsfs_cache_hits_total" in samples
    sample.assert_no_planted_values(text.encode(), ".metrics")


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
