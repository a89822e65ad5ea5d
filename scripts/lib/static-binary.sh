# shellcheck shell=bash
# The static secretsfs (Swift runtime and Foundation linked in, as the package and the image ship it)
# and the supervisor program beside it, from the objects of a release build made already: a second
# link, no second compile. Source it after common.sh, then: static_binary_from_release_build OUT PRODUCT
#
# Why not `swift build --static-swift-stdlib`: SwiftPM passes -static-stdlib to every module's compile
# command too (the driver then reads the toolchain's static resource folder), so after a release build
# without it llbuild compiles every module again. The objects themselves do not differ; only their
# autolink entries do: the static Foundation's module files name the libraries a static link needs
# besides their own (_FoundationICU, _FoundationCShims, swiftSynchronization), the shared ones leave
# those to the .so files. One empty object compiled against the static module files carries that
# list into the link, so the toolchain, not this script, says what the static link needs.

# static_binary_from_release_build OUT PRODUCT: SwiftPM's own link command for PRODUCT (secretsfs by
# default), read from its manifest (.build/release.yaml), run again with -static-stdlib and OUT as
# the output.
static_binary_from_release_build() {
    local out=$1 product=${2:-secretsfs} work rc modules
    # What the program imports of the toolchain: the supervisor program stays without Foundation.
    case $product in
        secretsfs-supervise) modules="Dispatch Synchronization" ;;
        *) modules="Foundation FoundationEssentials FoundationInternationalization Dispatch Synchronization" ;;
    esac
    work=$(mktemp -d) || return 1
    # shellcheck disable=SC2086 # one word per module
    printf 'import %s\n' $modules >"$work/autolink.swift"
    swiftc -static-stdlib -O -parse-as-library -module-name SecretsfsStaticLink -c "$work/autolink.swift" \
        -o "$work/autolink.o" >&2 || { rm -rf "$work"; echo "error: compiling the autolink object failed" >&2; return 1; }
    python3 - "$ROOT/.build/release.yaml" "$out" "$work/autolink.o" "$product" <<'EOF'
import json, os, re, sys
manifest, out, autolink, product = sys.argv[1:]
args, inside = None, False
with open(manifest) as f:
    for line in f:
        # The product's name, then the target triple (four parts, none with a dash).
        if re.match(r'  "C\.' + re.escape(product) + r'(-[^-"]+){4}-release\.exe":$', line):
            inside = True
        elif inside and line.startswith("    args: "):
            args = json.loads(line[len("    args: "):])
            break
if args is None or "-o" not in args:
    sys.exit(f"error: no link command for {product} in {manifest}")
args[args.index("-o") + 1] = out
args[1:1] = ["-static-stdlib", autolink]
os.execv(args[0], args)
EOF
    rc=$?
    rm -rf "$work"
    [ $rc -eq 0 ] || { echo "error: the static link of $product failed" >&2; return 1; }
    # A library of the toolchain left dynamic would be missing wherever the package is installed.
    if ldd "$out" | grep -E 'libswift|libFoundation|libdispatch|libBlocksRuntime|lib_Foundation' >&2; then
        echo "error: $out still loads the Swift runtime's shared libraries" >&2
        return 1
    fi
}
