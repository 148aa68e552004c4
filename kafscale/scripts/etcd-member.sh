#!/bin/sh
# etcd membership for KafScale's managed etcd, the way etcd's runtime-reconfiguration guide says.
# POSIX sh: runs under BusyBox ash and dash. Needs etcdctl (v3 API).
#
#   join     init container: decide how this member starts and write etcd's config file.
#   restore  init container after join (and etcd-snapshot-s3.sh fetch), when backups are on:
#            restore the fetched snapshot into the data dir, if join asked for a restore.
#   promote  beside etcd: promote this member from learner to voter once it has caught up.
#   shrink   a Job before a scale-down: remove the members at or above TARGET_REPLICAS.
#
# join, for a member with no data:
#   - some member has quorum: this member's stale entry (if any) is removed and it is added again
#     as a learner, then started as `existing` (a member that lost its data never restarts under
#     its old identity: etcd-io/etcd#7445). etcd allows one learner at a time, so members join
#     one by one. An entry that never started while the cluster is still bootstrapping (no
#     marker) is this member's own bootstrap slot: it starts as `new`.
#   - no member has quorum and the cluster never bootstrapped (no BOOTSTRAP_MARKER): `new`, with
#     the full initial cluster.
#   - no member has quorum and the cluster bootstrapped before: wait, never `new` (a fresh empty
#     cluster would serve in place of the lost one), unless the whole cluster is gone: no member
#     answers at all (not even `endpoint status`, which a running member answers without quorum)
#     for LOST_AFTER_S. Then, with backups on (RESTORE_DIR set), join asks for a restore and
#     `restore` brings back the snapshot that the fetch step took: the newest whose checksum
#     matches, the same object for every member. Each member restores it under the cluster token
#     `<token>-restore-<snapshot name>`, so members that restored different snapshots can never
#     form one cluster (their cluster IDs differ). Without backups, a lost cluster waits, unless
#     START_EMPTY_WHEN_LOST=1 (then, as when no snapshot is usable, every member starts a new
#     empty cluster under `<token>-empty`). A member restored without quorum serves no client, so
#     its peers see no answer either and restore too; a member that finds quorum back joins it.
# A member with data starts from it (etcd then ignores the initial-cluster settings), unless a
# member with quorum says it is no longer in the cluster: that data is cleared and it joins.
#
# Env (all): CLUSTER_DIR (files `initial-cluster` and `client-urls`), BOOTSTRAP_MARKER (a file that
# exists once the cluster bootstrapped). join: MEMBER_NAME, MEMBER_PEER_URL, MEMBER_CLIENT_URL,
# DATA_DIR, CONFIG_FILE, ETCD_CONFIG (every other setting, YAML; its initial-cluster-token is the
# cluster's), optional RESTORE_DIR (backups on), START_EMPTY_WHEN_LOST (0), LOST_AFTER_S (15);
# restore: as join, and etcdutl (or, etcd 3.4, etcdctl) for the restore. promote: MEMBER_PEER_URL,
# MEMBER_CLIENT_URL, VOTING_FILE (optional: created once this member votes, for the readiness
# probe). shrink: TARGET_REPLICAS, MEMBER_PREFIX (members are named <prefix>-<ordinal>),
# CLIENT_URLS (every member there may be, comma-separated), SHRINK_TIMEOUT_S (default 300).
# Optional: RETRY_INTERVAL_S (2), WAIT_LOG_INTERVAL_S (30: while waiting, how often to say why),
# ETCDCTL (etcdctl).
set -eu

ETCDCTL="${ETCDCTL:-etcdctl}"
RETRY_INTERVAL_S="${RETRY_INTERVAL_S:-2}"
WAIT_LOG_INTERVAL_S="${WAIT_LOG_INTERVAL_S:-30}"
BOOTSTRAP_MARKER="${BOOTSTRAP_MARKER:-}"
RESTORE_DIR="${RESTORE_DIR:-}"
START_EMPTY_WHEN_LOST="${START_EMPTY_WHEN_LOST:-0}"
LOST_AFTER_S="${LOST_AFTER_S:-15}"
RESTORE_CANDIDATES="${RESTORE_CANDIDATES:-24}"
ETCDUTL="${ETCDUTL:-etcdutl}"
export ETCDCTL_API=3

log() {
    printf '%s etcd-member: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"
}

fail() {
    log "FAILED: $*"
    exit 1
}

require() {
    for name in "$@"; do
        eval "value=\${$name:-}"
        [ -n "$value" ] || fail "$name is empty"
    done
}

is_number() {
    case "$1" in
        '' | *[!0-9]*) return 1 ;;
        *) return 0 ;;
    esac
}

ctl() {
    "$ETCDCTL" --dial-timeout=1s --command-timeout=5s "$@"
}

bootstrapped() {
    [ -n "$BOOTSTRAP_MARKER" ] && [ -f "$BOOTSTRAP_MARKER" ]
}

# The members' client URLs, comma-separated, as the cluster ConfigMap lists them, this member's
# own left out (it is not serving while this script decides for it).
client_urls() {
    tr -d ' \n' <"$CLUSTER_DIR/client-urls" | tr ',' '\n' |
        awk -v own="${MEMBER_CLIENT_URL:-}" '$0 != "" && $0 != own { printf "%s%s", sep, $0; sep = "," }'
}

# healthy_endpoints URLS: those of the comma-separated URLS that answer a linearizable read (a
# leader and a quorum behind it), comma-separated; empty when none does. Not `endpoint health`:
# etcdctl 3.5 and later call any alarm unhealthy, so under NOSPACE no member would rejoin. A
# learner refuses the read, so it never counts.
healthy_endpoints() {
    healthy=
    for url in $(printf '%s' "$1" | tr ',' ' '); do
        if "$ETCDCTL" --endpoints="$url" --dial-timeout=1s --command-timeout=3s \
            get --consistency=l /kafscale/etcd-member/health-check </dev/null >/dev/null 2>&1; then
            healthy="${healthy:+$healthy,}$url"
        fi
    done
    printf '%s' "$healthy"
}

# peer_urls: every member's peer URL in the initial-cluster file; without_own: this one's left out.
peer_urls() {
    tr -d ' \n' <"$CLUSTER_DIR/initial-cluster" | tr ',' '\n' | sed -n 's/^[^=]*=//p'
}

without_own() {
    awk -v own="$MEMBER_PEER_URL" '$0 != "" && $0 != own'
}

# cluster_of PEER_URL: the cluster ID a member reports on its peer port, lower-case hex without
# leading zeros; empty when nothing answers. The peer port answers as soon as etcd runs, quorum
# or not: a member restarted on its data without quorum serves no client, yet it answers here.
# (`timeout`, not wget's -T, which crashes BusyBox 1.35's wget.)
cluster_of() {
    timeout 3 wget -S -q -O /dev/null "$1/members" 2>&1 </dev/null | tr -d '\r' |
        sed -n 's/^ *[Xx]-[Ee][Tt][Cc][Dd]-[Cc][Ll][Uu][Ss][Tt][Ee][Rr]-[Ii][Dd]: *\([0-9a-fA-F]*\).*$/\1/p' |
        tr 'A-F' 'a-f' | sed 's/^0*//' | head -n 1
}

# cluster_id TOKEN: the ID etcd gives the cluster that every member in the initial-cluster file
# bootstraps (or restores) with TOKEN: member ID = the first 8 bytes of sha1(peer URL + token),
# cluster ID = the first 8 bytes of sha1(the member IDs in ascending order, 8 bytes each).
cluster_id() {
    ids=$(for url in $(peer_urls); do
        printf '%s%s' "$url" "$1" | sha1sum | cut -c1-16
    done | LC_ALL=C sort | tr -d '\n')
    escapes=$(printf '%s\n' "$ids" | awk '{
        digits = "0123456789abcdef"
        for (i = 1; i < length($0); i += 2) {
            byte = (index(digits, substr($0, i, 1)) - 1) * 16 + index(digits, substr($0, i + 1, 1)) - 1
            printf "\\%03o", byte
        }
    }')
    # shellcheck disable=SC2059 # the octal escapes are the format
    printf "$escapes" | sha1sum | cut -c1-16 | sed 's/^0*//'
}

# restored_as CLUSTER_ID: the snapshot name (or `empty`) whose restore under this cluster's token
# gives CLUSTER_ID, among the newest RESTORE_CANDIDATES snapshots listed; empty when none does.
restored_as() {
    names=
    if [ -n "$RESTORE_DIR" ] && [ -f "$RESTORE_DIR/snapshots" ]; then
        names=$(sed -n "1,${RESTORE_CANDIDATES}p" "$RESTORE_DIR/snapshots")
    fi
    [ "$START_EMPTY_WHEN_LOST" = 1 ] && names="$names empty"
    for name in $names; do
        case "$name" in
            empty) token="$(cluster_token)-empty" ;;
            *) token="$(cluster_token)-restore-$name" ;;
        esac
        if [ "$(cluster_id "$token")" = "$1" ]; then
            printf '%s' "$name"
            return 0
        fi
    done
}

# lost_cluster: no member has quorum and the cluster bootstrapped before. Decides whether this
# member restores (a request written for the fetch step: `newest` or the snapshot name that the
# members already restored took), starts a new empty cluster, or waits (returns 1, `why` set).
lost_cluster() {
    for tool in wget timeout sha1sum; do
        if ! command -v "$tool" >/dev/null 2>&1; then
            why="this image has no $tool, so the peers cannot be checked: never restoring blind"
            return 1
        fi
    done
    alive=
    for url in $(peer_urls | without_own); do
        id=$(cluster_of "$url")
        [ -z "$id" ] || alive="$alive $url=$id"
    done
    choice=
    if [ -z "$alive" ]; then
        now=$(date +%s)
        [ -n "$quiet_since" ] || quiet_since=$now
        if [ $((now - quiet_since)) -lt "$LOST_AFTER_S" ]; then
            why="no member answers, even on its peer port; the cluster counts as lost after ${LOST_AFTER_S}s of that"
            return 1
        fi
        log "no member has answered for ${LOST_AFTER_S}s: the whole cluster is gone"
        choice=newest
    else
        quiet_since=
        for entry in $alive; do
            id=${entry#*=}
            match=$(restored_as "$id")
            if [ -z "$match" ] || { [ -n "$choice" ] && [ "$choice" != "$match" ]; }; then
                why="${entry%=*} answers as cluster $id, not one restored from a snapshot: it may hold data, so nothing is restored over it"
                return 1
            fi
            choice=$match
        done
        log "every member that answers ($alive) was restored from '$choice': doing the same"
    fi
    if [ "$choice" = empty ] || [ -z "$RESTORE_DIR" ]; then
        if [ "$START_EMPTY_WHEN_LOST" = 1 ]; then
            start_empty
            return 0
        fi
        why="the whole cluster is gone and there are no backups (etcdSnapshotEnabled is off); etcdStartEmptyWhenLost would start it empty"
        return 1
    fi
    printf '%s\n' "$choice" >"$RESTORE_DIR/requested"
    log "asking for a restore of the $([ "$choice" = newest ] && echo 'newest snapshot' || echo "snapshot $choice")"
}

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

# member_list ENDPOINTS: `id, status, name, peer URLs, client URLs, is learner` per line.
member_list() {
    ctl --endpoints="$1" member list -w simple
}

# own_entry LIST: the entry whose peer URL is this member's.
own_entry() {
    printf '%s\n' "$1" | awk -F', ' -v url="$MEMBER_PEER_URL" '$4 == url'
}

field() {
    printf '%s\n' "$1" | awk -F', ' -v n="$2" '{ print $n }'
}

nap() {
    sleep "$RETRY_INTERVAL_S"
}

# wait_log MESSAGE: log the first attempt, then at most once every WAIT_LOG_INTERVAL_S.
attempt=0
last_logged=0
wait_log() {
    attempt=$((attempt + 1))
    now=$(date +%s)
    if [ $((now - last_logged)) -ge "$WAIT_LOG_INTERVAL_S" ]; then
        log "$* (attempt $attempt; retrying every ${RETRY_INTERVAL_S}s)"
        last_logged=$now
    fi
}

# The cluster's token, as ETCD_CONFIG sets it.
cluster_token() {
    printf '%s\n' "$ETCD_CONFIG" | sed -n 's/^initial-cluster-token: *"\(.*\)" *$/\1/p'
}

# write_config STATE INITIAL_CLUSTER [TOKEN]: etcd's config file, replaced in one rename; TOKEN
# (a restored or new empty cluster's) in place of the cluster's.
write_config() {
    {
        if [ -n "${3:-}" ]; then
            printf '%s\n' "$ETCD_CONFIG" | sed '/^initial-cluster-token:/d'
            printf 'initial-cluster-token: "%s"\n' "$3"
        else
            printf '%s\n' "$ETCD_CONFIG"
        fi
        printf 'initial-cluster-state: %s\n' "$1"
        printf 'initial-cluster: "%s"\n' "$2"
    } >"$CONFIG_FILE.tmp"
    mv "$CONFIG_FILE.tmp" "$CONFIG_FILE"
    log "$MEMBER_NAME starts as '$1' with initial cluster $2"
}

# start_empty: a new empty cluster after a loss, the same token for every member.
start_empty() {
    log "starting a NEW EMPTY cluster in place of the lost one (START_EMPTY_WHEN_LOST)"
    write_config new "$initial_cluster" "$(cluster_token)-empty"
}

join() {
    require MEMBER_NAME MEMBER_PEER_URL DATA_DIR CONFIG_FILE ETCD_CONFIG CLUSTER_DIR
    initial_cluster=$(tr -d ' \n' <"$CLUSTER_DIR/initial-cluster")
    [ -n "$initial_cluster" ] || fail "$CLUSTER_DIR/initial-cluster is empty"
    if [ -d "$DATA_DIR/member" ]; then
        healthy=$(healthy_endpoints "$(client_urls)")
        if [ -n "$healthy" ] && list=$(member_list "$healthy") && [ -z "$(own_entry "$list")" ]; then
            log "the data in $DATA_DIR belongs to a member the cluster removed: clearing it to join again"
            rm -rf "$DATA_DIR/member"
        else
            log "data found in $DATA_DIR: etcd restarts from it"
            write_config new "$initial_cluster"
            return 0
        fi
    fi
    quiet_since=
    while :; do
        healthy=$(healthy_endpoints "$(client_urls)")
        [ -z "$healthy" ] || quiet_since=
        if [ -z "$healthy" ]; then
            if ! bootstrapped; then
                log "no member has quorum and the cluster never bootstrapped: bootstrapping it"
                write_config new "$initial_cluster"
                return 0
            fi
            if lost_cluster; then
                return 0
            fi
            wait_log "waiting: the cluster bootstrapped before ($BOOTSTRAP_MARKER) and no member has" \
                "quorum; refusing to bootstrap a new empty cluster over it: $why"
        elif ! list=$(member_list "$healthy" 2>&1); then
            wait_log "waiting: member list failed: $list"
        else
            entry=$(own_entry "$list")
            if [ -n "$entry" ] && [ "$(field "$entry" 2)" = unstarted ] &&
                [ "$(field "$entry" 6)" = false ] && ! bootstrapped; then
                log "this member's bootstrap slot never started: joining the bootstrap"
                write_config new "$initial_cluster"
                return 0
            fi
            if [ -n "$entry" ]; then
                id=$(field "$entry" 1)
                if out=$(ctl --endpoints="$healthy" member remove "$id" 2>&1); then
                    log "removed this member's stale entry $id (its data is gone)"
                    entry=
                else
                    wait_log "waiting: cannot remove the stale entry $id yet: $out"
                fi
            fi
            if [ -z "$entry" ]; then
                if out=$(ctl --endpoints="$healthy" member add "$MEMBER_NAME" \
                    --peer-urls="$MEMBER_PEER_URL" --learner 2>&1); then
                    cluster=$(printf '%s\n' "$out" | sed -n 's/^ETCD_INITIAL_CLUSTER="\(.*\)"$/\1/p')
                    [ -n "$cluster" ] || fail "member add gave no initial cluster: $out"
                    log "added as a learner: $(printf '%s\n' "$out" | head -n 1)"
                    write_config existing "$cluster"
                    return 0
                fi
                wait_log "waiting: cannot add this member yet: $out"
            fi
        fi
        nap
    done
}

# restore: after join asked for a restore and the fetch step ran.
restore() {
    require MEMBER_NAME MEMBER_PEER_URL DATA_DIR CONFIG_FILE ETCD_CONFIG CLUSTER_DIR RESTORE_DIR
    if [ ! -f "$RESTORE_DIR/requested" ]; then
        log "no restore requested: etcd starts as join decided"
        return 0
    fi
    initial_cluster=$(tr -d ' \n' <"$CLUSTER_DIR/initial-cluster")
    healthy=$(healthy_endpoints "$(client_urls)")
    if [ -n "$healthy" ]; then
        log "a member has quorum again ($healthy): joining it instead of restoring"
        rm -f "$RESTORE_DIR/requested"
        join
        if [ ! -f "$RESTORE_DIR/requested" ]; then
            rm -f "$RESTORE_DIR/snapshot.db"
            return 0
        fi
    fi
    if [ -f "$RESTORE_DIR/start-empty" ]; then
        start_empty
        return 0
    fi
    [ -f "$RESTORE_DIR/snapshot.db" ] && [ -f "$RESTORE_DIR/snapshot.name" ] ||
        fail "a restore was requested but no snapshot was fetched into $RESTORE_DIR"
    name=$(cat "$RESTORE_DIR/snapshot.name")
    token="$(cluster_token)-restore-$name"
    if command -v "$ETCDUTL" >/dev/null 2>&1; then
        tool=$ETCDUTL
    else
        tool=$ETCDCTL
    fi
    staging="$DATA_DIR/restore.tmp"
    rm -rf "$staging"
    if ! out=$("$tool" snapshot restore "$RESTORE_DIR/snapshot.db" --name "$MEMBER_NAME" \
        --initial-cluster "$initial_cluster" --initial-cluster-token "$token" \
        --initial-advertise-peer-urls "$MEMBER_PEER_URL" --data-dir "$staging" </dev/null 2>&1); then
        printf '%s\n' "$out"
        rm -rf "$staging"
        fail "$(basename "$tool") snapshot restore of $name failed"
    fi
    # The data appears whole or not at all: a restore cut short leaves no member/ behind.
    mv "$staging/member" "$DATA_DIR/member"
    rm -rf "$staging" "$RESTORE_DIR/snapshot.db"
    log "restored snapshot $name into $DATA_DIR with $(basename "$tool"), cluster token $token"
    write_config new "$initial_cluster" "$token"
}

idle() {
    while :; do
        sleep 3600 &
        wait $! || true
    done
}

# mark_voting: what the container's readiness probe looks for (VOTING_FILE, when set).
mark_voting() {
    if [ -n "${VOTING_FILE:-}" ]; then
        : >"$VOTING_FILE"
    fi
}

promote() {
    require MEMBER_PEER_URL CLUSTER_DIR
    trap 'exit 0' TERM INT
    while :; do
        healthy=$(healthy_endpoints "$(client_urls)")
        if [ -n "$healthy" ] && list=$(member_list "$healthy" 2>/dev/null); then
            entry=$(own_entry "$list")
            if [ -z "$entry" ]; then
                log "not a member of the cluster: nothing to promote"
                break
            fi
            if [ "$(field "$entry" 6)" != true ]; then
                log "a voting member"
                mark_voting
                break
            fi
            if out=$(ctl --endpoints="$healthy" member promote "$(field "$entry" 1)" 2>&1); then
                log "$out"
                mark_voting
                break
            fi
            wait_log "learner, not promoted yet: $out"
        else
            wait_log "waiting for a member with quorum"
        fi
        nap
    done
    idle
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
        fi
        [ $(($(date +%s) - started)) -lt "$timeout_s" ] || fail "$problem (gave up after ${timeout_s}s)"
        wait_log "waiting: $problem"
        nap
    done
}

is_number "$RETRY_INTERVAL_S" || fail "RETRY_INTERVAL_S is not a number: '$RETRY_INTERVAL_S'"
is_number "$WAIT_LOG_INTERVAL_S" || fail "WAIT_LOG_INTERVAL_S is not a number: '$WAIT_LOG_INTERVAL_S'"
is_number "$LOST_AFTER_S" || fail "LOST_AFTER_S is not a number: '$LOST_AFTER_S'"
case "${1:-}" in
    join)
        # What an earlier run of this pod left: a restore is decided afresh.
        if [ -n "$RESTORE_DIR" ]; then
            rm -f "$RESTORE_DIR/requested" "$RESTORE_DIR/start-empty" "$RESTORE_DIR/snapshot.db" \
                "$RESTORE_DIR/snapshot.name"  # not `snapshots`: the list step wrote it just now
        fi
        join
        ;;
    restore) restore ;;
    promote) promote ;;
    shrink) shrink ;;
    *) fail "usage: etcd-member.sh join|restore|promote|shrink" ;;
esac
