"""Many readers of one secret while it is rotated every 50 ms through `.rotate`: every read is one whole
version (never a mix of two, never empty), nothing fails, and the daemon's memory stays flat."""

import os
import threading
import time

import pytest

READERS = 32
READS_PER_READER = 5000
ROTATE_EVERY = 0.05
TIME_LIMIT = 150  # seconds for the whole run; it takes far less (see the printed figures)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def rotate(path):
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    try:
        os.write(fd, b"key\n")
    finally:
        os.close(fd)


@pytest.mark.parametrize("mode", [[], ["--direct-io"]], ids=["page-cache", "direct-io"])
def test_readers_see_whole_versions_while_the_secret_rotates(env, mode):
    env.put("stress/key", "initial-stress-value-0000000000001")
    m = env.mount(*mode)
    target = m.p("stress", "key")

    # Warm up: the daemon's pools, caches and threads reach their working size.
    def warm():
        for _ in range(300):
            with open(target, "rb") as f:
                f.read()
    warmers = [threading.Thread(target=warm) for _ in range(READERS)]
    for t in warmers:
        t.start()
    for t in warmers:
        t.join()
    for _ in range(20):
        rotate(m.p("stress", ".rotate"))
    rss_warm = rss_kib(m.worker_pid())

    seen = [set() for _ in range(READERS)]
    failures = []
    empties = [0] * READERS
    done = threading.Event()

    def reader(i):
        values = seen[i]
        try:
            for _ in range(READS_PER_READER):
                with open(target, "rb") as f:
                    value = f.read()
                if not value:
                    empties[i] += 1
                values.add(value)
        except OSError as error:
            failures.append(f"reader {i}: {error.strerror}")

    rotations = []

    def rotator():
        while not done.is_set():
            try:
                rotate(m.p("stress", ".rotate"))
                rotations.append(time.monotonic())
            except OSError as error:
                failures.append(f"rotation: {error.strerror}")
            done.wait(ROTATE_EVERY)

    started = time.monotonic()
    threads = [threading.Thread(target=reader, args=(i,), daemon=True) for i in range(READERS)]
    rotating = threading.Thread(target=rotator, daemon=True)
    rotating.start()
    for t in threads:
        t.start()
    deadline = started + TIME_LIMIT
    for t in threads:
        t.join(max(0.1, deadline - time.monotonic()))
    done.set()
    rotating.join(10)
    took = time.monotonic() - started
    assert not any(t.is_alive() for t in threads), f"readers not done after {TIME_LIMIT}s"
    assert not failures, failures[:5]
    assert sum(empties) == 0
    assert len(rotations) >= 10

    # Every version ever written, as the store holds them.
    versions_dir = m.p("stress", ".versions", "key")
    ids = [name for name in os.listdir(versions_dir) if name.isdigit()]
    written = set()
    for version in ids:
        with open(os.path.join(versions_dir, version), "rb") as f:
            written.add(f.read())
    assert len(written) == len(ids) >= len(rotations) + 21

    observed = set().union(*seen)
    assert observed <= written, "a read returned bytes that are no version of the secret"
    assert len(observed) > 1, "readers never saw a rotation"

    time.sleep(0.5)
    rss_end = rss_kib(m.worker_pid())
    print(f"\nstress ({' '.join(mode) or 'page cache'}): {READERS}x{READS_PER_READER} reads in {took:.1f}s "
          f"({READERS * READS_PER_READER / took:.0f}/s), {len(rotations)} rotations, "
          f"{len(observed)} versions seen; RSS {rss_warm} KiB after warm-up, {rss_end} KiB after")
    assert rss_end < 2 * rss_warm + 32 * 1024, f"RSS grew from {rss_warm} KiB to {rss_end} KiB"
    assert m.stop() == 0
