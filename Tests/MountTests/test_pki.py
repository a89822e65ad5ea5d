"""Vault PKI certificates through a real mount (issue 17 §3): OpenBao's PKI engine issues, the mount
shows a folder of five files that openssl and nginx read, `.rotate` and the renewal fraction re-issue,
watchers hear of it, and bad input is one line."""

import errno
import json
import os
import re
import subprocess
import time

import pytest

from conftest import BIN, is_mounted, wait_for, write_control
from peers import errno_of, free_port, nginx_tls_server, shared_vault, unique
from mounts import Inotifywait
from mounts import mount_vault

FILES = {"certificate", "private_key", "issuing_ca", "ca_chain", "full_chain"}


@pytest.fixture
def pki():
    """A PKI engine of its own with an internal root and a role `web`."""
    vault = shared_vault()
    mount = unique("pki")
    vault.request("POST", f"sys/mounts/{mount}", {"type": "pki"})
    vault.request("POST", f"sys/mounts/{mount}/tune", {"max_lease_ttl": "87600h"})
    vault.request("POST", f"{mount}/root/generate/internal", {"common_name": "secretsfs test root", "ttl": "8760h"})
    vault.request("POST", f"{mount}/roles/web", {
        "allowed_domains": ["example.test", "localhost"], "allow_subdomains": True, "allow_bare_domains": True,
        "allow_localhost": True, "allow_ip_sans": True, "max_ttl": "72h"})
    yield vault, mount
    vault.disable(mount)


def config(env, text):
    path = env.workdir / f"{unique('pki-')}.yaml"
    path.write_text(text)
    return str(path)


def certificate_config(env, mount, ttl="1h", extra=""):
    return config(env, f"""\
certificates:
  - path: tls/web
    role: {mount}/issue/web
    common_name: web.example.test
    alt_names: [localhost]
    ip_sans: [127.0.0.1]
    ttl: {ttl}
{extra}""")


def openssl(*args, input=None):
    result = subprocess.run(["openssl", *args], input=input, capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return result.stdout


def serial_of(pem):
    """The serial as Vault writes it (`4a:2b:…`), from openssl's `serial=4A2B…`."""
    hex_digits = openssl("x509", "-noout", "-serial", input=pem).decode().strip().split("=", 1)[1].lower()
    hex_digits = hex_digits.rjust(len(hex_digits) + len(hex_digits) % 2, "0")
    return ":".join(hex_digits[i:i + 2] for i in range(0, len(hex_digits), 2))


def xattr(path, name):
    return os.getxattr(path, f"user.secretsfs.{name}").decode()


def folder(m):
    return m.p("tls", "web")


def read(m, name):
    return m.read("tls", "web", name)


def plant_key(env, m):
    key = read(m, "private_key")
    env.plant(key)
    return key


def test_files_openssl_xattrs_status_and_rotate(env, pki):
    vault, mount = pki
    m = mount_vault(env, vault, "--config", certificate_config(env, mount))
    assert FILES <= set(os.listdir(folder(m)))
    assert "web" in os.listdir(m.p("tls"))
    certificate = read(m, "certificate")
    key = plant_key(env, m)
    # openssl parses the certificate; the key is its own; the issuing CA verifies it.
    subject = openssl("x509", "-noout", "-subject", "-ext", "subjectAltName", input=certificate).decode()
    assert "web.example.test" in subject and "localhost" in subject and "127.0.0.1" in subject
    assert openssl("x509", "-noout", "-pubkey", input=certificate) == openssl("pkey", "-pubout", input=key)
    verified = subprocess.run(["openssl", "verify", "-CAfile", os.path.join(folder(m), "issuing_ca"),
                               os.path.join(folder(m), "certificate")], capture_output=True, timeout=60)
    assert verified.returncode == 0 and b": OK" in verified.stdout, verified.stderr
    assert read(m, "full_chain") == certificate + read(m, "ca_chain")
    assert os.stat(os.path.join(folder(m), "private_key")).st_size == len(key)

    serial = serial_of(certificate)
    for name in FILES:
        assert xattr(os.path.join(folder(m), name), "serial") == serial
    expiry = xattr(os.path.join(folder(m), "certificate"), "expiry")
    # `.status` is made once a second per reader, and the mount's start read it before the issue.
    assert wait_for(lambda: "serial" in json.loads(m.read(".status"))["certificates"][0], timeout=10, every=0.2)
    shown = json.loads(m.read(".status"))["certificates"]
    assert shown == [{"path": "tls/web", "serial": serial, "expires_at": expiry,
                      "expires_in_seconds": shown[0]["expires_in_seconds"]}]
    assert 3000 < shown[0]["expires_in_seconds"] <= 3600
    words = env.cli("status", m.path, backend=[]).stdout.decode()
    assert f"cert:       tls/web serial {serial} expires {expiry}" in words, words
    metrics = m.read(".metrics").decode()
    gauge = re.search(r'^secretsfs_certificate_expiry_seconds\{path="tls/web"\} (\d+)$', metrics, re.M)
    assert gauge and 3000 < int(gauge.group(1)) <= 3600

    # A descriptor opened before a re-issue keeps its certificate's key; the next open gets the new pair.
    with open(os.path.join(folder(m), "private_key"), "rb") as held:
        watcher = Inotifywait(folder(m))
        try:
            assert write_control(m.p(".rotate"), b"tls/web\n") == len(b"tls/web\n")
            event = watcher.next(10)
            assert event is not None and event[2] in FILES, event
        finally:
            watcher.stop()
        renewed = read(m, "certificate")
        new_key = plant_key(env, m)
        assert serial_of(renewed) != serial and new_key != key
        assert os.pread(held.fileno(), 1 << 16, 0) == key
    assert openssl("x509", "-noout", "-pubkey", input=renewed) == openssl("pkey", "-pubout", input=new_key)
    assert xattr(os.path.join(folder(m), "private_key"), "serial") == serial_of(renewed)
    # Any file of the folder named in its own `.rotate` re-issues the whole folder.
    assert write_control(os.path.join(folder(m), ".rotate"), b"certificate\n") == len(b"certificate\n")
    third = read(m, "certificate")
    plant_key(env, m)
    assert serial_of(third) not in (serial, serial_of(renewed))
    assert openssl("x509", "-noout", "-pubkey", input=third) == openssl("pkey", "-pubout", input=read(m, "private_key"))
    assert wait_for(lambda: json.loads(m.read(".status"))["certificates"][0]["serial"] == serial_of(third),
                    timeout=10, every=0.2)
    # Writing is refused, as everywhere but `.rotate`.
    assert errno_of(lambda: open(os.path.join(folder(m), "certificate"), "wb")) in (errno.EROFS, errno.EACCES)
    assert b"PRIVATE KEY" not in m.read(".status") and b"PRIVATE KEY" not in m.log_path.read_bytes()


def test_a_short_ttl_is_reissued_at_its_fraction_by_itself(env, pki):
    vault, mount = pki
    m = mount_vault(env, vault, "--config", certificate_config(env, mount, ttl="30s"))
    started = time.monotonic()
    first = serial_of(read(m, "certificate"))
    plant_key(env, m)
    # 2/3 of 30 s, less up to a tenth of that: due 18 to 20 s after the issue.
    assert wait_for(lambda: serial_of(read(m, "certificate")) != first, timeout=90, every=0.5), \
        "not re-issued by itself"
    took = time.monotonic() - started
    second = read(m, "certificate")
    plant_key(env, m)
    assert took > 12, f"re-issued after {took:.1f}s, long before 2/3 of its 30 s"
    assert openssl("x509", "-noout", "-pubkey", input=second) == \
        openssl("pkey", "-pubout", input=read(m, "private_key"))
    assert b"certificate issued" in m.log_path.read_bytes()


def test_nginx_serves_the_certificate_and_a_reload_serves_the_next(env, pki):
    nginx = os.environ.get("SECRETSFS_TEST_NGINX")
    if not nginx:
        pytest.skip("SECRETSFS_TEST_NGINX is not set: scripts/test fetches Debian's nginx")
    vault, mount = pki
    m = mount_vault(env, vault, "--config", certificate_config(env, mount))
    plant_key(env, m)
    work = env.workdir / "nginx"
    work.mkdir(parents=True)
    ca = work / "ca.pem"
    ca.write_bytes(read(m, "issuing_ca"))
    port = free_port()
    # A master, as nginx runs in production: `nginx -s reload` starts new workers on the new certificate.
    args = nginx_tls_server(
        work, port, os.path.join(folder(m), "full_chain"), os.path.join(folder(m), "private_key"),
        "web.example.test", master=True)
    nginx_args = [nginx, *args]
    server = subprocess.Popen(nginx_args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def served_serial():
        """The serial nginx serves, as a client that trusts only the issuing CA sees it; None until it answers."""
        result = subprocess.run(
            ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "web.example.test",
             "-CAfile", str(ca), "-verify_return_error", "-verify_hostname", "web.example.test"],
            input=b"GET / HTTP/1.0\r\nHost: web.example.test\r\n\r\n", capture_output=True, timeout=30)
        if result.returncode != 0:
            assert server.poll() is None, server.stderr.read().decode(errors="replace")
            return None
        return serial_of(result.stdout)

    try:
        first = serial_of(read(m, "certificate"))
        assert wait_for(lambda: served_serial() is not None, timeout=30, every=0.2), "nginx did not answer"
        assert served_serial() == first
        assert write_control(m.p("tls", "web", ".rotate"), b"certificate\n") == len(b"certificate\n")
        second = serial_of(read(m, "certificate"))
        plant_key(env, m)
        assert second != first
        # Before the reload nginx still serves what it loaded; after it, the new certificate.
        assert served_serial() == first
        subprocess.run([*nginx_args, "-s", "reload"], check=True, capture_output=True, timeout=30)
        reloaded = wait_for(lambda: served_serial() == second, timeout=30, every=0.2)
    finally:
        server.terminate()
        errors = server.communicate(timeout=10)[1]
    env.assert_no_planted_values(errors, "nginx's log")
    assert reloaded, f"nginx kept the old certificate: {errors.decode(errors='replace')}"


def test_a_role_that_does_not_exist_is_one_line_and_eio_while_the_mount_serves(env, pki):
    vault, mount = pki
    kv = unique("pkikv")
    vault.request("POST", f"secret/data/{kv}/token", {"data": {"value": "pki-kv-value-001"}})
    env.plant("pki-kv-value-001")
    path = config(env, f"""\
certificates:
  - path: tls/web
    role: {mount}/issue/nope
    common_name: web.example.test
""")
    m = mount_vault(env, vault, "--config", path)
    for _ in range(3):
        assert errno_of(lambda: m.read("tls", "web", "certificate")) == errno.EIO
    assert m.read(kv, "token") == b"pki-kv-value-001"
    assert wait_for(lambda: "problem" in json.loads(m.read(".status"))["certificates"][0], timeout=10, every=0.2)
    shown = json.loads(m.read(".status"))["certificates"]
    assert shown[0]["path"] == "tls/web" and "serial" not in shown[0] and "nope" in shown[0]["problem"]
    lines = [line for line in m.log_text().splitlines() if "certificate not issued" in line]
    assert len(lines) == 1, lines
    assert "nope" in lines[0]


def test_bad_certificates_config_is_one_line_at_start(env, pki, tmp_path):
    vault, mount = pki
    target = tmp_path / "mnt"
    target.mkdir()
    vault_args = ["--backend", "vault", "--vault-addr", vault.addr]
    environment = {**os.environ, "VAULT_TOKEN": vault.token}
    env.plant(vault.token)
    cases = [
        (certificate_config(env, mount, extra="    colour: blue\n"), vault_args, b"unknown key 'colour'"),
        (config(env, "certificates:\n  - path: tls/web\n    role: pki/web\n    common_name: a.example.test\n"),
         vault_args, b"mount/issue/role"),
        (config(env, "certificates:\n  - path: tls/web\n    common_name: a.example.test\n"), vault_args,
         b"needs a 'role'"),
        (certificate_config(env, mount, extra="    renew_fraction: 1.5\n"), vault_args, b"renew_fraction"),
        # Only Vault issues certificates.
        (certificate_config(env, mount), ["--store", env.store], b"needs --backend vault"),
    ]
    for path, backend, expected in cases:
        code, stderr = refused(["mount", str(target), "--config", path, *backend], environment, tmp_path)
        lines = stderr.strip().splitlines()
        assert code not in (0, None), (path, stderr)
        assert len(lines) == 1 and expected in lines[0], (expected, stderr)
        assert vault.token.encode() not in stderr
        assert not is_mounted(target)


def refused(args, environment, tmp_path):
    """(exit code, stderr) of a command that should stop at once; one that mounts and runs on is stopped
    with SIGTERM (its worker would hold a pipe open past its supervisor), and its code is then None."""
    log = tmp_path / f"{unique('stderr-')}.log"
    with open(log, "wb") as err:
        process = subprocess.Popen([BIN, *args], stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL,
                                   env=environment)
        try:
            code = process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.terminate()
            process.wait(timeout=30)
            code = None
    return code, log.read_bytes()


def test_a_reload_keeps_serving_the_folder_and_the_new_worker_issues_its_own(env, pki):
    """The certificate lives in the worker's memory: a new worker (`secretsfs reload`) issues one of its
    own at its start, and the folder shows it, with its own key."""
    vault, mount = pki
    m = mount_vault(env, vault, "--config", certificate_config(env, mount))
    first = serial_of(read(m, "certificate"))
    plant_key(env, m)
    old_worker = m.worker_pid()
    result = env.cli("reload", m.path, backend=[])
    assert b"reloaded" in result.stdout
    assert wait_for(lambda: m.worker_pid() != old_worker, timeout=30, every=0.2)
    assert wait_for(lambda: serial_of(read(m, "certificate")) != first, timeout=30, every=0.2), \
        "the new worker did not issue its own certificate"
    key = plant_key(env, m)
    assert openssl("x509", "-noout", "-pubkey", input=read(m, "certificate")) == openssl("pkey", "-pubout", input=key)


def test_a_token_with_update_on_the_issue_path_alone_is_enough(env, pki):
    """The policy docs/VAULT.md gives: `update` on `<mount>/issue/<role>`, nothing on KV. The root still
    lists the certificate's folder, though the token may not list KV there."""
    vault, mount = pki
    name = unique("pki-policy-")
    vault.policy(name, f'path "{mount}/issue/web" {{ capabilities = ["update"] }}')
    token = vault.token_with(name)
    m = mount_vault(env, vault, "--config", certificate_config(env, mount), token=token)
    assert "tls" in os.listdir(m.p())
    certificate = read(m, "certificate")
    key = plant_key(env, m)
    assert openssl("x509", "-noout", "-pubkey", input=certificate) == openssl("pkey", "-pubout", input=key)
    assert write_control(m.p(".rotate"), b"tls/web\n") == len(b"tls/web\n")
    assert serial_of(read(m, "certificate")) != serial_of(certificate)
    plant_key(env, m)
