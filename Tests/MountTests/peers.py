"""The real peers of the Vault and AWS mount tests: OpenBao (the Vault API) and moto (AWS Secrets Manager).

`scripts/test` starts one of each and exports their addresses; a test that finds them missing fails and
says so. Tests that break a peer start a private one here (127.0.0.1, a free port, a random token) and
stop it themselves. Data is set up through the peers' own HTTP APIs, never through secretsfs, so a test
checks secretsfs against what the store really holds."""

import json
import os
import pathlib
import secrets
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
import uuid

from daemon import json_lines, write_control  # noqa: F401 (write_control: used by the backend mount tests)

AWS_REGION = "us-east-1"


def require(name):
    """The value of environment variable `name`, or a failed test saying how to get it."""
    value = os.environ.get(name)
    if not value:
        import pytest  # only here: bench/ uses this module without pytest
        pytest.fail(f"{name} is not set: run scripts/test, which starts OpenBao and moto before the mount tests")
    return value


def unique(prefix="t"):
    """A name no other test (or earlier run against the same server) uses."""
    return f"{prefix}{uuid.uuid4().hex[:12]}"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def errno_of(action):
    """The errno `action` fails with, or None when it succeeds."""
    try:
        action()
    except OSError as error:
        return error.errno
    return None




def clean_environment(**extra):
    """The daemon's environment: ours without any VAULT_*, AWS_* or test peer variables, plus `extra`."""
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("VAULT_", "AWS_", "SECRETSFS_"))}
    base.update(extra)
    return base


# MARK: Vault


class VaultError(AssertionError):
    pass


class Vault:
    """A tiny Vault HTTP client: enough of KV v2, sys and auth to set tests up and check their outcome."""

    def __init__(self, addr, token, cacert=None, namespace=None):
        self.addr = addr.rstrip("/")
        self.token = token
        self.namespace = namespace
        self.context = ssl.create_default_context(cafile=cacert) if cacert else None

    def request(self, method, path, body=None, token=None, expect=(200, 204)):
        """(status, decoded JSON or None). A status outside `expect` fails the test (None accepts any)."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.addr}/v1/{path}", data=data, method=method)
        request.add_header("X-Vault-Token", token if token is not None else self.token)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.namespace:
            request.add_header("X-Vault-Namespace", self.namespace)
        try:
            with urllib.request.urlopen(request, timeout=10, context=self.context) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        decoded = json.loads(raw) if raw.strip() else None
        if expect is not None and status not in expect:
            # Errors from Vault name paths and reasons, never values.
            raise VaultError(f"Vault {method} {path} answered {status}: {decoded and decoded.get('errors')}")
        return status, decoded

    # KV v2

    def put(self, path, data, mount="secret", cas=None):
        """Writes `data` (a dict of strings) as a new version; returns the version number."""
        body = {"data": data}
        if cas is not None:
            body["options"] = {"cas": cas}
        deadline = time.monotonic() + 10
        while True:
            # A freshly enabled KV v2 mount answers 400 "upgrading" for a moment.
            status, answer = self.request("POST", f"{mount}/data/{path}", body, expect=None)
            if status in (200, 204):
                return answer["data"]["version"]
            if time.monotonic() > deadline or "pgrad" not in json.dumps(answer):
                raise VaultError(f"Vault write of {mount}/{path} answered {status}: {answer and answer.get('errors')}")
            time.sleep(0.2)

    def read(self, path, mount="secret", version=None):
        """`data` of a read: {"data": {...}, "metadata": {...}}."""
        query = f"?version={version}" if version is not None else ""
        return self.request("GET", f"{mount}/data/{path}{query}")[1]["data"]

    def metadata(self, path, mount="secret"):
        return self.request("GET", f"{mount}/metadata/{path}")[1]["data"]

    def delete_versions(self, path, versions, mount="secret"):
        self.request("POST", f"{mount}/delete/{path}", {"versions": versions})

    def destroy_versions(self, path, versions, mount="secret"):
        self.request("POST", f"{mount}/destroy/{path}", {"versions": versions})

    def enable_kv2(self, mount):
        self.request("POST", f"sys/mounts/{mount}", {"type": "kv", "options": {"version": "2"}})

    def disable(self, mount):
        self.request("DELETE", f"sys/mounts/{mount}", expect=None)

    # Policies, tokens, AppRole

    def policy(self, name, hcl):
        self.request("PUT", f"sys/policies/acl/{name}", {"policy": hcl})

    def token_with(self, *policies, ttl="1h"):
        answer = self.request("POST", "auth/token/create", {"policies": list(policies), "ttl": ttl})[1]
        return answer["auth"]["client_token"]

    def ensure_auth(self, kind, path=None):
        path = path or kind
        auths = self.request("GET", "sys/auth")[1]
        listed = auths.get("data", auths)
        if f"{path}/" not in listed:
            self.request("POST", f"sys/auth/{path}", {"type": kind})

    def approle(self, role, *policies, mount="approle"):
        """(role_id, secret_id) of a new role with `policies`."""
        self.request("POST", f"auth/{mount}/role/{role}", {"token_policies": list(policies), "token_ttl": "1h"})
        role_id = self.request("GET", f"auth/{mount}/role/{role}/role-id")[1]["data"]["role_id"]
        secret_id = self.request("POST", f"auth/{mount}/role/{role}/secret-id", {})[1]["data"]["secret_id"]
        return role_id, secret_id


def shared_vault():
    """The OpenBao server `scripts/test` started."""
    return Vault(require("SECRETSFS_TEST_VAULT_ADDR"), require("SECRETSFS_TEST_VAULT_TOKEN"))


def shared_tls_vault():
    return Vault(require("SECRETSFS_TEST_VAULT_TLS_ADDR"), require("SECRETSFS_TEST_VAULT_TLS_TOKEN"),
                 cacert=require("SECRETSFS_TEST_VAULT_CACERT"))


class PrivateServer:
    """A peer started by one test: killed at the end whatever happens."""

    def __init__(self, process, addr, token, log):
        self.process = process
        self.addr = addr
        self.token = token
        self.log = log

    def pause(self):
        """SIGSTOP, then waits until every thread has stopped: kill(2) returns before a busy Go
        process has, and a request sent in between would still be answered."""
        self.process.send_signal(signal.SIGSTOP)
        pid = self.process.pid
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            try:
                states = [open(f"/proc/{pid}/task/{tid}/stat").read().rsplit(")", 1)[1].split()[0]
                          for tid in os.listdir(f"/proc/{pid}/task")]
            except OSError:
                return
            if all(state == "T" for state in states):
                return
            time.sleep(0.01)

    def requests(self, path, operation=None):
        """How many requests for `path` (and `operation`) the audit device logged
        (`start_audited_bao`)."""
        return sum(1 for entry in json_lines(self.audit)
                   if entry.get("type") == "request" and entry["request"].get("path") == path
                   and operation in (None, entry["request"].get("operation")))

    def stop(self, sig=signal.SIGKILL):
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def _wait_ready(process, check, what, log, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.flush()
            raise AssertionError(f"{what} exited at start: {open(log.name).read()[-2000:]}")
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.1)
    process.kill()
    raise AssertionError(f"{what} not ready after {timeout}s")


def start_private_bao(workdir, audit_log=None, port=None, token=None):
    """A `bao server -dev` of its own: returns a PrivateServer whose `.vault` is a client for it. With
    `audit_log`, a file audit device writes every request it serves there, one JSON line each (OpenBao
    takes audit devices from its config only), to count what a mount asks. `port` and `token` start
    a server again where a killed one was."""
    port = port or free_port()
    token = token or "root-" + secrets.token_hex(16)
    log = open(os.path.join(workdir, f"bao-{port}-{time.monotonic_ns()}.log"), "wb")
    config = []
    if audit_log:
        path = os.path.join(workdir, f"bao-{port}-audit.hcl")
        with open(path, "w") as f:
            f.write(f'audit "file" "requests" {{\n  options {{\n    file_path = "{audit_log}"\n  }}\n}}\n')
        config = [f"-config={path}"]
    # The root token reaches bao through its environment, never argv.
    process = subprocess.Popen(
        ["bao", "server", "-dev", f"-dev-listen-address=127.0.0.1:{port}", *config],
        env=dict(os.environ, BAO_DEV_ROOT_TOKEN_ID=token), stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    server = PrivateServer(process, f"http://127.0.0.1:{port}", token, log)
    server.port = port
    server.vault = Vault(server.addr, token)
    _wait_ready(process, lambda: server.vault.request("GET", "sys/mounts/secret", expect=None)[0] == 200,
                "bao server", log)
    return server


def start_audited_bao(workdir):
    """A private OpenBao whose file audit device logs every request it serves (`.audit`, a Path), to
    count what a mount asks with `.requests(path)`."""
    audit = pathlib.Path(workdir) / "audit.log"
    server = start_private_bao(str(workdir), audit_log=str(audit))
    server.audit = audit
    return server


# MARK: AWS (moto)


def aws_client(endpoint=None):
    import boto3
    return boto3.client(
        "secretsmanager", endpoint_url=endpoint or require("SECRETSFS_TEST_AWS_ENDPOINT"), region_name=AWS_REGION,
        aws_access_key_id="testing", aws_secret_access_key="testing")


def aws_environment(endpoint, endpoint_variable="AWS_ENDPOINT_URL_SECRETS_MANAGER"):
    """What the daemon or the CLI needs to reach moto: dummy keys, the region, the endpoint."""
    return clean_environment(
        AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_REGION=AWS_REGION,
        **{endpoint_variable: endpoint},
        # No shared files or instance metadata from this machine can take part.
        AWS_CONFIG_FILE="/nonexistent/config", AWS_SHARED_CREDENTIALS_FILE="/nonexistent/credentials",
        AWS_EC2_METADATA_DISABLED="true")


def ssm_environment(endpoint):
    return aws_environment(endpoint, "AWS_ENDPOINT_URL_SSM")


def start_private_moto(workdir):
    port = free_port()
    log = open(os.path.join(workdir, f"moto-{port}.log"), "wb")
    process = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(port)],
                               stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    addr = f"http://127.0.0.1:{port}"

    def answers():
        with urllib.request.urlopen(f"{addr}/moto-api/", timeout=2) as response:
            return response.status == 200

    _wait_ready(process, answers, "moto_server", log)
    return PrivateServer(process, addr, None, log)


def nginx_tls_server(work, port, certificate, key, server_name, master=False):
    """Writes an nginx config serving TLS on 127.0.0.1:`port` from `certificate` and `key` (paths in a
    mount) into `work`, with the folders it needs; returns nginx's argv without the binary. With
    `master`, as nginx runs in production: `nginx -s reload` starts new workers on a new
    certificate (root's workers stay root, so they may reach a mount they did not make)."""
    for folder in ("logs", "tmp"):
        os.makedirs(os.path.join(work, folder), exist_ok=True)
    process = "master_process on;\nworker_processes 1;\n" if master else "master_process off;\n"
    user = "user root;\n" if master and os.geteuid() == 0 else ""
    config = os.path.join(work, "nginx.conf")
    with open(config, "w") as f:
        f.write(f"""\
daemon off;
{process}{user}pid {work}/nginx.pid;
error_log stderr;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {work}/tmp/body;
    proxy_temp_path {work}/tmp/proxy;
    fastcgi_temp_path {work}/tmp/fastcgi;
    uwsgi_temp_path {work}/tmp/uwsgi;
    scgi_temp_path {work}/tmp/scgi;
    server {{
        listen 127.0.0.1:{port} ssl;
        server_name {server_name};
        ssl_certificate {certificate};
        ssl_certificate_key {key};
        location / {{ return 200 "served from the mount\\n"; }}
    }}
}}
""")
    return ["-p", str(work), "-e", "stderr", "-c", config]
