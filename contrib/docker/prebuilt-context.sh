#!/usr/bin/env bash
# prebuilt-context.sh BINARY CONTEXT: a build context for the Containerfile's `prebuilt` target.
# Copies BINARY to CONTEXT/prebuilt/usr/bin/secretsfs and, when it links the Swift runtime
# dynamically (a build without --static-swift-stdlib), the toolchain libraries `ldd` names, at
# the same paths, so the binary's run path finds them in the image. System libraries (libfuse3,
# libc) come from the image's Debian packages. The copy loses its debug information.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 BINARY CONTEXT" >&2; exit 2; }
binary=$1 context=$2
[ -x "$binary" ] || { echo "error: $binary is not an executable" >&2; exit 1; }
install -D -m 0755 "$binary" "$context/prebuilt/usr/bin/secretsfs"
# A debug build carries ~40 MB of DWARF; the symbols stay (backtraces keep their names).
if command -v strip >/dev/null; then strip --strip-debug "$context/prebuilt/usr/bin/secretsfs"; fi
ldd "$binary" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | while read -r lib; do
    case $lib in
        /lib/* | /usr/lib/* | /lib64/*) ;;  # from Debian packages in the image
        *) install -D -m 0644 "$lib" "$context/prebuilt$lib" ;;
    esac
done
if ldd "$binary" | grep -q 'not found'; then
    echo "error: $binary has libraries ldd cannot find:" >&2
    ldd "$binary" | grep 'not found' >&2
    exit 1
fi
