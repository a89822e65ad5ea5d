"""Faults survived through a real mount: a private OpenBao server is hung (SIGSTOP), killed (SIGKILL)
or sealed, and the mount keeps serving what it can — stale values at once, EIO within the deadline for
what it never had — shows it in `.status`, and recovers by itself when the server returns. SIGTERM with
reads in flight answers them and unmounts cleanly."""

import errno
import os
import re
import signal
import threading
import time

import pytest

from conftest import fresh_status, is_mounted, wait_for
from daemon import json_lines
from mounts import mount_vault, put_vault_secret




def timed_read(m, *parts):
    """(bytes or the errno, seconds taken)."""
    start = time.monotonic()
    try:
        result = m.read(*parts)
    except OSError as error:
        result = error.errno
    return result, time.monotonic() - start


def cache_status(m):
    return fresh_status(m)["cache"]


def test_a_hung_server_gets_stale_values_at_once_eio_within_the_deadline_and_service_resumes(env, bao):
    server = bao()
    put_vault_secret(env, server, "app/cached", "cached-value-hang-0001")
    put_vault_secret(env, server, "app/never", "never-read-hang-0002")
    audit = env.workdir / "audit.log"
    m = mount_vault(env, server, "--cache-ttl", "1s", "--backend-timeout", "3s", "--audit-log", str(audit), check=False)
    assert m.read("app", "cached") == b"cached-value-hang-0001"

    server.pause()
    try:
        time.sleep(1.3)  # past the TTL: the cached value is expired, not gone
        value, took = timed_read(m, "app", "cached")
        assert value == b"cached-value-hang-0001"
        assert took < 1.5, f"a stale value took {took:.2f}s with a 3s backend timeout"

        value, took = timed_read(m, "app", "never")
        assert value == errno.EIO
        assert took < 5, f"EIO took {took:.2f}s with a 3s backend timeout"

        assert m.process.poll() is None and is_mounted(m.path)
        figures = cache_status(m)
        assert figures["stale_serves"] >= 1
        assert fresh_status(m)["errors_by_kind"].get("unavailable", 0) >= 1
        # The audit log says the open was answered stale.
        assert wait_for(lambda: any(e["outcome"] == "stale" and e["path"] == "app/cached" and e["cache"] == "stale"
                                    for e in audit_events(audit)), 5)
    finally:
        server.process.send_signal(signal.SIGCONT)

    # Service resumes by itself: a change made at the server is seen again.
    server.vault.put("app/cached", {"value": "cached-value-hang-0003"})
    env.planted.append(b"cached-value-hang-0003")
    assert wait_for(lambda: timed_read(m, "app", "cached")[0] == b"cached-value-hang-0003", 15, every=0.3)
    assert m.read("app", "never") == b"never-read-hang-0002"
    assert wait_for(lambda: cache_status(m)["breaker_state"] == "closed", 10)
    assert m.stop() == 0


def audit_events(audit):
    return json_lines(audit)


def write_control(path, data):
    try:
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
    except OSError as error:
        return error.errno
    return 0


def unseal_key(server):
    """The dev server's unseal key, from its own log; kept in memory only, never printed."""
    found = None

    def look():
        nonlocal found
        with open(server.log.name) as f:
            found = re.search(r"Unseal Key: (\S+)", f.read())
        return found is not None

    # bao prints the key a moment after it starts answering.
    assert wait_for(look, 10), "the dev server's log shows no unseal key"
    return found.group(1)


@pytest.mark.parametrize("fault", ["killed", "sealed"])
def test_a_gone_or_sealed_server_opens_the_breaker_and_the_mount_recovers(env, bao, fault):
    server = bao()
    put_vault_secret(env, server, "app/cached", f"cached-value-{fault}-0001")
    put_vault_secret(env, server, "app/never", f"never-read-{fault}-0002")
    audit = env.workdir / "audit.log"
    m = mount_vault(env, server, "--cache-ttl", "1s", "--backend-timeout", "2s", "--audit-log", str(audit), check=False)
    assert m.read("app", "cached") == f"cached-value-{fault}-0001".encode()

    key = unseal_key(server) if fault == "sealed" else None
    if fault == "killed":
        server.stop(signal.SIGKILL)
    else:
        server.vault.request("PUT", "sys/seal")
    time.sleep(1.3)

    value, took = timed_read(m, "app", "cached")
    assert value == f"cached-value-{fault}-0001".encode()
    assert took < 1.5, f"a stale value took {took:.2f}s"
    value, took = timed_read(m, "app", "never")
    assert value == errno.EIO
    assert took < 4, f"EIO took {took:.2f}s with a 2s backend timeout"

    # Repeated failures open the breaker; reads still get the stale value, and EIO for the rest.
    def breaker_open():
        timed_read(m, "app", "never")
        return cache_status(m)["breaker_state"] == "open"

    assert wait_for(breaker_open, 20, every=0.2)
    figures = cache_status(m)
    assert figures["stale_serves"] >= 1
    assert fresh_status(m)["healthy"] is False
    assert timed_read(m, "app", "cached")[0] == f"cached-value-{fault}-0001".encode()
    value, took = timed_read(m, "app", "never")
    assert value == errno.EIO and took < 1.5  # refused by the open breaker, without waiting
    assert cache_status(m)["breaker_rejections"] >= 1
    assert m.process.poll() is None and is_mounted(m.path)
    # A rotation cannot reach the server: EIO, and the audit log says error.
    assert write_control(m.p("app", ".rotate"), b"cached\n") == errno.EIO
    assert wait_for(lambda: any(e["action"] == "rotate" and e["outcome"] == "error" for e in audit_events(audit)), 5)
    env.assert_no_planted_values(audit.read_bytes(), "the audit log")

    # The server returns: the breaker closes again and new values are seen.
    if fault == "killed":
        server = bao(port=server.port, token=server.token)
        put_vault_secret(env, server, "app/never", "never-read-killed-0004")
        put_vault_secret(env, server, "app/cached", "cached-value-killed-0003")
    else:
        server.vault.request("PUT", "sys/unseal", {"key": key})
        assert wait_for(lambda: server.vault.request("GET", "sys/mounts/secret", expect=None)[0] == 200, 20)
        put_vault_secret(env, server, "app/cached", "cached-value-sealed-0003")
    assert wait_for(lambda: timed_read(m, "app", "cached")[0] == f"cached-value-{fault}-0003".encode(), 20, 0.3)
    assert wait_for(lambda: cache_status(m)["breaker_state"] == "closed", 10)
    expected_never = b"never-read-killed-0004" if fault == "killed" else b"never-read-sealed-0002"
    assert wait_for(lambda: timed_read(m, "app", "never")[0] == expected_never, 10, 0.3)
    assert fresh_status(m)["healthy"] is True
    assert m.stop() == 0


def test_sigterm_answers_reads_waiting_on_a_hung_server_then_unmounts_cleanly(env, bao):
    server = bao()
    for i in range(4):
        put_vault_secret(env, server, f"app/s{i}", f"waiting-value-{i}-00005")
    m = mount_vault(env, server, "--cache-ttl", "1s", "--backend-timeout", "3s", check=False)
    assert {"s0", "s1", "s2", "s3"} <= set(os.listdir(m.p("app")))

    server.pause()
    results = {}

    def reader(i):
        results[i] = timed_read(m, "app", f"s{i}")

    threads = [threading.Thread(target=reader, args=(i,), daemon=True) for i in range(4)]
    try:
        for t in threads:
            t.start()
        time.sleep(0.5)  # the reads are now waiting in the daemon
        assert len(results) == 0
        sent = time.monotonic()
        m.process.send_signal(signal.SIGTERM)
        for t in threads:
            t.join(15)
        assert not any(t.is_alive() for t in threads), "a reader hung through SIGTERM"
        assert m.process.wait(20) == 0
        assert time.monotonic() - sent < 15
    finally:
        server.process.send_signal(signal.SIGCONT)
    assert not is_mounted(m.path)
    for value, took in results.values():
        # Each got an answer: the value (it was listed, so maybe cached) or an error, never a hang.
        assert isinstance(value, int) or value.startswith(b"waiting-value-")
    assert '"unmounted"' in m.log_text()


def test_sigterm_during_many_concurrent_reads_answers_them_all_and_exits_zero(env):
    env.put("busy/key", "busy-value-concurrent-0006")
    m = env.mount("--cache-ttl", "0")
    stop = threading.Event()
    outcomes = []
    lock = threading.Lock()

    def reader():
        while not stop.is_set():
            value, _ = timed_read(m, "busy", "key")
            with lock:
                outcomes.append(value)
            if isinstance(value, int):
                return

    threads = [threading.Thread(target=reader, daemon=True) for _ in range(16)]
    for t in threads:
        t.start()
    assert wait_for(lambda: len(outcomes) > 200, 20)
    m.process.send_signal(signal.SIGTERM)
    stop.set()
    for t in threads:
        t.join(15)
    assert not any(t.is_alive() for t in threads), "a reader hung through SIGTERM"
    assert m.process.wait(20) == 0
    assert not is_mounted(m.path)
    for value in outcomes:
        assert value == b"busy-value-concurrent-0006" or isinstance(value, int)
