"""How soon the mount sees a change once a fault that opened the circuit breaker has ended (issue 27
section 7, docs/FAILURES.md "The circuit breaker"): Vault behind a balancer that answers 500 for
2.5 s, a never-read secret read during it (EIO; the breaker opens), then the fault cleared and the
value changed. The breaker's half-open probes bound the wait by one TTL plus one probe interval.
The figure is printed with `-s`."""

import errno
import threading
import time
from types import SimpleNamespace

from conftest import fresh_status, wait_for
from mounts import mount_vault, put_vault_secret
from proxies import FailingFront

TTL = 1.0
FAULT = 2.5
# The longest the open breaker waits between probes (docs/FAILURES.md, "breaker cooldown"): the end of
# any fault is noticed within it.
PROBE_BOUND = 1.0
# A loaded 2-core CI machine: a call and a scheduling delay or two. The bound with it (3 s) is below
# what a breaker waiting a fixed 5 s gave here (3.5-4.1 s; 5.6 s in the issue).
MARGIN = 1.0


def read_or_errno(m, *parts):
    try:
        return m.read(*parts)
    except OSError as error:
        return error.errno


class Reader:
    """One reader of `parts` in a loop, as an application polling its secret: when each value was
    first seen, and any error."""

    def __init__(self, m, *parts):
        self.first_seen = {}
        self.errors = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, args=(m, parts), daemon=True)
        self._thread.start()

    def _loop(self, m, parts):
        while not self._stop.is_set():
            value = read_or_errno(m, *parts)
            if isinstance(value, int):
                self.errors.append(errno.errorcode.get(value, value))
            else:
                self.first_seen.setdefault(value, time.monotonic())
            time.sleep(0.05)

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=10)


def test_a_change_after_a_fault_that_opened_the_breaker_is_served_within_a_ttl_and_a_probe(env, bao):
    server = bao()
    put_vault_secret(env, server, "app/cached", "breaker-before-0001")
    never = [f"never{i}" for i in range(5)]
    for name in never:
        put_vault_secret(env, server, f"app/{name}", f"breaker-never-{name}-0002")
    front = FailingFront(server.addr)
    m = mount_vault(env, SimpleNamespace(addr=front.addr, token=server.token),
                    "--cache-ttl", "1s", "--max-stale", "1h")
    try:
        assert m.read("app", "cached") == b"breaker-before-0001"
        reader = Reader(m, "app", "cached")
        time.sleep(0.3)

        front.failing = True
        fault_started = time.monotonic()
        # Never-read secrets have no stale value: EIO, and their failures (five at once) open the breaker.
        outcomes = {}
        threads = [threading.Thread(target=lambda n=n: outcomes.__setitem__(n, read_or_errno(m, "app", n)))
                   for n in never]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=20)
        assert outcomes == {name: errno.EIO for name in never}
        assert wait_for(lambda: fresh_status(m)["cache"]["breaker_state"] != "closed", 2, every=0.1), \
            "the breaker did not open during the fault"
        assert time.monotonic() - fault_started < FAULT, "the fault ended before the breaker opened"
        time.sleep(max(0.0, fault_started + FAULT - time.monotonic()))

        front.failing = False
        cleared = time.monotonic()
        put_vault_secret(env, server, "app/cached", "breaker-after-0003")
        assert wait_for(lambda: b"breaker-after-0003" in reader.first_seen, TTL + PROBE_BOUND + 10, every=0.05), \
            "the new value was never served after the fault"
        reader.stop()
        recovery = reader.first_seen[b"breaker-after-0003"] - cleared
        print(f"\nnew value served {recovery:.2f} s after a {FAULT} s fault ended "
              f"(bound TTL {TTL} s + probe {PROBE_BOUND} s; {front.failed} requests answered 500)")
        # Readers of the cached secret never saw an error: stale values all along.
        assert reader.errors == []
        assert recovery <= TTL + PROBE_BOUND + MARGIN, f"the new value took {recovery:.2f} s after the fault"
        assert wait_for(lambda: fresh_status(m)["cache"]["breaker_state"] == "closed", 5)
        assert read_or_errno(m, "app", "never0") == b"breaker-never-never0-0002"
    finally:
        front.stop()
