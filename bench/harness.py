"""What every bench section shares: the options, a numbered folder per mount, the CLI on the bench's
local store, mounts of each backend and the C read loop. Mounts, OpenBao, moto and the systemd
stand-in are the mount tests' own helpers (Tests/MountTests: daemon.py, peers.py, mounts.py,
fake_systemd.py), so the bench starts and stops them exactly as the tests do."""

import os
import secrets
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "MountTests"))
from daemon import Daemon, is_mounted  # noqa: E402,F401
from mounts import vault_backend, vault_env  # noqa: E402
from peers import AWS_REGION, Vault, aws_client, aws_environment, start_private_bao, start_private_moto  # noqa: E402,F401


def log(message):
    print(f"==> {message}", file=sys.stderr, flush=True)


def median(values):
    return statistics.median(values)


def percentile(values, p):
    """Nearest-rank percentile: the smallest value with at least p% of the values at or below it."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


class Bench:
    """One run: its options, the local store, the shared OpenBao and moto (when started) and the
    results each section adds under its own key."""

    def __init__(self, options):
        self.o = options
        self.quick = options.quick
        self.work = options.workdir
        self.bin = options.bin
        self.results = {}
        self.counter = 0
        # cold, herd and ready need OpenBao and moto; the others run on the local store or their own.
        addr, token = os.environ.get("SECRETSFS_TEST_VAULT_ADDR", ""), os.environ.get("SECRETSFS_TEST_VAULT_TOKEN", "")
        self.vault = Vault(addr, token) if addr and token else None
        self.aws_endpoint = os.environ.get("SECRETSFS_TEST_AWS_ENDPOINT", "")
        self.store = os.path.join(self.work, "secrets.db")
        self.value32 = secrets.token_hex(16).encode()  # 32 bytes

    def fresh_dir(self, name):
        self.counter += 1
        path = os.path.join(self.work, f"{self.counter:02d}-{name}")
        os.makedirs(path)
        return path

    def cli(self, *args, input=None, store=None):
        result = subprocess.run(
            [self.bin, *args, "--store", store or self.store], input=input, capture_output=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"secretsfs {' '.join(args)}: exit {result.returncode}: {result.stderr!r}")
        return result.stdout

    def mount(self, name, *extra, backend=None, env=None, log_level="error"):
        """A secretsfs mount (not started). `backend` defaults to the local store."""
        folder = self.fresh_dir(name)
        mountpoint = os.path.join(folder, "mnt")
        backend = backend or ("--store", self.store)
        argv = [self.bin, "mount", mountpoint, "--log-level", log_level, *extra, *backend]
        return Daemon(argv, mountpoint, env=env, log_path=os.path.join(folder, "daemon.log"))

    def vault_mount(self, name, *extra, vault=None, backend=()):
        """A mount of the shared OpenBao (or `vault`): its address in argv, its token in the environment."""
        vault = vault or self.vault
        return self.mount(name, *extra, backend=vault_backend(vault, *backend), env=vault_env(vault.token))

    def aws_mount(self, name, *extra, endpoint=None):
        endpoint = endpoint or self.aws_endpoint
        return self.mount(name, *extra, backend=("--backend", "aws", "--aws-endpoint", endpoint),
                          env=aws_environment(endpoint))

    @staticmethod
    def python_reads(path, iterations):
        """Median µs of `with open(path, "rb") as f: f.read()` in this process."""
        times = []
        for _ in range(iterations):
            began = time.perf_counter()
            with open(path, "rb") as f:
                f.read()
            times.append(time.perf_counter() - began)
        return median(times) * 1e6

    def readloop(self, path, iterations):
        out = subprocess.run([self.o.readloop, path, str(iterations)], capture_output=True, text=True, check=True)
        return float(out.stdout.strip())

    def cold_floor(self):
        """bench/cold-floor.c, the least a FUSE daemon can do for a cold read."""
        fuse = subprocess.run(["pkg-config", "--cflags", "--libs", "fuse3"], capture_output=True, text=True,
                              check=True).stdout.split()
        return self.compiled("cold-floor", *fuse, "-lpthread")

    def compiled(self, name, *flags):
        """bench/NAME.c, compiled into the work folder once."""
        program = os.path.join(self.work, name)
        if not os.path.exists(program):
            source = os.path.join(self.o.root, "bench", f"{name}.c")
            subprocess.run(["gcc", "-O2", "-Wall", "-o", program, source, *flags], check=True)
        return program

    def lifeloop(self):
        return self.o.lifeloop or self.compiled("lifeloop")
