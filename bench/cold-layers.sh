#!/usr/bin/env bash
# Issue 28's cold Vault read, layer by layer (bench/cold-layers.swift), beside Python's own direct GET,
# against one OpenBao dev server: where the mount's miss spends its time without FUSE.
#   bench/cold-layers.sh [READS_PER_ROUND] [ROUNDS]     (default 1000 4)
#   ONLY=ahc|store|cache PERF="perf record -F 4999 -g -o F" bench/cold-layers.sh ...   one layer, profiled
# The Swift file needs the package's internal modules, so it becomes a target for the run: the script
# adds it to Package.swift, builds it (release), and puts Package.swift back when it ends, however.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
export PATH="/opt/swift/usr/bin:$PATH"
COUNT="${1:-1000}" ROUNDS="${2:-4}"
git diff --quiet -- Package.swift || { echo "error: Package.swift has changes; commit or stash them first" >&2; exit 1; }
[ ! -e Sources/ColdLayers ] || { echo "error: Sources/ColdLayers exists (an earlier run ended early?)" >&2; exit 1; }

source scripts/lib/openbao.sh
cleanup() {
    git checkout -q -- Package.swift
    rm -rf Sources/ColdLayers
    openbao_stop
}
trap cleanup EXIT
mkdir Sources/ColdLayers
cp bench/cold-layers.swift Sources/ColdLayers/main.swift
cat >>Package.swift <<'SWIFT'
package.targets.append(
    .executableTarget(
        name: "ColdLayers",
        dependencies: [
            "SecretsBackendVault", "SecretsCore", "SecretsExecutor", "SecretsHTTP",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOPosix", package: "swift-nio"), .product(name: "Logging", package: "swift-log"),
        ]))
SWIFT
swift build -c release --product ColdLayers >&2
OPENBAO_TLS=0 openbao_start >/dev/null
PREFIX="layers$RANDOM"
PYTHONPATH=Tests/MountTests python3 - "$PREFIX" "$COUNT" <<'PY'
import os, secrets, sys
from peers import Vault
prefix, count = sys.argv[1], int(sys.argv[2])
vault = Vault(os.environ["SECRETSFS_TEST_VAULT_ADDR"], os.environ["SECRETSFS_TEST_VAULT_TOKEN"])
for i in range(count):
    vault.request("POST", f"secret/data/{prefix}/s{i}", {"data": {"value": secrets.token_hex(16)}})
PY
echo "Swift, on the event loop: AsyncHTTPClient | VaultSecretStore | cache"
${PERF:-} .build/release/ColdLayers "$COUNT" "$ROUNDS" "$PREFIX" ${ONLY:-}
echo "Python, one keep-alive http.client connection and json.loads:"
python3 - "$PREFIX" "$COUNT" "$ROUNDS" <<'PY'
import http.client, json, os, statistics, sys, time, urllib.parse
prefix, count, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
url = urllib.parse.urlsplit(os.environ["SECRETSFS_TEST_VAULT_ADDR"])
conn = http.client.HTTPConnection(url.hostname, url.port)
token = os.environ["SECRETSFS_TEST_VAULT_TOKEN"]
lat, cpu = [], []
for r in range(rounds):
    times, cpu0 = [], time.process_time()
    for i in range(count):
        t = time.perf_counter()
        conn.request("GET", f"/v1/secret/data/{prefix}/s{i}", headers={"X-Vault-Token": token})
        value = json.loads(conn.getresponse().read())["data"]["data"]["value"]
        times.append(time.perf_counter() - t)
        assert len(value) == 32
    cpu.append((time.process_time() - cpu0) / count * 1e6)
    lat.append(statistics.median(times) * 1e6)
    print(f"round {r + 1}: {lat[-1]:.0f} µs (CPU {cpu[-1]:.0f})")
print(f"Python: median latency {statistics.median(lat):.0f} µs, CPU {statistics.median(cpu):.0f} µs a read")
PY
