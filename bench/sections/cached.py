"""Sections 1 and 2: a cached 32-byte secret opened, read and closed from C (bench/readloop) on
tmpfs, libfuse's `hello` and secretsfs mounts in each mode, interleaved round by round; and the
same from Python."""

import os

from harness import Daemon, log, median, read_file


def run(bench):
    iterations = 2000 if bench.quick else 20000
    rounds = 3 if bench.quick else 5
    log(f"1-2: open+read+close of a 32-byte secret, {iterations} times, {rounds} interleaved rounds")
    bench.cli("put", "bench/small", input=bench.value32)

    shm = os.path.join("/dev/shm", f"secretsfs-bench-{os.getpid()}")
    os.makedirs(shm, exist_ok=True)
    tmpfs_file = os.path.join(shm, "small")
    with open(tmpfs_file, "wb") as f:
        f.write(bench.value32)

    hello_mp = os.path.join(bench.fresh_dir("hello"), "mnt")
    # libfuse's example, high-level API, multi-threaded (the default), foreground.
    hello = Daemon([bench.o.hello, "-f", "--name=small", f"--contents={bench.value32.decode()}", hello_mp],
                   hello_mp)
    hello.start(probe="small")

    policy_dir = bench.fresh_dir("policy")
    config = os.path.join(policy_dir, "config.yaml")
    with open(config, "w") as f:
        f.write(f'policy:\n  - path: "**"\n    uids: [{os.getuid()}]\n')
    audit_file = os.path.join(bench.work, "audit.jsonl")

    mounts = {
        "mount": bench.mount("default"),
        "audit": bench.mount("audit", "--audit-log", audit_file),
        "direct": bench.mount("direct", "--direct-io"),
        "policy": bench.mount("policy", "--config", config),
        # `.events` streams need every open to reach the daemon.
        "events": bench.mount("events", "--events"),
    }
    for daemon in mounts.values():
        daemon.start(probe="bench/small")
    paths = {"tmpfs": tmpfs_file, "hello": os.path.join(hello_mp, "small")}
    for name, daemon in mounts.items():
        paths[name] = os.path.join(daemon.mountpoint, "bench", "small")
    for path in paths.values():
        if read_file(path) != bench.value32:
            raise RuntimeError(f"{path} does not read back the value")
        bench.readloop(path, max(200, iterations // 20))  # warm up: first opens, page cache

    order = list(paths)
    samples = {name: [] for name in order}
    python_samples = {"tmpfs": [], "mount": []}
    for r in range(rounds):
        rotated = order[r % len(order):] + order[:r % len(order)]
        for name in rotated:
            samples[name].append(bench.readloop(paths[name], iterations))
        # The same from Python, whose open() also asks isatty(): an ioctl the kernel always
        # forwards to a FUSE daemon, so a Python reader makes one round trip per open.
        for name in (["tmpfs", "mount"] if r % 2 == 0 else ["mount", "tmpfs"]):
            python_samples[name].append(bench.python_reads(paths[name], iterations // 4))
    for daemon in [*mounts.values(), hello]:
        daemon.cleanup()
    os.remove(tmpfs_file)
    os.rmdir(shm)
    bench.results["cached"] = {name: median(values) for name, values in samples.items()}
    bench.results["cached_python"] = {name: median(values) for name, values in python_samples.items()}
    bench.results["cached_samples"] = samples
    bench.results["cached_iterations"] = iterations
    bench.results["cached_rounds"] = rounds
