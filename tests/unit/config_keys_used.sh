#!/bin/sh
# tests/unit/config_keys_used.sh - the key table in broker/kb_config_keys.c says,
# for every server.properties key, whether kbroker uses it (KB_USED) or only
# accepts it (KB_UNUSED); the man page repeats that to operators.  This test
# holds both to the code:
#   - a key stored in a field (F(field)) that some C source besides
#     the configuration code (broker/kb_config_*.c) reads (cfg->field,
#     cfg.field) must be KB_USED, and a KB_USED one must be read somewhere
#     (kb_config_derive.c's cross-key checks of values count: "Used.
#     Checked only.");
#   - a key kept raw (R(field)) is "used" exactly when the configuration
#     code derives something from raw.field;
#   - a used key not kept at all (NOF) must at least have a validator;
#   - man/kbroker.properties.5 says "not yet used" for exactly the unused keys.
# Run by `make check` with $srcdir set; prints every mismatch, exits 1 if any.
set -u
top=${srcdir:-.}
table="$top/broker/kb_config_keys.c"
config_code=$(find "$top/broker" -maxdepth 1 -name 'kb_config_*.c')
man="$top/man/kbroker.properties.5"
[ -r "$table" ] && [ -r "$man" ] || { echo "config_keys_used: cannot read $table or $man" >&2; exit 99; }

# One "name where check use" line per table row (rows may span two lines).
rows=$(awk '
    /^static const kb_config_key_t keys\[\] = \{/ { on = 1; next }
    on && /^\};/ { on = 0 }
    on && /^[ \t]*\/\*.*\*\/[ \t]*$/ { next }   # a comment line between rows
    on {
        row = row $0
        if ($0 !~ /\},[ \t]*$/) next
        if (match(row, /\{"[^"]+"/)) {
            name = substr(row, RSTART + 2, RLENGTH - 3)
            n = split(row, f, ",")
            where = f[3]; gsub(/[ \t]/, "", where)
            use = f[n - 1]; gsub(/[ \t}]/, "", use)
            check = f[n - 2]; gsub(/[ \t]/, "", check)
            print name, where, check, use
        }
        row = ""
    }' "$table")
[ -n "$rows" ] || { echo "config_keys_used: no key table found in $table" >&2; exit 99; }

# Sources that act on a value; the configuration code itself only checks
# values against each other, which makes a key "used" only when the table says so.
# Only broker/ can read kb_config_t: coord/ and proto/ never include
# kb_config.h, and their own structs share field names with it
# (kc_broker_info_t.rpc_port), which would count as reads here.
outside=$(find "$top/broker" -name '*.c' ! -name 'kb_config_*.c')
bad=0
checked=0
complain() { echo "$1"; bad=$((bad + 1)); }

while read -r name where check use; do
    checked=$((checked + 1))
    case $where in
    F\(*)
        field=${where#F(}; field=${field%)}
        # shellcheck disable=SC2086
        if grep -Eq "(->|\.)$field\b" $outside; then
            [ "$use" = KB_USED ] || complain "$name: the key table says KB_UNUSED, but cfg->$field is read in the code"
        elif ! grep -Eq "(->|\.)$field\b" $config_code; then
            [ "$use" = KB_UNUSED ] || complain "$name: the key table says KB_USED, but nothing reads cfg->$field"
        fi
        ;;
    R\(*)
        field=${where#R(}; field=${field%)}
        if grep -Eq "raw\.$field\b" $config_code; then read_it=KB_USED; else read_it=KB_UNUSED; fi
        [ "$read_it" = "$use" ] ||
            complain "$name: the key table says $use, but raw.$field is $( [ $read_it = KB_USED ] && echo read || echo never read) by broker/kb_config_*.c"
        ;;
    NOF)
        [ "$use" = KB_UNUSED ] || [ "$check" != NULL ] ||
            complain "$name: marked KB_USED but neither stored nor validated"
        ;;
    *) complain "$name: cannot parse the table row ($where)" ;;
    esac
    # The man page entry: ".B name" followed by its description line.
    desc=$(awk -v key="$name" 'prev == ".TP" && $0 == ".B " key { getline; print; exit } { prev = $0 }' "$man")
    if [ -z "$desc" ]; then
        complain "$name: no entry in $man"
    elif [ "$use" = KB_USED ] && echo "$desc" | grep -q "not yet used"; then
        complain "$name: used by kbroker, but the man page says \"not yet used\""
    elif [ "$use" = KB_UNUSED ] && ! echo "$desc" | grep -q "not yet used"; then
        complain "$name: not used by kbroker, but the man page does not say \"not yet used\""
    fi
done <<EOF
$rows
EOF

# In Check's summary format, which scripts/test.sh counts.
echo "config_keys_used: Checks: $checked, Failures: $bad, Errors: 0"
[ "$bad" -eq 0 ]
