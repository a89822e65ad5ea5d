"""SSH certificates (`leases:` entries with `sign:`, DESIGN §11, issue 30 item 5) against a real OpenBao
SSH engine acting as a CA and a real sshd on a loopback port that trusts it (`TrustedUserCAKeys`, no
authorized keys): the folder shows a key pair the daemon made (`id`, 0600, owned by the reader, that
`ssh-keygen -y` reads) and its certificate; `ssh -i` logs in; the certificate is signed again at 2/3 of
its validity and a new login works after the first one expired; a killed worker and a reload keep the
key and certificate (no new signing in OpenBao's audit log); a configured public key is signed and no
private key is shown. The private key never reaches a log line or `.status`."""

import calendar
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

from conftest import wait_for
from peers import free_port, unique
from mounts import Inotifywait, mount_vault

SSHD = "/usr/sbin/sshd"
PRINCIPAL = "deploy"


class CA:
    """An SSH secrets engine of its own with a generated CA key and role `deploy` for user certificates."""

    def __init__(self, bao, ttl="30s", max_ttl="1h"):
        self.bao = bao
        self.vault = bao.vault
        self.mount = unique("ssh")
        self.vault.request("POST", f"sys/mounts/{self.mount}", {"type": "ssh"})
        self.vault.request("POST", f"{self.mount}/config/ca", {"generate_signing_key": True})
        self.vault.request("POST", f"{self.mount}/roles/deploy", {
            "key_type": "ca", "allow_user_certificates": True, "allowed_users": PRINCIPAL,
            "default_user": PRINCIPAL, "ttl": ttl, "max_ttl": max_ttl})
        self.public_key = self.vault.request("GET", f"{self.mount}/config/ca")[1]["data"]["public_key"]

    def signings(self):
        """How many signing requests the audit log holds for this engine's role."""
        return self.bao.requests(f"{self.mount}/sign/deploy")


class Sshd:
    """Debian's sshd on a loopback port with its own config in a tmp folder: it trusts `ca` for user
    certificates naming `deploy`, which it maps to root (AuthorizedPrincipalsFile), and nothing else."""

    def __init__(self, ca_public_key):
        assert os.access(SSHD, os.X_OK), "sshd is not installed: scripts/test installs it (Debian's openssh-server)"
        self.dir = tempfile.mkdtemp(prefix="secretsfs-sshd-")
        self.port = free_port()
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", f"{self.dir}/host"], check=True)
        with open(f"{self.dir}/ca.pub", "w") as f:
            f.write(ca_public_key.strip() + "\n")
        with open(f"{self.dir}/principals", "w") as f:
            f.write(PRINCIPAL + "\n")
        with open(f"{self.dir}/host.pub") as f:
            host_key = f.read().split()
        with open(f"{self.dir}/known_hosts", "w") as f:
            f.write(f"[127.0.0.1]:{self.port} {host_key[0]} {host_key[1]}\n")
        with open(f"{self.dir}/sshd_config", "w") as f:
            f.write(f"""\
Port {self.port}
ListenAddress 127.0.0.1
HostKey {self.dir}/host
PidFile {self.dir}/sshd.pid
TrustedUserCAKeys {self.dir}/ca.pub
AuthorizedKeysFile none
AuthorizedPrincipalsFile {self.dir}/principals
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
LogLevel VERBOSE
""")
        # sshd's privilege separation needs this folder, which the package's service would make.
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        self.log = open(f"{self.dir}/sshd.log", "w")
        self.process = subprocess.Popen([SSHD, "-D", "-e", "-f", f"{self.dir}/sshd_config"], stdout=self.log,
                                        stderr=subprocess.STDOUT)
        assert wait_for(lambda: "Server listening" in self.log_text() or self.process.poll() is not None, 20)
        assert self.process.poll() is None, self.log_text()

    def log_text(self):
        with open(f"{self.dir}/sshd.log") as f:
            return f.read()

    def login(self, key, certificate):
        """(ok, stderr) of `ssh -i key -o CertificateFile=certificate root@127.0.0.1 true`."""
        result = subprocess.run(
            ["ssh", "-F", "/dev/null", "-i", key, "-o", f"CertificateFile={certificate}", "-o", "IdentitiesOnly=yes",
             "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
             "-o", f"UserKnownHostsFile={self.dir}/known_hosts", "-o", "ConnectTimeout=10", "-p", str(self.port),
             "root@127.0.0.1", "true"],
            env={"PATH": os.environ["PATH"]}, capture_output=True, timeout=60)
        return result.returncode == 0, result.stderr.decode(errors="replace")

    def stop(self):
        self.process.kill()
        self.process.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def ssh_config(env, text):
    path = env.workdir / f"{unique('ssh-')}.yaml"
    path.write_text(text)
    return str(path)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def valid_before(certificate_path):
    """The certificate's end, from `ssh-keygen -L` (which prints local time: TZ=UTC)."""
    listing = subprocess.run(["ssh-keygen", "-L", "-f", certificate_path],
                             env={"TZ": "UTC", "PATH": os.environ["PATH"]}, capture_output=True, timeout=30,
                             check=True).stdout.decode()
    valid = next(line for line in listing.splitlines() if "Valid:" in line)
    end = valid.split(" to ")[1].strip()
    return calendar.timegm(time.strptime(end, "%Y-%m-%dT%H:%M:%S")), listing


def key_body(private_key):
    """The private key file's base64 lines: what must never be seen outside the file."""
    return [line for line in private_key.splitlines() if line and not line.startswith(b"-----")]


def certificate_status(m, path):
    # `.status` is made once a second per reading process.
    time.sleep(1.1)
    status = m.read(".status")
    return status, next(lease for lease in json.loads(status)["leases"] if lease["path"] == path)


def test_made_key_logs_in_and_is_signed_again_before_it_expires(env, audited_bao):
    ca = CA(audited_bao, ttl="20s")
    sshd = Sshd(ca.public_key)
    try:
        config = ssh_config(env, f"""\
leases:
  - path: ssh/deploy
    sign: {ca.mount}/sign/deploy
    principals: [{PRINCIPAL}]
""")
        started = time.monotonic()
        m = mount_vault(env, audited_bao.vault, "--config", config)
        folder = m.p("ssh", "deploy")
        key, certificate = m.p("ssh", "deploy", "id"), m.p("ssh", "deploy", "id-cert.pub")
        assert sorted(name for name in os.listdir(folder) if not name.startswith(".")) == [
            "id", "id-cert.pub", "id.pub"]
        # ssh refuses a key others may read, or one that is not the reader's.
        info = os.stat(key)
        assert info.st_mode & 0o777 == 0o600 and info.st_uid == os.getuid()
        private_key = read(key)
        env.planted.extend(key_body(private_key))
        assert private_key.startswith(b"-----BEGIN OPENSSH PRIVATE KEY-----\n")
        derived = subprocess.run(["ssh-keygen", "-y", "-f", key], capture_output=True, timeout=30)
        assert derived.returncode == 0, derived.stderr
        assert derived.stdout.split()[:2] == read(m.p("ssh", "deploy", "id.pub")).split()[:2]
        ok, errors = sshd.login(key, certificate)
        assert ok, errors + sshd.log_text()
        print(f"mount to first ssh login: {time.monotonic() - started:.2f}s")
        assert ca.signings() == 1
        first = read(certificate)
        first_end, listing = valid_before(certificate)
        assert PRINCIPAL in listing and "ssh-ed25519-cert-v01@openssh.com" in first.decode()
        status, lease = certificate_status(m, "ssh/deploy")
        assert lease["kind"] == "ssh-certificate" and lease["made"] == 1 and 0 < lease["expires_in_seconds"] <= 20
        kept = env.workdir / "first-cert.pub"
        kept.write_bytes(first)

        # Signed again at 2/3 of its 20 s: the certificate changes, the key does not; watchers see it.
        watcher = Inotifywait(folder)
        try:
            assert wait_for(lambda: read(certificate) != first, 30)
            events = []
            while (event := watcher.next(1)) is not None:
                events.append(event)
        finally:
            watcher.stop()
        assert any(name == "id-cert.pub" for _, _, name in events), events
        assert read(key) == private_key
        second_end, _ = valid_before(certificate)
        assert second_end > first_end
        # Once the first has expired, it is refused and the one the mount shows now logs in.
        while time.time() < first_end + 2:
            time.sleep(0.5)
        ok, _ = sshd.login(key, str(kept))
        assert not ok
        ok, errors = sshd.login(key, certificate)
        assert ok, errors + sshd.log_text()
        status, lease = certificate_status(m, "ssh/deploy")
        print(f"signings seen in {time.monotonic() - started:.0f}s: {ca.signings()}, status {lease}")
        assert lease["made"] >= 2 and ca.signings() == lease["made"]
        for line in key_body(private_key):
            assert line not in status
        assert m.stop() == 0
    finally:
        sshd.stop()


def test_a_killed_worker_and_a_reload_keep_the_key_and_certificate(env, audited_bao):
    ca = CA(audited_bao)
    sshd = Sshd(ca.public_key)
    try:
        config = ssh_config(env, f"""\
leases:
  - path: ssh/deploy
    sign: {ca.mount}/sign/deploy
    principals: [{PRINCIPAL}]
    ttl: 10m
    prefetch: true
""")
        m = mount_vault(env, audited_bao.vault, "--config", config)
        assert wait_for(lambda: ca.signings() == 1, 20)
        key, certificate = m.p("ssh", "deploy", "id"), m.p("ssh", "deploy", "id-cert.pub")
        before = read(key), read(certificate)
        env.planted.extend(key_body(before[0]))
        end, _ = valid_before(certificate)
        # The entry's ttl, not the role's 30 s.
        assert 500 < end - time.time() <= 600
        old = m.worker_pid()
        os.kill(old, signal.SIGKILL)
        assert wait_for(lambda: m.worker_pid() != old, 30)
        assert (read(key), read(certificate)) == before
        result = env.cli("reload", m.path, backend=[], check=False)
        assert result.returncode == 0, result.stderr
        assert wait_for(lambda: json.loads(m.read(".status"))["worker"]["reloads"] == 1, 30)
        assert (read(key), read(certificate)) == before
        assert os.stat(key).st_mode & 0o777 == 0o600
        ok, errors = sshd.login(key, certificate)
        assert ok, errors + sshd.log_text()
        assert ca.signings() == 1
        status, lease = certificate_status(m, "ssh/deploy")
        assert lease["made"] == 1
        for line in key_body(before[0]):
            assert line not in status
        assert m.stop() == 0
    finally:
        sshd.stop()


def test_a_configured_public_key_is_signed_and_no_private_key_is_shown(env, audited_bao):
    ca = CA(audited_bao)
    sshd = Sshd(ca.public_key)
    try:
        own = env.workdir / "own"
        subprocess.run(["ssh-keygen", "-q", "-t", "ecdsa", "-N", "", "-C", "mine", "-f", str(own)], check=True)
        config = ssh_config(env, f"""\
leases:
  - path: ssh/mine
    sign: {ca.mount}/sign/deploy
    public_key: {own}.pub
""")
        m = mount_vault(env, audited_bao.vault, "--config", config)
        assert sorted(name for name in os.listdir(m.p("ssh", "mine")) if not name.startswith(".")) == [
            "id-cert.pub", "id.pub"]
        assert read(m.p("ssh", "mine", "id.pub")).split()[:2] == read(f"{own}.pub").split()[:2]
        certificate = m.p("ssh", "mine", "id-cert.pub")
        # No principals in the entry: the role's default_user.
        _, listing = valid_before(certificate)
        assert "ecdsa-sha2-nistp256-cert-v01@openssh.com" in read(certificate).decode() and PRINCIPAL in listing
        ok, errors = sshd.login(str(own), certificate)
        assert ok, errors + sshd.log_text()
        assert m.stop() == 0
    finally:
        sshd.stop()
