"""Section 6: `secretsfs mount` started until a file reads, on the local store and on Vault, with
Vault's own answer and a bare run of the binary for reference."""

import http.client
import json
import secrets
import subprocess
import time
import urllib.parse

from harness import log, median


def run(bench):
    rounds = 3 if bench.quick else 5
    log(f"6: start to ready, local and Vault, {rounds} interleaved rounds")
    bench.vault.put("bench/ready", {"value": secrets.token_hex(16)})
    bench.cli("put", "bench/ready", input=bench.value32)
    url = urllib.parse.urlsplit(bench.vault.addr)
    samples = {"local": [], "vault": [], "vault_http": [], "exec": []}
    for _ in range(rounds):
        for name in ("local", "vault"):
            if name == "local":
                daemon = bench.mount("ready-local")
            else:
                daemon = bench.vault_mount("ready-vault")
            samples[name].append(daemon.start(probe="bench/ready") * 1e3)
            daemon.cleanup()
        # The backend's own answer: a new connection and one GET, as the daemon's first read makes.
        began = time.perf_counter()
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
        connection.request("GET", "/v1/secret/data/bench/ready", headers={"X-Vault-Token": bench.vault.token})
        response = connection.getresponse()
        answer = json.loads(response.read())
        if response.status != 200 or "data" not in answer:
            raise RuntimeError(f"OpenBao: {response.status}")
        connection.close()
        samples["vault_http"].append((time.perf_counter() - began) * 1e3)
        # What any run of the binary costs before it does anything: exec, dyld, Swift runtime.
        began = time.perf_counter()
        subprocess.run([bench.bin, "--help"], capture_output=True, check=True)
        samples["exec"].append((time.perf_counter() - began) * 1e3)
    bench.results["ready"] = {name: median(values) for name, values in samples.items()}
    bench.results["ready_samples"] = samples
