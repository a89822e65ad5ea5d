"""contrib/kubernetes/csi, checked offline (no cluster here): every object against the Kubernetes
API schemas that kubernetes-validate ships (strict: an unknown field fails), the CSIDriver's
promises to the plugin, and the example pod against Pod Security "restricted" as the pod-security
admission checks it (the rules of the Pod Security Standards page, restricted profile)."""


import pytest

from conftest import ROOT

yaml = pytest.importorskip("yaml")
kubernetes_validate = pytest.importorskip("kubernetes_validate")

FOLDER = ROOT / "contrib" / "kubernetes" / "csi"
VERSIONS = ["1.30.0", "1.33.0"]
DRIVER = "secretsfs.csi.secretsfs.dev"
RESTRICTED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                      "projected", "secret"}


def objects(name):
    return [o for o in yaml.safe_load_all((FOLDER / name).read_text()) if o]


def restricted_violations(pod_spec):
    """What Pod Security "restricted" refuses in a pod spec (baseline's rules included)."""
    found = []
    pod_context = pod_spec.get("securityContext", {})
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if pod_spec.get(key):
            found.append(key)
    for volume in pod_spec.get("volumes", []):
        kinds = set(volume) - {"name"}
        if not kinds <= RESTRICTED_VOLUMES:
            found.append(f"volume {volume['name']} is {sorted(kinds)}")
    containers = pod_spec.get("containers", []) + pod_spec.get("initContainers", [])
    for container in containers:
        context = container.get("securityContext", {})
        name = container["name"]
        if context.get("privileged"):
            found.append(f"{name}: privileged")
        if context.get("allowPrivilegeEscalation") is not False:
            found.append(f"{name}: allowPrivilegeEscalation not false")
        if "ALL" not in context.get("capabilities", {}).get("drop", []):
            found.append(f"{name}: capabilities not dropped")
        if set(context.get("capabilities", {}).get("add", [])) - {"NET_BIND_SERVICE"}:
            found.append(f"{name}: capabilities added")
        if not context.get("runAsNonRoot", pod_context.get("runAsNonRoot")):
            found.append(f"{name}: runAsNonRoot not true")
        if context.get("runAsUser", pod_context.get("runAsUser")) == 0:
            found.append(f"{name}: runAsUser 0")
        seccomp = context.get("seccompProfile", pod_context.get("seccompProfile", {})).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            found.append(f"{name}: seccompProfile not RuntimeDefault")
        if any(port.get("hostPort") for port in container.get("ports", [])):
            found.append(f"{name}: hostPort")
    return found


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", ["csidriver.yaml", "plugin.yaml", "example-pod.yaml"])
def test_every_object_matches_the_api_schema(name, version):
    for obj in objects(name):
        kubernetes_validate.validate(obj, version, strict=True)


def test_the_schema_check_can_fail():
    driver = objects("csidriver.yaml")[0]
    driver["spec"]["podInfoOnMonut"] = True
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(driver, VERSIONS[-1], strict=True)


def test_the_csidriver_gives_the_plugin_what_it_needs():
    [driver] = objects("csidriver.yaml")
    spec = driver["spec"]
    assert driver["metadata"]["name"] == DRIVER
    assert spec["podInfoOnMount"] is True and spec["volumeLifecycleModes"] == ["Ephemeral"]
    assert spec["attachRequired"] is False
    # The plugin's default --token-audience, so vault-auth jwt has a token to log in with.
    assert [r["audience"] for r in spec["tokenRequests"]] == ["secretsfs"]


def test_the_plugin_daemonset_registers_and_shares_its_mounts():
    daemonset = next(o for o in objects("plugin.yaml") if o["kind"] == "DaemonSet")
    pod = daemonset["spec"]["template"]["spec"]
    containers = {c["name"]: c for c in pod["containers"]}
    registrar, plugin = containers["node-driver-registrar"], containers["secretsfs"]
    assert f"--kubelet-registration-path=/var/lib/kubelet/plugins/{DRIVER}/csi.sock" in registrar["args"]
    assert "csi" == plugin["args"][0] and "--endpoint=unix:///csi/csi.sock" in plugin["args"]
    mounts = {m["mountPath"]: m for m in plugin["volumeMounts"]}
    assert mounts["/var/lib/kubelet/pods"]["mountPropagation"] == "Bidirectional"
    volumes = {v["name"]: v for v in pod["volumes"]}
    # The units run on the node what the plugin copies to its state folder: the same path on both.
    assert volumes[mounts["/var/lib/secretsfs-csi"]["name"]]["hostPath"]["path"] == "/var/lib/secretsfs-csi"
    assert mounts["/var/lib/secretsfs-csi"]["mountPropagation"] == "HostToContainer"
    # Volumes outlive the container: their mounts are units of the node's systemd, reached here.
    assert "--run-mounts=systemd" in plugin["args"]
    assert volumes[mounts["/run/systemd"]["name"]]["hostPath"]["path"] == "/run/systemd"
    # Only the plugin is privileged, and the restricted check says so.
    assert plugin["securityContext"]["privileged"] is True
    assert restricted_violations(pod), "the restricted check passed a privileged hostPath pod"


def test_the_example_pod_passes_pod_security_restricted():
    namespace, _, pod = objects("example-pod.yaml")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert restricted_violations(pod["spec"]) == []
    [volume] = pod["spec"]["volumes"]
    assert volume["csi"]["driver"] == DRIVER and volume["csi"]["readOnly"] is True
    # Attributes a volume may set; never a credential or an address.
    assert set(volume["csi"]["volumeAttributes"]) <= {"config", "vault-role", "vault-prefix", "cache-ttl"}
