"""The mount outlives its worker (DESIGN.md section 6): `secretsfs mount` is a supervisor that holds
/dev/fuse and a worker that serves it. A worker killed with SIGKILL is replaced on the same
descriptor; readers see a pause, never an error; node ids, open files and folders, and cached values
carry over. These tests kill real workers under real readers."""

import errno
import json
import os
import signal
import subprocess
import threading
import time

import pytest

from conftest import is_mounted, status, wait_for
from fake_systemd import FakeSystemd
from mounts import kill_worker, mount_vault, put_vault_secret
from proxies import SlowProxy


class Readers:
    """Threads looping on reads of `m` until stopped; errors are kept by errno name, never a value."""

    def __init__(self, m, expected, count=4):
        self.m, self.expected = m, expected
        self.errors, self.wrong, self.reads = [], [], 0
        self.done = threading.Event()
        self.threads = [threading.Thread(target=self._loop, daemon=True) for _ in range(count)]

    def _loop(self):
        while not self.done.is_set():
            for parts, value in self.expected.items():
                try:
                    got = self.m.read(*parts)
                except OSError as error:
                    self.errors.append(errno.errorcode.get(error.errno, error.errno))
                    continue
                self.reads += 1
                if got != value:
                    self.wrong.append(parts)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        for t in self.threads:
            t.join(20)
        assert not any(t.is_alive() for t in self.threads), "a reader hung"


@pytest.mark.parametrize("mode", [[], ["--direct-io"], ["--cache-ttl", "0"]])
def test_readers_never_see_an_error_while_the_worker_is_killed(sample, mode):
    m = sample.mount(*mode)
    expected = {("top",): b"top-level-value-xyz", ("db", "username"): b"alice-the-user",
                ("openai", "api_key"): b"sk-current-00000003"}
    with Readers(m, expected) as readers:
        for _ in range(4):
            time.sleep(0.3)
            kill_worker(m)
        time.sleep(0.3)
    assert readers.errors == [], f"readers saw {len(readers.errors)} errors: {sorted(set(readers.errors))}"
    assert readers.wrong == [] and readers.reads > 100
    worker = status(m)["worker"]
    assert worker["restarts"] == 4 and worker["supervisor_pid"] == m.process.pid


def test_open_files_and_folders_carry_over_to_the_next_worker(sample):
    m = sample.mount("--direct-io")
    fd = os.open(m.p("top"), os.O_RDONLY)
    folder = os.open(m.p("openai"), os.O_RDONLY | os.O_DIRECTORY)
    inode = os.stat(m.p("db", "username")).st_ino
    try:
        assert os.read(fd, 4) == b"top-"
        kill_worker(m)
        # The handle is the old worker's: the new one reads the value again from the inode.
        assert os.read(fd, 100) == b"level-value-xyz"
        assert "api_key" in os.listdir(folder) and sorted(os.listdir(folder)) == sorted(os.listdir(m.p("openai")))
        assert os.stat(m.p("db", "username")).st_ino == inode
        fresh = os.open(m.p("top"), os.O_RDONLY)
        assert os.read(fresh, 100) == b"top-level-value-xyz"
        os.close(fresh)
    finally:
        os.close(fd)
        os.close(folder)


def test_a_worker_that_keeps_dying_stops_the_mount_with_one_line(sample):
    m = sample.mount()
    for _ in range(4):
        kill_worker(m)
    os.kill(m.worker_pid(), signal.SIGKILL)
    assert m.process.wait(20) == 1
    lines = [json.loads(line) for line in m.log_text().splitlines() if line.startswith("{")]
    final = [line for line in lines if "times within" in line.get("message", "")]
    assert len(final) == 1, final
    assert "died 5 times within 10" in final[0]["message"]
    assert not is_mounted(m.path)


def test_a_new_worker_serves_the_cache_while_the_backend_is_down(env, bao):
    server = bao()
    put_vault_secret(env, server, "app/key", "cached-through-restart-01")
    m = mount_vault(env, server, "--cache-ttl", "2s", "--backend-timeout", "2s", check=False)
    assert m.read("app", "key") == b"cached-through-restart-01"
    server.stop(signal.SIGKILL)
    kill_worker(m)
    # The answer the dead worker had, served stale by the new one: the backend is gone.
    assert m.read("app", "key") == b"cached-through-restart-01"
    time.sleep(2.5)
    assert m.read("app", "key") == b"cached-through-restart-01"
    assert status(m)["worker"]["restarts"] == 1
    # Vault comes back (a new dev server on the same address and token): the worker that started
    # without it checks its token then, and reads are fresh again.
    again = bao(port=server.port, token=server.token)
    put_vault_secret(env, again, "app/key", "fresh-after-return-0002")
    assert wait_for(lambda: m.read("app", "key") == b"fresh-after-return-0002", 20)
    assert wait_for(lambda: "Vault answers again" in m.log_text(), 10)


def test_the_worker_environment_holds_no_credential(env, bao):
    server = bao()
    put_vault_secret(env, server, "app/key", "environ-check-value-02")
    m = mount_vault(env, server, check=False)
    assert m.read("app", "key") == b"environ-check-value-02"
    for pid in (m.process.pid, m.worker_pid()):
        environ = open(f"/proc/{pid}/environ", "rb").read()
        assert server.token.encode() not in environ, f"the token is in /proc/{pid}/environ"
    # A restarted worker still has the token it needs.
    kill_worker(m)
    server_value = m.read("app", "key")
    assert server_value == b"environ-check-value-02"


def test_sigterm_answers_the_reads_in_flight_before_it_unmounts(env, bao):
    server = bao()
    for i in range(16):
        put_vault_secret(env, server, f"slow/s{i}", f"slow-answer-{i:02d}-0000")
    proxy = SlowProxy(server.port, 2.4)
    try:
        from peers import clean_environment
        environment = clean_environment(VAULT_ADDR=f"http://127.0.0.1:{proxy.port}", VAULT_TOKEN=server.token)
        m = env.mount("--backend-timeout", "10s", backend=["--backend", "vault"], env=environment)
        # Cold: each read waits on a listing of the root, one of the folder, then its value.
        results = {}

        def reader(i):
            try:
                results[i] = m.read("slow", f"s{i}")
            except OSError as error:
                results[i] = errno.errorcode.get(error.errno, error.errno)

        threads = [threading.Thread(target=reader, args=(i,), daemon=True) for i in range(16)]
        for t in threads:
            t.start()
        time.sleep(1.0)  # every read now waits on the slow backend inside the worker (DESIGN: up to 10 s)
        m.process.send_signal(signal.SIGTERM)
        for t in threads:
            t.join(30)
        assert m.process.wait(30) == 0
        answered = sum(results.get(i) == f"slow-answer-{i:02d}-0000".encode() for i in range(16))
        failures = sorted(str(r) for r in results.values() if not isinstance(r, bytes))
        assert answered == 16, f"{answered} of 16 reads answered; failures: {failures}"
        assert not is_mounted(m.path)
    finally:
        proxy.close()


def test_reload_replaces_the_worker_without_a_reader_error(sample):
    m = sample.mount()
    old = m.worker_pid()
    with Readers(m, {("top",): b"top-level-value-xyz"}) as readers:
        for _ in range(2):
            result = sample.cli("reload", m.path, backend=[])
            assert b"reloaded" in result.stdout
        os.kill(m.process.pid, signal.SIGHUP)  # the same through the signal
        assert wait_for(lambda: status(m)["worker"]["reloads"] == 3, 20)
    assert readers.errors == [] and readers.wrong == [] and readers.reads > 0
    worker = status(m)["worker"]
    assert worker["pid"] != old and worker["restarts"] == 0
    assert not os.path.exists(f"/proc/{old}") or "Z" in open(f"/proc/{old}/stat").read().rsplit(")", 1)[1][:3]


def test_reload_with_a_broken_config_is_refused_and_the_worker_keeps_serving(sample, tmp_path):
    config = tmp_path / "secretsfs.yaml"
    config.write_text("cache-ttl: 300s\n")
    m = sample.mount("--config", str(config))
    old = m.worker_pid()
    config.write_text("cache-ttl: [not, a, duration]\n")
    result = sample.cli("reload", m.path, backend=[], check=False)
    assert result.returncode == 78, result.stderr
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "reload refused" in lines[0], lines
    assert m.worker_pid() == old and m.read("top") == b"top-level-value-xyz"


def test_a_restart_through_the_systemd_descriptor_store_is_invisible(sample, tmp_path):
    from conftest import BIN
    systemd = FakeSystemd(str(tmp_path))
    environment = dict(os.environ, NOTIFY_SOCKET=systemd.path, FDSTORE="4")
    m = sample.mount(env=environment)
    assert wait_for(lambda: {"fuse", "inodes", "cache", "mountpoint"} <= set(systemd.stored), 10)
    inode = os.stat(m.p("db", "username")).st_ino
    second = None
    log = open(tmp_path / "second.log", "wb")
    try:
        with Readers(m, {("top",): b"top-level-value-xyz"}) as readers:
            time.sleep(0.2)
            assert m.stop(signal.SIGTERM) == 0  # systemctl restart: the stop half
            assert is_mounted(m.path), "the mount must stay for the next supervisor"
            command, place, keep = systemd.launch_arguments(
                [BIN, "mount", m.path, "--log-format", "json", "--store", sample.store])
            second = subprocess.Popen(command, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                      preexec_fn=place, pass_fds=keep)
            assert wait_for(
                lambda: b"serving the mount systemd kept" in open(tmp_path / "second.log", "rb").read(), 20)
            time.sleep(0.5)
        assert readers.errors == [], f"readers saw {sorted(set(readers.errors))}"
        assert readers.reads > 0
        assert os.stat(m.p("db", "username")).st_ino == inode
        assert m.read("db", "username") == b"alice-the-user"
    finally:
        if second is not None:
            second.send_signal(signal.SIGTERM)
            assert second.wait(20) == 0
        log.close()
        systemd.close()
    assert not is_mounted(m.path)


def test_a_stop_after_the_mount_was_detached_drops_the_stored_descriptors(sample, tmp_path):
    """What the unit's ExecStop does on a stop no start follows: the mount is detached, then SIGTERM.
    The supervisor must not leave the mount to a next one (there is none): it asks systemd to drop
    what it stores and exits 0. Also: the worker's summary reaches systemd as STATUS=."""
    systemd = FakeSystemd(str(tmp_path))
    environment = dict(os.environ, NOTIFY_SOCKET=systemd.path, FDSTORE="5")
    m = sample.mount(env=environment)
    try:
        assert wait_for(lambda: {"fuse", "inodes", "cache", "mountpoint", "leases"} <= set(systemd.stored), 10)
        assert m.read("top") == b"top-level-value-xyz"
        assert wait_for(lambda: any(x.startswith("STATUS=serving from local: ") for x in systemd.messages), 10), \
            systemd.messages
        subprocess.run(["umount", "-l", m.path], check=True)
        assert m.stop(signal.SIGTERM) == 0
        removed = {x.split("FDNAME=")[1] for x in systemd.messages if x.startswith("FDSTOREREMOVE=1")}
        assert removed == {"fuse", "inodes", "cache", "mountpoint", "leases"}, systemd.messages
        assert systemd.stored == {}
        assert "left the mount to the next supervisor" not in m.log_text()
        assert not is_mounted(m.path)
    finally:
        systemd.close()


def test_a_request_the_dead_worker_held_is_resent_to_the_next(env, bao):
    from peers import clean_environment
    server = bao()
    put_vault_secret(env, server, "held/key", "resent-after-death-03")
    proxy = SlowProxy(server.port, 1.5)
    try:
        environment = clean_environment(VAULT_ADDR=f"http://127.0.0.1:{proxy.port}", VAULT_TOKEN=server.token)
        m = env.mount("--backend-timeout", "10s", backend=["--backend", "vault"], env=environment)
        result = {}

        def reader():
            try:
                result["value"] = m.read("held", "key")
            except OSError as error:
                result["error"] = errno.errorcode.get(error.errno, error.errno)

        thread = threading.Thread(target=reader, daemon=True)
        thread.start()
        time.sleep(0.5)  # the LOOKUP is now inside the worker, waiting on the slow backend
        kill_worker(m)
        thread.join(30)
        # FUSE_NOTIFY_RESEND (Linux 6.9+) gave the held request to the new worker.
        assert result.get("value") == b"resent-after-death-03", result.get("error")
        assert "cannot resend" not in m.log_text()
    finally:
        proxy.close()


def test_reload_reads_a_relative_config_from_the_mounts_folder(sample, tmp_path):
    """`mount --config secretsfs.yaml` typed in one folder, `reload` in another: the config is the mount's."""
    from conftest import BIN
    folder = tmp_path / "conf"
    folder.mkdir()
    (folder / "secretsfs.yaml").write_text("cache-ttl: 300s\n")
    mountpoint = tmp_path / "relmp"
    mountpoint.mkdir()
    process = subprocess.Popen([BIN, "mount", str(mountpoint), "--config", "secretsfs.yaml", "--store", sample.store],
                               cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert wait_for(lambda: is_mounted(str(mountpoint)) and os.path.exists(mountpoint / ".status"), 30)
        result = subprocess.run([BIN, "reload", str(mountpoint)], cwd="/", capture_output=True, timeout=60)
        assert result.returncode == 0, result.stderr
        assert b"reloaded" in result.stdout
    finally:
        process.terminate()
        process.wait(timeout=30)
        if is_mounted(str(mountpoint)):
            subprocess.run(["fusermount3", "-uz", str(mountpoint)])
