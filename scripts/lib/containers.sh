#!/usr/bin/env bash
# Container prerequisites for Tests/MountTests/test_containers.py: podman and runc from Debian,
# a Debian base image made with debootstrap (no registry is reachable), and the image's runtime
# layer (fuse3 from Debian's mirror) built once. Everything made here is a cache kept between
# runs on the same machine, under names that do not depend on the date:
#   /var/tmp/secretsfs-containers/debian-bookworm-minbase.tar   the debootstrap root file system
#   localhost/debian:bookworm                                   that tarball, imported
#   localhost/secretsfs-runtime:cache                           Containerfile's `runtime` stage
#   localhost/secretsfs-systemd:cache                           the base with systemd as PID 1 and
#                                                               fuse3 (Tests/MountTests/test_systemd.py)
# Source it and call ensure_containers, or run it: `scripts/lib/containers.sh ensure`.
# Fails loudly (non-zero, one line on stderr) when podman cannot work here.

CT_CACHE=${SECRETSFS_CT_CACHE:-/var/tmp/secretsfs-containers}
CT_BASE_IMAGE=localhost/debian:bookworm
CT_RUNTIME_IMAGE=localhost/secretsfs-runtime:cache
CT_SYSTEMD_IMAGE=localhost/secretsfs-systemd:cache
CT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CT_CONTAINERFILE=$CT_ROOT/contrib/docker/Containerfile
# The flags this machine needs (see contrib/docker/README.md): runc, not crun; rlimits under
# the hard limits.
CT_ENGINE_FLAGS=(--runtime /usr/sbin/runc --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)

ct_log() { printf '==> containers: %s\n' "$*" >&2; }
ct_fail() { printf 'error: containers: %s\n' "$*" >&2; return 1; }

ct_sudo() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

ensure_container_packages() {
    local missing=()
    command -v podman >/dev/null || missing+=(podman)
    [ -x /usr/sbin/runc ] || missing+=(runc)
    command -v debootstrap >/dev/null || [ -x /usr/sbin/debootstrap ] || missing+=(debootstrap)
    if [ ${#missing[@]} -gt 0 ]; then
        ct_log "installing ${missing[*]}"
        ct_sudo apt-get update -qq >&2 || ct_fail "apt-get update failed" || return 1
        DEBIAN_FRONTEND=noninteractive ct_sudo apt-get install -y -qq "${missing[@]}" >/dev/null \
            || ct_fail "apt-get install ${missing[*]} failed" || return 1
    fi
    [ -e /dev/fuse ] || ct_fail "/dev/fuse is missing; FUSE cannot work in a container here" || return 1
}

ensure_base_image() {
    if podman image exists "$CT_BASE_IMAGE"; then return 0; fi
    local tarball=$CT_CACHE/debian-bookworm-minbase.tar
    if [ ! -s "$tarball" ]; then
        ct_log "debootstrap --variant=minbase bookworm (1-2 minutes, once per machine)"
        mkdir -p "$CT_CACHE" || return 1
        local rootfs=$CT_CACHE/rootfs.tmp
        ct_sudo rm -rf "$rootfs"
        ct_sudo /usr/sbin/debootstrap --variant=minbase bookworm "$rootfs" >"$CT_CACHE/debootstrap.log" 2>&1 \
            || { tail -n 5 "$CT_CACHE/debootstrap.log" >&2; ct_fail "debootstrap failed (see $CT_CACHE/debootstrap.log)"; return 1; }
        ct_sudo tar -C "$rootfs" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball" \
            || ct_fail "could not pack the root file system" || return 1
        ct_sudo rm -rf "$rootfs"
    fi
    ct_log "importing $CT_BASE_IMAGE"
    podman import -q "$tarball" "$CT_BASE_IMAGE" >/dev/null || ct_fail "podman import failed" || return 1
}

# The Containerfile's `runtime` stage (base + fuse3 from Debian's mirror), tagged so that its
# layer stays in podman's cache: test builds of the `package` stage then reuse it instead of
# running apt-get every time. A changed Containerfile makes podman build the layer again.
ensure_runtime_image() {
    local context
    context=$(mktemp -d) || return 1
    ct_log "building the runtime layer (cached after the first time)"
    podman build "${CT_ENGINE_FLAGS[@]}" --network host --layers -q \
        --build-arg BASE="$CT_BASE_IMAGE" --target runtime -t "$CT_RUNTIME_IMAGE" \
        -f "$CT_CONTAINERFILE" "$context" >/dev/null
    local rc=$?
    rmdir "$context"
    [ $rc -eq 0 ] || ct_fail "podman build --target runtime failed"
}

# A Debian machine to install the package on, booted by systemd (`podman run --systemd=always`):
# systemd, fuse3 and what a fresh install has (no secretsfs). Built once; a changed recipe below
# makes podman build it again.
ensure_systemd_image() {
    local context
    context=$(mktemp -d) || return 1
    printf '%s\n' "FROM $CT_BASE_IMAGE" \
        "RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends systemd systemd-sysv dbus fuse3 ca-certificates && rm -rf /var/lib/apt/lists/*" \
        "STOPSIGNAL SIGRTMIN+3" 'CMD ["/sbin/init"]' >"$context/Containerfile"
    ct_log "building the systemd image (cached after the first time)"
    podman build "${CT_ENGINE_FLAGS[@]}" --network host --layers -q -t "$CT_SYSTEMD_IMAGE" \
        -f "$context/Containerfile" "$context" >/dev/null
    local rc=$?
    rm -rf "$context"
    [ $rc -eq 0 ] || ct_fail "podman build of the systemd image failed"
}

ensure_containers() {
    ensure_container_packages || return 1
    podman info >/dev/null 2>&1 || ct_fail "podman does not work here: $(podman info 2>&1 | tail -n 1)" || return 1
    ensure_base_image || return 1
    ensure_runtime_image || return 1
    ensure_systemd_image || return 1
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    case ${1:-ensure} in
        ensure) ensure_containers ;;
        *) echo "usage: $0 [ensure]" >&2; exit 2 ;;
    esac
fi
