#!/bin/sh
# The scale-down Job of KafScale's managed etcd: before the StatefulSet drops its highest pods,
# remove the members at or above TARGET_REPLICAS from the cluster, one at a time, the way etcd's
# runtime-reconfiguration guide says (remove a member before its machine goes away). Members that
# are down go first, then the highest ordinal. A voter is removed only when the voters that stay
# keep a quorum of healthy members; otherwise this fails, naming the members to bring back.
# POSIX sh: runs under BusyBox ash and dash. Needs etcdctl (v3 API).
#
# Env: TARGET_REPLICAS, MEMBER_PREFIX (members are named <prefix>-<ordinal>), CLUSTER_DIR and
# BOOTSTRAP_MARKER (etcd-cluster.sh), optional CLIENT_URLS (every member there may be,
# comma-separated; default: the cluster files'), SHRINK_TIMEOUT_S (300), RETRY_INTERVAL_S,
# WAIT_LOG_INTERVAL_S, ETCDCTL.
set -eu

LOG_NAME=etcd-scale-down
# shellcheck source-path=SCRIPTDIR source=common.sh
. ./common.sh
# shellcheck source-path=SCRIPTDIR source=etcd-cluster.sh
. ./etcd-cluster.sh

# listening URLS: those of the comma-separated URLS where something answers HTTP (`wget` of
# /version is refused at once where etcdctl waits out its timeouts: seven URLs, most of them
# members that do not exist, cost 21 s a round). Every URL when the image has no wget, so that
# etcdctl decides. Only the shrink uses it: what decides a member's own start asks etcdctl alone.
listening() {
    if ! command -v wget >/dev/null 2>&1 || ! command -v timeout >/dev/null 2>&1; then
        printf '%s' "$1"
        return 0
    fi
    up=
    for url in $(printf '%s' "$1" | tr ',' ' '); do
        if timeout 3 wget -q -O /dev/null "$url/version" </dev/null >/dev/null 2>&1; then
            up="${up:+$up,}$url"
        fi
    done
    printf '%s' "$up"
}

# ordinal ENTRY: the StatefulSet ordinal of a member, from its name or, unstarted, its peer URL.
ordinal() {
    printf '%s\n' "$1" | awk -F', ' -v prefix="$MEMBER_PREFIX" '{
        name = $3
        if (name == "") { name = $4; sub(/^[a-z]+:\/\//, "", name); sub(/[.:].*$/, "", name) }
        if (index(name, prefix "-") != 1) exit
        rest = substr(name, length(prefix) + 2)
        if (rest ~ /^[0-9]+$/) print rest
    }'
}

count_healthy() {
    healthy=$(healthy_endpoints "$(listening "$1")")
    [ -n "$healthy" ] || { echo 0; return 0; }
    printf '%s\n' "$healthy" | tr ',' '\n' | wc -l | tr -d ' '
}

shrink() {
    require TARGET_REPLICAS MEMBER_PREFIX CLUSTER_DIR
    is_number "$TARGET_REPLICAS" && [ "$TARGET_REPLICAS" -ge 1 ] ||
        fail "TARGET_REPLICAS is not a positive number: '$TARGET_REPLICAS'"
    timeout_s="${SHRINK_TIMEOUT_S:-300}"
    is_number "$timeout_s" || fail "SHRINK_TIMEOUT_S is not a number: '$timeout_s'"
    started=$(date +%s)
    unanswered= # "id name" of a remove whose answer was an error: applied or not, the list tells
    while :; do
        problem=
        healthy=$(healthy_endpoints "$(listening "${CLIENT_URLS:-$(client_urls)}")")
        if [ -z "$healthy" ]; then
            if ! bootstrapped; then
                log "no member answers and the cluster never bootstrapped: nothing to remove"
                return 0
            fi
            problem="no member with quorum answers"
        elif ! list=$(member_list "$healthy" 2>&1); then
            problem="member list failed: $list"
        else
            if [ -n "$unanswered" ]; then
                # Removing the leader can answer "server stopped" although the removal was applied.
                if ! printf '%s\n' "$list" | awk -F', ' -v id="${unanswered%% *}" '$1 == id { found = 1 } END { exit !found }'; then
                    log "removed ${unanswered#* } (${unanswered%% *}): $TARGET_REPLICAS replicas wanted (applied, though its answer was an error)"
                fi
                unanswered=
            fi
            victim=
            victim_rank=
            voters=
            while IFS= read -r entry; do
                [ -n "$entry" ] || continue
                if [ "$(field "$entry" 6)" = false ]; then
                    voters="$voters$entry
"
                fi
                n=$(ordinal "$entry")
                [ -n "$n" ] && [ "$n" -ge "$TARGET_REPLICAS" ] || continue
                # Members that are down go first, then the highest ordinal.
                url=$(field "$entry" 5)
                rank=$((n + 1000))
                [ -n "$url" ] && [ -n "$(healthy_endpoints "$(listening "$url")")" ] || rank=$((n + 2000))
                if [ -z "$victim" ] || [ "$rank" -gt "$victim_rank" ]; then
                    victim=$entry
                    victim_rank=$rank
                fi
            done <<EOF
$list
EOF
            if [ -z "$victim" ]; then
                log "the membership fits $TARGET_REPLICAS replicas: nothing to remove"
                return 0
            fi
            id=$(field "$victim" 1)
            name=$(field "$victim" 3)
            if [ "$(field "$victim" 6)" = false ]; then
                remaining=$(printf '%s' "$voters" | awk -F', ' -v id="$id" '$1 != id' | wc -l | tr -d ' ')
                urls=$(printf '%s' "$voters" | awk -F', ' -v id="$id" '$1 != id && $5 != "" { printf "%s%s", s, $5; s = "," }')
                up=$(count_healthy "$urls")
                quorum=$((remaining / 2 + 1))
                if [ "$up" -lt "$quorum" ]; then
                    fail "removing ${name:-$id} would leave $up healthy of $remaining voting members, and" \
                        "quorum needs $quorum: bring the members that are down back first"
                fi
            fi
            if out=$(ctl --endpoints="$healthy" member remove "$id" 2>&1); then
                log "removed ${name:-$id} ($id): $TARGET_REPLICAS replicas wanted"
                continue
            fi
            problem="member remove ${name:-$id} failed: $out"
            unanswered="$id ${name:-$id}"
        fi
        [ $(($(date +%s) - started)) -lt "$timeout_s" ] || fail "$problem (gave up after ${timeout_s}s)"
        wait_log "waiting: $problem"
        nap
    done
}

[ "$#" -eq 0 ] || fail "usage: etcd-scale-down.sh (no arguments; TARGET_REPLICAS and the rest in env)"
shrink
