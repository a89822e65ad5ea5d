#!/usr/bin/env bash
# Two binaries side by side: scripts/bench's cached and cold sections (or those ONLY names, e.g.
# ONLY=lifetime for readers while the worker is killed), --quick, alternated before, after, before,
# after, so a structural change can be checked for regressions. Each run starts its own OpenBao and
# moto. Build each binary as scripts/bench does, in its own clone:
#   swift build -c release --product secretsfs --static-swift-stdlib
#   [ONLY=cached,cold] bench/before-after.sh OLD/.build/release/secretsfs NEW/.build/release/secretsfs
set -uo pipefail
[ $# -eq 2 ] || { echo "usage: [ONLY=SECTIONS] bench/before-after.sh BEFORE_BINARY AFTER_BINARY" >&2; exit 64; }
root=$(cd "$(dirname "$0")/.." && pwd)
for round in 1 2; do
    for side in before after; do
        bin=$1
        [ "$side" = after ] && bin=$2
        echo "=== $side, round $round: $bin"
        SECRETSFS_BIN="$bin" "$root/scripts/bench" --quick --only "${ONLY:-cached,cold}" 2>/dev/null | grep -E '^\| [0-9]'
    done
done
