"""Real mounts of the built binary: start `secretsfs mount`, wait until the kernel shows the
mount, exercise it with ordinary file calls, and always unmount, even when a test fails."""

import json
import os
import signal
import subprocess
import shutil
import tempfile
import time
from pathlib import Path

import pytest

# The plain helpers live in daemon.py (bench/ uses them too); test modules import them from here.
from daemon import Daemon, force_unmount, is_mounted, mount_entries, wait_for, write_control  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("SECRETSFS_BIN") or str(ROOT / ".build" / "debug" / "secretsfs")


# A suite started in the background of a shell without job control (`scripts/test &`, a CI step
# that does so) inherits SIGINT and SIGQUIT ignored, as POSIX has such shells start background
# commands; every program a test starts would inherit that too, and a `cat` of `.events` told to
# stop by SIGINT would read on (test_events_stream.py). The tests start programs as a terminal's
# shell would: with both at their defaults.
signal.signal(signal.SIGINT, signal.default_int_handler)
signal.signal(signal.SIGQUIT, signal.SIG_DFL)


# The files that share the one Debian package (and the images made from it) or boot a systemd
# machine run on one worker.
PACKAGE_FILES = {"test_package.py", "test_containers.py", "test_systemd.py", "test_csi_node.py"}


def pytest_configure(config):
    config.addinivalue_line("markers", "xdist_group(name): tests pytest-xdist runs on one worker")


@pytest.hookimpl(tryfirst=True)  # before xdist's own, which reads the marks into the node ids
def pytest_collection_modifyitems(items):
    """With `pytest -n N --dist loadgroup` (scripts/test), a worker takes a whole file, so a file's
    module fixtures (an OpenBao cluster, PostgreSQL) start once; without xdist the mark is inert."""
    for item in items:
        name = item.path.name
        item.add_marker(pytest.mark.xdist_group("package" if name in PACKAGE_FILES else name))


_GROUP_SECONDS = {}


def pytest_runtest_logreport(report):
    """Adds up each worker group's time (setup, call, teardown), for the summary below."""
    name = report.nodeid.split("::", 1)[0].rsplit("/", 1)[-1]
    group = "package" if name in PACKAGE_FILES else name
    _GROUP_SECONDS[group] = _GROUP_SECONDS.get(group, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter):
    """The groups that take longest: a group runs on one worker, so the longest bounds the suite."""
    if not _GROUP_SECONDS:
        return
    terminalreporter.section("slowest worker groups")
    ranked = sorted(_GROUP_SECONDS.items(), key=lambda item: -item[1])
    for group, seconds in ranked[:12]:
        terminalreporter.write_line(f"{seconds:8.1f}s {group}")
    terminalreporter.write_line(f"{sum(_GROUP_SECONDS.values()):8.1f}s in all {len(ranked)} groups")


class Mount(Daemon):
    """One `secretsfs mount` process on `workdir`/mnt, logging JSON at debug level."""

    failure = AssertionError

    def __init__(self, workdir, args, env=None):
        self.args = args
        super().__init__(None, workdir / "mnt", env=env, log_path=workdir / f"mount-{int(time.time() * 1000)}.log")
        self.path = self.mountpoint

    @property
    def path(self):
        return self.mountpoint

    @path.setter
    def path(self, value):
        self.mountpoint = str(value)
        self.argv = [BIN, "mount", self.mountpoint, "--log-format", "json", "--log-level", "debug", *self.args]

    def start(self, timeout=30):
        # The daemon says "mounted" once the kernel mount is made; a dead mount left on the
        # same folder by a killed daemon would fool a look at mountinfo alone.
        super().start(timeout=timeout, ready=lambda: '"message":"mounted"' in self.log_text(), every=0.02)
        return self

    def describe(self):
        return self.log_text()


class Env:
    """A working folder with a local store, the CLI bound to it, and mounts that are always cleaned up."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.store = str(workdir / "secrets.db")
        self.mounts = []
        self.planted = []

    def cli(self, *args, input=None, check=True, backend=None, env=None):
        backend = backend if backend is not None else ["--store", self.store]
        result = subprocess.run(
            [BIN, *args, *backend], input=input, capture_output=True, env=env, timeout=60)
        if check and result.returncode != 0:
            raise AssertionError(f"secretsfs {' '.join(args)} exited {result.returncode}: {result.stderr!r}")
        return result

    def plant(self, *values):
        """Records values a test put in a store: the teardown proves no log line shows them."""
        for value in values:
            self.planted.append(value.encode() if isinstance(value, str) else value)

    def put(self, path, value, field=None):
        value = value.encode() if isinstance(value, str) else value
        self.planted.append(value)
        extra = ["--field", field] if field else []
        self.cli("put", path, *extra, input=value)

    def mount(self, *args, backend=None, env=None, start=True):
        backend = backend if backend is not None else ["--store", self.store]
        mount = Mount(self.workdir / f"m{len(self.mounts)}", [*args, *backend], env)
        os.makedirs(self.workdir / f"m{len(self.mounts)}", exist_ok=True)
        self.mounts.append(mount)
        return mount.start() if start else mount

    def assert_no_planted_values(self, text, where):
        for value in self.planted:
            if len(value) >= 6:
                assert value not in (text if isinstance(text, bytes) else text.encode()), \
                    f"a planted value leaked into {where}"


@pytest.fixture
def env(tmp_path):
    environment = Env(tmp_path)
    yield environment
    for mount in environment.mounts:
        mount.cleanup()
        environment.assert_no_planted_values(mount.log_text(), f"the daemon log {mount.log_path}")


@pytest.fixture
def shared_env():
    """An Env whose folders other users can traverse (pytest's own tmp folders are 0700)."""
    workdir = Path(tempfile.mkdtemp(prefix="secretsfs-policy-"))
    os.chmod(workdir, 0o711)
    environment = Env(workdir)
    yield environment
    for mount in environment.mounts:
        mount.cleanup()
        environment.assert_no_planted_values(mount.log_text(), f"the daemon log {mount.log_path}")
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def sample(env):
    """A local store with the secrets of DESIGN section 1: openai/api_key with three versions,
    a multi-field db, and a binary value."""
    env.put("openai/api_key", "sk-first-0000000001")
    env.put("openai/api_key", "sk-second-000000002")
    env.put("openai/api_key", "sk-current-00000003")
    env.put("db", "alice-the-user", field="username")
    env.put("db", "hunter2-password", field="password")
    env.put("bin/blob", bytes([0, 1, 2, 255, 254, 10, 0]))
    env.put("top", "top-level-value-xyz")
    return env


def status(mount):
    return json.loads(mount.read(".status"))


def fresh_status(mount):
    return mount.fresh_status()


@pytest.fixture
def bao(tmp_path):
    """Starts private OpenBao servers for one test (`bao(port=…, token=…)`); each is resumed and
    killed at the end, whatever happened."""
    from peers import start_private_bao
    started = []

    def start(**kwargs):
        server = start_private_bao(str(tmp_path), **kwargs)
        started.append(server)
        return server

    yield start
    for server in started:
        if server.process.poll() is None:
            server.process.send_signal(signal.SIGCONT)
        server.stop(signal.SIGKILL)


@pytest.fixture
def server(tmp_path):
    """A private OpenBao whose file audit device logs every request it serves (`server.audit`,
    `server.requests(path)`), to count what a mount asks."""
    from peers import start_audited_bao
    server = start_audited_bao(tmp_path)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def audited_bao(tmp_path_factory):
    """`server`, one for a whole module: for suites whose engines each have a mount of their own."""
    from peers import start_audited_bao
    server = start_audited_bao(tmp_path_factory.mktemp("audited-bao"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def debian_package(tmp_path_factory):
    """`scripts/package --binary SECRETSFS_BIN`, once per run: (the .deb, the tarball). The package
    tests, the container image and the systemd machine all install this one file. SECRETSFS_DEB
    names a .deb built already instead (its tarball is looked for beside it)."""
    if os.environ.get("SECRETSFS_DEB"):
        deb = Path(os.environ["SECRETSFS_DEB"]).resolve()
        return deb, deb.with_name(deb.name.replace("_", "-", 1).replace(".deb", ".tar.gz"))
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run([str(ROOT / "scripts" / "package"), "--binary", BIN, "--output", str(out)],
                            capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, f"scripts/package failed (a release build is packed):\n{result.stderr}"
    deb, tar = result.stdout.split()
    return Path(deb), Path(tar)
