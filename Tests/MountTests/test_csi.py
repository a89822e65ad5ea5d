"""`secretsfs csi`, the Kubernetes CSI node plugin (DESIGN §12), with no cluster: a Python gRPC
client plays the kubelet on the plugin's unix socket, making the calls a kubelet makes for an inline
ephemeral volume (GetPluginInfo, NodeGetInfo, NodeGetCapabilities, then NodePublishVolume with the
pod's volume context and NodeUnpublishVolume), and readers play the pod: an unprivileged process,
and a podman container run as a Pod Security "restricted" pod would be (non-root, no capabilities,
read-only root file system). The client's stubs are generated from the plugin's own csi.proto with
grpcio-tools into a temporary folder."""

import base64
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest

from conftest import BIN, ROOT, Env, is_mounted, force_unmount, wait_for
from peers import clean_environment, shared_vault, unique

grpc = pytest.importorskip("grpc")
pytest.importorskip("grpc_tools.protoc")
from kubelet import DRIVER, Kubelet, compile_stubs, new_pod, volume_paths  # noqa: E402

PODMAN = ["podman", "--runtime", "/usr/sbin/runc"]
LIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]
BASE_IMAGE = "localhost/debian:bookworm"
POD_GID = 4242
AUDIENCE = "secretsfs"


@pytest.fixture(scope="module")
def csi(tmp_path_factory):
    """The generated modules (csi_pb2, csi_pb2_grpc)."""
    out = tmp_path_factory.mktemp("csi-stubs")
    yield compile_stubs(out)
    sys.path.remove(str(out))


class Plugin:
    """A `secretsfs csi` process (its volumes the plugin's own daemons: `--run-mounts child`, the
    fallback; test_csi_node.py runs them as systemd units) and a kubelet's client of it."""

    def __init__(self, work, csi, env=None, extra=()):
        self.work = work
        self.extra = list(extra)
        self.pb, self.pb_grpc = csi
        self.socket = work / "csi.sock"
        self.state = work / "state"
        self.configs = work / "configs"
        self.audit = work / "audit.log"
        self.log_path = work / "plugin.log"
        self.env = env or clean_environment()
        self.configs.mkdir(exist_ok=True)
        self.process = None
        self.kubelet = None

    def start(self):
        if self.socket.exists():
            self.socket.unlink()
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [BIN, "csi", "--endpoint", f"unix://{self.socket}", "--node-id", "node-1",
             "--config-dir", str(self.configs), "--state-dir", str(self.state), "--audit-log", str(self.audit),
             "--run-mounts", "child", *self.extra],
            stdout=log, stderr=log, env=self.env, start_new_session=True)
        log.close()
        assert wait_for(lambda: self.socket.exists() or self.process.poll() is not None, 30)
        assert self.process.poll() is None, f"the plugin exited: {self.log_path.read_text()}"
        self.kubelet = Kubelet(self.socket, (self.pb, self.pb_grpc))
        self.identity, self.node = self.kubelet.identity, self.kubelet.node
        self.publish, self.unpublish = self.kubelet.publish, self.kubelet.unpublish
        return self

    def stop(self, sig=signal.SIGTERM):
        if self.kubelet:
            self.kubelet.close()
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=20)

    def config(self, name, text):
        (self.configs / name).write_text(text)


def kubelet_target(root, pod, volume="secrets"):
    """The kubelet's target and handle, its parent made as the kubelet makes it."""
    target, handle = volume_paths(root, pod, volume)
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    for folder in [root / "pods", root / "pods" / pod["uid"], parent.parent.parent, parent.parent, parent]:
        os.chmod(folder, 0o755)
    return target, handle


@pytest.fixture
def world():
    """A folder other users can traverse, a local store, and every mount under it removed at the end."""
    workdir = Path(tempfile.mkdtemp(prefix="secretsfs-csi-"))
    os.chmod(workdir, 0o711)
    environment = Env(workdir)
    plugins = []
    yield environment, plugins
    for plugin in plugins:
        plugin.stop(signal.SIGKILL)
    for line in open("/proc/self/mountinfo").read().splitlines():
        point = line.split(" ")[4]
        if point.startswith(str(workdir)):
            force_unmount(point)
    texts = [p.log_path.read_bytes() for p in plugins if p.log_path.exists()]
    for plugin in plugins:
        for log in (plugin.state / "logs").glob("*.log") if (plugin.state / "logs").exists() else []:
            texts.append(log.read_bytes())
        if plugin.audit.exists():
            texts.append(plugin.audit.read_bytes())
    for text in texts:
        environment.assert_no_planted_values(text, "a plugin or volume log")
    shutil.rmtree(workdir, ignore_errors=True)


def start_plugin(world, csi, env=None, extra=()):
    environment, plugins = world
    plugin = Plugin(environment.workdir, csi, env, extra)
    plugins.append(plugin)
    return plugin.start()


def read_as(path, uid, gid):
    return subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "cat", str(path)],
                          capture_output=True, timeout=30)


def descriptors(pid):
    """What a process's descriptors point at, but for the ones every process has (/dev/null)."""
    found = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            found.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            pass
    return {d for d in found if not d.startswith("/dev/null") and not d.startswith("anon_inode")}


def audit_lines(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_kubelet_publishes_an_inline_volume_from_the_local_store(world, csi):
    environment, _ = world
    environment.put("app/db", "local-db-password-7781")
    plugin = start_plugin(world, csi)
    pb = plugin.pb
    plugin.config("local.yaml", f"backend: local\nstore: {environment.store}\n")

    info = plugin.identity.GetPluginInfo(pb.GetPluginInfoRequest(), timeout=10)
    assert info.name == DRIVER and info.vendor_version
    assert plugin.identity.Probe(pb.ProbeRequest(), timeout=10).ready.value is True
    assert list(plugin.identity.GetPluginCapabilities(pb.GetPluginCapabilitiesRequest()).capabilities) == []
    assert plugin.node.NodeGetInfo(pb.NodeGetInfoRequest(), timeout=10).node_id == "node-1"
    capabilities = plugin.node.NodeGetCapabilities(pb.NodeGetCapabilitiesRequest(), timeout=10).capabilities
    assert [c.rpc.type for c in capabilities] == [pb.NodeServiceCapability.RPC.VOLUME_MOUNT_GROUP]

    pod = new_pod()
    target, handle = kubelet_target(environment.workdir, pod)
    attributes = {"config": "local.yaml", "cache-ttl": "1m"}
    started = time.monotonic()
    plugin.publish(target, handle, attributes, pod, mount_group=str(POD_GID))
    assert (target / "app" / "db").read_bytes() == b"local-db-password-7781"
    latency = time.monotonic() - started
    print(f"\npublish latency (NodePublishVolume to a readable file): {latency * 1000:.0f} ms")
    assert latency < 10

    # The pod's fsGroup reads it, anyone else does not; the mount is read-only.
    assert read_as(target / "app" / "db", 65534, POD_GID).stdout == b"local-db-password-7781"
    assert read_as(target / "app" / "db", 65534, 65534).returncode != 0
    mode = os.stat(target / "app" / "db")
    assert mode.st_gid == POD_GID and mode.st_mode & 0o777 == 0o440
    with pytest.raises(OSError):
        open(target / "app" / "new", "wb")

    # The mount's processes hold none of the plugin's descriptors (its gRPC socket least of all: a
    # mount holding it would keep the kubelet's connection open after the plugin died).
    worker = json.loads((target / ".status").read_bytes())["worker"]
    plugin_fds = descriptors(plugin.process.pid)
    for pid in (worker["supervisor_pid"], worker["pid"]):
        assert not (descriptors(pid) & plugin_fds), "a mount kept a descriptor of the plugin"

    # A kubelet retries: the same publish answers OK and leaves the same mount.
    device = os.stat(target).st_dev
    plugin.publish(target, handle, attributes, pod, mount_group=str(POD_GID))
    assert os.stat(target).st_dev == device
    assert (target / "app" / "db").read_bytes() == b"local-db-password-7781"
    # Another volume on the same target is refused, and the first keeps serving.
    with pytest.raises(grpc.RpcError) as refused:
        plugin.publish(target, handle, {**attributes, "cache-ttl": "2m"}, pod, mount_group=str(POD_GID))
    assert refused.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert (target / "app" / "db").read_bytes() == b"local-db-password-7781"

    # The audit log says which pod each open was for.
    assert wait_for(lambda: plugin.audit.exists() and audit_lines(plugin.audit), 5)
    owners = {line["owner"] for line in audit_lines(plugin.audit) if line["path"] == "app/db"}
    assert owners == {f"{pod['namespace']}/{pod['name']} serviceaccount={pod['serviceAccount']} uid={pod['uid']}"}

    plugin.unpublish(target, handle)
    assert not is_mounted(str(target)) and not target.exists()
    plugin.unpublish(target, handle)  # idempotent: nothing left to do is OK
    log = plugin.log_path.read_text()
    assert "published" in log and f"{pod['namespace']}/{pod['name']}" in log and "unpublished" in log
    assert not list((plugin.state / "volumes").iterdir())


def test_another_user_cannot_reach_the_plugins_socket(world, csi):
    """Whoever connects to the socket can publish with the operator's configs: only root may."""
    plugin = start_plugin(world, csi)
    assert plugin.socket.stat().st_mode & 0o777 == 0o600
    probe = ("import socket, sys\ns = socket.socket(socket.AF_UNIX)\n"
             "try:\n    s.connect(sys.argv[1])\nexcept PermissionError:\n    sys.exit(13)\n")
    stranger = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3",
                               "-c", probe, str(plugin.socket)], capture_output=True, timeout=30)
    assert stranger.returncode == 13, stranger.stderr
    # The probe itself works: root connects.
    root = subprocess.run(["/usr/bin/python3", "-c", probe, str(plugin.socket)], capture_output=True, timeout=30)
    assert root.returncode == 0, root.stderr


def test_bad_requests_get_the_spec_codes_and_name_no_value(world, csi):
    environment, _ = world
    environment.put("app/db", "local-db-password-1234")
    plugin = start_plugin(world, csi)
    pb = plugin.pb
    plugin.config("local.yaml", f"backend: local\nstore: {environment.store}\n")
    pod = new_pod()
    target, handle = kubelet_target(environment.workdir, pod)
    good = {"config": "local.yaml"}
    planted = "do-not-echo-this-value-5521"
    environment.plant(planted)

    def code_of(call):
        with pytest.raises(grpc.RpcError) as error:
            call()
        assert planted not in (error.value.details() or "")
        return error.value.code(), error.value.details()

    invalid = grpc.StatusCode.INVALID_ARGUMENT
    assert code_of(lambda: plugin.publish(target, "", good, pod))[0] == invalid
    assert code_of(lambda: plugin.publish(target, handle, good, pod, target_path=""))[0] == invalid
    assert code_of(lambda: plugin.publish(target, handle, good, pod, volume_capability=None))[0] == invalid
    block = pb.VolumeCapability(block=pb.VolumeCapability.BlockVolume(),
                                access_mode=pb.VolumeCapability.AccessMode(mode=1))
    assert code_of(lambda: plugin.publish(target, handle, good, pod, volume_capability=block))[0] == invalid
    code, details = code_of(lambda: plugin.publish(target, handle, {**good, "colour": planted}, pod))
    assert code == invalid and "colour" in details
    # Options a volume may not set: a credential, a node file, a server to trust.
    for key in ("vault-token-file", "store", "vault-addr", "audit-log", "o"):
        code, details = code_of(lambda: plugin.publish(target, handle, {**good, key: planted}, pod))
        assert code == invalid and key in details, (key, details)
    code, details = code_of(lambda: plugin.publish(target, handle, {"backend": "env"}, pod))
    assert code == invalid and "backend" in details
    code, details = code_of(lambda: plugin.publish(target, handle, {"config": "../local.yaml"}, pod))
    assert code == invalid and "config" in details
    # The operator's file pins what it sets: a pod cannot widen it.
    code, details = code_of(lambda: plugin.publish(target, handle, {**good, "backend": "vault"}, pod))
    assert code == invalid and "config file" in details
    # The mount's own check of a value, passed on.
    code, details = code_of(lambda: plugin.publish(target, handle, {**good, "cache-ttl": planted}, pod))
    assert code == invalid and "cache-ttl" in details
    code, details = code_of(lambda: plugin.publish(target, handle, {**good, "show-versions": "yes"}, pod))
    assert code == invalid
    assert not is_mounted(str(target))
    assert not list((plugin.state / "volumes").iterdir()), "a refused publish left a record"
    assert code_of(lambda: plugin.unpublish(target, ""))[0] == invalid
    assert code_of(lambda: plugin.unpublish("", handle))[0] == invalid

    # After all that, a good publish still works.
    plugin.publish(target, handle, good, pod)
    assert (target / "app" / "db").read_bytes() == b"local-db-password-1234"
    plugin.unpublish(target, handle)


def test_a_volume_from_openbao_with_the_node_credential(world, csi):
    environment, _ = world
    vault = shared_vault()
    prefix = unique("csi")
    value = "bao-db-password-" + uuid.uuid4().hex[:12]
    environment.plant(value, vault.token)
    vault.put(f"{prefix}/app/db", {"value": value})
    token_file = environment.workdir / "node-token"
    token_file.write_text(vault.token)
    os.chmod(token_file, 0o600)
    plugin = start_plugin(world, csi)
    plugin.config("bao.yaml", f"backend: vault\nvault-addr: {vault.addr}\nvault-token-file: {token_file}\n")
    pod = new_pod()
    target, handle = kubelet_target(environment.workdir, pod)
    plugin.publish(target, handle, {"config": "bao.yaml", "vault-prefix": prefix}, pod, mount_group=str(POD_GID))
    assert (target / "app" / "db").read_bytes() == value.encode()
    assert read_as(target / "app" / "db", 65534, POD_GID).stdout == value.encode()
    plugin.unpublish(target, handle)
    assert not is_mounted(str(target))


def test_a_restricted_pod_in_podman_reads_the_volume(world, csi):
    if shutil.which("podman") is None:
        pytest.fail("podman is missing: scripts/lib/containers.sh ensure installs it")
    subprocess.run(["bash", str(ROOT / "scripts" / "lib" / "containers.sh"), "ensure"], check=True,
                   capture_output=True, timeout=1200)
    environment, _ = world
    environment.put("app/db", "podman-db-password-6610")
    plugin = start_plugin(world, csi)
    plugin.config("local.yaml", f"backend: local\nstore: {environment.store}\n")
    pod = new_pod()
    target, handle = kubelet_target(environment.workdir, pod)
    plugin.publish(target, handle, {"config": "local.yaml"}, pod, mount_group=str(POD_GID))
    # runAsNonRoot, runAsUser 1000, fsGroup POD_GID, drop ALL, readOnlyRootFilesystem, no privilege escalation.
    result = subprocess.run(
        [*PODMAN, "run", "--rm", *LIMITS, "--user", "1000:1000", "--group-add", str(POD_GID), "--cap-drop", "all",
         "--read-only", "--security-opt", "no-new-privileges", "--network", "none",
         "-v", f"{target}:/secrets:ro", BASE_IMAGE, "sh", "-c",
         "sha256sum /secrets/app/db && id -u && (touch /secrets/x 2>/dev/null && echo wrote || echo read-only)"],
        capture_output=True, timeout=120)
    assert result.returncode == 0, result.stderr.decode()
    digest = hashlib.sha256(b"podman-db-password-6610").hexdigest()
    assert result.stdout.decode().split() == [digest, "/secrets/app/db", "1000", "read-only"]
    plugin.unpublish(target, handle)


def test_volumes_keep_serving_when_the_plugin_is_killed(world, csi):
    environment, _ = world
    environment.put("app/db", "survivor-db-password-42")
    plugin = start_plugin(world, csi)
    plugin.config("local.yaml", f"backend: local\nstore: {environment.store}\n")
    pods = [new_pod() for _ in range(3)]
    targets = []
    for pod in pods:
        target, handle = kubelet_target(environment.workdir, pod)
        plugin.publish(target, handle, {"config": "local.yaml"}, pod)
        targets.append((target, handle, pod))

    # Readers read all along, from a second before the plugin's whole process group is killed
    # until a second after.
    counts = {"reads": 0, "errors": 0}
    stop = threading.Event()

    def read_all_along():
        while not stop.is_set():
            for target, _, _ in targets:
                try:
                    ok = (target / "app" / "db").read_bytes() == b"survivor-db-password-42"
                except OSError:
                    ok = False
                counts["reads" if ok else "errors"] += 1

    reader = threading.Thread(target=read_all_along)
    reader.start()
    time.sleep(1)
    os.killpg(plugin.process.pid, signal.SIGKILL)
    plugin.process.wait(timeout=10)
    plugin.kubelet.close()
    time.sleep(1)
    stop.set()
    reader.join(timeout=10)
    print(f"\nreads across the plugin's SIGKILL: {counts['reads']} ok, {counts['errors']} errors")
    assert counts["errors"] == 0 and counts["reads"] > 30

    # A new plugin on the same state folder takes the volumes over.
    successor = start_plugin(world, csi)
    target, handle, pod = targets[0]
    successor.publish(target, handle, {"config": "local.yaml"}, pod)  # the kubelet's retry: OK, same mount
    for target, handle, _ in targets:
        successor.unpublish(target, handle)
        assert not is_mounted(str(target)) and not target.exists()


def jwt_signed(key, claims):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    def b64(data):
        return base64.urlsafe_b64encode(data).rstrip(b"=")

    header = b64(json.dumps({"alg": "RS256", "typ": "JWT", "kid": "test"}).encode())
    body = b64(json.dumps(claims).encode())
    signature = key.sign(header + b"." + body, padding.PKCS1v15(), hashes.SHA256())
    return (header + b"." + body + b"." + b64(signature)).decode()


def test_each_pod_logs_in_to_openbao_with_its_service_account_token(world, csi, bao):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    environment, _ = world
    server = bao()
    vault = server.vault
    environment.plant(vault.token)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    vault.ensure_auth("jwt")
    vault.request("POST", "auth/jwt/config", {"jwt_validation_pubkeys": [public]})
    vault.policy("team-a-reader", 'path "secret/data/team-a/*" { capabilities = ["read"] }\n'
                                  'path "secret/metadata/team-a/*" { capabilities = ["read", "list"] }')
    vault.request("POST", "auth/jwt/role/team-a", {
        "role_type": "jwt", "bound_audiences": [AUDIENCE], "user_claim": "sub",
        "bound_subject": "system:serviceaccount:team-a:reader", "token_policies": ["team-a-reader"],
        "token_ttl": "10m"})
    value = "pod-scoped-password-" + uuid.uuid4().hex[:10]
    other = "other-team-password-" + uuid.uuid4().hex[:10]
    environment.plant(value, other)
    vault.put("team-a/app/db", {"value": value})
    vault.put("team-b/app/db", {"value": other})

    plugin = start_plugin(world, csi)
    plugin.config("bao-jwt.yaml", f"backend: vault\nvault-addr: {vault.addr}\n")

    def tokens_for(subject):
        now = int(time.time())
        token = jwt_signed(key, {"iss": "https://kubernetes.default.svc", "sub": subject, "aud": [AUDIENCE],
                                 "iat": now, "nbf": now, "exp": now + 600})
        environment.plant(token)
        expiry = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 600))
        return token, json.dumps({AUDIENCE: {"token": token, "expirationTimestamp": expiry}})

    pod = new_pod()
    token, tokens = tokens_for("system:serviceaccount:team-a:reader")
    target, handle = kubelet_target(environment.workdir, pod)
    attributes = {"config": "bao-jwt.yaml", "vault-auth": "jwt", "vault-role": "team-a", "vault-prefix": "team-a",
                  "csi.storage.k8s.io/serviceAccount.tokens": tokens}
    plugin.publish(target, handle, attributes, pod)
    assert (target / "app" / "db").read_bytes() == value.encode()
    # The token reaches the mount in a 0600 file, never its argv.
    token_files = list((plugin.state / "tokens").glob("*.jwt"))
    assert len(token_files) == 1 and token_files[0].stat().st_mode & 0o777 == 0o600
    for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
        try:
            cmdline = open(f"/proc/{pid}/cmdline", "rb").read()
        except OSError:
            continue
        assert token.encode() not in cmdline
    # requiresRepublish: the kubelet publishes again with a fresh token, which replaces the old one.
    time.sleep(1.1)  # a new iat, so a new token
    fresh, fresh_tokens = tokens_for("system:serviceaccount:team-a:reader")
    assert fresh != token
    plugin.publish(target, handle, {**attributes, "csi.storage.k8s.io/serviceAccount.tokens": fresh_tokens}, pod)
    assert token_files[0].read_text() == fresh
    assert (target / "app" / "db").read_bytes() == value.encode()

    # The pod reads as itself (the plugin holds no Vault credential at all): a second volume of the
    # same pod on another team's prefix mounts, and its policy keeps that team's secret from it.
    other_target, other_handle = kubelet_target(environment.workdir, pod, volume="other")
    plugin.publish(other_target, other_handle, {**attributes, "vault-prefix": "team-b"}, pod)
    with pytest.raises(PermissionError):
        (other_target / "app" / "db").read_bytes()
    plugin.unpublish(other_target, other_handle)

    # A pod whose token Vault's role does not bind gets no volume, and the error names no token.
    stranger = new_pod(namespace="team-b")
    stranger_token, stranger_tokens = tokens_for("system:serviceaccount:team-b:reader")
    stranger_target, stranger_handle = kubelet_target(environment.workdir, stranger)
    with pytest.raises(grpc.RpcError) as refused:
        plugin.publish(stranger_target, stranger_handle,
                       {**attributes, "vault-prefix": "team-b", "csi.storage.k8s.io/serviceAccount.tokens":
                        stranger_tokens}, stranger)
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED, refused.value.details()
    assert stranger_token not in (refused.value.details() or "")
    assert not is_mounted(str(stranger_target))

    # A volume that needs the token but gets none is refused, naming the audience.
    lonely = new_pod()
    lonely_target, lonely_handle = kubelet_target(environment.workdir, lonely)
    without = {k: v for k, v in attributes.items() if not k.endswith("serviceAccount.tokens")}
    with pytest.raises(grpc.RpcError) as missing:
        plugin.publish(lonely_target, lonely_handle, without, lonely)
    assert missing.value.code() == grpc.StatusCode.INVALID_ARGUMENT and AUDIENCE in missing.value.details()

    plugin.unpublish(target, handle)
    assert not list((plugin.state / "tokens").glob("*.jwt"))


def backend_reads(server, path):
    """Reads of the KV secret `path` that OpenBao answered, counted at its audit device."""
    if not server.audit.exists():
        return 0
    lines = [json.loads(line) for line in server.audit.read_text().splitlines() if line.strip()]
    return sum(1 for line in lines if line.get("type") == "response"
               and line["request"].get("path") == f"secret/data/{path}" and line["request"].get("operation") == "read")


def test_pods_with_the_same_volume_share_one_mount_and_one_backend_read(world, csi, server):
    environment, _ = world
    vault = server.vault
    value = "shared-db-password-" + uuid.uuid4().hex[:10]
    environment.plant(value, vault.token)
    vault.put("fleet/app/db", {"value": value})
    token_file = environment.workdir / "node-token"
    token_file.write_text(vault.token)
    os.chmod(token_file, 0o600)
    plugin = start_plugin(world, csi, extra=["--share-mounts"])
    plugin.config("bao.yaml", f"backend: vault\nvault-addr: {vault.addr}\nvault-token-file: {token_file}\n")
    attributes = {"config": "bao.yaml", "vault-prefix": "fleet", "cache-ttl": "10m"}

    pods = [new_pod() for _ in range(20)]
    volumes = []
    for pod in pods:
        target, handle = kubelet_target(environment.workdir, pod)
        plugin.publish(target, handle, attributes, pod, mount_group=str(POD_GID))
        volumes.append((target, handle, pod))
    for target, _, _ in volumes:
        assert read_as(target / "app" / "db", 65534, POD_GID).stdout == value.encode()
    assert wait_for(lambda: backend_reads(server, "fleet/app/db") >= 1, 5)
    time.sleep(0.5)
    reads = backend_reads(server, "fleet/app/db")
    print(f"\nbackend reads for 20 pods sharing one node mount: {reads}")
    assert reads == 1
    shared = [p for p in (plugin.state / "shared").iterdir()]
    assert len(shared) == 1 and is_mounted(str(shared[0]))

    # A retried publish of one pod answers OK; the shared mount stays until its last volume goes.
    target, handle, pod = volumes[0]
    plugin.publish(target, handle, attributes, pod, mount_group=str(POD_GID))
    for target, handle, _ in volumes[:-1]:
        plugin.unpublish(target, handle)
        assert not target.exists()
    last, last_handle, _ = volumes[-1]
    assert read_as(last / "app" / "db", 65534, POD_GID).stdout == value.encode()
    plugin.unpublish(last, last_handle)
    assert not is_mounted(str(shared[0])) and not shared[0].exists()


def test_a_republish_mounts_again_over_a_volume_whose_mount_died(world, csi):
    environment, _ = world
    environment.put("app/db", "phoenix-db-password-99")
    plugin = start_plugin(world, csi)
    plugin.config("local.yaml", f"backend: local\nstore: {environment.store}\n")
    pod = new_pod()
    target, handle = kubelet_target(environment.workdir, pod)
    plugin.publish(target, handle, {"config": "local.yaml"}, pod)
    worker = json.loads((target / ".status").read_bytes())["worker"]
    for pid in (worker["supervisor_pid"], worker["pid"]):
        os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: not Path(f"/proc/{worker['pid']}").exists(), 10)
    with pytest.raises(OSError):
        (target / "app" / "db").read_bytes()
    # The kubelet's next publish (requiresRepublish) finds the dead mount and mounts again.
    plugin.publish(target, handle, {"config": "local.yaml"}, pod)
    assert (target / "app" / "db").read_bytes() == b"phoenix-db-password-99"
    plugin.unpublish(target, handle)
    assert not is_mounted(str(target))


def test_an_aws_volume_logs_in_with_the_pods_token_through_web_identity(world, csi, tmp_path):
    """moto answers AssumeRoleWithWebIdentity without checking the token's signature, so what this
    shows is the path: the plugin holds no AWS credential at all, and the pod's volume reads."""
    from peers import AWS_REGION, aws_client, start_private_moto
    environment, _ = world
    moto = start_private_moto(str(tmp_path))
    try:
        sm = aws_client(moto.addr)
        value = "aws-pod-password-" + uuid.uuid4().hex[:10]
        environment.plant(value)
        sm.create_secret(Name="team-a/app/db", SecretString=value)
        plugin_env = clean_environment(
            AWS_REGION=AWS_REGION, AWS_ENDPOINT_URL=moto.addr, AWS_CONFIG_FILE="/nonexistent/config",
            AWS_SHARED_CREDENTIALS_FILE="/nonexistent/credentials", AWS_EC2_METADATA_DISABLED="true")
        plugin = start_plugin(world, csi, env=plugin_env)
        token = "header.pod-token-" + uuid.uuid4().hex + ".signature"
        environment.plant(token)
        tokens = json.dumps({AUDIENCE: {"token": token, "expirationTimestamp": "2030-01-01T00:00:00Z"}})
        attributes = {"backend": "aws", "aws-prefix": "team-a/", "aws-role-arn": "arn:aws:iam::123456789012:role/team-a",
                      "csi.storage.k8s.io/serviceAccount.tokens": tokens}
        pod = new_pod()
        target, handle = kubelet_target(environment.workdir, pod)
        plugin.publish(target, handle, attributes, pod)
        assert (target / "app" / "db").read_bytes() == value.encode()
        plugin.unpublish(target, handle)

        # Without the role the same volume has no credentials: the plugin lends it none of its own.
        lonely = new_pod()
        lonely_target, lonely_handle = kubelet_target(environment.workdir, lonely)
        without_role = {k: v for k, v in attributes.items() if k != "aws-role-arn"}
        with pytest.raises(grpc.RpcError) as refused:
            plugin.publish(lonely_target, lonely_handle, without_role, lonely)
            (lonely_target / "app" / "db").read_bytes()
        assert token not in (refused.value.details() or "")
        assert not is_mounted(str(lonely_target))
    finally:
        moto.stop()
