"""Rendered files (`files:` in the config) read by the programs they are made for: Python's json,
bash sourcing an env file, libpq reading a pgpass, OpenSSH reading a private key as its owner (a
rendered file's own owner, and a `permissions:` rule's), openssl verifying a full-chain bundle. Plus a
rotation of one input showing at the next open, the failures (missing input ENOENT, denied EACCES,
a template that does not parse refuses the mount), a template with 100 inputs, `secretsfs render`,
and no planted value in any log (the `env` fixture greps every mount's log at teardown).

libpq: psql connects to a small fake server that asks for a cleartext password, so the password
libpq took from the rendered pgpass is seen on the wire; no PostgreSQL server is needed. The
control is the same pgpass at 0644, which libpq refuses to read with a warning."""

import errno
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from conftest import BIN, Env, is_mounted, wait_for, write_control
from peers import free_port, nginx_tls_server

ROOTED = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to mount for another user")


def config_file(env, text):
    path = env.workdir / f"render-{len(env.mounts)}.yaml"
    path.write_text(text)
    return str(path)


def indent(text, by=6):
    return "\n".join(" " * by + line for line in text.splitlines())


DB_JSON = '{"user": {{ "db/username"|secret|json }}, "password": {{ "db/password"|secret|json }}}'


@pytest.fixture
def rendered(sample):
    sample.put("odd/value", "it's $HOME `x` \"q\" \\n-odd-value")
    config = config_file(sample, f"""\
files:
  - path: app/db.json
    template: |-
{indent(DB_JSON)}
    mode: 0440
  - path: app/app.env
    template: |
      export API_KEY={{{{ "openai/api_key"|secret|shell }}}}
      export ODD={{{{ "odd/value"|secret|shell }}}}
  - path: missing.txt
    template: '{{{{ "no/such/secret"|secret }}}}'
  - path: denied.txt
    template: '{{{{ "top"|secret }}}}'
policy:
  - path: denied.txt
    uids: [4711]
  - path: "**"
""")
    mount = sample.mount("--config", config, "--audit-log", str(sample.workdir / "audit.log"))
    return sample, mount, config


def audit_lines(env):
    path = env.workdir / "audit.log"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def test_python_json_load_of_a_rendered_config(rendered):
    _, m, _ = rendered
    with open(m.p("app/db.json")) as f:
        assert json.load(f) == {"user": "alice-the-user", "password": "hunter2-password"}
    st = os.stat(m.p("app/db.json"))
    assert st.st_size == len(m.read("app/db.json"))
    assert st.st_mode & 0o7777 == 0o440
    # 0500 by default, and the group's search bits its 0440 file needs.
    assert os.stat(m.p("app")).st_mode & 0o7777 == 0o550
    assert "db.json" in os.listdir(m.p("app"))
    # Mounted without --allow-other: a 0440 file is meant for a group that cannot get in.
    assert "db.json lets group or others in, but without --allow-other" in m.log_text()
    inputs = os.getxattr(m.p("app/db.json"), "user.secretsfs.inputs").decode()
    assert inputs.splitlines() == ["db/password 2", "db/username 2"]  # one version of db per field put


def test_bash_sources_a_rendered_env(rendered):
    _, m, _ = rendered
    out = subprocess.run(
        ["bash", "-c", 'source "$1" && printf "%s\\n%s" "$API_KEY" "$ODD"', "bash", m.p("app/app.env")],
        capture_output=True, check=True, env={"PATH": os.environ["PATH"], "HOME": "/nowhere"}).stdout
    assert out.decode() == "sk-current-00000003\nit's $HOME `x` \"q\" \\n-odd-value"


def test_a_rotated_input_shows_at_the_next_open(rendered):
    _, m, _ = rendered
    before = json.loads(m.read("app/db.json"))
    version = int(os.getxattr(m.p("app/db.json"), "user.secretsfs.inputs").decode().splitlines()[0].split()[1])
    write_control(m.p("db/.rotate"), b"password\n")
    after = json.loads(m.read("app/db.json"))
    assert after["user"] == "alice-the-user"
    assert after["password"] != before["password"] and len(after["password"]) == 32
    assert os.stat(m.p("app/db.json")).st_size == len(m.read("app/db.json"))
    inputs = os.getxattr(m.p("app/db.json"), "user.secretsfs.inputs").decode().splitlines()
    assert inputs[0] == f"db/password {version + 1}"


def test_failures_are_the_inputs_errno_and_name_no_value(rendered):
    _, m, _ = rendered
    with pytest.raises(OSError) as missing:
        m.read("missing.txt")
    assert missing.value.errno == errno.ENOENT
    with pytest.raises(OSError) as denied:
        m.read("denied.txt")
    assert denied.value.errno == errno.EACCES
    lines = [json.loads(line) for line in m.log_text().splitlines() if line.startswith("{")]
    failed = [line for line in lines if line.get("message") == "rendered file not made: an input failed"]
    assert {(line["file"], line["input"], line["kind"]) for line in failed} == {("missing.txt", "no/such/secret", "not_found")}
    with pytest.raises(OSError) as rotate:
        write_control(m.p(".rotate"), b"app/db.json\n")
    assert rotate.value.errno == errno.EOPNOTSUPP
    with pytest.raises(OSError) as write:
        with open(m.p("app/db.json"), "wb"):
            pass
    assert write.value.errno in (errno.EROFS, errno.EACCES)



def test_opens_of_rendered_files_are_audited_by_their_own_path(rendered):
    env, m, _ = rendered
    m.read("app/db.json")
    with pytest.raises(OSError):
        m.read("denied.txt")
    assert wait_for(lambda: len([e for e in audit_lines(env) if e["action"] == "open"]) >= 2, 5)
    opens = {e["path"]: e["outcome"] for e in audit_lines(env) if e["action"] == "open"}
    assert opens.get("app/db.json") == "ok" and opens.get("denied.txt") == "denied"
    env.assert_no_planted_values((env.workdir / "audit.log").read_bytes(), "the audit log")


def test_render_command_prints_the_same_bytes(rendered):
    env, m, config = rendered
    out = env.cli("render", "app/db.json", "--config", config).stdout
    assert out == m.read("app/db.json")
    missing = env.cli("render", "missing.txt", "--config", config, check=False)
    assert missing.returncode != 0 and len(missing.stderr.decode().strip().splitlines()) == 1
    # The input itself is named, not the folder on its way that the store lacks (`no/such`).
    assert b"no/such/secret" in missing.stderr


def test_a_template_that_does_not_parse_refuses_the_mount(env):
    env.put("a", "some-value-000001")
    config = config_file(env, """\
files:
  - path: ok
    template: '{{ "a"|secret }}'
  - path: broken
    template: |
      line one
      {% if "a"|secret %}never closed
""")
    mountpoint = env.workdir / "never"
    mountpoint.mkdir()
    result = subprocess.run(
        [BIN, "mount", str(mountpoint), "--config", config, "--store", env.store],
        capture_output=True, timeout=60)
    assert result.returncode != 0
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1, lines
    assert f"config file {config}, line 7, column 10" in lines[0] and "column" in lines[0] and "broken" in lines[0]


def test_an_unclosed_variable_refuses_the_mount_and_render(env):
    """Stencil drops an unclosed `{{` and all after it: the mount served `password=` and render exited 0."""
    env.put("app/key", "some-value-000002")
    config = config_file(env, """\
files:
  - path: app.conf
    template: 'password={{ "app/key"|secret '
""")
    mountpoint = env.workdir / "never"
    mountpoint.mkdir()
    result = subprocess.run(
        [BIN, "mount", str(mountpoint), "--config", config, "--store", env.store],
        capture_output=True, timeout=60)
    assert result.returncode == 78
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1, lines
    assert f"config file {config}, line 3" in lines[0] and "never closed" in lines[0]
    assert not is_mounted(mountpoint)
    render = env.cli("render", "app.conf", "--config", config, check=False)
    assert render.returncode == 78 and render.stdout == b""
    lines = render.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and config in lines[0] and "never closed" in lines[0], lines


def test_a_template_with_100_inputs(env):
    for i in range(100):
        env.put(f"many/k{i:03d}", f"value-number-{i:03d}")
    body = "\n".join(f'{{{{ "many/k{i:03d}"|secret }}}}' for i in range(100))
    config = config_file(env, f"files:\n  - path: all\n    template: |-\n{indent(body)}\n")
    m = env.mount("--config", config)
    assert m.read("all").decode().splitlines() == [f"value-number-{i:03d}" for i in range(100)]


class FakePostgres:
    """Accepts one libpq connection, asks for a cleartext password, and keeps what it was sent."""

    def __init__(self):
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(4)
        self.server.settimeout(20)
        self.port = self.server.getsockname()[1]
        self.passwords = []
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        try:
            while True:
                connection, _ = self.server.accept()
                with connection:
                    length = int.from_bytes(connection.recv(4), "big")
                    connection.recv(length - 4)  # the startup message: protocol, user, database
                    connection.sendall(b"R" + (8).to_bytes(4, "big") + (3).to_bytes(4, "big"))
                    kind = connection.recv(1)
                    if kind != b"p":
                        continue
                    length = int.from_bytes(connection.recv(4), "big")
                    data = b""
                    while len(data) < length - 4:
                        data += connection.recv(length - 4 - len(data))
                    self.passwords.append(data.rstrip(b"\0"))
                    error = b"SFATAL\0C28P01\0Mfake server: password seen\0\0"
                    connection.sendall(b"E" + (len(error) + 4).to_bytes(4, "big") + error)
        except OSError:
            return

    def close(self):
        self.server.close()


@pytest.mark.skipif(shutil.which("psql") is None, reason="psql (postgresql-client) is not installed")
def test_libpq_reads_a_rendered_pgpass_at_0600_and_refuses_it_at_0644(sample):
    server = FakePostgres()
    try:
        line = f'127.0.0.1:{server.port}:app:{{{{ "db/username"|secret|pgpass }}}}:{{{{ "db/password"|secret|pgpass }}}}'
        # libpq reads `\:` and `\\` in a pgpass field; unescaped, this arrived as `pass`.
        sample.put("odd/password", "pa\\ss:w0rd-odd")
        odd = f'127.0.0.1:{server.port}:odd:{{{{ "db/username"|secret|pgpass }}}}:{{{{ "odd/password"|secret|pgpass }}}}'
        config = config_file(sample, f"""\
files:
  - path: pg/pgpass
    template: '{line}'
    mode: 0600
  - path: pg/pgpass-open
    template: '{line}'
    mode: 0644
  - path: pg/pgpass-odd
    template: '{odd}'
    mode: 0600
""")
        m = sample.mount("--config", config)
        conninfo = f"host=127.0.0.1 port={server.port} dbname=app user=alice-the-user sslmode=disable gssencmode=disable"

        def psql(pgpass, info=conninfo):
            environment = {"PATH": os.environ["PATH"], "PGPASSFILE": pgpass, "PGCONNECT_TIMEOUT": "10"}
            return subprocess.run(["psql", "-w", info, "-c", "select 1"], capture_output=True, env=environment,
                                  timeout=60)

        assert os.stat(m.p("pg/pgpass")).st_mode & 0o777 == 0o600
        psql(m.p("pg/pgpass"))
        assert server.passwords == [b"hunter2-password"]
        refused = psql(m.p("pg/pgpass-open"))
        assert b"has group or world access" in refused.stderr
        assert server.passwords == [b"hunter2-password"]
        psql(m.p("pg/pgpass-odd"), conninfo.replace("dbname=app", "dbname=odd"))
        assert server.passwords == [b"hunter2-password", b"pa\\ss:w0rd-odd"]
    finally:
        server.close()


@ROOTED
@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="ssh-keygen (openssh-client) is not installed")
def test_ssh_keygen_reads_a_0400_key_owned_by_its_user_and_permissions_rules():
    workdir = Path(tempfile.mkdtemp(prefix="secretsfs-render-"))
    os.chmod(workdir, 0o711)
    env = Env(workdir)
    try:
        key = workdir / "key"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        private = key.read_bytes()
        public = key.with_suffix(".pub").read_text().split()[:2]
        env.planted.append(private)
        env.cli("put", "keys/ssh", input=private)
        env.put("shared/note", "shared-note-value-01")
        # The same key twice: as a rendered file with its own owner and mode, and as a secret file a
        # `permissions:` rule gives to uid 1000. No --dir-mode: folders get the bits their readers need.
        config = config_file(env, """\
files:
  - path: ssh/id_ed25519
    template: '{{ "keys/ssh"|secret }}'
    mode: 0400
    uid: 1000
    gid: 1000
permissions:
  - paths: ["keys/*"]
    mode: 0400
    uid: 1000
    gid: 1000
  - paths: ["shared/**"]
    mode: 0444
""")
        key.unlink()
        m = env.mount("--allow-other", "--config", config)
        for path in ["ssh/id_ed25519", "keys/ssh"]:
            st = os.stat(m.p(path))
            assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (1000, 1000, 0o400)
            derived = subprocess.run(
                ["setpriv", "--reuid", "1000", "--regid", "1000", "--clear-groups", "ssh-keygen", "-y", "-f",
                 m.p(path)], capture_output=True, timeout=60)
            assert derived.returncode == 0, derived.stderr
            assert derived.stdout.decode().split()[:2] == public
            other = subprocess.run(
                ["setpriv", "--reuid", "1001", "--regid", "1001", "--clear-groups", "cat", m.p(path)],
                capture_output=True, timeout=60)
            assert other.returncode != 0 and b"Permission denied" in other.stderr
        shared = subprocess.run(
            ["setpriv", "--reuid", "1001", "--regid", "1001", "--clear-groups", "cat", m.p("shared/note")],
            capture_output=True, timeout=60)
        assert shared.stdout == b"shared-note-value-01"
        assert os.stat(m.p("keys")).st_mode & 0o777 == 0o505
        assert "without --allow-other" not in m.log_text()
    finally:
        for mount in env.mounts:
            mount.cleanup()
            env.assert_no_planted_values(mount.log_text(), f"the daemon log {mount.log_path}")
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def make_chain(work):
    """A root, an intermediate and a leaf for `app.test` in `work`, made with openssl: the leaf
    verifies against the root only through the intermediate."""
    work.mkdir()

    def run(*args):
        subprocess.run(["openssl", *args], cwd=work, check=True, capture_output=True)

    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "root.key",
        "-out", "root.pem", "-subj", "/CN=test root", "-days", "2",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign")
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "mid.key",
        "-out", "mid.csr", "-subj", "/CN=test intermediate")
    (work / "ca.ext").write_text("basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n")
    run("x509", "-req", "-in", "mid.csr", "-CA", "root.pem", "-CAkey", "root.key", "-CAcreateserial",
        "-out", "mid.pem", "-days", "2", "-extfile", "ca.ext")
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "leaf.key",
        "-out", "leaf.csr", "-subj", "/CN=app.test")
    (work / "leaf.ext").write_text("subjectAltName=DNS:app.test\n")
    run("x509", "-req", "-in", "leaf.csr", "-CA", "mid.pem", "-CAkey", "mid.key", "-CAcreateserial",
        "-out", "leaf.pem", "-days", "2", "-extfile", "leaf.ext")
    return work


def test_openssl_verifies_a_rendered_full_chain_bundle(env):
    """nginx's `ssl_certificate` reads a leaf followed by its chain; openssl checks the same bundle here
    (nginx is not installed on the test machine): the leaf verifies against the root only through the
    intermediate the bundle carries. The secrets' trailing whitespace differs; `pem` evens it out."""
    work = make_chain(env.workdir / "pki")
    env.cli("put", "tls/cert", input=(work / "leaf.pem").read_bytes().rstrip(b"\n"))
    env.cli("put", "tls/chain", input=(work / "mid.pem").read_bytes() + b"\n\n")
    config = config_file(env, """\
files:
  - path: tls/fullchain.pem
    template: '{{ "tls/cert"|secret|pem }}{{ "tls/chain"|secret|pem }}'
""")
    m = env.mount("--config", config)
    bundle = m.p("tls/fullchain.pem")
    assert m.read("tls/fullchain.pem") == (work / "leaf.pem").read_bytes() + (work / "mid.pem").read_bytes()
    verified = subprocess.run(["openssl", "verify", "-CAfile", str(work / "root.pem"), "-untrusted", bundle, bundle],
                              capture_output=True, timeout=60)
    assert verified.returncode == 0 and b": OK" in verified.stdout, verified.stderr
    alone = subprocess.run(["openssl", "verify", "-CAfile", str(work / "root.pem"), bundle],
                           capture_output=True, timeout=60)
    assert alone.returncode != 0, "the control: without the bundle's intermediate the leaf does not verify"


def test_nginx_serves_a_rendered_full_chain_bundle_and_its_key(env):
    """nginx's `ssl_certificate` on a rendered leaf + chain bundle and `ssl_certificate_key` on a 0400
    key, both read from the mount; a client that trusts only the root verifies the served chain."""
    nginx = os.environ.get("SECRETSFS_TEST_NGINX")
    if not nginx:
        pytest.skip("SECRETSFS_TEST_NGINX is not set: scripts/test fetches Debian's nginx")
    work = make_chain(env.workdir / "tls")
    env.cli("put", "tls/cert", input=(work / "leaf.pem").read_bytes())
    env.cli("put", "tls/chain", input=(work / "mid.pem").read_bytes())
    key = (work / "leaf.key").read_bytes()
    env.planted.append(key)
    env.cli("put", "tls/key", input=key)
    config = config_file(env, """\
files:
  - path: web/fullchain.pem
    template: '{{ "tls/cert"|secret|pem }}{{ "tls/chain"|secret|pem }}'
permissions:
  - paths: ["tls/key"]
    mode: 0400
""")
    m = env.mount("--config", config)
    assert os.stat(m.p("tls/key")).st_mode & 0o777 == 0o400
    port = free_port()
    args = nginx_tls_server(work, port, m.p("web/fullchain.pem"), m.p("tls/key"), "app.test")
    server = subprocess.Popen([nginx, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        context = ssl.create_default_context(cafile=str(work / "root.pem"))
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
                    with context.wrap_socket(raw, server_hostname="app.test") as tls:
                        tls.sendall(b"GET / HTTP/1.0\r\nHost: app.test\r\n\r\n")
                        answer = tls.recv(4096)
                break
            except (ConnectionRefusedError, OSError):
                assert server.poll() is None, server.stderr.read().decode(errors="replace")
                assert time.monotonic() < deadline, "nginx did not answer"
                time.sleep(0.2)
        # The root alone verifies the leaf: nginx sent the intermediate from the rendered bundle.
        assert b"200 OK" in answer and b"served from the mount" in answer
    finally:
        server.terminate()
        errors = server.communicate(timeout=10)[1]
    env.assert_no_planted_values(errors, "nginx's log")
