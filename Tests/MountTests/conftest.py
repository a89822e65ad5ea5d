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

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("SECRETSFS_BIN") or str(ROOT / ".build" / "debug" / "secretsfs")


# The files that share the one Debian package (and the images made from it) run on one worker.
PACKAGE_FILES = {"test_package.py", "test_containers.py", "test_systemd.py"}


def pytest_configure(config):
    config.addinivalue_line("markers", "xdist_group(name): tests pytest-xdist runs on one worker")


def pytest_collection_modifyitems(items):
    """With `pytest -n N --dist loadgroup` (scripts/test), a worker takes a whole file, so a file's
    module fixtures (an OpenBao cluster, PostgreSQL) start once; without xdist the mark is inert."""
    for item in items:
        name = item.path.name
        item.add_marker(pytest.mark.xdist_group("package" if name in PACKAGE_FILES else name))


def wait_for(predicate, timeout, every=0.05):
    """Polls `predicate` until it holds or `timeout` seconds pass; returns its last answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return predicate()


def write_control(path, data):
    """One write(2) to a `.rotate` file; returns what write returned, raises OSError with the errno."""
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    try:
        return os.write(fd, data)
    finally:
        os.close(fd)


def is_mounted(mountpoint):
    target = os.path.realpath(mountpoint)
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == target for line in f)


def force_unmount(mountpoint):
    subprocess.run(["fusermount3", "-uz", mountpoint], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Mount:
    """One `secretsfs mount` process and its mountpoint."""

    def __init__(self, workdir, args, env=None):
        self.path = str(workdir / "mnt")
        os.makedirs(self.path, exist_ok=True)
        self.log_path = workdir / f"mount-{int(time.time() * 1000)}.log"
        self.args = args
        self.env = env
        self.process = None

    def start(self, timeout=30):
        env = dict(self.env if self.env is not None else os.environ)
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [BIN, "mount", self.path, "--log-format", "json", "--log-level", "debug", *self.args],
            stdout=self.log, stderr=self.log, env=env, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"mount exited with {self.process.returncode}: {self.log_text()}")
            # The daemon says "mounted" once the kernel mount is made; a dead mount left on the
            # same folder by a killed daemon would fool a look at mountinfo alone.
            if is_mounted(self.path) and '"message":"mounted"' in self.log_text():
                return self
            time.sleep(0.02)
        raise AssertionError(f"mount not ready after {timeout}s: {self.log_text()}")

    def stop(self, sig=signal.SIGTERM, timeout=20):
        """Stops the daemon with `sig`; returns its exit code."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        return code

    def worker_pid(self):
        """The pid of the worker serving the mount now (the process started is its supervisor)."""
        return json.loads(self.read(".status"))["worker"]["pid"]

    def cleanup(self):
        self.stop()
        if is_mounted(self.path):
            force_unmount(self.path)
        self.log.close()

    def log_text(self):
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text(errors="replace")

    def p(self, *parts):
        return os.path.join(self.path, *parts)

    def read(self, *parts):
        with open(self.p(*parts), "rb") as f:
            return f.read()


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
    """`.status` as a new process sees it (`cat` opens anew): one process gets the same snapshot
    for a second, and the page cache may keep an older one."""
    result = subprocess.run(["cat", mount.p(".status")], capture_output=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


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
    """A private OpenBao whose file audit device logs every request it serves (`server.audit`), to
    count what a mount asks."""
    from peers import start_private_bao
    audit = tmp_path / "audit.log"
    server = start_private_bao(str(tmp_path), audit_log=str(audit))
    server.audit = audit
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
