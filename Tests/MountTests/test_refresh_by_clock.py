"""Refresh-ahead by the clock against a real OpenBao whose file audit device counts every request:
in the default mode the kernel keeps a value for its lifetime without asking the daemon, so no
late read would start a refresh-ahead. A value read during its lifetime is fetched again just
before it ends (DESIGN §3: hot secrets never wait on the backend), once a cycle and no more; a
value nobody reads any more costs at most one fetch more; a change at the store reaches a reader
within the TTL."""

import json
import threading
import time

from conftest import status, wait_for
from mounts import mount_vault

TTL = 4.0
# J = 40 %: a cycle of TTL × 0.8 = 3.2 s, and the fetch J/4 of the TTL (0.4 s) before the end, room
# enough for a loaded machine to answer before a reader comes.
JITTER = "40%"
CYCLE = TTL * 0.8
NAMES = ("one", "two", "three")


def reads_of(server, path):
    """How many times OpenBao has served a read of the secret at `path`."""
    count = 0
    with open(server.audit) as f:
        for line in f:
            entry = json.loads(line)
            request = entry.get("request", {})
            if entry.get("type") == "request" and request.get("operation") == "read":
                count += request.get("path") == f"secret/data/clock/{path}"
    return count


def mount(env, server, values):
    for name, value in values.items():
        env.plant(value)
        server.vault.put(f"clock/{name}", {"value": value})
    return mount_vault(env, server.vault, "--vault-prefix", "clock", "--cache-ttl", f"{TTL}s",
                       "--refresh-jitter", JITTER)


def test_a_value_in_use_is_fetched_before_it_ends_and_no_reader_waits(env, server):
    values = {name: f"clock-in-use-{name}-0001" for name in NAMES}
    m = mount(env, server, values)
    for name in NAMES:
        assert m.read(name) == values[name].encode()
    # `.status` is made anew at most once a second.
    assert wait_for(lambda: status(m)["cache"]["misses"] >= len(NAMES), 5)
    first = status(m)["cache"]
    stop = threading.Event()
    seen = {name: [] for name in NAMES}

    def reader():
        while not stop.is_set():
            for name in NAMES:
                seen[name].append(m.read(name))
            time.sleep(0.1)

    thread = threading.Thread(target=reader)
    started = time.monotonic()
    thread.start()
    try:
        time.sleep(3 * CYCLE)
        changed = "clock-in-use-one-0002"
        env.plant(changed)
        server.vault.put("clock/one", {"value": changed})
        assert wait_for(lambda: seen["one"] and seen["one"][-1] == changed.encode(), TTL + 2), \
            "a change at the store reached the reader within the TTL"
    finally:
        stop.set()
        thread.join()
    elapsed = time.monotonic() - started
    after = status(m)["cache"]
    # The fetches came before the readers did: (nearly) no read after the first missed.
    assert after["misses"] - first["misses"] <= 2, (first, after)
    assert after["refreshes"] - first["refreshes"] >= 2 * len(NAMES), (first, after)
    # Once a cycle, not once for the clock and once more for a late read.
    for name in NAMES:
        assert reads_of(server, name) <= 1 + elapsed / CYCLE + 2, (name, reads_of(server, name), elapsed)
    assert all(v == values[name].encode() for name in ("two", "three") for v in seen[name])


def test_a_value_nobody_reads_any_more_costs_at_most_one_fetch_more(env, server):
    values = {"one": "clock-idle-one-0001"}
    m = mount(env, server, values)
    assert m.read("one") == values["one"].encode()
    assert reads_of(server, "one") == 1
    time.sleep(4 * TTL)
    assert 1 <= reads_of(server, "one") <= 2, reads_of(server, "one")
    # Read again: fetched on demand, and in use again from then on.
    assert m.read("one") == values["one"].encode()
    assert wait_for(lambda: status(m)["cache"]["refreshes"] >= 1, 2 * TTL)
