#!/usr/bin/env bash
# Two release binaries side by side: bench.py's cached and cold sections (--quick), alternated
# before, after, before, after against one OpenBao and one moto, so a structural change can be
# checked for regressions. Build each binary as scripts/bench does, in its own clone:
#   swift build -c release --product secretsfs --static-swift-stdlib
#   bench/before-after.sh OLD/.build/release/secretsfs NEW/.build/release/secretsfs
# moto keeps every secret each run makes, so later runs list more: compare runs next to each other.
set -uo pipefail
[ $# -eq 2 ] || { echo "usage: bench/before-after.sh BEFORE_BINARY AFTER_BINARY" >&2; exit 64; }
source "$(dirname "$0")/../scripts/lib/common.sh"
source "$ROOT/scripts/lib/openbao.sh"
source "$ROOT/scripts/lib/moto.sh"
cd "$ROOT"
W=$(mktemp -d "${TMPDIR:-/tmp}/secretsfs-ab.XXXXXX")
gcc -O2 -Wall -o "$W/readloop" bench/readloop.c || exit 1
gcc -O2 -Wall -o "$W/lifeloop" bench/lifeloop.c || exit 1
src=/usr/share/doc/libfuse3-dev/examples/hello.c
[ -f "$src" ] || src=$src.gz
case "$src" in *.gz) gzip -dc "$src" >"$W/hello.c" ;; *) cp "$src" "$W/hello.c" ;; esac
gcc -O2 -Wall -o "$W/hello" "$W/hello.c" $(pkg-config --cflags --libs fuse3) || exit 1
openbao_start >/dev/null || exit 1
moto_start >/dev/null || exit 1
trap 'openbao_stop; moto_stop; rm -rf "$W"' EXIT
for round in 1 2; do
    for side in before after; do
        bin=$1
        [ "$side" = after ] && bin=$2
        echo "=== $side, round $round: $bin"
        mkdir -p "$W/$side$round"
        python3 bench/bench.py --bin "$bin" --readloop "$W/readloop" --lifeloop "$W/lifeloop" --hello "$W/hello" \
            --workdir "$W/$side$round" --root "$ROOT" --doc /dev/null --only cached,cold --quick --no-doc 2>&1 |
            grep -E '^\| [0-9]'
    done
done
