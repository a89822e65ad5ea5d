"""A kubelet's side of the CSI node service, for tests without a cluster: the client stubs compiled
from the plugin's own csi.proto (grpcio-tools), the calls a kubelet makes for an inline ephemeral
volume (NodePublishVolume with the pod's volume context, NodeUnpublishVolume), and its paths."""

import hashlib
import sys
import uuid
from pathlib import Path

import grpc
from grpc_tools import protoc

from conftest import ROOT
from peers import unique

PROTO = ROOT / "Sources" / "SecretsCSI" / "Proto" / "csi.proto"
DRIVER = "secretsfs.csi.secretsfs.dev"


def compile_stubs(out):
    """The generated modules (csi_pb2, csi_pb2_grpc), compiled into the folder `out`."""
    include = Path(protoc.__file__).parent / "_proto"
    status = protoc.main(["protoc", f"-I{PROTO.parent}", f"-I{include}", f"--python_out={out}",
                          f"--grpc_python_out={out}", str(PROTO)])
    assert status == 0, "grpcio-tools could not compile csi.proto"
    sys.path.insert(0, str(out))
    import csi_pb2
    import csi_pb2_grpc
    return csi_pb2, csi_pb2_grpc


class Kubelet:
    """A connection to a plugin's socket, as the kubelet holds one."""

    def __init__(self, socket, stubs, timeout=10):
        self.pb, self.pb_grpc = stubs
        self.channel = grpc.insecure_channel(f"unix://{socket}")
        grpc.channel_ready_future(self.channel).result(timeout=timeout)
        self.identity = self.pb_grpc.IdentityStub(self.channel)
        self.node = self.pb_grpc.NodeStub(self.channel)

    def close(self):
        self.channel.close()

    def publish(self, target, volume_id, attributes, pod, mount_group="", readonly=True, **overrides):
        """NodePublishVolume as a kubelet sends it for an inline ephemeral volume."""
        pb = self.pb
        context = {
            "csi.storage.k8s.io/ephemeral": "true",
            "csi.storage.k8s.io/pod.name": pod["name"],
            "csi.storage.k8s.io/pod.namespace": pod["namespace"],
            "csi.storage.k8s.io/pod.uid": pod["uid"],
            "csi.storage.k8s.io/serviceAccount.name": pod["serviceAccount"],
            **attributes,
        }
        capability = pb.VolumeCapability(
            mount=pb.VolumeCapability.MountVolume(volume_mount_group=mount_group),
            access_mode=pb.VolumeCapability.AccessMode(mode=pb.VolumeCapability.AccessMode.SINGLE_NODE_WRITER))
        fields = dict(volume_id=volume_id, target_path=str(target), volume_capability=capability,
                      readonly=readonly, volume_context=context)
        fields.update(overrides)
        return self.node.NodePublishVolume(pb.NodePublishVolumeRequest(**fields), timeout=60)

    def unpublish(self, target, volume_id):
        return self.node.NodeUnpublishVolume(
            self.pb.NodeUnpublishVolumeRequest(volume_id=volume_id, target_path=str(target)), timeout=60)


def new_pod(namespace="team-a", service_account="reader"):
    name = unique("app")
    return {"name": name, "namespace": namespace, "uid": str(uuid.uuid4()), "serviceAccount": service_account}


def volume_paths(root, pod, volume="secrets"):
    """The kubelet's paths: the volume handle `csi-<sha256>`, and the target under the pod's folder
    (`root` is the kubelet's folder), whose parent the kubelet makes and whose last part the plugin makes."""
    handle = "csi-" + hashlib.sha256(f"{pod['uid']}{volume}".encode()).hexdigest()
    parent = Path(root) / "pods" / pod["uid"] / "volumes" / "kubernetes.io~csi" / volume
    return parent / "mount", handle
