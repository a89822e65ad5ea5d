"""`.events` through a real mount (issue 14 §2): each open is a stream of JSON lines, read by a
blocking reader (`cat`, a Python loop), by a `select` loop and with O_NONBLOCK; names and versions,
never a value. A reader interrupted by SIGINT ends cleanly, and a waiting reader keeps its stream
across the worker being killed and replaced."""

import errno
import json
import os
import select
import signal
import subprocess
import threading
import time

from conftest import wait_for
from conftest import write_control as write
from mounts import kill_worker

# Generous: the event comes about at once on the development VM, a loaded CI machine is slower.
SLACK = 15.0


class LineReader:
    """A thread reading one open of `.events` with blocking reads, its lines kept as parsed JSON."""

    def __init__(self, path):
        self.fd = os.open(path, os.O_RDONLY)
        self.lines, self.raw, self.error = [], b"", None
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        pending = b""
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except OSError as e:
                self.error = e.errno
                return
            if not chunk:
                return
            self.raw += chunk
            pending += chunk
            *whole, pending = pending.split(b"\n")
            self.lines += [json.loads(line) for line in whole]

    def wait_for(self, predicate, timeout=SLACK):
        return wait_for(lambda: any(predicate(line) for line in self.lines), timeout)


def rotate(m, folder, name):
    write(m.p(folder, ".rotate") if folder else m.p(".rotate"), name.encode() + b"\n")


def test_a_blocking_reader_gets_one_line_per_rotation_without_values(sample):
    m = sample.mount("--events")
    reader = LineReader(m.p(".events"))
    rotate(m, "openai", "api_key")
    rotate(m, "db", "password")
    assert reader.wait_for(lambda e: e["path"] == "db" and e["field"] == "password"), reader.lines
    first = next(e for e in reader.lines if e["path"] == "openai/api_key")
    assert first["cause"] == "rotation"
    assert set(first) == {"time", "path", "field", "old_version", "new_version", "cause"}
    assert first["old_version"] == "3" and first["new_version"] == "4"
    sample.assert_no_planted_values(reader.raw, ".events")
    current = m.read("openai", "api_key")
    assert current not in reader.raw


def test_cat_streams_lines_as_they_come_and_ends_on_sigint(sample):
    m = sample.mount("--events")
    cat = subprocess.Popen(["cat", m.p(".events")], stdout=subprocess.PIPE)
    try:
        time.sleep(0.5)
        rotate(m, "", "top")
        line = json.loads(cat.stdout.readline())
        assert line["path"] == "top" and line["cause"] == "rotation"
    finally:
        cat.send_signal(signal.SIGINT)
        assert cat.wait(timeout=SLACK) == -signal.SIGINT
    # The mount serves on, and the interrupted read left nothing behind.
    assert m.read("top")
    assert wait_for(lambda: json.loads(m.read(".status"))["open_handles"] == 0, SLACK)


def test_a_select_loop_and_non_blocking_reads(sample):
    m = sample.mount("--events")
    fd = os.open(m.p(".events"), os.O_RDONLY | os.O_NONBLOCK)
    try:
        try:
            os.read(fd, 4096)
            raise AssertionError("a non-blocking read with no event returned data")
        except BlockingIOError as e:
            assert e.errno == errno.EAGAIN
        assert select.select([fd], [], [], 0.3)[0] == []
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        threading.Timer(0.5, lambda: rotate(m, "openai", "api_key")).start()
        assert select.select([fd], [], [], SLACK)[0] == [fd]
        assert poller.poll(0) == [(fd, select.POLLIN)]
        line = json.loads(os.read(fd, 4096).splitlines()[0])
        assert line["path"] == "openai/api_key"
        # Read out: not readable again until the next event.
        assert select.select([fd], [], [], 0.2)[0] == []
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            raise AssertionError("a stream is seekable")
        except OSError as e:
            assert e.errno == errno.ESPIPE
    finally:
        os.close(fd)


def test_an_outside_change_is_told_when_the_mount_sees_it(sample):
    m = sample.mount("--events", "--cache-ttl", "1s")
    m.read("top")
    reader = LineReader(m.p(".events"))
    sample.put("top", "changed-outside-value")
    time.sleep(1.5)
    assert m.read("top") == b"changed-outside-value"
    assert reader.wait_for(lambda e: e["path"] == "top" and e["cause"] in ("outside", "refresh")), reader.lines
    sample.assert_no_planted_values(reader.raw, ".events")


def test_each_open_sees_the_events_from_its_open_on(sample):
    m = sample.mount("--events")
    early = LineReader(m.p(".events"))
    rotate(m, "", "top")
    assert early.wait_for(lambda e: e["path"] == "top")
    late = LineReader(m.p(".events"))
    time.sleep(0.3)
    rotate(m, "openai", "api_key")
    assert early.wait_for(lambda e: e["path"] == "openai/api_key")
    assert late.wait_for(lambda e: e["path"] == "openai/api_key")
    assert [e["path"] for e in late.lines] == ["openai/api_key"]


def test_a_waiting_reader_keeps_reading_after_the_worker_is_killed(sample):
    m = sample.mount("--events")
    reader = LineReader(m.p(".events"))
    time.sleep(0.3)
    kill_worker(m)
    rotate(m, "", "top")
    assert reader.wait_for(lambda e: e["path"] == "top"), (reader.lines, reader.error)
    assert reader.error is None


def test_without_the_flag_events_is_not_supported_and_never_listed(sample):
    m = sample.mount()
    assert ".events" not in os.listdir(m.p())
    result = subprocess.run(["cat", m.p(".events")], capture_output=True, timeout=SLACK)
    assert result.returncode != 0
    assert b"Operation not supported" in result.stderr
    m2 = sample.mount("--events")
    assert ".events" not in os.listdir(m2.p())
    # A walker does not block on it.
    result = subprocess.run(["grep", "-r", "-c", "x", m2.p()], capture_output=True, timeout=SLACK)
    assert result.returncode in (0, 1)


def test_writes_are_refused(sample):
    m = sample.mount("--events")
    try:
        os.open(m.p(".events"), os.O_WRONLY)
        raise AssertionError("opened .events for writing")
    except OSError as e:
        assert e.errno in (errno.EROFS, errno.EACCES)
