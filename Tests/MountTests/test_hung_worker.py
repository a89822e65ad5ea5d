"""A worker that stops answering (DESIGN §6, issue 27 §1): SIGSTOP stands for a deadlock or a stuck
thread. The supervisor finds it by its silence within --worker-timeout, kills it and starts another
on the same descriptor, which resends the requests the stopped one held: readers pause, never fail."""

import json
import os
import signal
import threading
import time

import pytest

from conftest import wait_for

TIMEOUT = 2  # --worker-timeout in these tests; the default is 5 s


def read_all(m, paths, results):
    for parts in paths:
        started = time.monotonic()
        try:
            results.append((parts, m.read(*parts), time.monotonic() - started))
        except OSError as error:
            results.append((parts, error.errno, time.monotonic() - started))


@pytest.mark.parametrize("mode", [[], ["--cache-ttl", "0"], ["--direct-io"]], ids=["default", "ttl0", "direct-io"])
def test_a_stopped_worker_is_replaced_and_readers_only_pause(env, mode):
    values = {f"app/key{i}": f"hung-worker-value-{i:04d}" for i in range(8)}
    for path, value in values.items():
        env.put(path, value)
    m = env.mount("--worker-timeout", f"{TIMEOUT}s", *mode)
    worker = m.worker_pid()
    os.kill(worker, signal.SIGSTOP)
    try:
        # Secrets never read before: each needs the worker, whatever the mode keeps in the kernel.
        results = []
        threads = [threading.Thread(target=read_all, args=(m, [tuple(path.split("/"))], results))
                   for path in values]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not any(thread.is_alive() for thread in threads), "a reader is still waiting"
    finally:
        try:
            os.kill(worker, signal.SIGCONT)
        except ProcessLookupError:
            pass  # killed by the supervisor, as it should be
    assert len(results) == len(values)
    for parts, got, _ in results:
        assert got == values["/".join(parts)].encode(), (parts, got if isinstance(got, int) else "wrong value")
    # The pause is the timeout and a restart; a loaded CI machine gets generous room.
    longest = max(seconds for _, _, seconds in results)
    print(f"[{'/'.join(mode) or 'default'}] longest read across the hang: {longest:.2f}s (--worker-timeout {TIMEOUT}s)")
    assert longest < TIMEOUT + 10
    doc = json.loads(m.read(".status"))
    assert doc["worker"]["pid"] != worker and doc["worker"]["restarts"] == 1
    assert "did not answer" in m.log_text()
    assert m.process.poll() is None


def test_an_answering_worker_is_left_alone(env):
    env.put("app/key", "quiet-worker-value-01")
    m = env.mount("--worker-timeout", "1s")
    worker = m.worker_pid()
    time.sleep(4)
    assert m.read("app", "key") == b"quiet-worker-value-01"
    assert m.worker_pid() == worker
    assert "did not answer" not in m.log_text()


def test_worker_timeout_zero_turns_the_watch_off(env):
    env.put("app/key", "unwatched-worker-v-02")
    m = env.mount("--worker-timeout", "0", "--cache-ttl", "0")
    worker = m.worker_pid()
    os.kill(worker, signal.SIGSTOP)
    try:
        time.sleep(3)
        assert "did not answer" not in m.log_text()
    finally:
        os.kill(worker, signal.SIGCONT)
    assert wait_for(lambda: m.read("app", "key") == b"unwatched-worker-v-02", 10)
    assert m.worker_pid() == worker
