"""A real three-node OpenBao cluster for the Vault HA tests: integrated (raft) storage, initialised
with one unseal key, every node unsealed and joined, KV v2 at `secret/`. Plain HTTP on 127.0.0.1
(ports picked free), the cluster port per node as raft needs it.

Only the tests that need it start one (`test_vault_ha.py`, a module fixture): it costs about 5 to
10 s to start (three servers, an init, three unseals, two joins) and under a second to stop. Its
root token and unseal key stay in this process: never argv (they reach `bao` nowhere; setup is the
HTTP API), never a log line."""

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request

from peers import PrivateServer, Vault, free_port

HCL = """\
storage "raft" {{
  path    = "{data}"
  node_id = "{name}"
  # The timing production setups are advised to use (the default, 5, is for slow disks): an
  # election takes about a second or two, not ten.
  performance_multiplier = 1
  # Autopilot promotes a joined node to a voter only after it looked healthy for a while; checking
  # often (the defaults are 2 s and 10 s) makes the cluster able to elect within seconds of start.
  autopilot_update_interval    = "100ms"
  autopilot_reconcile_interval = "300ms"
}}
listener "tcp" {{
  address         = "127.0.0.1:{port}"
  cluster_address = "127.0.0.1:{cluster_port}"
  tls_disable     = true
}}
api_addr      = "http://127.0.0.1:{port}"
cluster_addr  = "https://127.0.0.1:{cluster_port}"
disable_mlock = true
ui            = false
log_level     = "info"
"""


def _health(addr):
    """`sys/health` as (status, JSON): 200 active, 429 standby, 503 sealed, 501 not initialised."""
    try:
        with urllib.request.urlopen(f"{addr}/v1/sys/health?standbyok=false", timeout=2) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, (json.loads(raw) if raw.strip() else {})
    except (OSError, ValueError):
        return None, {}


class Node:
    """One `bao server` of the cluster, restartable on the same data folder."""

    def __init__(self, workdir, name):
        self.name = name
        self.port = free_port()
        self.cluster_port = free_port()
        self.addr = f"http://127.0.0.1:{self.port}"
        self.folder = os.path.join(workdir, name)
        os.makedirs(os.path.join(self.folder, "data"), exist_ok=True)
        self.config = os.path.join(self.folder, "server.hcl")
        with open(self.config, "w") as f:
            f.write(HCL.format(data=os.path.join(self.folder, "data"), name=name, port=self.port,
                               cluster_port=self.cluster_port))
        self.server = None

    def start(self):
        log = open(os.path.join(self.folder, "server.log"), "ab")
        process = subprocess.Popen(["bao", "server", f"-config={self.config}"], stdout=log, stderr=log,
                                   stdin=subprocess.DEVNULL)
        self.server = PrivateServer(process, self.addr, None, log)
        deadline = time.monotonic() + 30
        while _health(self.addr)[0] is None:
            if process.poll() is not None or time.monotonic() > deadline:
                log.flush()
                raise AssertionError(f"bao node {self.name} did not start: {self.log_tail()}")
            time.sleep(0.1)

    def alive(self):
        return self.server is not None and self.server.process.poll() is None

    def kill(self, sig=signal.SIGKILL):
        if self.server is not None:
            self.server.stop(sig)

    def health(self):
        return _health(self.addr)

    def log_tail(self):
        try:
            with open(os.path.join(self.folder, "server.log"), errors="replace") as f:
                return f.read()[-3000:]
        except OSError:
            return ""


class BaoCluster:
    """Three nodes; `vault(node)` is a root client of one node, `leader()` the active one now."""

    def __init__(self, workdir, size=3):
        self.nodes = [Node(workdir, f"node{i + 1}") for i in range(size)]
        self.token = None
        self._unseal_key = None

    def addresses(self):
        return [node.addr for node in self.nodes]

    def vault(self, node):
        return Vault(node.addr, self.token)

    def start(self):
        for node in self.nodes:
            node.start()
        first = self.nodes[0]
        status, answer = Vault(first.addr, "").request(
            "PUT", "sys/init", {"secret_shares": 1, "secret_threshold": 1}, token="")
        self.token = answer["root_token"]
        self._unseal_key = answer["keys_base64"][0]
        self.unseal(first)
        self.wait_for_leader(timeout=30)
        # Joined nodes vote once they have been healthy this long (default 10 s).
        self.vault(first).request(
            "POST", "sys/storage/raft/autopilot/configuration", {"server_stabilization_time": "1s"})
        for node in self.nodes[1:]:
            self.join(node)
        self.wait_until_settled(timeout=60)
        leader = self.leader()
        self.vault(leader).request("POST", "sys/mounts/secret", {"type": "kv", "options": {"version": "2"}})
        # A fresh KV v2 mount answers "upgrading" for a moment; `Vault.put` waits that out.
        self.vault(leader).put("ha-ready", {"value": "ready"})
        return self

    def unseal(self, node):
        Vault(node.addr, "").request("PUT", "sys/unseal", {"key": self._unseal_key}, token="")

    def join(self, node):
        Vault(node.addr, "").request(
            "POST", "sys/storage/raft/join", {"leader_api_addr": self.leader().addr}, token="")
        self.unseal(node)

    def restart(self, node):
        """Starts a killed node again on its data and unseals it: it rejoins as a standby."""
        node.start()
        self.unseal(node)

    def leader(self):
        for node in self.nodes:
            if node.alive() and node.health()[0] == 200:
                return node
        return None

    def standbys(self):
        return [node for node in self.nodes if node.alive() and node.health()[0] == 429]

    def wait_for_leader(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            leader = self.leader()
            if leader is not None:
                return leader
            time.sleep(0.05)
        raise AssertionError("no OpenBao node became active: " + "; ".join(n.log_tail()[-800:] for n in self.nodes))

    def wait_until_settled(self, timeout):
        """Every live node unsealed, one active and the rest standbys that know who is active."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            live = [node for node in self.nodes if node.alive()]
            states = [node.health()[0] for node in live]
            if (states.count(200) == 1 and states.count(429) == len(live) - 1 and self._standbys_know_leader()
                    and self._voters() == len(self.nodes)):
                return self.leader()
            time.sleep(0.1)
        raise AssertionError("the OpenBao cluster did not settle: " + repr(
            [(node.name, node.health()) for node in self.nodes if node.alive()]))

    def _voters(self):
        """How many nodes the raft configuration counts as voters: a joined node is not one until
        autopilot promotes it, and the cluster cannot elect without a majority of them."""
        leader = self.leader()
        if leader is None:
            return 0
        status, answer = self.vault(leader).request("GET", "sys/storage/raft/configuration", expect=None)
        if status != 200:
            return 0
        return sum(1 for server in answer["data"]["config"]["servers"] if server.get("voter"))

    def _standbys_know_leader(self):
        for node in self.standbys():
            status, answer = Vault(node.addr, self.token).request("GET", "sys/leader", expect=None)
            if status != 200 or not answer or not answer.get("leader_address"):
                return False
        return True

    def stop(self):
        for node in self.nodes:
            node.kill()
