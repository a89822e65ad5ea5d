"""Vault in HA (issue 27 section 3, DESIGN section 6): the mount against a real three-node OpenBao
cluster (integrated raft storage), pointed at one standby alone or at all three nodes.

The cluster starts once for this module (about 5 to 15 s; see bao_cluster.py) and is repaired
between tests: a node a test killed is started again and unsealed. Figures (election time, longest
read, reader errors) are printed with `-s`."""

import errno
import json
import signal
import threading
import time

import pytest

from bao_cluster import BaoCluster
from conftest import wait_for
from peers import clean_environment, errno_of, unique, write_control

TTL = 1.0


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    cluster = BaoCluster(str(tmp_path_factory.mktemp("bao-cluster")))
    started = time.monotonic()
    try:
        cluster.start()
    except BaseException:
        cluster.stop()
        raise
    print(f"\nOpenBao cluster of 3 started in {time.monotonic() - started:.1f} s")
    yield cluster
    cluster.stop()


@pytest.fixture
def ha(cluster):
    """The cluster with every node alive, one active and two standbys that know it."""
    for node in cluster.nodes:
        if not node.alive():
            cluster.restart(node)
    cluster.wait_until_settled(timeout=60)
    return cluster


def mount_on(env, cluster, addresses, *args):
    env.plant(cluster.token)
    backend = ["--backend", "vault", "--vault-addr", ",".join(addresses)]
    return env.mount(*args, backend=backend, env=clean_environment(VAULT_TOKEN=cluster.token))


def version_count(vault, path):
    return len(vault.metadata(path)["versions"])


# MARK: the address list


def test_addresses_comma_separated_repeated_in_the_environment_and_in_the_config(env, ha, tmp_path):
    leader = ha.leader()
    vault = ha.vault(leader)
    prefix = unique("ha")
    vault.put(f"{prefix}/k", {"value": "list-value-00001"})
    env.plant("list-value-00001", ha.token)
    dead = "http://127.0.0.1:9"  # discard: nothing listens, a connection is refused
    run_env = clean_environment(VAULT_TOKEN=ha.token)

    def get(*backend, extra_env=None):
        return env.cli("get", "k", backend=["--backend", "vault", "--vault-prefix", prefix, *backend],
                       env=dict(run_env, **(extra_env or {})), check=False)

    # A dead node first: the call moves on to the next.
    result = get("--vault-addr", f"{dead},{leader.addr}")
    assert result.returncode == 0 and result.stdout == b"list-value-00001", result.stderr
    # Repeated: every address counts, in order (keeping only the last would fail here).
    result = get("--vault-addr", leader.addr, "--vault-addr", dead)
    assert result.returncode == 0 and result.stdout == b"list-value-00001", result.stderr
    result = get(extra_env={"VAULT_ADDR": f"{dead}, {leader.addr}"})
    assert result.returncode == 0 and result.stdout == b"list-value-00001", result.stderr
    config = tmp_path / "ha.yaml"
    config.write_text(f"vault-addr:\n  - {leader.addr}\n  - {dead}\n")
    result = get("--config", str(config))
    assert result.returncode == 0 and result.stdout == b"list-value-00001", result.stderr
    # One bad entry is one clear line and exit 64, not a silent drop.
    result = get("--vault-addr", f"{leader.addr},,{dead}")
    assert result.returncode != 0 and b"empty entry" in result.stderr
    result = get("--vault-addr", f"{leader.addr},ftp://x")
    assert result.returncode != 0 and b"not an http:// or https:// URL" in result.stderr


# MARK: read-your-writes through a standby


@pytest.mark.parametrize("nodes", ["standby", "all"])
def test_rotate_through_a_standby_reads_its_own_write(env, ha, nodes):
    """A `.rotate` sent to a standby is forwarded to the active node; the read that follows must see
    the new value at once, not the standby's state of ~100 ms before (which the cache would keep
    for the TTL)."""
    standby = ha.standbys()[0]
    addresses = [standby.addr] if nodes == "standby" else [standby.addr] + [
        node.addr for node in ha.nodes if node is not standby]
    leader_vault = ha.vault(ha.leader())
    prefix = unique("ha")
    leader_vault.put(f"{prefix}/svc/token", {"value": "ryw-original-0001"})
    env.plant("ryw-original-0001")
    assert wait_for(lambda: ha.vault(standby).request("GET", f"secret/data/{prefix}/svc/token", expect=None)[0] == 200,
                    10)
    m = mount_on(env, ha, addresses, "--vault-prefix", prefix, "--cache-ttl", "1h")
    assert m.read("svc", "token") == b"ryw-original-0001"
    stale = 0
    for round in range(8):
        assert write_control(m.p("svc", ".rotate"), b"token\n") == len(b"token\n")
        shown = m.read("svc", "token")
        truth = leader_vault.read(f"{prefix}/svc/token")
        env.plant(truth["data"]["value"])
        assert truth["metadata"]["version"] == round + 2, "one rotation, one version"
        if shown != truth["data"]["value"].encode():
            stale += 1
    assert stale == 0, f"{stale} of 8 reads after a rotation showed the value before it"


# MARK: the active node's death


def _readers(m, names, stop, record):
    """Threads reading `names` in a loop until `stop`; `record` gets (errors, longest, reads)."""
    lock = threading.Lock()

    def loop(name):
        while not stop.is_set():
            started = time.monotonic()
            try:
                m.read(name)
                failed = None
            except OSError as error:
                failed = error.errno
            took = time.monotonic() - started
            with lock:
                record["reads"] += 1
                record["longest"] = max(record["longest"], took)
                if failed is not None:
                    record["errors"].append((name, errno.errorcode.get(failed, failed)))
            time.sleep(0.01)

    threads = [threading.Thread(target=loop, args=(name,), daemon=True) for name in names for _ in range(2)]
    for thread in threads:
        thread.start()
    return threads


@pytest.mark.parametrize("nodes", ["standby", "all"])
def test_active_node_killed_under_readers(env, ha, nodes):
    leader = ha.leader()
    standby = ha.standbys()[0]
    addresses = [standby.addr] if nodes == "standby" else [leader.addr] + [
        node.addr for node in ha.nodes if node is not leader]
    vault = ha.vault(leader)
    prefix = unique("ha")
    names = [f"s{i}" for i in range(3)]
    for name in names:
        vault.put(f"{prefix}/{name}", {"value": f"before-{name}-000001"})
        env.plant(f"before-{name}-000001")
    vault.put(f"{prefix}/rot", {"value": "rotate-me-0000001"})
    env.plant("rotate-me-0000001")
    assert wait_for(lambda: all(ha.vault(n).request("GET", f"secret/data/{prefix}/rot", expect=None)[0] == 200
                                for n in ha.standbys()), 10)
    m = mount_on(env, ha, addresses, "--vault-prefix", prefix, "--cache-ttl", f"{TTL:g}s", "--max-stale", "1h")
    for name in names:
        assert m.read(name) == f"before-{name}-000001".encode()

    stop = threading.Event()
    record = {"errors": [], "longest": 0.0, "reads": 0}
    threads = _readers(m, names, stop, record)
    time.sleep(2 * TTL)
    versions_before = version_count(vault, f"{prefix}/rot")

    # The election's end as the nodes say it (sys/health every 50 ms), watched apart from the
    # rotations below, which may wait for it.
    elected = {}

    def watch():
        while time.monotonic() - killed_at < 60 and "node" not in elected:
            found = ha.leader()
            if found is not None:
                elected.update(node=found, after=time.monotonic() - killed_at)
            time.sleep(0.05)

    killed_at = time.monotonic()
    leader.kill()
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    # `.rotate` while no node is active: EIO or a wait, never a lost or doubled version.
    rotations, refused, longest_rotation = 0, [], 0.0
    while watcher.is_alive():
        started = time.monotonic()
        failed = errno_of(lambda: write_control(m.p(".rotate"), b"rot\n"))
        longest_rotation = max(longest_rotation, time.monotonic() - started)
        if failed is None:
            rotations += 1
        else:
            refused.append(errno.errorcode.get(failed, failed))
        time.sleep(0.1)
    new_leader = elected.get("node")
    assert new_leader is not None, "no node became active within 60 s"
    election = elected["after"]
    # Right after the election a `.rotate` succeeds: a standby that still redirects to the dead
    # node for a moment (~0.6 s) is waited out, not taken for a broken answer.
    assert write_control(m.p(".rotate"), b"rot\n") == len(b"rot\n")
    rotations += 1
    ha.wait_until_settled(timeout=60)

    # A write at the new leader is seen within the TTL (and the slack of a loaded machine).
    new_vault = ha.vault(new_leader)
    new_vault.put(f"{prefix}/s0", {"value": "after-election-0001"})
    env.plant("after-election-0001")
    written_at = time.monotonic()
    assert wait_for(lambda: m.read("s0") == b"after-election-0001", TTL + 5), "the new value never showed"
    seen_after = time.monotonic() - written_at

    # After the election a `.rotate` succeeds, and makes one version.
    assert write_control(m.p(".rotate"), b"rot\n") == len(b"rot\n")
    rotations += 1
    time.sleep(2 * TTL)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)

    versions_after = version_count(new_vault, f"{prefix}/rot")
    current = new_vault.read(f"{prefix}/rot")
    env.plant(current["data"]["value"])
    print(f"\n[{nodes}] election {election:.2f} s; {record['reads']} reads, {len(record['errors'])} errors, "
          f"longest read {record['longest']:.3f} s; rotations during the election: "
          f"{rotations - 2} ok, {len(refused)} refused {sorted(set(refused))}, the longest took "
          f"{longest_rotation:.2f} s; "
          f"a write at the new leader seen after {seen_after:.2f} s")
    assert record["errors"] == [], f"readers saw errors through the election: {record['errors'][:10]}"
    assert set(refused) <= {"EIO"}, f"a .rotate during the election failed otherwise: {refused}"
    assert versions_after == versions_before + rotations, \
        f"{rotations} rotations succeeded but the version count went {versions_before} -> {versions_after}"
    assert m.read("rot") == current["data"]["value"].encode()
    assert wait_for(lambda: json.loads(m.read(".status")).get("backend") == "vault", 5)


# MARK: a node that takes connections and never answers


def test_a_hung_node_hands_calls_to_the_next(env, ha):
    """A node stopped with SIGSTOP accepts connections (the kernel does) and answers nothing: a call
    gives it its share of the deadline (5 s / 3 nodes) and moves on, and later calls start at the
    node that answered."""
    hung = ha.standbys()[0]
    others = [node for node in ha.nodes if node is not hung]
    vault = ha.vault(ha.leader())
    prefix = unique("ha")
    for name in ("first", "second"):
        vault.put(f"{prefix}/{name}", {"value": f"hung-{name}-000001"})
        env.plant(f"hung-{name}-000001")
    assert wait_for(lambda: ha.vault(hung).request("GET", f"secret/data/{prefix}/second", expect=None)[0] == 200, 10)
    m = mount_on(env, ha, [hung.addr] + [node.addr for node in others], "--vault-prefix", prefix)
    hung.server.pause()
    try:
        started = time.monotonic()
        assert m.read("first") == b"hung-first-000001"
        first = time.monotonic() - started
        started = time.monotonic()
        assert m.read("second") == b"hung-second-000001"
        second = time.monotonic() - started
    finally:
        hung.server.process.send_signal(signal.SIGCONT)
    print(f"\nfirst read past a hung node {first:.2f} s, the next {second:.3f} s")
    assert first < 4.5, f"the first read waited {first:.2f} s: the hung node took the whole deadline"
    assert second < 1.0, f"the next read waited {second:.2f} s: the answering node was not remembered"


# MARK: a standby that is behind


def test_a_secret_made_at_the_active_node_is_found_through_a_standby_within_a_second(env, ha):
    """A standby applies a write made at the active node ~0.1 s after it, and answers a read for the
    new secret 404 until then. That miss must not be remembered for the negative TTL (10 s): the
    secret is found within a second (docs/FAILURES.md, Vault in HA)."""
    standby = ha.standbys()[0]
    vault = ha.vault(ha.leader())
    prefix = unique("ha")
    vault.put(f"{prefix}/first", {"value": "behind-first-00001"})
    env.plant("behind-first-00001")
    assert wait_for(lambda: ha.vault(standby).request("GET", f"secret/data/{prefix}/first", expect=None)[0] == 200,
                    10)
    m = mount_on(env, ha, [standby.addr], "--vault-prefix", prefix, "--cache-ttl", f"{TTL:g}s")
    assert m.read("first") == b"behind-first-00001"
    windows = []
    for round in range(6):
        name, value = f"new{round}", f"behind-new-{round}-000001"
        env.plant(value)
        vault.put(f"{prefix}/{name}", {"value": value})
        written = time.monotonic()
        first = errno_of(lambda: m.read(name))
        if first is None:
            continue  # the standby had it already: nothing to measure this round
        assert first == errno.ENOENT, f"a read through a standby that is behind failed with {first}"
        assert wait_for(lambda: errno_of(lambda: m.read(name)) is None, 15, every=0.05), \
            f"{name} was never found through the standby"
        windows.append(time.monotonic() - written)
        assert m.read(name) == value.encode()
    print(f"\nthe standby was behind in {len(windows)} of 6 rounds; ENOENT for "
          f"{', '.join(f'{w:.2f}' for w in windows)} s")
    assert windows, "the standby was never behind: the case was not tried"
    # One second remembered (the miss came from a standby), a loaded machine's slack on top.
    assert max(windows) < 2.5, f"a standby's miss was remembered for {max(windows):.2f} s"
