#!/bin/sh
# tests/unit/include_graph.sh - holds the module graph of design.md to the
# code: the include graph reads top-down,
#
#     main -> api -> metadata/admin/replica/controller -> log -> common
#
# with coord/ and proto/ below, and no arrow back up.  client/ (libkclient,
# the admin tool's Kafka client) sits beside coord/, on proto/ and common/;
# coord/ (kbroker-admin's group and election commands and Kafka front ends)
# sees of it only the plain-struct headers kcl_groups.h, kcl_elect.h,
# kcl_admin.h and kcl_error.h, so coord/ never reaches the Kafka protocol.
# Two tables:
#
#   direct: the folders (or single broker/*.h files) a folder's own
#     #include "..." lines may name, besides its own.  A header outside the
#     list is an arrow the design does not have.
#   reach: what a folder must not reach even through other headers (the
#     closure of its includes): proto/ nothing outside proto/, coord/ no
#     broker/ nor proto/, client/ no coord/ nor broker/, log/ no replica,
#     api or coord, and api/ neither the log, nor
#     ZooKeeper (coord/, except kc_model.h: plain data types the metadata
#     cache and the controller's reassignment entry points hand out, which
#     api/ may also name directly), nor the broker's whole context
#     (kb_broker.h); rpc/
#     (the inter-broker channel) no api, replica, log or coord: it carries
#     frames, not policy.
#
# Every folder under broker/ holding sources must have a direct rule (a new
# module says where it sits), and the files directly in broker/ (config,
# registration, the context) are checked as "broker"; main.c, the top, may
# include anything.  Each source file is one check; a failing one prints
# the file, the line or header, and the arrow.
#
# Run by `make check` with $srcdir set; exits 1 on any violation.
set -u
top=${srcdir:-.}
[ -d "$top/broker" ] && [ -d "$top/proto" ] || { echo "include_graph: no sources under $top" >&2; exit 99; }

direct='
proto:
common:
coord: common client/kcl_groups.h client/kcl_error.h client/kcl_admin.h client/kcl_elect.h
client: common proto
broker/log: common proto broker/kb_config.h
broker/net: common
broker/rpc: common proto broker/net
broker/metadata: common coord
broker/admin: common proto coord broker/metadata broker/kb_config.h broker/kb_topic_config.h
broker/replica: common proto coord broker/log broker/net broker/rpc broker/kb_config.h broker/kb_topic_config.h
broker/controller: common coord proto broker/rpc broker/kb_config.h broker/kb_broker.h broker/kb_topic_config.h
broker/metrics: common coord broker/log broker/net broker/replica broker/group broker/controller broker/kb_broker.h broker/kb_registration.h broker/kb_config.h broker/kb_control_requests.h
broker/api: common proto coord/kc_model.h broker/metadata broker/admin broker/replica broker/net broker/metrics broker/group broker/kb_config.h broker/kb_topic_config.h broker/controller/kb_leader_election.h
broker/group: common proto coord broker/metadata broker/admin broker/replica broker/kb_config.h
broker: common proto coord broker/log broker/net broker/replica broker/metadata broker/rpc broker/controller broker/kb_broker.h broker/kb_config.h broker/kb_config_internal.h broker/kb_registration.h broker/kb_session_record.h broker/kb_topic_config.h
'

# folder: prefixes it must not reach; "!header" exempts one header.
reach='
proto: common coord broker
common: coord proto broker
coord: broker proto
client: coord broker
broker/log: broker/replica broker/api broker/admin broker/metadata broker/controller coord
broker/net: broker/api broker/replica broker/log coord proto broker/kb_config.h
broker/rpc: broker/api broker/replica broker/log coord
broker/api: broker/log coord !coord/kc_model.h broker/kb_broker.h
broker/group: broker/log broker/api broker/net broker/kb_broker.h
'

tmp=${TMPDIR:-/tmp}/include_graph.$$
trap 'rm -f "$tmp" "$tmp.seen" "$tmp.next"' EXIT
bad=0
checked=0

rule() { printf '%s\n' "$2" | sed -n "s#^$1:##p"; }

# matches HEADER ENTRY: a folder prefix or a single header.
matches() {
    case $2 in
    *.h) [ "$1" = "$2" ] ;;
    *) case $1 in "$2"/*) return 0 ;; *) return 1 ;; esac ;;
    esac
}

# The project headers a file includes, one "line header" per line.
includes_of() {
    grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[^"]*/[^"]*"' "$1" 2>/dev/null |
        sed 's#^\([0-9]*\):[^"]*"\([^"]*\)".*#\1 \2#'
}

direct_ok() { # FOLDER HEADER
    if [ "$1" = broker ]; then
        case $2 in broker/*/*) ;; broker/*) return 0 ;; esac # its own: broker/x.h
    else
        case $2 in "$1"/*) return 0 ;; esac
    fi
    for m in $(rule "$1" "$direct"); do matches "$2" "$m" && return 0; done
    return 1
}

reach_ok() { # FOLDER HEADER
    ok=0
    for m in $(rule "$1" "$reach"); do
        case $m in
        !*) [ "$2" = "${m#!}" ] && return 0 ;;
        *) matches "$2" "$m" && ok=1 ;;
        esac
    done
    [ $ok = 0 ]
}

# Every header reachable from FILE (generated ones outside $top skipped).
closure() {
    : >"$tmp.seen"
    includes_of "$1" | cut -d' ' -f2 >"$tmp.next"
    while [ -s "$tmp.next" ]; do
        h=$(head -n 1 "$tmp.next")
        sed -i 1d "$tmp.next"
        grep -qxF "$h" "$tmp.seen" && continue
        echo "$h" >>"$tmp.seen"
        [ -f "$top/$h" ] && includes_of "$top/$h" | cut -d' ' -f2 >>"$tmp.next"
    done
    cat "$tmp.seen"
}

check_file() { # FOLDER FILE
    folder=$1 f=$2 file_bad=0
    checked=$((checked + 1))
    includes_of "$f" >"$tmp"
    while read -r line header; do
        if ! direct_ok "$folder" "$header"; then
            echo "${f#"$top"/}:$line: $folder must not include $header"
            file_bad=1
        fi
    done <"$tmp"
    if [ -n "$(rule "$folder" "$reach")" ]; then
        for h in $(closure "$f"); do
            reach_ok "$folder" "$h" && continue
            echo "${f#"$top"/}: $folder must not reach $h (through the headers it includes)"
            file_bad=1
        done
    fi
    bad=$((bad + file_bad))
}

for folder in $(printf '%s\n' "$direct" | sed -n 's#^\([^:]*\):.*#\1#p'); do
    [ "$folder" = broker ] && continue
    for f in "$top/$folder"/*.c "$top/$folder"/*.h; do
        [ -f "$f" ] && check_file "$folder" "$f"
    done
done
for f in "$top"/broker/*.c "$top"/broker/*.h; do
    [ -f "$f" ] && [ "${f##*/}" != main.c ] && check_file broker "$f"
done

# A module folder without a rule would go unchecked.
for d in "$top"/broker/*/; do
    folder=broker/$(basename "$d")
    [ -n "$(find "$d" -maxdepth 1 -name '*.[ch]' -print -quit)" ] || continue
    if ! printf '%s\n' "$direct" | grep -q "^$folder:"; then
        echo "$folder: no rule in tests/unit/include_graph.sh (say where the new module sits)"
        checked=$((checked + 1))
        bad=$((bad + 1))
    fi
done

# In Check's summary format, which scripts/test.sh counts.
echo "include_graph: Checks: $checked, Failures: $bad, Errors: 0"
[ "$bad" -eq 0 ]
