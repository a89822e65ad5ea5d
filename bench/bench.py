#!/usr/bin/env python3
"""The measurements behind scripts/bench (issue 6), run against a release build of secretsfs.

Every comparison is measured side by side in one run, interleaved round by round, and each
figure is the median of the rounds, because other builds and tests share this machine. The
results table goes to stdout and between the marker comments of docs/BENCHMARKS.md.

Expects what scripts/bench sets up: the secretsfs binary, bench/readloop and libfuse's `hello`
built, an OpenBao dev server (SECRETSFS_TEST_VAULT_ADDR, _TOKEN) and moto
(SECRETSFS_TEST_AWS_ENDPOINT)."""

import argparse
import datetime
import http.client
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import socket
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "MountTests"))
from fake_systemd import FakeSystemd  # noqa: E402  (one stand-in for systemd, shared with the tests)
from concurrent.futures import ThreadPoolExecutor

MARK_START = "<!-- bench:results:start -->"
MARK_END = "<!-- bench:results:end -->"


def log(message):
    print(f"==> {message}", file=sys.stderr, flush=True)


def median(values):
    return statistics.median(values)


def percentile(values, p):
    """Nearest-rank percentile: the smallest value with at least p% of the values at or below it."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


def is_mounted(path):
    # The parent resolved, not the mountpoint: a stat of a mount nobody serves waits forever.
    target = os.path.join(os.path.realpath(os.path.dirname(os.path.abspath(path))), os.path.basename(path))
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == target for line in f)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def errno_name(number):
    import errno
    return errno.errorcode.get(number, str(number))


def since_event(events, at):
    """Seconds from the last event that began at or before `at` (None when before the first)."""
    started = [e["at"] for e in events if e["at"] <= at]
    return round(at - max(started), 3) if started else None


class Daemon:
    """One FUSE daemon (secretsfs mount or hello) on its own mountpoint; always unmounted by stop()."""

    live = []

    def __init__(self, argv, mountpoint, env=None, log_path=None):
        self.argv = argv
        self.mountpoint = mountpoint
        self.env = env
        self.log_path = log_path or f"{mountpoint}.log"
        self.process = None
        # Not for a mount already there (a restart through the descriptor store): makedirs would
        # stat it, and a stat waits while no supervisor serves it.
        if not is_mounted(mountpoint):
            os.makedirs(mountpoint, exist_ok=True)

    def start(self, probe=None, timeout=60):
        """Starts the daemon; returns once the kernel shows the mount and `probe` (a path under
        the mountpoint) reads. Returns the seconds that took, measured from just before the spawn."""
        began = time.perf_counter()
        self.launch()
        deadline = began + timeout
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.argv[0]} exited with {self.process.returncode}; log {self.log_path}")
            if is_mounted(self.mountpoint):
                if probe is None:
                    return time.perf_counter() - began
                try:
                    read_file(os.path.join(self.mountpoint, probe))
                    return time.perf_counter() - began
                except OSError:
                    pass
            time.sleep(0.001)
        raise RuntimeError(f"{self.argv[0]} not ready after {timeout}s; log {self.log_path}")

    def launch(self, argv=None, **popen):
        """Spawns the daemon and returns at once (start() waits for it too)."""
        self.log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            argv or self.argv, stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL, env=self.env, **popen)
        Daemon.live.append(self)

    def forget(self):
        """For a daemon that has exited and left its mount to the next one: stop() would unmount."""
        if self in Daemon.live:
            Daemon.live.remove(self)
            self.log.close()

    @property
    def pid(self):
        return self.process.pid

    def rss_kib(self, field="VmRSS"):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        raise RuntimeError(f"no {field}")

    def worker_rss_kib(self, field="VmRSS"):
        """The same figure of the worker, the process that serves the mount and holds the cache
        (`rss_kib` is the supervisor's, which only keeps the mount alive)."""
        out = subprocess.run(["cat", os.path.join(self.mountpoint, ".status")], capture_output=True, check=True)
        pid = json.loads(out.stdout)["worker"]["pid"]
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        raise RuntimeError(f"no {field}")

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if is_mounted(self.mountpoint):
            subprocess.run(["fusermount3", "-uz", self.mountpoint], stderr=subprocess.DEVNULL)
        if self in Daemon.live:
            Daemon.live.remove(self)
            self.log.close()

    @classmethod
    def stop_all(cls):
        for daemon in list(cls.live):
            daemon.stop()


class Readers:
    """Processes running bench/lifeloop on one file until told to stop through a shared flag byte;
    each prints what it saw (reads, errors by errno, the longest iteration, slow iterations)."""

    live = []

    def __init__(self, program, path, count, flag_path):
        self.flag_path = flag_path
        with open(flag_path, "wb") as f:
            f.write(b"\0")
        self.processes = [subprocess.Popen([program, path, flag_path], stdout=subprocess.PIPE,
                                           stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
                          for _ in range(count)]
        Readers.live.append(self)

    def stop(self, timeout=30):
        """Returns (the readers' reports, how many did not stop within `timeout` and were killed)."""
        with open(self.flag_path, "r+b") as f:
            f.write(b"\1")
        reports, hung = [], 0
        deadline = time.monotonic() + timeout
        for process in self.processes:
            try:
                out, err = process.communicate(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                hung += 1
                process.kill()
                out, err = process.communicate()
                continue
            if process.returncode != 0:
                raise RuntimeError(f"lifeloop exited with {process.returncode}: {err.decode()[:300]}")
            reports.append(json.loads(out))
        if self in Readers.live:
            Readers.live.remove(self)
        return reports, hung

    @classmethod
    def stop_all(cls):
        for readers in list(cls.live):
            readers.stop(timeout=5)


class Bench:
    def __init__(self, options):
        self.o = options
        self.quick = options.quick
        self.work = options.workdir
        self.bin = options.bin
        self.results = {}
        self.counter = 0
        # Sections 3, 4 and 6 need OpenBao and moto; the others run on the local store alone.
        self.vault_addr = os.environ.get("SECRETSFS_TEST_VAULT_ADDR", "")
        self.vault_token = os.environ.get("SECRETSFS_TEST_VAULT_TOKEN", "")
        self.aws_endpoint = os.environ.get("SECRETSFS_TEST_AWS_ENDPOINT", "")
        self.store = os.path.join(self.work, "secrets.db")
        self.value32 = secrets.token_hex(16).encode()  # 32 bytes

    # ---- helpers ---------------------------------------------------------------------------

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

    def vault_env(self):
        return {**os.environ, "VAULT_ADDR": self.vault_addr, "VAULT_TOKEN": self.vault_token}

    def aws_env(self):
        return {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}

    def mount(self, name, *extra, backend=("--store",), env=None):
        """A secretsfs mount (not started). `backend` defaults to the local store."""
        folder = self.fresh_dir(name)
        mountpoint = os.path.join(folder, "mnt")
        if backend == ("--store",):
            backend = ("--store", self.store)
        argv = [self.bin, "mount", mountpoint, "--log-level", "error", *extra, *backend]
        return Daemon(argv, mountpoint, env=env, log_path=os.path.join(folder, "daemon.log"))

    def vault_request(self, method, path, body=None, connection=None):
        url = urllib.parse.urlsplit(self.vault_addr)
        own = connection is None
        connection = connection or http.client.HTTPConnection(url.hostname, url.port, timeout=10)
        headers = {"X-Vault-Token": self.vault_token}
        if body is not None:
            body = json.dumps(body)
            headers["Content-Type"] = "application/json"
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        if own:
            connection.close()
        if response.status >= 300:
            raise RuntimeError(f"vault {method} {path}: {response.status} {data[:200]!r}")
        return json.loads(data) if data else None

    def vault_put(self, path, value):
        self.vault_request("POST", f"/v1/secret/data/{path}", {"data": {"value": value}})

    def status(self, mountpoint):
        # From a new process: the daemon hands one process the same .status for a second
        # (GeneratedSnapshots), so a second read from this one would repeat the first.
        out = subprocess.run(["cat", os.path.join(mountpoint, ".status")], capture_output=True, check=True)
        return json.loads(out.stdout)

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

    # ---- 1 and 2: cached open+read+close from C --------------------------------------------

    def bench_cached(self):
        iterations = 2000 if self.quick else 20000
        rounds = 3 if self.quick else 5
        log(f"1-2: open+read+close of a 32-byte secret, {iterations} times, {rounds} interleaved rounds")
        self.cli("put", "bench/small", input=self.value32)

        shm = os.path.join("/dev/shm", f"secretsfs-bench-{os.getpid()}")
        os.makedirs(shm, exist_ok=True)
        tmpfs_file = os.path.join(shm, "small")
        with open(tmpfs_file, "wb") as f:
            f.write(self.value32)

        hello_mp = os.path.join(self.fresh_dir("hello"), "mnt")
        # libfuse's example, high-level API, multi-threaded (the default), foreground.
        hello = Daemon([self.o.hello, "-f", "--name=small", f"--contents={self.value32.decode()}", hello_mp],
                       hello_mp)
        hello.start(probe="small")

        policy_dir = self.fresh_dir("policy")
        config = os.path.join(policy_dir, "config.yaml")
        with open(config, "w") as f:
            f.write(f'policy:\n  - path: "**"\n    uids: [{os.getuid()}]\n')
        audit_file = os.path.join(self.work, "audit.jsonl")
        kept_audit_file = os.path.join(self.work, "audit-kept.jsonl")

        mounts = {
            "mount": self.mount("default"),
            "audit": self.mount("audit", "--audit-log", audit_file),
            "direct": self.mount("direct", "--direct-io"),
            "policy": self.mount("policy", "--config", config),
            # The same checks with the page cache kept between opens (--keep-pages, off by default).
            "audit_kept": self.mount("audit-kept", "--audit-log", kept_audit_file, "--keep-pages"),
            "policy_kept": self.mount("policy-kept", "--config", config, "--keep-pages"),
            # `.events` streams need every open to reach the daemon.
            "events": self.mount("events", "--events"),
        }
        for daemon in mounts.values():
            daemon.start(probe="bench/small")
        paths = {"tmpfs": tmpfs_file, "hello": os.path.join(hello_mp, "small")}
        for name, daemon in mounts.items():
            paths[name] = os.path.join(daemon.mountpoint, "bench", "small")
        for path in paths.values():
            if read_file(path) != self.value32:
                raise RuntimeError(f"{path} does not read back the value")
            self.readloop(path, max(200, iterations // 20))  # warm up: first opens, page cache

        order = list(paths)
        samples = {name: [] for name in order}
        python_samples = {"tmpfs": [], "mount": []}
        for r in range(rounds):
            rotated = order[r % len(order):] + order[:r % len(order)]
            for name in rotated:
                samples[name].append(self.readloop(paths[name], iterations))
            # The same from Python, whose open() also asks isatty(): an ioctl the kernel always
            # forwards to a FUSE daemon, so a Python reader makes one round trip per open.
            for name in (["tmpfs", "mount"] if r % 2 == 0 else ["mount", "tmpfs"]):
                python_samples[name].append(self.python_reads(paths[name], iterations // 4))
        for daemon in [*mounts.values(), hello]:
            daemon.stop()
        os.remove(tmpfs_file)
        os.rmdir(shm)
        self.results["cached"] = {name: median(values) for name, values in samples.items()}
        self.results["cached_python"] = {name: median(values) for name, values in python_samples.items()}
        self.results["cached_samples"] = samples
        self.results["cached_iterations"] = iterations
        self.results["cached_rounds"] = rounds

    # ---- 3: cold read (a cache miss) vs a direct HTTP call ------------------------------------

    def bench_cold(self):
        per_round = 40 if self.quick else 200
        rounds = 3 if self.quick else 5
        ttl0_iterations = 30 if self.quick else 100
        log(f"3: cache misses, {per_round} distinct secrets per round, {rounds} interleaved rounds, "
            f"vs direct calls; --cache-ttl 0 for reference ({ttl0_iterations} reads a round)")
        import boto3
        import botocore.auth
        import botocore.awsrequest
        import botocore.credentials

        aws = boto3.client("secretsmanager", endpoint_url=self.aws_endpoint, region_name="us-east-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing")

        def aws_put(name, value):
            try:
                aws.create_secret(Name=name, SecretString=value)
            except aws.exceptions.ResourceExistsException:
                aws.put_secret_value(SecretId=name, SecretString=value)

        # One folder of distinct secrets per round, in both stores, so that every timed read
        # through a mount is the first read of its secret on that mount: a cache miss.
        prefix = f"miss{secrets.token_hex(3)}"
        folders = [f"{prefix}/r{r}" for r in range(rounds)]
        values = {}
        url = urllib.parse.urlsplit(self.vault_addr)
        vault_connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
        value = secrets.token_hex(16)
        self.vault_put("bench/cold", value)
        aws_put("bench/cold", value)

        # The cache-miss mounts have the default TTL (5 minutes); the TTL-0 mounts are for reference.
        mounts = {
            "vault_miss": self.mount("miss-vault", backend=("--backend", "vault"), env=self.vault_env()),
            # Every miss secret read at mount, before it says it is ready (issue 16 §2).
            "vault_prefetched": self.mount("prefetched-vault", "--prefetch", f"{prefix}/**",
                                           backend=("--backend", "vault"), env=self.vault_env()),
            "aws_miss": self.mount("miss-aws", backend=("--backend", "aws", "--aws-endpoint", self.aws_endpoint),
                                   env=self.aws_env()),
            "vault_ttl0": self.mount("ttl0-vault", "--cache-ttl", "0", backend=("--backend", "vault"),
                                     env=self.vault_env()),
            "aws_ttl0": self.mount("ttl0-aws", "--cache-ttl", "0",
                                   backend=("--backend", "aws", "--aws-endpoint", self.aws_endpoint),
                                   env=self.aws_env()),
        }
        for key in ("vault_ttl0", "aws_ttl0"):
            # bench/cold reads: the mount's first OPEN (answered ENOSYS once) is behind us.
            mounts[key].start(probe="bench/cold")
        # A lone `cat` two folders deep on a fresh TTL-0 mount, then after an idle pause (issue 16 §1).
        self.vault_put("bench/lone/key", value)
        lone = self.mount("ttl0-lone", "--cache-ttl", "0", backend=("--backend", "vault"), env=self.vault_env())
        lone.start()
        lone_calls = []
        for pause in (0, 1.5):
            time.sleep(pause)
            before = self.status(lone.mountpoint)["cache"]["backend_calls"]
            read_file(os.path.join(lone.mountpoint, "bench", "lone", "key"))
            lone_calls.append(self.status(lone.mountpoint)["cache"]["backend_calls"] - before)
        lone.stop()
        self.results["cold_lone_ttl0"] = lone_calls

        aws_url = urllib.parse.urlsplit(self.aws_endpoint)
        aws_connection = http.client.HTTPConnection(aws_url.hostname, aws_url.port, timeout=10)
        signer = botocore.auth.SigV4Auth(botocore.credentials.Credentials("testing", "testing"),
                                         "secretsmanager", "us-east-1")

        def vault_get(name):
            body = self.vault_request("GET", f"/v1/secret/data/{name}", connection=vault_connection)
            return body["data"]["data"]["value"]

        def aws_signed(name):
            # The same request boto3 sends, signed by botocore, on one keep-alive connection.
            body = json.dumps({"SecretId": name})
            request = botocore.awsrequest.AWSRequest(
                method="POST", url=self.aws_endpoint + "/", data=body,
                headers={"Content-Type": "application/x-amz-json-1.1",
                         "X-Amz-Target": "secretsmanager.GetSecretValue"})
            signer.add_auth(request)
            aws_connection.request("POST", "/", body=body, headers=dict(request.headers.items()))
            response = aws_connection.getresponse()
            data = response.read()
            if response.status != 200:
                raise RuntimeError(f"moto: {response.status} {data[:200]!r}")
            return json.loads(data)["SecretString"]

        def aws_boto3(name):
            return aws.get_secret_value(SecretId=name)["SecretString"]

        def timed(call, names):
            latencies = []
            for name in names:
                began = time.perf_counter()
                got = call(name)
                latencies.append(time.perf_counter() - began)
                if got != values.get(name, value):
                    raise RuntimeError(f"{name}: wrong value")
            return latencies

        calls = {name: 0 for name in mounts}
        reads = {name: 0 for name in mounts}
        hits = {"vault_miss": [], "aws_miss": []}

        def through(key):
            mp = mounts[key].mountpoint

            def call(name):
                return read_file(os.path.join(mp, name)).decode()

            def run(r):
                if key == "vault_prefetched":
                    # No listing first: the first open of each is the first the mount sees of it.
                    names = [f"{folders[r]}/s{i:03d}" for i in range(per_round)]
                elif key.endswith("_miss"):
                    # List the folder once, as any live mount has; then each read is a miss.
                    listed = [e for e in os.listdir(os.path.join(mp, folders[r])) if not e.startswith(".")]
                    if len(listed) != per_round:
                        raise RuntimeError(f"{key}: {folders[r]} lists {len(listed)} secrets, not {per_round}")
                    names = [f"{folders[r]}/s{i:03d}" for i in range(per_round)]
                else:
                    names = ["bench/cold"] * ttl0_iterations
                before = self.status(mp)["cache"]["backend_calls"]
                latencies = timed(call, names)
                # .status reads are not backend calls, so the difference is the reads' own calls.
                calls[key] += self.status(mp)["cache"]["backend_calls"] - before
                reads[key] += len(names)
                if key.endswith("_miss"):
                    # The same reads again, now cached: what the kernel and Python cost without the backend.
                    hits[key].append(median(timed(call, names)) * 1e6)
                return latencies
            return run

        def direct(call):
            return lambda r: timed(call, [f"{folders[r]}/s{i:03d}" for i in range(per_round)])

        def seed_misses():
            for folder in folders:
                for i in range(per_round):
                    name = f"{folder}/s{i:03d}"
                    values[name] = secrets.token_hex(16)
                    self.vault_request("POST", f"/v1/secret/data/{name}", {"data": {"value": values[name]}},
                                       connection=vault_connection)
            with ThreadPoolExecutor(max_workers=4) as pool:
                list(pool.map(lambda name: aws_put(name, values[name]), values))
            # Started after the seeding, so that their listing of / shows the new folder.
            for key in ("vault_miss", "aws_miss", "vault_prefetched"):
                mounts[key].start(probe="bench/cold")
            # The same values as files on tmpfs, for the prefetched reads' ratio.
            for name in values:
                os.makedirs(os.path.dirname(os.path.join(shm, name)), exist_ok=True)
                with open(os.path.join(shm, name), "w") as f:
                    f.write(values[name])

        shm = tempfile.mkdtemp(prefix="secretsfs-bench-", dir="/dev/shm")

        def tmpfs_read(name):
            return read_file(os.path.join(shm, name)).decode()

        cases = {
            "vault_miss": through("vault_miss"),
            "vault_prefetched": through("vault_prefetched"),
            "tmpfs_first": direct(tmpfs_read),
            "vault_http": direct(vault_get),
            "aws_miss": through("aws_miss"),
            "aws_http": direct(aws_signed),
            "aws_boto3": direct(aws_boto3),
        }
        # The TTL-0 reads go first, before the miss secrets exist: moto's ListSecrets scans every
        # secret it holds, and with TTL 0 each open lists folders again.
        ttl0_cases = {
            "vault_ttl0": through("vault_ttl0"),
            "vault_ttl0_http": lambda r: timed(vault_get, ["bench/cold"] * ttl0_iterations),
            "aws_ttl0": through("aws_ttl0"),
            "aws_ttl0_http": lambda r: timed(aws_signed, ["bench/cold"] * ttl0_iterations),
        }

        # Warm up: connections, token lookups, Python imports; bench/cold only, so no miss is spent.
        for _ in range(10):
            vault_get("bench/cold")
            aws_signed("bench/cold")
            aws_boto3("bench/cold")
            for key in ("vault_ttl0", "aws_ttl0"):
                read_file(os.path.join(mounts[key].mountpoint, "bench", "cold"))
        samples = {name: [] for name in [*ttl0_cases, *cases]}
        for phase in (ttl0_cases, cases):
            if phase is cases:
                seed_misses()
            order = list(phase)
            for r in range(rounds):
                for name in order[r % len(order):] + order[:r % len(order)]:
                    samples[name].append(median(phase[name](r)) * 1e6)
        vault_connection.close()
        aws_connection.close()
        for daemon in mounts.values():
            daemon.stop()
        shutil.rmtree(shm, ignore_errors=True)
        self.results["cold"] = {name: median(values) for name, values in samples.items()}
        self.results["cold_samples"] = samples
        self.results["cold_hit"] = {name: median(values) for name, values in hits.items()}
        self.results["cold_calls_per_read"] = {k: calls[k] / reads[k] for k in calls}
        self.results["cold_per_round"] = per_round
        self.results["cold_rounds"] = rounds
        self.results["cold_ttl0_iterations"] = ttl0_iterations

    # ---- 4: 100 concurrent readers of one uncached secret -----------------------------------

    def bench_herd(self):
        rounds = 3
        readers = 100
        log(f"4: {readers} concurrent readers of one uncached Vault secret, {rounds} fresh mounts")
        value = secrets.token_hex(16)
        self.vault_put("bench/herd", value)
        expected = value.encode()
        results = []
        single = []
        for _ in range(rounds):
            # What one reader costs on a fresh mount: one call per key it touches (the listings
            # of / and bench/, then the secret), the figure 100 readers should not exceed.
            daemon = self.mount("herd-one", backend=("--backend", "vault"), env=self.vault_env())
            daemon.start(probe=".status")
            before = self.status(daemon.mountpoint)["cache"]["backend_calls"]
            if read_file(os.path.join(daemon.mountpoint, "bench", "herd")) != expected:
                raise RuntimeError("the single reader read the wrong bytes")
            single.append(self.status(daemon.mountpoint)["cache"]["backend_calls"] - before)
            daemon.stop()

            daemon = self.mount("herd", backend=("--backend", "vault"), env=self.vault_env())
            daemon.start(probe=".status")
            before = self.status(daemon.mountpoint)["cache"]["backend_calls"]
            path = os.path.join(daemon.mountpoint, "bench", "herd")
            barrier = threading.Barrier(readers)
            latencies = [None] * readers
            failures = []

            def reader(i):
                barrier.wait()
                began = time.perf_counter()
                try:
                    data = read_file(path)
                    if data != expected:
                        failures.append(f"reader {i} read {len(data)} wrong bytes")
                except OSError as error:
                    failures.append(f"reader {i}: {error}")
                latencies[i] = time.perf_counter() - began

            threads = [threading.Thread(target=reader, args=(i,)) for i in range(readers)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            after = self.status(daemon.mountpoint)["cache"]["backend_calls"]
            daemon.stop()
            if failures:
                raise RuntimeError("; ".join(failures[:5]))
            ms = [x * 1e3 for x in latencies]
            results.append({"calls": after - before, "p50": percentile(ms, 50), "p99": percentile(ms, 99)})
        self.results["herd"] = {
            "calls": [r["calls"] for r in results],
            "single": single,
            "p50": median([r["p50"] for r in results]),
            "p99": median([r["p99"] for r in results]),
            "rounds": results}

    # ---- 5: 10,000 secrets -------------------------------------------------------------------

    def seed_many(self, store, folders, per_folder):
        """The first secrets through `secretsfs put` (timed, 2 at a time), the rest with sqlite3
        by the same statements LocalSecretStore uses, in the file and schema the CLI created."""
        names = [f"d{d}/s{i:04d}" for d in range(folders) for i in range(per_folder)]
        by_cli = names[:40]
        began = time.perf_counter()
        # The first put alone: it creates the store file and its schema.
        self.cli("put", by_cli[0], input=secrets.token_hex(16).encode(), store=store)
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(lambda name: self.cli("put", name, input=secrets.token_hex(16).encode(), store=store),
                          by_cli[1:]))
        per_put = (time.perf_counter() - began) / len(by_cli)
        began = time.perf_counter()
        db = sqlite3.connect(store)
        (user_version,) = db.execute("PRAGMA user_version").fetchone()
        if user_version != 1:
            raise RuntimeError(f"the store has schema version {user_version}; bench/bench.py writes version 1")
        now = time.time()
        with db:
            for name in names[len(by_cli):]:
                # LocalSecretStore.insertVersion: kind 0 is a plain value, content its bytes.
                db.execute("INSERT INTO versions (path, version, created_at, kind, content) VALUES (?1, ?2, ?3, ?4, ?5)",
                           (name, 1, now, 0, secrets.token_hex(16).encode()))
                db.execute("INSERT INTO secrets (path, current_version) VALUES (?1, ?2) "
                           "ON CONFLICT (path) DO UPDATE SET current_version = excluded.current_version", (name, 1))
        db.close()
        direct = time.perf_counter() - began
        # What the daemon will serve, read back by the CLI from a row written here.
        if len(self.cli("get", names[-1], store=store)) != 32:
            raise RuntimeError("a secret written with sqlite3 does not read back through the CLI")
        return names, per_put, direct

    def bench_many(self):
        folders, per_folder = 10, 1000
        rounds = 1 if self.quick else 3
        log(f"5: {folders * per_folder} secrets in {folders} folders, {rounds} fresh mounts")
        store = os.path.join(self.fresh_dir("many"), "many.db")
        names, per_put, direct = self.seed_many(store, folders, per_folder)
        # The same tree as files on tmpfs, timed by the same commands in each round, for the ratios.
        shm = tempfile.mkdtemp(prefix="secretsfs-bench-many-", dir="/dev/shm")
        for name in names:
            os.makedirs(os.path.dirname(os.path.join(shm, name)), exist_ok=True)
            with open(os.path.join(shm, name), "w") as f:
                f.write(secrets.token_hex(16))

        def timed_shell(command):
            began = time.perf_counter()
            out = subprocess.run(["bash", "-c", command], capture_output=True, text=True, check=True,
                                 env={**os.environ, "LC_ALL": "C"})
            return time.perf_counter() - began, out.stdout

        results = []
        for _ in range(rounds):
            # Reading the 10,000 values and nothing else, on a mount of its own.
            daemon = self.mount("many-read", backend=("--store", store))
            daemon.start(probe=".status")
            for name in names:
                if len(read_file(os.path.join(daemon.mountpoint, name))) != 32:
                    raise RuntimeError(f"{name} has the wrong size")
            rss_read_only = daemon.rss_kib()
            worker_read_only = daemon.worker_rss_kib()
            daemon.stop()

            daemon = self.mount("many", backend=("--store", store))
            daemon.start(probe=".status")
            rss_start = daemon.rss_kib()
            mp = daemon.mountpoint
            ls_cold, ls_out = timed_shell(f"ls -l {mp}/d3")
            ls_entries = sum(1 for line in ls_out.splitlines() if line.startswith("-r"))
            ls_warm, _ = timed_shell(f"ls -l {mp}/d3")
            find_time, find_out = timed_shell(f"find {mp} -type f | wc -l")
            rss_find = daemon.rss_kib()
            find_secret_files, _ = timed_shell(f"find {mp} -type f -not -path '*/.versions/*' -not -name '.*' | wc -l")
            began = time.perf_counter()
            for name in names:
                if len(read_file(os.path.join(mp, name))) != 32:
                    raise RuntimeError(f"{name} has the wrong size")
            read_all = time.perf_counter() - began
            rss_end = daemon.rss_kib()
            worker_end = daemon.worker_rss_kib()
            anon_end, file_end = daemon.worker_rss_kib("RssAnon"), daemon.worker_rss_kib("RssFile")
            # A second pass: with the default `--cache-max-entries` the whole tree and its listings
            # stay cached, so it asks the store nothing.
            calls_before = self.status(mp)["cache"]["backend_calls"]
            began = time.perf_counter()
            for name in names:
                read_file(os.path.join(mp, name))
            read_again = time.perf_counter() - began
            second_pass_calls = self.status(mp)["cache"]["backend_calls"] - calls_before
            status = self.status(mp)
            daemon.stop()
            timed_shell(f"ls -l {shm}/d3")
            tmpfs_ls, _ = timed_shell(f"ls -l {shm}/d3")
            tmpfs_find, _ = timed_shell(f"find {shm} -type f | wc -l")
            results.append({
                "tmpfs_ls_ms": tmpfs_ls * 1e3, "tmpfs_find_s": tmpfs_find,
                "ls_cold_ms": ls_cold * 1e3, "ls_warm_ms": ls_warm * 1e3, "ls_entries": ls_entries,
                "find_s": find_time, "find_count": int(find_out.strip()), "read_all_s": read_all,
                "rss_read_only_mib": rss_read_only / 1024, "rss_start_mib": rss_start / 1024, "rss_find_mib": rss_find / 1024, "rss_end_mib": rss_end / 1024,
                "worker_read_only_mib": worker_read_only / 1024, "worker_end_mib": worker_end / 1024,
                "read_again_s": read_again, "second_pass_calls": second_pass_calls,
                "anon_end_mib": anon_end / 1024, "file_end_mib": file_end / 1024,
                "cache_entries": status["cache"]["entries"], "inodes": status["inodes"]})
        shutil.rmtree(shm, ignore_errors=True)
        summary = {key: median([r[key] for r in results]) for key in results[0]}
        summary.update({"per_put_ms": per_put * 1e3, "seed_direct_s": direct, "rounds": results,
                        "secrets": len(names)})
        self.results["many"] = summary

    # ---- 6: start to ready -------------------------------------------------------------------

    def bench_ready(self):
        rounds = 3 if self.quick else 5
        log(f"6: start to ready, local and Vault, {rounds} interleaved rounds")
        self.vault_put("bench/ready", secrets.token_hex(16))
        self.cli("put", "bench/ready", input=self.value32)
        url = urllib.parse.urlsplit(self.vault_addr)
        samples = {"local": [], "vault": [], "vault_http": [], "exec": []}
        for _ in range(rounds):
            for name in ("local", "vault"):
                if name == "local":
                    daemon = self.mount("ready-local")
                else:
                    daemon = self.mount("ready-vault", backend=("--backend", "vault"), env=self.vault_env())
                samples[name].append(daemon.start(probe="bench/ready") * 1e3)
                daemon.stop()
            # The backend's own answer: a new connection and one GET, as the daemon's first read makes.
            began = time.perf_counter()
            connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
            self.vault_request("GET", "/v1/secret/data/bench/ready", connection=connection)
            connection.close()
            samples["vault_http"].append((time.perf_counter() - began) * 1e3)
            # What any run of the binary costs before it does anything: exec, dyld, Swift runtime.
            began = time.perf_counter()
            subprocess.run([self.bin, "--help"], capture_output=True, check=True)
            samples["exec"].append((time.perf_counter() - began) * 1e3)
        self.results["ready"] = {name: median(values) for name, values in samples.items()}
        self.results["ready_samples"] = samples

    # ---- 8: a fleet against one OpenBao (issue 16) ------------------------------------------

    def private_bao(self, audit_log):
        """A `bao server -dev` of this section's own, with a file audit device (OpenBao takes audit
        devices from its config only): every request it serves is one line with its time."""
        folder = self.fresh_dir("fleet-bao")
        config = os.path.join(folder, "audit.hcl")
        with open(config, "w") as f:
            f.write(f'audit "file" "fleet" {{\n  options {{\n    file_path = "{audit_log}"\n  }}\n}}\n')
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        token = "root-" + secrets.token_hex(16)
        log_file = open(os.path.join(folder, "server.log"), "wb")
        # The root token reaches bao through its environment, never argv.
        process = subprocess.Popen(
            ["bao", "server", "-dev", f"-dev-listen-address=127.0.0.1:{port}", f"-config={config}"],
            env={**os.environ, "BAO_DEV_ROOT_TOKEN_ID": token}, stdout=log_file, stderr=log_file,
            stdin=subprocess.DEVNULL)
        addr = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                connection.request("GET", "/v1/sys/mounts/secret", headers={"X-Vault-Token": token})
                if connection.getresponse().status == 200:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the fleet's bao server did not start; log {folder}/server.log")
            time.sleep(0.1)
        return process, addr, token

    @staticmethod
    def audit_times(audit_log):
        """(wall time, path) of every request in an OpenBao file audit log."""
        requests = []
        with open(audit_log) as f:
            for line in f:
                entry = json.loads(line)
                if entry.get("type") != "request":
                    continue
                stamp = entry["time"].rstrip("Z")
                whole, _, fraction = stamp.partition(".")
                seconds = datetime.datetime.fromisoformat(whole).replace(tzinfo=datetime.timezone.utc).timestamp()
                requests.append((seconds + float("0." + (fraction or "0")), entry["request"].get("path", "")))
        return requests

    def bench_fleet(self):
        mounts = 10 if self.quick else 30
        per_mount = 20
        seconds = 20 if self.quick else 60
        window = 0.1
        fleets = {"jitter": (), "lockstep": ("--refresh-jitter", "0")}
        log(f"8: two fleets of {mounts} mounts started together against one OpenBao, TTL 10 s, default "
            f"--refresh-jitter and --refresh-jitter 0 side by side, {per_mount} secrets a mount read every "
            f"0.5 s, requests per {window * 1e3:.0f} ms over {seconds} s")
        audit_log = os.path.join(self.fresh_dir("fleet-audit"), "audit.log")
        process, addr, token = self.private_bao(audit_log)
        env = {**os.environ, "VAULT_ADDR": addr, "VAULT_TOKEN": token}
        url = urllib.parse.urlsplit(addr)
        try:
            connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
            for name in fleets:
                for i in range(per_mount):
                    body = json.dumps({"data": {"value": secrets.token_hex(16)}})
                    connection.request("POST", f"/v1/secret/data/fleet-{name}/s{i:02d}", body=body,
                                       headers={"X-Vault-Token": token, "Content-Type": "application/json"})
                    response = connection.getresponse()
                    response.read()
                    if response.status >= 300:
                        raise RuntimeError(f"seeding fleet-{name}: {response.status}")
            connection.close()
            daemons = {name: [self.mount(f"fleet-{name}", "--cache-ttl", "10s", *extra,
                                         backend=("--backend", "vault", "--vault-prefix", f"fleet-{name}"), env=env)
                              for _ in range(mounts)]
                       for name, extra in fleets.items()}
            # Started together, as one deploy starts a fleet: every spawn first, then the waits.
            every = [d for group in daemons.values() for d in group]
            for daemon in every:
                daemon.launch()
            deadline = time.monotonic() + 60
            for daemon in every:
                while not is_mounted(daemon.mountpoint):
                    if daemon.process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"a fleet mount did not start; log {daemon.log_path}")
                    time.sleep(0.01)
            stop = threading.Event()
            failures = []

            def reader(daemon):
                # Each node's program reads its secrets on its own schedule, as a fleet's programs do.
                names = [os.path.join(daemon.mountpoint, f"s{i:02d}") for i in range(per_mount)]
                stop.wait(secrets.randbelow(500) / 1000)
                while not stop.is_set():
                    try:
                        for name in names:
                            read_file(name)
                    except OSError as error:
                        failures.append(f"{daemon.mountpoint}: {error}")
                        return
                    stop.wait(0.5)

            threads = [threading.Thread(target=reader, args=(d,)) for d in every]
            started = time.time()
            for t in threads:
                t.start()
            time.sleep(seconds)
            stop.set()
            for t in threads:
                t.join()
            for daemon in every:
                daemon.stop()
            if failures:
                raise RuntimeError("; ".join(failures[:5]))
        finally:
            process.terminate()
            process.wait(timeout=20)
        requests = self.audit_times(audit_log)
        windows = int(round(seconds / window))
        result = {"mounts": mounts, "secrets_per_mount": per_mount, "seconds": seconds, "window_ms": window * 1e3}
        for name in fleets:
            counts = [0] * windows
            for at, path in requests:
                # Only the whole windows: the readers are stopped a moment after the last one ends,
                # and what comes in that moment must not swell the last window.
                if f"fleet-{name}" in path and started <= at and int((at - started) / window) < windows:
                    counts[int((at - started) / window)] += 1
            # The first seconds are the deploy itself (every mount reads everything once); the
            # refreshes that follow are what a spread is for.
            steady = counts[int(round(10 / window)):]
            result[name] = {
                "requests": sum(counts), "peak": max(counts), "mean": sum(counts) / windows,
                "ratio": max(counts) / (sum(counts) / windows) if sum(counts) else 0,
                "steady_peak": max(steady), "steady_mean": sum(steady) / len(steady),
                "steady_ratio": max(steady) / (sum(steady) / len(steady)) if sum(steady) else 0,
                "steady_poisson_peak": Bench.poisson_peak(sum(steady) / len(steady), len(steady)),
                "counts": counts}
        self.results["fleet"] = result

    @staticmethod
    def poisson_peak(mean, windows):
        """The median peak of `windows` windows of requests sent at independent random times at
        `mean` a window (Poisson): what the best spread mounts can reach without knowing of each other."""
        import math
        term, below, k = math.exp(-mean), 0.0, 0
        while True:
            below += term
            if below ** windows >= 0.5:
                return k
            k += 1
            term *= mean / k

    # ---- 7: the mount outlives its worker (issue 12) -----------------------------------------

    def bench_freshness(self):
        """Issue 16 §3, compressed 10× in time: N AWS secrets kept fresh within 6 s (for 60 s) over
        60 s (for 10 minutes), read by a reader all along, one changed every 10 s with boto3; every
        request counted at a moto of this section's own (its request log), the changes' own puts
        taken out. Scaled to 1,000 secrets and an hour at a 60 s target."""
        import boto3
        count = 100 if self.quick else 1000
        target, seconds = 6, 60
        folder = self.fresh_dir("freshness-moto")
        port = free_port()
        moto_log = open(os.path.join(folder, "moto.log"), "wb")
        moto = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(port)], stdout=moto_log,
                                stderr=moto_log, stdin=subprocess.DEVNULL)
        endpoint = f"http://127.0.0.1:{port}"
        try:
            for _ in range(150):
                try:
                    urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2).read()
                    break
                except OSError:
                    time.sleep(0.2)
            sm = boto3.client("secretsmanager", endpoint_url=endpoint, region_name="us-east-1",
                              aws_access_key_id="testing", aws_secret_access_key="testing")
            log(f"16: {count} AWS secrets fresh within {target} s, over {seconds} s, counted at moto")
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(lambda i: sm.create_secret(Name=f"fresh/s{i:04d}", SecretString=f"v{i}-0"),
                              range(count)))
            # A change is seen within the interval plus one round (a listing of N/100 pages): the
            # interval leaves a tenth of the target for the round.
            daemon = self.mount("freshness", "--cache-ttl", f"{target * 10}s",
                                "--refresh-interval", f"{int(target * 900)}ms",
                                "--aws-prefix", "fresh", backend=("--backend", "aws", "--aws-endpoint", endpoint),
                                env=self.aws_env())
            daemon.start(probe="s0000")
            names = [f"s{i:04d}" for i in range(count)]

            def posts():
                moto_log.flush()
                with open(moto_log.name, "rb") as f:
                    return f.read().count(b'"POST / HTTP')

            for name in names:
                read_file(os.path.join(daemon.mountpoint, name))
            before, lags, changes = posts(), [], 0
            began = time.monotonic()
            next_change = began + 5
            while time.monotonic() - began < seconds:
                if time.monotonic() >= next_change and time.monotonic() - began < seconds - 2 * target:
                    changes += 1
                    name = names[changes % count]
                    new = f"v{changes}-changed".encode()
                    sm.put_secret_value(SecretId=f"fresh/{name}", SecretString=new.decode())
                    at = time.monotonic()
                    while read_file(os.path.join(daemon.mountpoint, name)) != new and time.monotonic() - at < 30:
                        time.sleep(0.05)
                    lags.append(time.monotonic() - at)
                    next_change = at + 10
                for name in names:
                    read_file(os.path.join(daemon.mountpoint, name))
                time.sleep(0.5)
            elapsed = time.monotonic() - began
            calls = posts() - before - changes
            daemon.stop()
        finally:
            moto.kill()
            moto.wait()
        # Listings scale with N/100 pages, the compressed minute is 10 real minutes.
        per_hour = calls * (1000 / count) * (3600 / (elapsed * 10))
        self.results["freshness"] = {"secrets": count, "target_s": target, "seconds": elapsed, "calls": calls,
                                     "changes": changes, "max_lag_s": max(lags) if lags else None,
                                     "per_hour_1000_at_60s": per_hour}

    def lifeloop(self):
        if self.o.lifeloop:
            return self.o.lifeloop
        program = os.path.join(self.work, "lifeloop")
        if not os.path.exists(program):
            source = os.path.join(self.o.root, "bench", "lifeloop.c")
            subprocess.run(["gcc", "-O2", "-Wall", "-o", program, source], check=True)
        return program

    def worker(self, mountpoint, accept=lambda worker: True, timeout=20):
        """`.status` `worker` once `accept` holds, each read by a new `cat` (a hung read is killed)."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                out = subprocess.run(["cat", os.path.join(mountpoint, ".status")], capture_output=True,
                                     check=True, timeout=max(0.5, deadline - time.monotonic()))
                last = json.loads(out.stdout)["worker"]
                if accept(last):
                    return last
            except (subprocess.SubprocessError, ValueError, KeyError):
                pass
            time.sleep(0.005)
        raise RuntimeError(f"{mountpoint}: no worker as expected within {timeout}s (last seen {last})")

    @staticmethod
    def cpu(pid):
        """(utime+stime in clock ticks, on-CPU ns of all threads from schedstat, voluntary switches)."""
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15 of stat(5)
        ns = switches = 0
        for task in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                    ns += int(f.read().split()[0])
                with open(f"/proc/{pid}/task/{task}/status") as f:
                    for line in f:
                        if line.startswith("voluntary_ctxt_switches:"):
                            switches += int(line.split()[1])
            except FileNotFoundError:
                pass
        return ticks, ns, switches

    @staticmethod
    def memory(pid):
        """VmRSS, RssAnon and Pss (smaps_rollup) in KiB."""
        found = {}
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key = line.split(":", 1)[0]
                if key in ("VmRSS", "RssAnon", "RssFile"):
                    found[key] = int(line.split()[1])
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    found["Pss"] = int(line.split()[1])
        return found

    def lifetime_phase(self, daemon, path, kind, count, readers, spacing, systemd=None):
        """`readers` lifeloop processes on `path` while `count` events of `kind` happen: worker
        kills, `secretsfs reload`s or descriptor-store restarts. Returns the readers' figures."""
        mp = daemon.mountpoint
        flag = os.path.join(os.path.dirname(mp), f"stop-{kind}.flag")
        state = {"daemon": daemon, "last": 0.0}
        events = []

        def kill():
            old = self.worker(mp)["pid"]
            # 5 deaths within 10 s stop the mount: never closer than `spacing` (≥ 2.2 s).
            time.sleep(max(0.0, state["last"] + spacing - time.monotonic()))
            at = time.monotonic()
            os.kill(old, signal.SIGKILL)
            state["last"] = at
            self.worker(mp, lambda w: w["pid"] != old)
            return {"at": at, "took": time.monotonic() - at}

        def reload():
            old = self.worker(mp)["pid"]
            time.sleep(max(0.0, state["last"] + spacing - time.monotonic()))
            at = time.monotonic()
            result = subprocess.run([self.bin, "reload", mp], capture_output=True, timeout=60)
            took = time.monotonic() - at
            state["last"] = at
            if result.returncode != 0 or b"reloaded" not in result.stdout:
                raise RuntimeError(f"secretsfs reload: exit {result.returncode}: {result.stderr.decode()[:300]}")
            if self.worker(mp)["pid"] == old:
                raise RuntimeError("secretsfs reload left the old worker serving")
            return {"at": at, "took": took}

        def restart():
            # systemctl restart: SIGTERM to the supervisor (it retires its worker and leaves the
            # mount, whose descriptors systemd holds), then a new `secretsfs mount` with them.
            old = state["daemon"]
            time.sleep(max(0.0, state["last"] + spacing - time.monotonic()))
            at = time.monotonic()
            old.process.send_signal(signal.SIGTERM)
            status = old.process.wait(30)
            stopped = time.monotonic() - at
            state["last"] = at
            old.forget()
            if status != 0:
                raise RuntimeError(f"the supervisor exited with {status} on SIGTERM; log {old.log_path}")
            if not is_mounted(mp):
                raise RuntimeError("the mount went with the supervisor: the descriptor store did not keep it")
            new = Daemon(old.argv, mp, env=old.env, log_path=old.log_path)
            command, place, keep = systemd.launch_arguments(new.argv)
            new.launch(command, preexec_fn=place, pass_fds=keep)
            state["daemon"] = new
            self.worker(mp, lambda w: w["supervisor_pid"] == new.pid)
            return {"at": at, "took": time.monotonic() - at, "stopped": stopped}

        action = {"kill": kill, "reload": reload, "restart": restart}[kind]
        readers_ = Readers(self.lifeloop(), path, readers, flag)
        try:
            time.sleep(1.0)
            for _ in range(count):
                events.append(action())
            time.sleep(1.0)
        finally:
            reports, hung = readers_.stop()
        worker = self.worker(mp)
        errors = [e for r in reports for e in r["error_list"]]
        longest = max(reports, key=lambda r: r["max_ns"]) if reports else None
        result = {
            "kind": kind, "count": count, "readers": readers, "hung": hung,
            "reads": sum(r["reads"] for r in reports),
            "errors": sum(r["errors"] for r in reports), "wrong": sum(r["wrong"] for r in reports),
            "error_list": [{"op": e["op"], "errno": errno_name(e["errno"]), "ms": e["ns"] / 1e6,
                            "after_event_s": since_event(events, e["at"])} for e in errors[:20]],
            "max_stall_ms": longest["max_ns"] / 1e6 if longest else None,
            "max_stall_after_event_s": since_event(events, longest["max_at"]) if longest else None,
            "slow_20ms": sum(r["slow_count"] for r in reports),
            "slow_100ms": sum(1 for r in reports for s in r["slow"] if s[1] >= 100e6),
            # The longest read that began within 2 s after each event: the stall each event caused.
            "per_event_stall_ms": [max([s[1] / 1e6 for r in reports for s in r["slow"]
                                        if e["at"] <= s[0] + s[1] / 1e9 and s[0] <= e["at"] + 2.0] or [0])
                                   for e in events],
            "event_took_ms": [e["took"] * 1e3 for e in events],
            "stopped_ms": [e["stopped"] * 1e3 for e in events if "stopped" in e],
            "worker": worker,
            "supervisor_rss_kib_after": self.memory(state["daemon"].pid)["VmRSS"],
        }
        return result, state["daemon"]

    def bench_lifetime(self):
        kills = 5 if self.quick else 20
        restarts = 3 if self.quick else 10
        readers = 8
        spacing = 3.0  # 5 deaths within 10 s stop the mount: 4 gaps must add up to more than 10 s
        log(f"7: {readers} lifeloop readers each on a cached and an uncached (--cache-ttl 0) mount while the "
            f"worker is SIGKILLed {kills} times ({spacing} s apart), across {restarts} descriptor-store "
            f"restarts and {restarts} reloads (1.5 s apart); then RSS and CPU at rest")
        self.cli("put", "bench/life", input=self.value32)
        results = {"kills": kills, "restarts": restarts, "readers": readers, "spacing": spacing, "phases": {}}
        for mode, extra in (("cached", ()), ("uncached", ("--cache-ttl", "0"))):
            folder = self.fresh_dir(f"life-{mode}")
            systemd = FakeSystemd(folder)
            # As systemd runs the unit: NOTIFY_SOCKET, and FDSTORE (FileDescriptorStoreMax, systemd ≥ 254).
            env = {**os.environ, "NOTIFY_SOCKET": systemd.path, "FDSTORE": "4"}
            mountpoint = os.path.join(folder, "mnt")
            daemon = Daemon([self.bin, "mount", mountpoint, "--log-level", "info", *extra, "--store", self.store],
                            mountpoint, env=env, log_path=os.path.join(folder, "daemon.log"))
            try:
                daemon.start(probe="bench/life")
                deadline = time.monotonic() + 10
                while not {"fuse", "inodes", "cache", "mountpoint"} <= set(systemd.stored):
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"the supervisor stored {sorted(systemd.stored)} with systemd, not "
                                           "fuse, inodes, cache and mountpoint")
                    time.sleep(0.01)
                path = os.path.join(mountpoint, "bench", "life")
                if read_file(path) != self.value32:
                    raise RuntimeError(f"{path} does not read back the value")
                for kind, count in (("kill", kills), ("restart", restarts), ("reload", restarts)):
                    phase, daemon = self.lifetime_phase(daemon, path, kind, count, readers,
                                                        spacing if kind == "kill" else 1.5, systemd)
                    results["phases"][f"{mode}_{kind}"] = phase
                    log(f"7: {mode} {kind} ×{count}: {phase['reads']:,} reads, {phase['errors']} errors, "
                        f"{phase['wrong']} wrong, longest read {phase['max_stall_ms']:.0f} ms")
                    if phase["errors"]:
                        log(f"7: {mode} {kind}: errors {phase['error_list']}")
            finally:
                # SIGTERM leaves the mount to systemd's copy of /dev/fuse; closed, the kernel ends the
                # connection, and only then can stop() unmount without waiting on a mount nobody serves.
                if daemon.process is not None and daemon.process.poll() is None:
                    daemon.process.send_signal(signal.SIGTERM)
                    try:
                        daemon.process.wait(30)
                    except subprocess.TimeoutExpired:
                        daemon.process.kill()
                systemd.close()
                daemon.stop()

        # At rest: a fresh default mount, one read, then nothing.
        daemon = self.mount("life-rest")
        daemon.start(probe="bench/life")
        worker_pid = self.worker(daemon.mountpoint)["pid"]
        time.sleep(2.0)
        pids = {"supervisor": daemon.pid, "worker": worker_pid}
        before = {name: self.cpu(pid) for name, pid in pids.items()}
        began = time.monotonic()
        time.sleep(10.0)
        after = {name: self.cpu(pid) for name, pid in pids.items()}
        elapsed = time.monotonic() - began
        rest = {}
        for name, pid in pids.items():
            rest[name] = {**self.memory(pid), "ticks": after[name][0] - before[name][0],
                          "cpu_ms": (after[name][1] - before[name][1]) / 1e6,
                          "wakeups": after[name][2] - before[name][2], "seconds": elapsed}
        daemon.stop()
        results["rest"] = rest
        results["clock_ticks"] = os.sysconf("SC_CLK_TCK")
        self.results["lifetime"] = results

    # ---- report ------------------------------------------------------------------------------

    def table(self):
        r = self.results
        rows = []

        def row(what, figure, target="", verdict=""):
            rows.append(f"| {what} | {figure} | {target} | {verdict} |")

        def met(ok):
            return "met" if ok else "**not met**"

        if "cached" in r:
            c = r["cached"]
            n = r["cached_iterations"]
            row(f"1. tmpfs (`/dev/shm`), open+read+close ×{n:,} from C", f"{c['tmpfs']:.2f} µs")
            row("1. libfuse `hello` (high-level, multi-threaded, `kernel_cache`)", f"{c['hello']:.2f} µs")
            row("1. secretsfs mount, default (page cache, OPEN answered ENOSYS once)", f"{c['mount']:.2f} µs")
            ratio = c["mount"] / c["tmpfs"]
            row("1. ratio mount / tmpfs", f"{ratio:.2f}×", "≤ 2×", met(ratio <= 2))
            row("1. ratio mount / hello", f"{c['mount'] / c['hello']:.3f}×")
            if "cached_python" in r:
                py = r["cached_python"]
                ratio = py["mount"] / py["tmpfs"]
                row("1. the same from Python (`open().read()`, median of each read): tmpfs / mount "
                    "(Python's `isatty` ioctl reaches the daemon on every open: fs/fuse/ioctl.c forwards every "
                    "ioctl and remembers no refusal)",
                    f"{py['tmpfs']:.1f} µs / {py['mount']:.1f} µs = {ratio:.2f}×", "≤ 1.5×", met(ratio <= 1.5))
            for key, label in (("audit", "`--audit-log`"), ("policy", "policy (config `policy:` by uid)"),
                               ("direct", "`--direct-io`"),
                               ("audit_kept", "`--audit-log --keep-pages` (each open checked, pages kept)"),
                               ("policy_kept", "policy `--keep-pages` (each open checked, pages kept)"),
                               ("events", "`--events` (every open reaches the daemon, pages kept)")):
                if key not in c:
                    continue
                ratio = c[key] / c["hello"]
                row(f"2. secretsfs {label}", f"{c[key]:.2f} µs = {ratio:.2f}× hello", "≤ 1× hello",
                    met(ratio <= 1))
        if "cold" in r:
            c = r["cold"]
            calls = r["cold_calls_per_read"]
            n = r["cold_per_round"]
            row(f"3. Vault: cache miss through the mount, default TTL (first open+read of each of {n} secrets "
                "in a listed folder, Python)", f"{c['vault_miss']:.0f} µs ({calls['vault_miss']:.2f} backend calls "
                "per read)")
            row("3. Vault: direct GET of the same secrets, keep-alive `http.client`, JSON decoded",
                f"{c['vault_http']:.0f} µs")
            row("3. the same secrets read again through the mount (cached: kernel and Python only), Vault / moto",
                f"{r['cold_hit']['vault_miss']:.0f} µs / {r['cold_hit']['aws_miss']:.0f} µs")
            ratio = c["vault_miss"] / c["vault_http"]
            row("3. ratio Vault miss / direct", f"{ratio:.2f}×", "≤ 1.2×", met(ratio <= 1.2))
            if "vault_prefetched" in c:
                ratio = c["vault_prefetched"] / c["tmpfs_first"]
                row(f"3. Vault, `--prefetch`: first open+read of each of the {n} secrets (read at mount, before "
                    "ready) / the same first reads of files on tmpfs",
                    f"{c['vault_prefetched']:.1f} µs / {c['tmpfs_first']:.1f} µs = {ratio:.2f}× "
                    f"({calls['vault_prefetched']:.2f} backend calls per read)")
            row("3. moto: cache miss through the mount, default TTL (as above)",
                f"{c['aws_miss']:.0f} µs ({calls['aws_miss']:.2f} backend calls per read)")
            row("3. moto: direct GetSecretValue of the same secrets, botocore-signed, keep-alive `http.client`",
                f"{c['aws_http']:.0f} µs")
            row("3. moto: boto3 `get_secret_value` of the same secrets", f"{c['aws_boto3']:.0f} µs")
            ratio = c["aws_miss"] / c["aws_http"]
            row("3. ratio moto miss / direct signed request", f"{ratio:.2f}×", "≤ 1.2×", met(ratio <= 1.2))
            row("3. ratio moto miss / boto3", f"{c['aws_miss'] / c['aws_boto3']:.2f}×")
            row("3. for reference, `--cache-ttl 0` (every operation goes to the backend): Vault open+read",
                f"{c['vault_ttl0']:.0f} µs = {c['vault_ttl0'] / c['vault_ttl0_http']:.1f}× direct "
                f"({calls['vault_ttl0']:.2f} backend calls per read)")
            if "cold_lone_ttl0" in r:
                fresh, idle = r["cold_lone_ttl0"]
                row("3. `--cache-ttl 0`: Vault backend calls of a lone `cat` two folders deep, fresh mount / "
                    "after 1.5 s idle", f"{fresh} / {idle}", "≤ 2", met(max(fresh, idle) <= 2))
            row("3. for reference, `--cache-ttl 0`: moto open+read",
                f"{c['aws_ttl0']:.0f} µs = {c['aws_ttl0'] / c['aws_ttl0_http']:.1f}× direct signed "
                f"({calls['aws_ttl0']:.2f} backend calls per read)")
        if "herd" in r:
            h = r["herd"]
            calls = "/".join(str(x) for x in h["calls"])
            single = "/".join(str(x) for x in h["single"])
            row("4. 100 concurrent readers, one uncached Vault secret, fresh mount: backend calls (each round) "
                "— one reader alone makes (list `/`, list `bench/`, read)", f"{calls} — {single}",
                "1 per key (= one reader's)", met(all(x <= y for x, y in zip(h["calls"], h["single"]))))
            row("4. latency p50 / p99", f"{h['p50']:.1f} ms / {h['p99']:.1f} ms")
        if "many" in r:
            m = r["many"]
            row("5. seeding: one `secretsfs put` (2 in parallel)", f"{m['per_put_ms']:.1f} ms per secret")
            row(f"5. `find MP -type f \\| wc -l`, 10,000 secrets, fresh mount ({m['find_count']:,} files incl. "
                f"`.versions/*`, `.rotate`, `.status`, `.metrics`)", f"{m['find_s']:.2f} s")
            if "tmpfs_find_s" in m:
                per_secret = m["find_s"] / m["secrets"] * 1e6
                row("5. the same `find`, per secret / tmpfs with the same tree (`/dev/shm`)",
                    f"{per_secret:.0f} µs / {m['tmpfs_find_s'] / m['secrets'] * 1e6:.1f} µs", "≤ 100 µs a secret",
                    met(per_secret <= 100))
            row(f"5. `ls -l` of a 1,000-secret folder, fresh mount / again ({m['ls_entries']} files)",
                f"{m['ls_cold_ms']:.0f} ms / {m['ls_warm_ms']:.0f} ms")
            if "tmpfs_ls_ms" in m:
                ratio = m["ls_warm_ms"] / m["tmpfs_ls_ms"]
                row("5. `ls -l` of the 1,000 again / the same folder on tmpfs",
                    f"{m['ls_warm_ms']:.0f} ms / {m['tmpfs_ls_ms']:.1f} ms = {ratio:.1f}×", "≤ 2×", met(ratio <= 2))
            row("5. read all 10,000 secrets (Python open/read)", f"{m['read_all_s']:.2f} s")
            if "read_again_s" in m:
                row("5. read all 10,000 again: seconds / backend calls (the default `--cache-max-entries` keeps "
                    "the tree and its listings)", f"{m['read_again_s']:.2f} s / {m['second_pass_calls']:.0f}", "0 calls",
                    met(m["second_pass_calls"] == 0))
            if "worker_read_only_mib" in m:
                row("5. worker VmRSS (serves the mount, holds the cache), fresh mount, after reading all 10,000 "
                    "and nothing else", f"{m['worker_read_only_mib']:.1f} MiB", "≤ 64 MiB",
                    met(m["worker_read_only_mib"] <= 64))
                row("5. worker VmRSS after `ls -l`, the `find` and reading all 10,000",
                    f"{m['worker_end_mib']:.1f} MiB", "≤ 64 MiB", met(m["worker_end_mib"] <= 64))
                row("5. of which anonymous (heap, stacks) / file-backed (binary, libraries)",
                    f"{m['anon_end_mib']:.1f} / {m['file_end_mib']:.1f} MiB")
            row("5. supervisor VmRSS (keeps the mount; no cache): after reading all 10,000 alone / after mount / "
                "after `ls -l` and the `find` / then after reading all 10,000",
                f"{m['rss_read_only_mib']:.1f} / {m['rss_start_mib']:.1f} / {m['rss_find_mib']:.1f} / "
                f"{m['rss_end_mib']:.1f} MiB", "≤ 10 MiB", met(m["rss_end_mib"] <= 10))
        if "ready" in r:
            d = r["ready"]
            row("6. `secretsfs mount` start → mounted and a file reads, local store", f"{d['local']:.0f} ms",
                "≤ 200 ms", met(d["local"] <= 200))
            row("6. the same, Vault", f"{d['vault']:.0f} ms", "≤ 200 ms after the backend answers",
                met(d["vault"] - d["vault_http"] <= 200))
            row("6. Vault's own answer (new connection + GET) / `secretsfs --help` run",
                f"{d['vault_http']:.1f} ms / {d['exec']:.0f} ms")
        if "lifetime" in r:
            life = r["lifetime"]
            n = life["readers"]
            what = {"kill": f"worker SIGKILLed ×{life['kills']}, {life['spacing']} s apart",
                    "restart": f"descriptor-store restarts ×{life['restarts']}, 1.5 s apart (SIGTERM, then a new "
                               "`mount` with the stored fds)",
                    "reload": f"`secretsfs reload` ×{life['restarts']}, 1.5 s apart"}
            mode_label = {"cached": "cached (default mode)", "uncached": "uncached (`--cache-ttl 0`)"}
            for key, p in life["phases"].items():
                mode, kind = key.split("_")
                errors = f"{p['errors']} errors, {p['wrong']} wrong, {p['hung']} hung of {p['reads']:,} reads"
                if p["errors"]:
                    seen = sorted({f"{e['op']} {e['errno']}" for e in p["error_list"]})
                    errors += f" ({', '.join(seen)})"
                row(f"7. {n} readers (C, open+read+close loop), {mode_label[mode]}, {what[kind]}: reader errors",
                    errors, "0", met(p["errors"] == 0 and p["wrong"] == 0 and p["hung"] == 0))
                per_event = sorted(p["per_event_stall_ms"])
                row(f"7. the same: longest single open+read+close (median / max of each event's longest; "
                    f"reads ≥ 100 ms)",
                    f"{p['max_stall_ms']:.0f} ms ({median(per_event):.0f} / {per_event[-1]:.0f} ms; "
                    f"{p['slow_100ms']})", "≤ 1 s", met(p["max_stall_ms"] <= 1000))
                took = p["event_took_ms"]
                label = {"kill": "SIGKILL → the new worker answers `.status`",
                         "restart": "SIGTERM → the new supervisor's worker answers `.status` (SIGTERM → exit)",
                         "reload": "`secretsfs reload` run"}[kind]
                figure = f"{median(took):.0f} ms (max {max(took):.0f})"
                if p["stopped_ms"]:
                    figure += f" ({median(p['stopped_ms']):.0f} ms)"
                row(f"7. the same: {label}, median", figure)
            for mode in ("cached", "uncached"):
                if f"{mode}_kill" in life["phases"]:
                    row(f"7. supervisor VmRSS after the {mode} mount's kills, restarts and reloads",
                        f"{life['phases'][mode + '_reload']['supervisor_rss_kib_after'] / 1024:.1f} MiB")
            for name in ("supervisor", "worker"):
                x = life["rest"][name]
                target = "a few MiB (≤ 5 MiB)" if name == "supervisor" else ""
                row(f"7. {name} at rest (fresh default mount, one read): VmRSS (RssAnon / Pss)",
                    f"{x['VmRSS'] / 1024:.1f} MiB ({x['RssAnon'] / 1024:.1f} / {x['Pss'] / 1024:.1f} MiB)",
                    target, met(x["VmRSS"] <= 5 * 1024) if target else "")
                row(f"7. {name} CPU over {x['seconds']:.0f} s idle: utime+stime (schedstat on-CPU time; "
                    "voluntary switches)",
                    f"{x['ticks']} ticks of 1/{life['clock_ticks']} s ({x['cpu_ms']:.2f} ms; {x['wakeups']})",
                    "no CPU when idle" if name == "supervisor" else "",
                    met(x["ticks"] == 0) if name == "supervisor" else "")
        if "fleet" in r:
            f = r["fleet"]
            for name, label in (("jitter", "default `--refresh-jitter` (10 %)"), ("lockstep", "`--refresh-jitter 0`")):
                x = f[name]
                row(f"8. fleet: {f['mounts']} mounts started together, one OpenBao, TTL 10 s, {label}: requests per "
                    f"{f['window_ms']:.0f} ms, peak / mean over all {f['seconds']} s (in brackets: after the first 10 s, the "
                    "deploy's own first reads; the verdict is on this one)",
                    f"{x['peak']} / {x['mean']:.2f} = {x['ratio']:.1f}× ({x['steady_peak']} / {x['steady_mean']:.2f} = "
                    f"{x['steady_ratio']:.1f}×; {x['requests']} requests)",
                    "≤ 2×" if name == "jitter" else "", met(x["steady_ratio"] <= 2) if name == "jitter" else "")
            x = f["jitter"]
            if "steady_poisson_peak" in x:
                row("8. fleet, default `--refresh-jitter`, a second measure: the peak per 100 ms after the first 10 s "
                    "if the same requests came at independent random times (Poisson at the measured mean, median "
                    "peak over as many windows: what random spreads alone reach; each mount's answers are due at "
                    "evenly spaced points of one cycle instead), over the mean",
                    f"{x['steady_poisson_peak']} / {x['steady_mean']:.2f} = "
                    f"{x['steady_poisson_peak'] / x['steady_mean']:.1f}× (measured {x['steady_ratio']:.1f}×)")
        if "freshness" in r:
            fr = r["freshness"]
            row(f"16. calls at moto keeping {fr['secrets']} AWS secrets fresh within {fr['target_s']} s over "
                f"{fr['seconds']:.0f} s ({fr['changes']} changed)", f"{fr['calls']}")
            row("16. the same as calls an hour for 1,000 secrets at a 60 s target",
                f"{fr['per_hour_1000_at_60s']:.0f}", "≤ 1,000", met(fr["per_hour_1000_at_60s"] <= 1000))
            row("16. slowest change seen after", f"{fr['max_lag_s']:.2f} s", f"≤ {fr['target_s']} s",
                met(fr["max_lag_s"] is not None and fr["max_lag_s"] <= fr["target_s"]))
        header = ["| measurement | figure (median) | target | verdict |", "|---|---|---|---|"]
        return "\n".join(header + rows)

    def machine(self):
        cpu = "unknown"
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            mem_kib = int(f.readline().split()[1])
        swift = subprocess.run(["swift", "--version"], capture_output=True, text=True).stdout.splitlines()
        swift = swift[0] if swift else "unknown"
        commit = subprocess.run(["git", "-C", self.o.root, "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True).stdout.strip()
        load = os.getloadavg()
        return (f"Run {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}"
                f"{' (`--quick`)' if self.quick else ''} at commit `{commit}`: {os.cpu_count()} × {cpu}, "
                f"{mem_kib / 1024 / 1024:.1f} GiB, Linux {platform.release()}, {swift}, release build "
                f"(`swift build -c release --product secretsfs --static-swift-stdlib`, as the container image); "
                f"load average at the end {load[0]:.2f}.")

    def write_doc(self, text):
        path = self.o.doc
        if not os.path.exists(path):
            with open(path, "w") as f:
                f.write(f"# Benchmarks\n\n{MARK_START}\n{MARK_END}\n")
        with open(path) as f:
            doc = f.read()
        pattern = re.compile(re.escape(MARK_START) + ".*?" + re.escape(MARK_END), re.S)
        if not pattern.search(doc):
            doc += f"\n{MARK_START}\n{MARK_END}\n"
        doc = pattern.sub(lambda _: f"{MARK_START}\n{text}\n{MARK_END}", doc)
        with open(path, "w") as f:
            f.write(doc)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--readloop", required=True)
    parser.add_argument("--hello", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--root", required=True)
    parser.add_argument("--doc", required=True)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--lifeloop", help="bench/lifeloop.c built; compiled into --workdir if not given")
    parser.add_argument("--only", default="cached,cold,herd,many,ready,lifetime,fleet,freshness")
    parser.add_argument("--no-doc", action="store_true", help="print the table only")
    options = parser.parse_args()
    bench = Bench(options)
    sections = options.only.split(",")
    needs_servers = {"cold", "herd", "ready"} & set(sections)
    if needs_servers and not (bench.vault_addr and bench.vault_token and bench.aws_endpoint):
        parser.error(f"{', '.join(sorted(needs_servers))} need OpenBao and moto (SECRETSFS_TEST_VAULT_ADDR, "
                     "_VAULT_TOKEN, _AWS_ENDPOINT): run scripts/bench")
    try:
        for name in sections:
            getattr(bench, f"bench_{name}")()
    finally:
        Readers.stop_all()
        Daemon.stop_all()
        FakeSystemd.close_all()
    text = bench.machine() + "\n\n" + bench.table()
    with open(os.path.join(options.workdir, "results.json"), "w") as f:
        json.dump(bench.results, f, indent=1)
    print(text)
    if not options.no_doc:
        bench.write_doc(text)
        log(f"results written to {options.doc}")


if __name__ == "__main__":
    main()
