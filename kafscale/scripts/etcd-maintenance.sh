#!/bin/sh
# etcd maintenance for KafScale's managed etcd. POSIX sh: runs under BusyBox ash and dash.
#
# Defragments every member one at a time, followers first and the leader last, waiting for each
# to be healthy again before the next; then disarms NOSPACE only on members back under the quota.
# With MOVE_LEADER=1, before the leader's turn leadership moves to a follower already done
# (`etcdctl move-leader`); etcd drops the proposals that arrive during the transfer, and measured
# (docs/maintenance.md) a defragmenting leader holds up no more writes than a follower: only those
# sent to it. A transfer that fails is logged and the leader is defragmented as the leader.
# A CORRUPT alarm is never disarmed: it is reported and the run fails.
#
# Env: ETCD_MEMBERS (comma-separated client URLs), ETCD_QUOTA_BYTES, THRESHOLD_PCT (1..100),
# CHECK_ONLY (1: act only when a member is at or over quota*pct/100, NOSPACE is raised, or a
# member is fragmented: (dbSize - dbSizeInUse) at or over FRAGMENTATION_PCT (1..100) of a dbSize
# of at least MIN_DEFRAG_BYTES; then only such members are defragmented, unless NOSPACE is
# raised), MOVE_LEADER (1: move leadership off the leader before its defrag; 0, the default: not).
# Memory mode: ETCD_MEMORY_LIMIT_BYTES (the etcd container's limit, which its tmpfs data dir
# counts against), DEFRAG_RESERVE_BYTES (WAL, snapshots and heap beside the backend) and
# DEFRAG_COPY_DIVISOR (the copy a defrag writes is taken as dbSizeInUse + dbSizeInUse / this). A
# defrag writes a copy of the live data beside the old file, so a member whose dbSize + copy +
# reserve exceeds the limit is skipped (an OOM kill mid-defrag would be worse) and the run fails.
# Optional: ETCDCTL (default etcdctl), HEALTH_TIMEOUT_S (60), DEFRAG_TIMEOUT (5m).
# Needs etcdctl, and wget or curl for etcd's status and alarm endpoints.
set -eu

ETCDCTL="${ETCDCTL:-etcdctl}"
HEALTH_TIMEOUT_S="${HEALTH_TIMEOUT_S:-60}"
DEFRAG_TIMEOUT="${DEFRAG_TIMEOUT:-5m}"
CHECK_ONLY="${CHECK_ONLY:-0}"
THRESHOLD_PCT="${THRESHOLD_PCT:-75}"
FRAGMENTATION_PCT="${FRAGMENTATION_PCT:-45}"
MIN_DEFRAG_BYTES="${MIN_DEFRAG_BYTES:-104857600}"
MOVE_LEADER="${MOVE_LEADER:-0}"
export ETCDCTL_API=3

LOG_NAME=etcd-maintenance
# shellcheck source-path=SCRIPTDIR source=common.sh
. ./common.sh

[ -n "${ETCD_MEMBERS:-}" ] || fail "ETCD_MEMBERS is empty"
is_number "${ETCD_QUOTA_BYTES:-}" || fail "ETCD_QUOTA_BYTES is not a byte count: '${ETCD_QUOTA_BYTES:-}'"
is_number "$THRESHOLD_PCT" || fail "THRESHOLD_PCT is not a number: '$THRESHOLD_PCT'"
is_number "$HEALTH_TIMEOUT_S" || fail "HEALTH_TIMEOUT_S is not a number: '$HEALTH_TIMEOUT_S'"
is_number "$FRAGMENTATION_PCT" || fail "FRAGMENTATION_PCT is not a number: '$FRAGMENTATION_PCT'"
is_number "$MIN_DEFRAG_BYTES" || fail "MIN_DEFRAG_BYTES is not a byte count: '$MIN_DEFRAG_BYTES'"
MEMORY_LIMIT="${ETCD_MEMORY_LIMIT_BYTES:-}"
DEFRAG_RESERVE_BYTES="${DEFRAG_RESERVE_BYTES:-0}"
[ -z "$MEMORY_LIMIT" ] || is_number "$MEMORY_LIMIT" ||
    fail "ETCD_MEMORY_LIMIT_BYTES is not a byte count: '$MEMORY_LIMIT'"
is_number "$DEFRAG_RESERVE_BYTES" || fail "DEFRAG_RESERVE_BYTES is not a byte count: '$DEFRAG_RESERVE_BYTES'"
DEFRAG_COPY_DIVISOR="${DEFRAG_COPY_DIVISOR:-}"
[ -z "$MEMORY_LIMIT" ] || { is_number "$DEFRAG_COPY_DIVISOR" && [ "$DEFRAG_COPY_DIVISOR" -gt 0 ]; } ||
    fail "DEFRAG_COPY_DIVISOR is not a positive number: '$DEFRAG_COPY_DIVISOR'"
members=$(printf '%s\n' "$ETCD_MEMBERS" | tr ',' '\n' | sed 's/^ *//; s/ *$//; /^$/d')
threshold=$((ETCD_QUOTA_BYTES * THRESHOLD_PCT / 100))

# http_post URL JSON: the answer's body on stdout; wget (BusyBox) or curl. The time limit comes
# from `timeout`: BusyBox 1.35's own `wget -T` crashes (Debian's build segfaults).
http_post() {
    if command -v curl >/dev/null 2>&1; then
        curl -fsS --max-time 10 -H 'Content-Type: application/json' -d "$2" "$1"
    else
        timeout 10 wget -q -O - --header='Content-Type: application/json' --post-data="$2" "$1"
    fi
}

# A member is healthy when it answers a linearizable read: it has a leader and a quorum confirms
# its view. Reads still work under NOSPACE (disarming it is this script's job). etcd's own
# `/health?exclude=NOSPACE` is not used: before 3.4.19 and 3.5.2 it fails once two members have
# raised NOSPACE, and etcdctl 3.5's `endpoint health` fails under any alarm.
healthy() {
    "$ETCDCTL" --endpoints="$1" --dial-timeout=5s --command-timeout=10s \
        get --consistency=l /kafscale/maintenance/health-check </dev/null >/dev/null 2>&1
}

wait_healthy() {
    deadline=$(($(date +%s) + HEALTH_TIMEOUT_S))
    until healthy "$1"; do
        [ "$(date +%s)" -lt "$deadline" ] || return 1
        sleep 1
    done
}

# Member status comes from etcd's JSON gateway, which answers it without credentials, through
# wget or curl: about a tenth of the CPU an `etcdctl endpoint status` costs (a Go program's
# start; bench/maintenance_latency.py prints both), CPU that a one-node cluster takes from etcd
# while this script runs. Its answer also holds dbSizeInUse, which etcdctl's omits.

# status URL -> "MEMBER_ID DB_SIZE LEADER_ID" (LEADER_ID 0: no leader, which etcd leaves out).
status() {
    answer=$(http_post "$1/v3/maintenance/status" '{}' </dev/null) || return 1
    id=$(json_number member_id "$answer")
    size=$(json_number dbSize "$answer")
    leader=$(json_number leader "$answer")
    [ -n "$id" ] && [ -n "$size" ] || return 1
    printf '%s %s %s\n' "$id" "$size" "${leader:-0}"
}

# in_use URL -> the member's dbSizeInUse.
in_use() {
    json_number dbSizeInUse "$(http_post "$1/v3/maintenance/status" '{}' </dev/null)"
}

# alarms -> "MEMBER_ID KIND" lines, cluster-wide.
alarms() {
    "$ETCDCTL" --endpoints="$ETCD_MEMBERS" alarm list </dev/null |
        sed -n 's/^memberID:\([0-9]*\) alarm:\([A-Z]*\).*$/\1 \2/p'
}

# 1. A CORRUPT alarm stops everything: it is never disarmed here.
current_alarms=$(alarms) || fail "cannot list alarms"
if printf '%s\n' "$current_alarms" | grep -q ' CORRUPT$'; then
    printf '%s\n' "$current_alarms" | grep ' CORRUPT$' | while read -r id kind; do
        log "$kind alarm on member $id: left armed, this needs an operator (restore from a snapshot)"
    done
    fail "CORRUPT alarm present: nothing defragmented"
fi

# 2. Read every member; refuse to touch anything unless all are healthy.
table=""
unhealthy=0
for url in $members; do
    if ! line=$(status "$url"); then
        log "member $url does not answer endpoint status"
        unhealthy=1
        continue
    fi
    if ! healthy "$url"; then
        log "member $url is not healthy"
        unhealthy=1
    fi
    table="$table$url $line
"
done
[ "$unhealthy" -eq 0 ] || fail "not every member is healthy: nothing defragmented"

nospace=$(printf '%s\n' "$current_alarms" | grep -c ' NOSPACE$' || true)

# needs URL SIZE: sets `why`, why a check-only run defragments this member ("" when it has
# nothing to reclaim): at or over the size threshold, or fragmented past the trigger. NOSPACE:
# every member.
needs() {
    why=""
    if [ "$nospace" -gt 0 ]; then
        why="NOSPACE is raised"
    elif [ "$2" -ge "$threshold" ]; then
        why="dbSize $2 at or over $THRESHOLD_PCT% of the quota"
    elif [ "$2" -ge "$MIN_DEFRAG_BYTES" ] && [ "$2" -gt 0 ]; then
        used=$(in_use "$1")
        is_number "$used" || fail "cannot read dbSizeInUse of $1"
        fragmented=$((($2 - used) * 100 / $2))
        if [ "$fragmented" -ge "$FRAGMENTATION_PCT" ]; then
            why="$fragmented% fragmented (dbSize $2, in use $used), at or over $FRAGMENTATION_PCT%"
        fi
    fi
}

leader_id=""
chosen=""
while read -r url id size leader; do
    [ -n "$url" ] || continue
    leader_id="$leader"
    log "member $url: id $id, dbSize $size, threshold $threshold, quota $ETCD_QUOTA_BYTES"
    if [ "$CHECK_ONLY" = "1" ]; then
        needs "$url" "$size"
        if [ -n "$why" ]; then
            log "member $url: to defragment: $why"
            chosen="$chosen $url"
        else
            log "member $url: nothing to reclaim (under $THRESHOLD_PCT% of the quota, and under" \
                "$FRAGMENTATION_PCT% fragmented or under $MIN_DEFRAG_BYTES bytes): skipped"
        fi
    fi
done <<TABLE
$table
TABLE

# 3. Check-only: act only on the members that need it; nothing to do when none does.
if [ "$CHECK_ONLY" = "1" ] && [ -z "$chosen" ]; then
    log "check-only: no member over $THRESHOLD_PCT% of the quota or fragmented, and no NOSPACE: nothing to do"
    exit 0
fi

# chosen URL: whether this run defragments the member.
is_chosen() {
    [ "$CHECK_ONLY" != "1" ] || case " $chosen " in *" $1 "*) return 0 ;; *) return 1 ;; esac
}

# 4. Defragment followers first, the leader last, one at a time.
skipped=0
defragment() {
    url=$1
    role=$2
    if [ -n "$MEMORY_LIMIT" ]; then
        line=$(status "$url") || fail "member $url does not answer endpoint status"
        rest=${line#* }
        size=${rest%% *}
        used=$(in_use "$url")
        is_number "$used" || fail "cannot read dbSizeInUse of $url"
        copy=$((used + used / DEFRAG_COPY_DIVISOR))
        need=$((size + copy + DEFRAG_RESERVE_BYTES))
        if [ "$need" -gt "$MEMORY_LIMIT" ]; then
            log "skipping defrag of $url ($role): dbSize $size + copy $copy (in use $used) + reserve" \
                "$DEFRAG_RESERVE_BYTES = $need bytes would not fit under the memory limit $MEMORY_LIMIT"
            skipped=$((skipped + 1))
            return 0
        fi
    fi
    log "defragmenting $url ($role)"
    if ! "$ETCDCTL" --endpoints="$url" --command-timeout="$DEFRAG_TIMEOUT" defrag </dev/null; then
        fail "defrag of $url ($role) failed"
    fi
    wait_healthy "$url" || fail "$url not healthy within ${HEALTH_TIMEOUT_S}s after defrag"
    log "defragmented $url ($role): healthy, dbSize now $(status "$url" | cut -d ' ' -f 2)"
}

# voter_id URL: the member ID (hex, as move-leader takes it) of the member serving URL, from its
# own status; empty when the member list says it is a learner.
voter_id() {
    hex=$("$ETCDCTL" --endpoints="$1" endpoint status -w simple </dev/null | awk -F', ' '{ print $2 }' |
        head -n 1) || return 0
    [ -n "$hex" ] || return 0
    "$ETCDCTL" --endpoints="$ETCD_MEMBERS" member list -w simple </dev/null |
        awk -F', ' -v id="$hex" '$1 == id && $6 == "false" { print $1 }' | head -n 1
}

# move_leadership LEADER_URL: leadership to a healthy follower voter (all followers are done by
# now); 0 when it moved, else 1, the reason logged.
move_leadership() {
    if [ "$MOVE_LEADER" != "1" ]; then
        log "not moving leadership (MOVE_LEADER=$MOVE_LEADER): defragmenting the leader as the leader"
        return 1
    fi
    target=""
    for candidate in $members; do
        [ "$candidate" != "$1" ] || continue
        healthy "$candidate" || continue
        target_id=$(voter_id "$candidate")
        if [ -n "$target_id" ]; then
            target=$candidate
            break
        fi
    done
    if [ -z "$target" ]; then
        log "no other healthy voter to take leadership: defragmenting the leader as the leader"
        return 1
    fi
    if ! out=$("$ETCDCTL" --endpoints="$1" --command-timeout=30s move-leader "$target_id" </dev/null 2>&1); then
        log "moving leadership from $1 to $target ($target_id) failed: $out; defragmenting the leader as the leader"
        return 1
    fi
    # The former leader's own view, once it has one: another member leads.
    deadline=$(($(date +%s) + HEALTH_TIMEOUT_S))
    while :; do
        line=$(status "$1" || true)
        id=${line%% *}
        now_leader=${line##* }
        if [ -n "$line" ] && [ "$now_leader" != "$id" ] && [ "$now_leader" != 0 ]; then
            log "moved leadership from $1 to $target ($target_id) before defragmenting $1"
            return 0
        fi
        if [ "$(date +%s)" -ge "$deadline" ]; then
            log "leadership did not leave $1 within ${HEALTH_TIMEOUT_S}s: defragmenting the leader as the leader"
            return 1
        fi
        sleep 1
    done
}

leader_url=""
while read -r url id size leader; do
    [ -n "$url" ] || continue
    if [ "$id" = "$leader_id" ]; then
        leader_url="$url"
        continue
    fi
    is_chosen "$url" || continue
    defragment "$url" follower
done <<TABLE
$table
TABLE
[ -n "$leader_url" ] || fail "no member is the leader ($leader_id)"
if is_chosen "$leader_url"; then
    if move_leadership "$leader_url"; then
        defragment "$leader_url" "former leader"
    else
        defragment "$leader_url" leader
    fi
fi

# 5. Disarm NOSPACE only where the member is back under the quota.
failed=0
after_alarms=$(alarms) || fail "cannot list alarms"
for url in $members; do
    line=$(status "$url") || fail "member $url does not answer after maintenance"
    id=${line%% *}
    rest=${line#* }
    size=${rest%% *}
    if printf '%s\n' "$after_alarms" | grep -q "^$id NOSPACE$"; then
        if [ "$size" -lt "$ETCD_QUOTA_BYTES" ]; then
            body="{\"action\":\"DEACTIVATE\",\"memberID\":\"$id\",\"alarm\":\"NOSPACE\"}"
            http_post "$url/v3/maintenance/alarm" "$body" >/dev/null </dev/null ||
                fail "disarming NOSPACE on member $id failed"
            log "disarmed NOSPACE on member $id ($url): dbSize $size under quota $ETCD_QUOTA_BYTES"
        else
            log "member $id ($url) still at dbSize $size, not under quota $ETCD_QUOTA_BYTES: NOSPACE kept"
            failed=1
        fi
    fi
done
[ "$skipped" -eq 0 ] || fail "$skipped member(s) not defragmented: the copy would not fit in memory"
[ "$failed" -eq 0 ] || fail "NOSPACE kept on a member still over quota"
log "done: the members defragmented one at a time, the leader last"
