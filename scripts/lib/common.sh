# Shared by scripts/demo, scripts/test and scripts/bench: toolchain on PATH, and what a fresh
# Debian machine with Swift lacks, installed only when missing.
export PATH=/opt/swift/usr/bin:$PATH
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# The seconds since the script started, so a slow stage shows in CI's output.
log() { printf '==> [%ss] %s\n' "$SECONDS" "$*" >&2; }

ensure_system_packages() {
    local missing=()
    command -v pkg-config >/dev/null || missing+=(pkg-config)
    pkg-config --exists fuse3 2>/dev/null || missing+=(libfuse3-dev)
    command -v fusermount3 >/dev/null || missing+=(fuse3)
    command -v getfattr >/dev/null || missing+=(attr)
    command -v curl >/dev/null || missing+=(curl)
    command -v openssl >/dev/null || missing+=(openssl)
    # gRPC's transport (the CSI plugin) compresses with zlib.
    [ -e /usr/include/zlib.h ] || missing+=(zlib1g-dev)
    # Real consumers of rendered files (Tests/MountTests/test_render.py): libpq and OpenSSH.
    command -v psql >/dev/null || missing+=(postgresql-client)
    # A real server for the database secrets engine (Tests/MountTests/test_leases.py): the tests start
    # a throwaway cluster of their own on a loopback port.
    compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
    command -v ssh-keygen >/dev/null || missing+=(openssh-client)
    # A real sshd that trusts OpenBao's SSH CA (Tests/MountTests/test_ssh_certificates.py): the tests
    # start their own on a loopback port with a config of their own; the package's service is not used.
    [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
    command -v inotifywait >/dev/null || missing+=(inotify-tools)
    # The Debian package's own check (Tests/MountTests/test_package.py).
    command -v lintian >/dev/null || missing+=(lintian)
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing ${missing[*]}"
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo=sudo
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
    [ -e /dev/fuse ] || { echo "error: /dev/fuse is missing; FUSE cannot work here" >&2; return 1; }
}

# ensure_python_packages MODULE=PIP_SPEC ...: installs each pip spec whose module does not import.
ensure_python_packages() {
    local spec module missing=()
    for spec in "$@"; do
        module=${spec%%=*}
        python3 -c "import $module" 2>/dev/null || missing+=("${spec#*=}")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        log "pip installing ${missing[*]}"
        python3 -m pip install -q --disable-pip-version-check "${missing[@]}" 2>&1 | grep -v 'Running pip as' >&2 || true
    fi
}

ensure_swift() {
    command -v swift >/dev/null || { echo "error: swift not found (expected at /opt/swift/usr/bin)" >&2; return 1; }
}

# build [debug|release]: builds the package; prints the binary's path.
build() {
    local configuration=${1:-debug}
    (cd "$ROOT" && swift build -c "$configuration" >&2) || return 1
    echo "$ROOT/.build/$configuration/secretsfs"
}

# nginx for the tests that serve TLS from the mount: Debian's own binary, unpacked under .build
# rather than installed, so no nginx service is set up or started on the machine. Prints its path.
ensure_nginx_binary() {
    local dir="$ROOT/.build/nginx" deb
    if [ ! -x "$dir/usr/sbin/nginx" ]; then
        log "fetching Debian's nginx for the TLS tests"
        mkdir -p "$dir/deb" || return 1
        (cd "$dir/deb" && apt-get download nginx >/dev/null 2>&1) \
            || { apt-get update >/dev/null 2>&1 && (cd "$dir/deb" && apt-get download nginx >/dev/null 2>&1); } \
            || { echo "error: apt-get download nginx failed" >&2; return 1; }
        deb=$(ls "$dir"/deb/nginx_*.deb | head -n 1)
        dpkg -x "$deb" "$dir" || return 1
    fi
    echo "$dir/usr/sbin/nginx"
}
