"""The package under a real systemd (issue 29 §2, DESIGN §13): a Debian container booted by
systemd 252 as PID 1 (`podman run --systemd=always`, the image scripts/lib/containers.sh makes),
the .deb of SECRETSFS_BIN installed with `apt-get install ./secretsfs_….deb`, then
`systemctl enable --now secretsfs@run-secrets` on the local store, with readers looping inside the
machine through restart, reload, `kill -9` of the main process and stop; `systemctl status` shows
the daemon's STATUS= line; an fstab line is mounted by systemd's fstab generator at boot; `apt-get
purge` leaves no file of the package. The tests run in this order on one machine, which is removed
at the end. When podman cannot work here, they fail.

Readers write one line per read to a log: the time, then `ok` and the SHA-256 of what they read, or
`err` and the error text; the value itself is never written or printed."""

import hashlib
import secrets
import subprocess
import time

import pytest

import machines
from conftest import wait_for
from machines import PODMAN, figures

UNIT = "secretsfs@run-secrets.service"
STORE = "/var/lib/secretsfs/secrets.db"
FSTAB_MOUNT = "/srv/fstab-secrets"


class Machine(machines.Machine):
    def show(self, prop):
        return self.run(f"systemctl show -P {prop} {UNIT}").stdout.strip()

    def journal(self, since):
        return self.run(f"journalctl -u {UNIT} --no-pager -o cat --since @{int(since)}").stdout

    def reader(self, path="/run/secrets/app/db"):
        return super().reader(path)


@pytest.fixture(scope="module")
def machine(debian_package, tmp_path_factory):
    deb, _ = debian_package
    started = time.monotonic()
    machines.ensure_prerequisites()
    logs = tmp_path_factory.mktemp("systemd-logs")
    # The package's dependencies are in the image, so apt-get needs no network.
    made = Machine.boot(logs, "systemd", volumes=[f"{deb.parent}:/dist:ro"])
    made.deb = f"/dist/{deb.name}"
    value = secrets.token_hex(24)
    made.digest = hashlib.sha256(value.encode()).hexdigest()
    made.value = value
    try:
        made.wait_running()
        print(f"\nsystemd machine booted in {time.monotonic() - started:.1f}s (prerequisites included)")
        yield made
    finally:
        made.remove()


def test_apt_get_install_and_enable_now_serves(machine):
    installed = machine.run(f"cd /dist && DEBIAN_FRONTEND=noninteractive apt-get install -y ./{machine.deb[6:]}")
    assert "Setting up secretsfs" in installed.stdout, installed.stdout[-1000:]
    assert machine.run("man -w secretsfs.mount 2>/dev/null || ls /usr/share/man/man1/secretsfs.mount.1.gz").stdout
    # The value goes in on stdin, never in argv.
    subprocess.run([*PODMAN, "exec", "-i", machine.name, "bash", "-c",
                    f"mkdir -p /var/lib/secretsfs /etc/secretsfs && secretsfs put app/db --store {STORE} >/dev/null"],
                   input=machine.value, text=True, check=True, capture_output=True, timeout=60)
    machine.run(f"printf 'store: {STORE}\\n' > /etc/secretsfs/run-secrets.yaml")
    machine.run("systemctl enable --now secretsfs@run-secrets", timeout=120)
    assert machine.show("ActiveState") == "active"
    assert "fuse.secretsfs" in machine.run("findmnt -n -o FSTYPE /run/secrets").stdout
    reader = machine.reader()
    assert wait_for(lambda: any(ok and d == machine.digest for _, ok, d in reader.lines()), 10)
    assert all(ok and d == machine.digest for _, ok, d in reader.lines()), reader.lines()[-3:]
    machine.main_reader = reader


def test_status_shows_the_daemons_status_line(machine):
    def status_line():
        return machine.show("StatusText")
    assert wait_for(lambda: "secrets served" in status_line(), 20), f"StatusText is {status_line()!r}"
    line = status_line()
    shown = machine.run(f"systemctl status {UNIT} --no-pager", check=False).stdout
    print(f"\nsystemctl status: {[x.strip() for x in shown.splitlines() if 'Status:' in x]}")
    assert "serving from local" in line and "Status: \"serving from local" in shown
    assert machine.value not in shown and machine.value not in machine.journal(0)


def test_restart_is_invisible_to_readers(machine):
    reader = machine.main_reader
    before = machine.show("MainPID")
    start = time.time()
    machine.run(f"systemctl restart {UNIT}", timeout=120)
    took = time.time() - start
    time.sleep(2)
    after = machine.show("MainPID")
    reads, errors, gap = figures(reader.since(start), machine.digest, start)
    print(f"\nsystemctl restart ({took:.2f}s): {reads} reads, {len(errors)} errors, longest gap {gap:.2f}s")
    assert after != before and machine.show("ActiveState") == "active"
    journal = machine.journal(start)
    assert "serving the mount systemd kept" in journal, journal[-2000:]
    assert not errors, errors[:3]


def test_reload_starts_a_new_worker_without_an_error(machine):
    reader = machine.main_reader
    worker = machine.run("grep -o '\"pid\" : [0-9]*' /run/secrets/.status").stdout
    main = machine.show("MainPID")
    start = time.time()
    machine.run(f"systemctl reload {UNIT}", timeout=120)
    took = time.time() - start
    time.sleep(1)
    reads, errors, gap = figures(reader.since(start), machine.digest, start)
    print(f"\nsystemctl reload ({took:.2f}s): {reads} reads, {len(errors)} errors, longest gap {gap:.2f}s")
    assert machine.run("grep -o '\"pid\" : [0-9]*' /run/secrets/.status").stdout != worker
    assert machine.show("MainPID") == main
    assert not errors, errors[:3]


def test_kill_9_of_the_main_process_comes_back_through_the_store(machine):
    reader = machine.main_reader
    before = machine.show("MainPID")
    start = time.time()
    machine.run(f"kill -9 {before}")
    assert wait_for(lambda: machine.show("MainPID") not in ("0", before) and machine.show("ActiveState") == "active",
                    60, every=0.2), f"the unit did not come back: {machine.show('ActiveState')}"
    back = time.time() - start
    time.sleep(2)
    reads, errors, gap = figures(reader.since(start), machine.digest, start)
    print(f"\nkill -9 of the main process: back in {back:.2f}s; {reads} reads, {len(errors)} errors, "
          f"longest gap {gap:.2f}s")
    assert "serving the mount systemd kept" in machine.journal(start)
    assert not errors, errors[:3]


def test_an_fstab_line_is_mounted_at_boot(machine):
    machine.run(f"echo 'local {FSTAB_MOUNT} fuse.secretsfs store={STORE},_netdev 0 0' >> /etc/fstab")
    machine.stop_readers()
    start = time.time()
    subprocess.run([*PODMAN, "restart", "-t", "30", machine.name], check=True, capture_output=True, timeout=120)
    machine.wait_running()
    print(f"\nmachine rebooted in {time.time() - start:.1f}s")
    listed = machine.run(f"findmnt -n -o TARGET,FSTYPE,SOURCE {FSTAB_MOUNT}", check=False).stdout
    assert "fuse.secretsfs" in listed, f"findmnt: {listed!r}; {machine.run('systemctl --failed', check=False).stdout}"
    assert machine.run(f"sha256sum {FSTAB_MOUNT}/app/db").stdout.split()[0] == machine.digest
    # The enabled instance came back at boot too.
    assert machine.show("ActiveState") == "active"
    machine.main_reader = machine.reader()


def test_stop_exits_clean_and_leaves_no_dead_mount(machine):
    reader = machine.main_reader
    start = time.time()
    machine.run(f"systemctl stop {UNIT}", timeout=120)
    took = time.time() - start
    time.sleep(1.5)
    after = reader.since(start)
    dead = [e for e in after if not e[1] and ("not connected" in e[2] or "abort" in e[2])]
    print(f"\nsystemctl stop ({took:.2f}s): result {machine.show('Result')}, exit status "
          f"{machine.show('ExecMainStatus')}; {len(after)} reads after, {len(dead)} saw a dead mount")
    assert machine.show("Result") == "success" and machine.show("ExecMainStatus") == "0"
    assert machine.run("findmnt -n /run/secrets", check=False).stdout.strip() == "", "a mount is left on /run/secrets"
    assert machine.run("ls -A /run/secrets").stdout.strip() == ""
    assert not dead, dead[:3]
    assert after and not after[-1][1] and "No such file" in after[-1][2], after[-3:]
    machine.stop_readers()


def test_purge_leaves_no_file_of_the_package(machine):
    machine.run(f"systemctl start {UNIT}", timeout=120)
    # The fstab mount is the admin's to stop (its mount unit ends its processes); the unit's is prerm's.
    machine.run(f"systemctl stop \"$(systemd-escape -p --suffix=mount {FSTAB_MOUNT})\"")
    files = machine.run("dpkg -L secretsfs").stdout.split()
    purged = machine.run("DEBIAN_FRONTEND=noninteractive apt-get purge -y secretsfs", timeout=120)
    assert "Purging configuration files for secretsfs" in purged.stdout or "Removing secretsfs" in purged.stdout
    # Files and links, not folders (/lib is a link to usr/lib on a merged /usr, and not the package's).
    left = machine.run("bash -c 'for f in \"$@\"; do { [ -f \"$f\" ] || [ -L \"$f\" ]; } && [ ! -d \"$f\" ] "
                       "&& echo \"$f\"; done' x "
                       + " ".join(files) + "; [ -e /usr/share/doc/secretsfs ] && echo /usr/share/doc/secretsfs; "
                       "find /etc/systemd /lib/systemd -lname '*secretsfs*' 2>/dev/null; true").stdout.split()
    print(f"\napt-get purge: {len(files)} paths of the package, {len(left)} left")
    assert not left, left
    assert machine.run("findmnt -n /run/secrets", check=False).stdout.strip() == "", "prerm left the mount"
    procs = machine.run("for p in /proc/[0-9]*; do readlink $p/exe; done 2>/dev/null | grep secretsfs; true").stdout.split()
    assert not procs, procs
