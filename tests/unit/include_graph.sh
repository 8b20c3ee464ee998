#!/bin/sh
# tests/unit/include_graph.sh - holds the module graph of design.md to the
# code: the include graph reads top-down,
#
#     main -> api -> metadata/admin/replica/controller -> log -> common
#
# with coord/ and proto/ below, and no arrow back up.  Each folder lists the
# folders its #include "..." lines may name (its own always allowed); a
# header outside that list is an arrow the design does not have, and fails
# the test with the file, the line and the folder it reached.  The top-level
# broker/*.h files (the config, the topic-config table, the broker context)
# are named one by one where a layer may use them.
#
# Run by `make check` with $srcdir set; prints every violation, exits 1 if
# any.  Each file is one check.
set -u
top=${srcdir:-.}
[ -d "$top/broker" ] && [ -d "$top/proto" ] || { echo "include_graph: no sources under $top" >&2; exit 99; }

# folder: what it may include besides itself.  "broker/x.h" names one file.
rules='
proto:
common:
coord: common
broker/log: common proto broker/kb_config.h
broker/net: common
broker/metadata: common coord
broker/admin: common proto coord broker/metadata broker/kb_config.h broker/kb_topic_config.h
broker/replica: common proto coord broker/log broker/net broker/kb_config.h broker/kb_topic_config.h
broker/controller: common coord broker/kb_config.h broker/kb_broker.h
broker/metrics: common coord broker/log broker/net broker/replica broker/kb_broker.h broker/kb_registration.h broker/kb_config.h
broker/api: common proto broker/metadata broker/admin broker/replica broker/net broker/metrics broker/kb_config.h broker/kb_topic_config.h
'

bad=0
checked=0
# allowed FOLDER HEADER: is HEADER (a path like broker/log/kb_log.h) allowed in FOLDER?
allowed() {
    folder=$1 header=$2
    case $header in "$folder"/*) return 0 ;; esac
    may=$(printf '%s\n' "$rules" | sed -n "s#^$folder:##p")
    for m in $may; do
        case $m in
        *.h) [ "$header" = "$m" ] && return 0 ;;
        *) case $header in "$m"/*) return 0 ;; esac ;;
        esac
    done
    return 1
}

for folder in $(printf '%s\n' "$rules" | sed -n 's#^\([^:]*\):.*#\1#p'); do
    [ -d "$top/$folder" ] || continue
    for f in "$top/$folder"/*.c "$top/$folder"/*.h; do
        [ -f "$f" ] || continue
        checked=$((checked + 1))
        file_bad=0
        # Only project headers: #include "dir/file.h".
        grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" |
            sed 's#^\([0-9]*\):[^"]*"\([^"]*\)".*#\1 \2#' >"${TMPDIR:-/tmp}/include_graph.$$"
        while read -r line header; do
            case $header in */*) ;; *) continue ;; esac # a sibling by bare name
            if ! allowed "$folder" "$header"; then
                echo "${f#"$top"/}:$line: $folder must not include $header"
                file_bad=1
            fi
        done <"${TMPDIR:-/tmp}/include_graph.$$"
        bad=$((bad + file_bad))
    done
done
rm -f "${TMPDIR:-/tmp}/include_graph.$$"

# In Check's summary format, which scripts/test.sh counts.
echo "include_graph: Checks: $checked, Failures: $bad, Errors: 0"
[ "$bad" -eq 0 ]
