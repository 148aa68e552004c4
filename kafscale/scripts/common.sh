# Helpers every script shares, written once. kafscale/objects/containers.py `packaged_script` puts
# this text into each script in place of its `. ./common.sh` line, at build time: a pod runs a
# script as `sh -c <text>`, with no file beside it to source. LOG_NAME names the script in its log.
# shellcheck shell=sh

log() {
    printf '%s %s: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${LOG_NAME:-kafscale}" "$*"
}

fail() {
    log "FAILED: $*"
    exit 1
}

is_number() {
    case "$1" in
        '' | *[!0-9]*) return 1 ;;
        *) return 0 ;;
    esac
}

# json_number KEY JSON: the first whole number under "KEY", bare (etcdctl -w json) or quoted
# (etcd's JSON gateway writes int64 as a string); empty when there is none.
json_number() {
    # shellcheck disable=SC2020 # each of , { } becomes a line break: a set of characters, meant
    printf '%s\n' "$2" | tr ',{}' '\n\n\n' | sed -n "s/^ *\"$1\" *: *\"\{0,1\}\([0-9][0-9]*\)\"\{0,1\} *\$/\1/p" |
        head -n 1
}
