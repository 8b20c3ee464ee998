# scripts/build.sh - one build directory per purpose, never shared.  Sourced
# by scripts/quickstart.sh and scripts/test.sh.
#
#   kb_build DIR [CONFIGURE_ARG...]
#
# builds kbroker out of tree in DIR (relative to the repository root) with
# exactly these configure arguments.  The arguments are recorded in
# DIR/.kb-configure-args; a directory configured differently (or by hand) is
# wiped and configured again, because make alone would keep the objects
# compiled with the old flags (a test run would then use binaries without
# the sanitizers it claims, or a quickstart binaries with them).
# Returns non-zero with a message on failure.
kb_build() {
    local dir=$1
    shift
    local want="$*" stamp="$dir/.kb-configure-args"
    if [ ! -x configure ]; then
        autoreconf -fi || { echo "build: autoreconf failed" >&2; return 1; }
    fi
    if [ -d "$dir" ] && { [ ! -f "$dir/config.status" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; }; then
        echo "build: $dir/ was configured differently; configuring it again with: ${want:-(defaults)}"
        rm -rf "$dir"
    fi
    mkdir -p "$dir"
    if [ ! -f "$dir/config.status" ]; then
        (cd "$dir" && ../configure -q "$@") || { echo "build: configure failed in $dir/" >&2; return 1; }
        echo "$want" >"$stamp"
    fi
    make -C "$dir" -j2 >/dev/null || make -C "$dir" || { echo "build: the build in $dir/ failed" >&2; return 1; }
}

# True when the program at $1 is linked with AddressSanitizer.  ldd's output
# is read whole: `ldd | grep -q` can fail under pipefail, because grep -q
# exits at the first match and the loader still writing the later lines
# dies of SIGPIPE (exit 141), which is how a CI run once stopped here.
kb_has_asan() {
    local libs
    libs=$(ldd "$1" 2>/dev/null) || return 1
    [[ $libs == *libasan* ]]
}
