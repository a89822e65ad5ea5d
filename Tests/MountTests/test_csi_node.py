"""CSI volumes outlive the plugin's container (issue 31 item 4, DESIGN §12): with `--run-mounts
systemd` each volume's mount is a transient unit of the node's systemd, so killing the plugin's
whole process tree (what a container restart does) and upgrading it leave every volume serving.

No cluster runs here, so a machine booted by systemd (machines.py) plays the node: the plugin runs
in it as a service of its own, whose whole control group `systemctl kill --signal=KILL` kills, as
the kubelet kills a container's; the kubelet's calls come from the Python gRPC client on the host,
through the socket folder bound from the host; readers loop inside the node on the target paths.
The "newer" plugin is the same binary under another file (a byte appended), so its versioned copy
has another name: units started before the upgrade keep running the old one."""

import hashlib
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import time

import pytest

import machines
from conftest import BIN, Env, wait_for
from machines import figures

grpc = pytest.importorskip("grpc")
pytest.importorskip("grpc_tools.protoc")
from kubelet import Kubelet, compile_stubs, new_pod, volume_paths  # noqa: E402

PLUGIN_UNIT = "csi-plugin.service"
STATE = "/var/lib/secretsfs-csi"
STORE = "/var/lib/secretsfs-test/secrets.db"
KUBELET = "/var/lib/kubelet"
STANDARD_LIBRARY_FOLDERS = ("/lib/", "/lib64/", "/usr/lib/", "/usr/lib64/")


def library_folders(binary):
    """Folders of the libraries `binary` loads from outside the system's (a debug build's Swift runtime)."""
    listed = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    paths = re.findall(r"=> (/\S+)", listed)
    return sorted({os.path.dirname(p) for p in paths if not p.startswith(STANDARD_LIBRARY_FOLDERS)})


class Node(machines.Machine):
    def show(self, unit, prop):
        return self.run(f"systemctl show -P {prop} {unit}").stdout.strip()

    def binary_of(self, unit):
        return re.search(r"path=(\S+)", self.show(unit, "ExecStart")).group(1)

    def volume_units(self):
        listed = self.run("systemctl list-units --all --no-legend --plain 'secretsfs-csi-*'").stdout
        return {line.split()[0]: line.split()[2] for line in listed.splitlines() if line.strip()}

    def start_plugin(self, binary):
        """`secretsfs csi` as a service of the node, sharing mounts of volumes with the same options."""
        self.run(f"systemctl reset-failed {PLUGIN_UNIT} 2>/dev/null; rm -f /csi/csi.sock; "
                 f"systemd-run --unit={PLUGIN_UNIT} -p StandardOutput=append:/log/plugin.log "
                 f"-p StandardError=append:/log/plugin.log {binary} csi --endpoint unix:///csi/csi.sock "
                 f"--node-id node-1 --config-dir /etc/secretsfs-csi --state-dir {STATE} "
                 f"--audit-log {STATE}/audit.log --run-mounts systemd --share-mounts")
        socket = self.work / "csi" / "csi.sock"
        assert wait_for(lambda: socket.exists() or self.show(PLUGIN_UNIT, "ActiveState") != "active", 30), \
            "the plugin made no socket"
        assert self.show(PLUGIN_UNIT, "ActiveState") == "active", (self.logs / "plugin.log").read_text()[-2000:]
        return Kubelet(socket, self.stubs)


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    machines.ensure_prerequisites()
    work = tmp_path_factory.mktemp("csi-node")
    (work / "csi").mkdir()
    # The newer plugin: the same program, another file (an ELF ignores bytes after its end).
    newer = work / "secretsfs-newer"
    shutil.copyfile(BIN, newer)
    with open(newer, "ab") as f:
        f.write(b"\0")
    newer.chmod(0o755)
    volumes = [f"{BIN}:/plugin/old/secretsfs:ro", f"{newer}:/plugin/new/secretsfs:ro", f"{work / 'csi'}:/csi"]
    volumes += [f"{folder}:{folder}:ro" for folder in library_folders(BIN)]
    logs = work / "logs"
    logs.mkdir()
    made = Node.boot(logs, "csi-node", volumes)
    made.work = work
    stubs = tmp_path_factory.mktemp("csi-stubs")
    made.stubs = compile_stubs(stubs)
    try:
        made.wait_running()
        yield made
    finally:
        made.remove()
        sys.path.remove(str(stubs))


def test_volumes_outlive_a_kill_of_the_plugins_process_tree_and_an_upgrade(node):
    value = "node-db-password-" + secrets.token_hex(12)
    digest = hashlib.sha256(value.encode()).hexdigest()
    node.run(f"mkdir -p {os.path.dirname(STORE)} /etc/secretsfs-csi && "
             f"/plugin/old/secretsfs put app/db --store {STORE} >/dev/null", input=value)
    node.run(f"printf 'backend: local\\nstore: {STORE}\\n' > /etc/secretsfs-csi/local.yaml")
    kubelet = node.start_plugin("/plugin/old/secretsfs")

    # Ten pods: five with options of their own (a unit each), five alike (one shared unit, bound).
    pods = [new_pod() for _ in range(10)]
    paths = [volume_paths(KUBELET, pod) for pod in pods]
    node.run("mkdir -p " + " ".join(str(target.parent) for target, _ in paths))
    attributes = [{"config": "local.yaml", "cache-ttl": f"{60 + i if i < 5 else 300}s"} for i in range(10)]
    latencies = []
    for pod, (target, handle), attrs in zip(pods, paths, attributes):
        started = time.monotonic()
        kubelet.publish(target, handle, attrs, pod)
        latencies.append(time.monotonic() - started)
    units = node.volume_units()
    assert len(units) == 6 and set(units.values()) == {"active"}, units
    print(f"\npublish latency as a systemd unit, median of 10: {statistics.median(latencies) * 1000:.0f} ms "
          f"(max {max(latencies) * 1000:.0f} ms)")
    # Every volume shares a mount with those of its options (--share-mounts): a unit per option set.
    [old_binary] = {node.binary_of(unit) for unit in units}
    assert old_binary.startswith(f"{STATE}/bin/secretsfs-")

    # Readers on a volume of its own and a shared one, from before the kill to after the takeover.
    readers = [node.reader(f"{paths[i][0]}/app/db") for i in (0, 4, 7)]
    start = time.time()
    time.sleep(1)
    node.run(f"systemctl kill --signal=KILL {PLUGIN_UNIT}")
    assert wait_for(lambda: node.show(PLUGIN_UNIT, "ActiveState") != "active", 10)
    assert node.show(PLUGIN_UNIT, "MainPID") == "0"
    kubelet.close()
    time.sleep(1)
    assert set(node.volume_units().values()) == {"active"}

    # The upgrade: a new plugin (another binary) takes the volumes over.
    kubelet = node.start_plugin("/plugin/new/secretsfs")
    assert "taking over the volumes published before" in (node.logs / "plugin.log").read_text()
    kubelet.publish(paths[0][0], paths[0][1], attributes[0], pods[0])  # the kubelet's retry: OK, same unit
    assert node.volume_units() == units and {node.binary_of(unit) for unit in units} == {old_binary}
    late = new_pod()
    late_target, late_handle = volume_paths(KUBELET, late)
    node.run(f"mkdir -p {late_target.parent}")
    kubelet.publish(late_target, late_handle, {"config": "local.yaml", "cache-ttl": "59s"}, late)
    [late_unit] = set(node.volume_units()) - set(units)
    new_binary = node.binary_of(late_unit)
    assert new_binary != old_binary and new_binary.startswith(f"{STATE}/bin/secretsfs-")
    time.sleep(1)
    node.stop_readers()
    time.sleep(0.5)  # a read under way when its loop was killed ends: the pod is gone before an unpublish
    for reader in readers:
        reads, errors, gap = figures(reader.since(start), digest, start)
        print(f"reads across the plugin's SIGKILL and upgrade: {reads}, {len(errors)} errors, longest gap {gap:.2f}s")
        assert reads > 20 and not errors and gap < 5, errors[:3]

    # A mount's own refusal comes back as the spec's code, and leaves no unit behind.
    bad = new_pod()
    bad_target, bad_handle = volume_paths(KUBELET, bad)
    node.run(f"mkdir -p {bad_target.parent}")
    with pytest.raises(grpc.RpcError) as refused:
        kubelet.publish(bad_target, bad_handle, {"config": "local.yaml", "cache-ttl": "soon"}, bad)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "cache-ttl" in refused.value.details()
    assert set(node.volume_units()) == set(units) | {late_unit}
    # An unprivileged user on the node cannot reach the plugin's copies of the volumes' configs.
    copies = node.run(f"ls {STATE}/configs").stdout.split()
    assert copies, "a volume's config was copied for its unit"
    denied = node.run(f"setpriv --reuid 65534 --regid 65534 --clear-groups cat {STATE}/configs/{copies[0]}",
                      check=False)
    assert denied.returncode != 0 and "Permission denied" in denied.stderr, denied

    # The new plugin unpublishes the old plugin's volumes: unmounted, folder gone, no unit left.
    for (target, handle) in paths + [(late_target, late_handle)]:
        kubelet.unpublish(target, handle)
    left = node.run(f"findmnt -rn -o TARGET | grep -E '^({KUBELET}|{STATE})' || true").stdout.strip()
    assert not left, left
    assert node.run(f"find {KUBELET}/pods -name mount").stdout.strip() == ""
    assert node.volume_units() == {}, node.volume_units()
    kubelet.close()
    # The old binary stayed while a unit ran it; a plugin starting after the last one went removes it.
    assert node.run(f"ls {STATE}/bin").stdout.split() == sorted(os.path.basename(b) for b in (old_binary, new_binary))
    node.run(f"systemctl kill --signal=KILL {PLUGIN_UNIT}")
    assert wait_for(lambda: node.show(PLUGIN_UNIT, "ActiveState") != "active", 10)
    node.start_plugin("/plugin/new/secretsfs").close()
    assert node.run(f"ls {STATE}/bin").stdout.split() == [os.path.basename(new_binary)]

    texts = [(node.logs / "plugin.log").read_text()]
    texts.append(node.run(f"cat {STATE}/logs/*.log {STATE}/audit.log; journalctl --no-pager -o cat").stdout)
    environment = Env(node.work)
    environment.plant(value)
    for text in texts:
        environment.assert_no_planted_values(text, "a log of the plugin or its volumes")
