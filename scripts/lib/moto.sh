# shellcheck shell=bash
# moto (AWS Secrets Manager, STS, IAM and EC2 instance metadata, for real enough) for the tests.
#
#   source scripts/lib/moto.sh
#   moto_start            # exports SECRETSFS_TEST_AWS_ENDPOINT=http://127.0.0.1:PORT
#   trap moto_stop EXIT
#
# The server listens on 127.0.0.1 only, on a free port; its log is in $MOTO_DIR/moto.log.

MOTO_PID=""
MOTO_DIR=""

_moto_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

moto_start() {
    if ! command -v moto_server >/dev/null 2>&1; then
        echo "moto: moto_server not found; installing moto[server] with pip" >&2
        python3 -m pip install --quiet 'moto[server]' >&2 || { echo "moto: pip install failed" >&2; return 1; }
        hash -r
    fi
    MOTO_DIR="$(mktemp -d "${TMPDIR:-/tmp}/secretsfs-moto.XXXXXX")"
    local port attempt
    port="$(_moto_free_port)" || { echo "moto: cannot find a free port" >&2; return 1; }
    moto_server -H 127.0.0.1 -p "$port" >"$MOTO_DIR/moto.log" 2>&1 &
    MOTO_PID=$!
    # Ready when the moto API answers; give up after about 30 s.
    for attempt in $(seq 1 150); do
        if curl -fsS -o /dev/null "http://127.0.0.1:$port/moto-api/" 2>/dev/null; then
            export SECRETSFS_TEST_AWS_ENDPOINT="http://127.0.0.1:$port"
            echo "moto: listening on $SECRETSFS_TEST_AWS_ENDPOINT (pid $MOTO_PID, log $MOTO_DIR/moto.log)" >&2
            return 0
        fi
        if ! kill -0 "$MOTO_PID" 2>/dev/null; then
            echo "moto: server exited at start; its log:" >&2
            tail -n 20 "$MOTO_DIR/moto.log" >&2
            MOTO_PID=""
            return 1
        fi
        sleep 0.2
    done
    echo "moto: server did not answer within 30 s" >&2
    moto_stop
    return 1
}

# Safe to call more than once and from a trap.
moto_stop() {
    if [ -n "$MOTO_PID" ]; then
        kill "$MOTO_PID" 2>/dev/null || true
        wait "$MOTO_PID" 2>/dev/null || true
        MOTO_PID=""
    fi
    if [ -n "$MOTO_DIR" ] && [ -d "$MOTO_DIR" ]; then
        rm -rf "$MOTO_DIR"
        MOTO_DIR=""
    fi
    unset SECRETSFS_TEST_AWS_ENDPOINT
}
