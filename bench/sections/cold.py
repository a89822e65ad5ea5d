"""Section 3: a cache miss through the mount (first open+read of each secret of a listed folder)
against a direct call to the same backend, OpenBao and moto, interleaved round by round; the
`--prefetch` and `--cache-ttl 0` variants, and the least a FUSE daemon can do for a cold Vault read
(bench/cold-floor.c, as it is and with a thread hand-off), for reference."""

import http.client
import json
import os
import secrets
import shutil
import tempfile
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

from floor import Floor
from harness import AWS_REGION, aws_client, log, median, read_file


def run(bench):
    per_round = 40 if bench.quick else 200
    rounds = 3 if bench.quick else 5
    ttl0_iterations = 30 if bench.quick else 100
    log(f"3: cache misses, {per_round} distinct secrets per round, {rounds} interleaved rounds, "
        f"vs direct calls; --cache-ttl 0 for reference ({ttl0_iterations} reads a round)")
    import botocore.auth
    import botocore.awsrequest
    import botocore.credentials

    aws = aws_client(bench.aws_endpoint)

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
    url = urllib.parse.urlsplit(bench.vault.addr)
    # The direct reads measured against the mount: one keep-alive connection, as a client would keep.
    vault_connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    value = secrets.token_hex(16)
    bench.vault.put("bench/cold", {"value": value})
    aws_put("bench/cold", value)

    # The cache-miss mounts have the default TTL (5 minutes); the TTL-0 mounts are for reference.
    mounts = {
        "vault_miss": bench.vault_mount("miss-vault"),
        # Every miss secret read at mount, before it says it is ready (issue 16 §2).
        "vault_prefetched": bench.vault_mount("prefetched-vault", "--prefetch", f"{prefix}/**"),
        "aws_miss": bench.aws_mount("miss-aws"),
        "vault_ttl0": bench.vault_mount("ttl0-vault", "--cache-ttl", "0"),
        "aws_ttl0": bench.aws_mount("ttl0-aws", "--cache-ttl", "0"),
    }
    floors = {}
    if bench.vault.addr.startswith("http://"):
        floors = {key: Floor(bench.cold_floor(), os.path.join(bench.fresh_dir(key), "mnt"), bench.vault, *args)
                  for key, args in (("vault_floor", ()), ("vault_floor_hop", ("--hop",)))}
    for key in ("vault_ttl0", "aws_ttl0"):
        # bench/cold reads: the mount's first OPEN (answered ENOSYS once) is behind us.
        mounts[key].start(probe="bench/cold")
    # A lone `cat` two folders deep on a fresh TTL-0 mount, then after an idle pause (issue 16 §1).
    bench.vault.put("bench/lone/key", {"value": value})
    lone = bench.vault_mount("ttl0-lone", "--cache-ttl", "0")
    lone.start()
    lone_calls = []
    for pause in (0, 1.5):
        time.sleep(pause)
        before = lone.fresh_status()["cache"]["backend_calls"]
        read_file(os.path.join(lone.mountpoint, "bench", "lone", "key"))
        lone_calls.append(lone.fresh_status()["cache"]["backend_calls"] - before)
    lone.cleanup()
    bench.results["cold_lone_ttl0"] = lone_calls

    aws_url = urllib.parse.urlsplit(bench.aws_endpoint)
    aws_connection = http.client.HTTPConnection(aws_url.hostname, aws_url.port, timeout=10)
    signer = botocore.auth.SigV4Auth(botocore.credentials.Credentials("testing", "testing"),
                                     "secretsmanager", AWS_REGION)

    def vault_get(name):
        vault_connection.request("GET", f"/v1/secret/data/{name}", headers={"X-Vault-Token": bench.vault.token})
        response = vault_connection.getresponse()
        data = response.read()
        if response.status != 200:
            raise RuntimeError(f"OpenBao: {response.status} {data[:200]!r}")
        return json.loads(data)["data"]["data"]["value"]

    def aws_signed(name):
        # The same request boto3 sends, signed by botocore, on one keep-alive connection.
        body = json.dumps({"SecretId": name})
        request = botocore.awsrequest.AWSRequest(
            method="POST", url=bench.aws_endpoint + "/", data=body,
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
    hits = {"vault_miss": [], "aws_miss": [], **{key: [] for key in floors}}

    def through(key):
        daemon = mounts[key]
        mp = daemon.mountpoint

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
            before = daemon.fresh_status()["cache"]["backend_calls"]
            latencies = timed(call, names)
            # .status reads are not backend calls, so the difference is the reads' own calls.
            calls[key] += daemon.fresh_status()["cache"]["backend_calls"] - before
            reads[key] += len(names)
            if key.endswith("_miss"):
                # The same reads again, now cached: what the kernel and Python cost without the backend.
                hits[key].append(median(timed(call, names)) * 1e6)
            return latencies
        return run

    def through_floor(key):
        def call(name):
            return read_file(floors[key].path(name)).decode()

        def run(r):
            # No listing: the floor lists nothing, and its LOOKUP is where it fetches.
            names = [f"{folders[r]}/s{i:03d}" for i in range(per_round)]
            latencies = timed(call, names)
            # Twice again: the first pass's GETATTRs (the kernel drops a file's attributes after a
            # short READ) are behind the second, where only Python's isatty IOCTL reaches the floor,
            # as only it reaches secretsfs on a prefetched secret's first read.
            timed(call, names)
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
                bench.vault.put(name, {"value": values[name]})
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
        **{key: through_floor(key) for key in floors},
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
        for floor in floors.values():
            read_file(floor.path("bench/cold"))
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
        daemon.cleanup()
    bench.results["cold_floor_get"] = {key: floor.stop() for key, floor in floors.items()}
    shutil.rmtree(shm, ignore_errors=True)
    bench.results["cold"] = {name: median(values) for name, values in samples.items()}
    bench.results["cold_samples"] = samples
    bench.results["cold_hit"] = {name: median(values) for name, values in hits.items()}
    bench.results["cold_calls_per_read"] = {k: calls[k] / reads[k] for k in calls}
    bench.results["cold_per_round"] = per_round
    bench.results["cold_rounds"] = rounds
    bench.results["cold_ttl0_iterations"] = ttl0_iterations
