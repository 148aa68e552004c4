#!/bin/sh
# etcd snapshot, step 1 of 2, for KafScale's managed etcd. POSIX sh: runs under BusyBox ash and
# dash (the tools image: BusyBox, etcdctl and, from etcd 3.5 on, etcdutl).
#
# Picks ONE healthy member (etcdctl refuses several endpoints for `snapshot save`), saves its
# snapshot into SNAPSHOT_DIR, checks it (`etcdutl snapshot status`, or `etcdctl snapshot status`
# where there is no etcdutl, as in etcd 3.4), and writes its checksum beside it:
# <name>.db and <name>.db.sha256 (sha256sum's format), name = the UTC time, %Y%m%d%H%M%S.
# The upload container (etcd-snapshot-upload.sh) takes them from there.
#
# Env: ETCD_MEMBERS (comma-separated client URLs), SNAPSHOT_DIR (an emptyDir).
# Optional: ETCDCTL (default etcdctl), ETCDUTL (default etcdutl), SAVE_TIMEOUT (default 30m).
set -eu

ETCDCTL="${ETCDCTL:-etcdctl}"
ETCDUTL="${ETCDUTL:-etcdutl}"
SAVE_TIMEOUT="${SAVE_TIMEOUT:-30m}"
export ETCDCTL_API=3

LOG_NAME=etcd-snapshot-save
# shellcheck source-path=SCRIPTDIR source=common.sh
. ./common.sh

[ -n "${ETCD_MEMBERS:-}" ] || fail "ETCD_MEMBERS is empty"
[ -n "${SNAPSHOT_DIR:-}" ] || fail "SNAPSHOT_DIR is empty"
[ -d "$SNAPSHOT_DIR" ] && [ -w "$SNAPSHOT_DIR" ] || fail "SNAPSHOT_DIR $SNAPSHOT_DIR is not a writable directory"
members=$(printf '%s\n' "$ETCD_MEMBERS" | tr ',' '\n' | sed 's/^ *//; s/ *$//; /^$/d')

# A member is healthy when it answers a linearizable read: it has a leader and a quorum confirms
# its view, so its snapshot holds every acknowledged write. Reads still work under NOSPACE, when
# a backup matters most (etcdctl 3.5's `endpoint health` fails under any alarm).
healthy() {
    "$ETCDCTL" --endpoints="$1" --dial-timeout=5s --command-timeout=10s \
        get --consistency=l /kafscale/snapshot/health-check </dev/null >/dev/null 2>&1
}

# 1. One healthy member.
endpoint=""
for url in $members; do
    if healthy "$url"; then
        endpoint=$url
        break
    fi
    log "member $url is not healthy: trying the next"
done
[ -n "$endpoint" ] || fail "no member is healthy: no snapshot taken"

# 2. Save.
name=$(date -u +%Y%m%d%H%M%S)
db="$SNAPSHOT_DIR/$name.db"
log "saving a snapshot of $endpoint to $db"
if ! output=$("$ETCDCTL" --endpoints="$endpoint" --dial-timeout=5s --command-timeout="$SAVE_TIMEOUT" \
    snapshot save "$db" </dev/null 2>&1); then
    printf '%s\n' "$output"
    fail "etcdctl snapshot save from $endpoint failed"
fi

# 3. Check: the file must open as a backend whose hash etcd's own tool computes.
if command -v "$ETCDUTL" >/dev/null 2>&1; then
    checker="$ETCDUTL"
else
    checker="$ETCDCTL"
fi
if ! status=$("$checker" snapshot status "$db" </dev/null 2>&1); then
    printf '%s\n' "$status"
    fail "$checker snapshot status refused $db"
fi
# etcdctl 3.5 prints a deprecation notice before the figures: keep the last line.
status=$(printf '%s\n' "$status" | tail -n 1)
log "checked $name.db with $(basename "$checker") (hash, revision, keys, size): $status"

# 4. Checksum, in sha256sum's format, naming the file as it sits beside it.
if ! (cd "$SNAPSHOT_DIR" && sha256sum "$name.db" >"$name.db.sha256.part" && mv "$name.db.sha256.part" "$name.db.sha256"); then
    fail "could not write $name.db.sha256"
fi
log "wrote $name.db.sha256: $(cut -d ' ' -f 1 "$SNAPSHOT_DIR/$name.db.sha256")"
