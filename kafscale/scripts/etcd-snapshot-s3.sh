#!/bin/sh
# etcd snapshots in S3, for KafScale's managed etcd. POSIX sh (the AWS CLI image's sh is bash; the
# tests also run it under BusyBox ash and dash). Uses only `aws s3api` and `aws s3` subcommands
# that behave alike in AWS CLI v1 and v2.
#
#   upload  the snapshot CronJob's main container, after etcd-snapshot-save.sh.
#   fetch   an etcd pod's init container, after `etcd-member.sh join` asked for a restore.
#
# Every object lives in this cluster's folder, <prefix>/<identity>/ (SNAPSHOT_IDENTITY: no other
# cluster's snapshots are there, whatever bucket and prefix they share), and each .sha256 object
# names its snapshot by <identity>/<name>.db: a snapshot copied in from another folder is refused.
#
# upload takes the one <name>.db and <name>.db.sha256 that etcd-snapshot-save.sh left in
# SNAPSHOT_DIR, verifies the checksum, optionally creates the bucket (a LocationConstraint outside
# us-east-1) and protects it (versioning and the public access block; an endpoint without them is
# logged and tolerated), uploads <folder>/<name>.db and then <folder>/<name>.db.sha256, and, when
# SNAPSHOT_KEEP is above 0, deletes all but the newest SNAPSHOT_KEEP snapshots of the folder (each
# .db with its .sha256). A .sha256 object therefore only ever sits beside a complete .db.
#
# fetch does nothing unless RESTORE_DIR/requested exists. It holds `bootstrap` (no member has
# quorum and no marker says the cluster bootstrapped: the folder is the second witness), `newest`
# or a snapshot name (the whole cluster is gone). For `bootstrap`, an empty folder (or no bucket)
# lets the member bootstrap; a folder with snapshots writes RESTORE_DIR/existed (the cluster
# existed: member-restore decides on evidence as for a lost cluster) and fetches what a restore
# would take (`newest`, or the snapshot a person's `restore <name>` in DECISION_FILE names),
# without failing when none is usable. For `newest` it downloads the folder's newest snapshot whose
# .sha256 matches and names it into RESTORE_DIR/snapshot.db (its name in RESTORE_DIR/snapshot.name),
# skipping, with a log line each, snapshots without a checksum, whose checksum does not match, or
# whose checksum names another cluster's snapshot: every member of a lost cluster thus takes the
# same object. For a name (the snapshot the members already restored took)
# it takes that one or fails. A .db without its .sha256 taken less than UPLOAD_DEADLINE_S ago (the
# snapshot Job's deadline) is an upload in flight: the fetch fails (the kubelet retries) instead
# of taking an older snapshot that another member may not take; an older one was cut short and
# is skipped. A checksum is the hash value in the .sha256 (its first field),
# compared with the downloaded file's: whatever file name the .sha256 gives is never read. No
# usable snapshot in a listing that succeeded: one log line, then a failure (the kubelet retries
# the container), unless START_EMPTY_WHEN_LOST=1: then RESTORE_DIR/start-empty. A listing that
# fails (DNS, credentials, egress) is always a failure: an S3 error is never "no snapshot".
#
# Env: SNAPSHOT_BUCKET, SNAPSHOT_PREFIX (no leading or trailing '/'), SNAPSHOT_IDENTITY (this
# cluster's folder under the prefix, one path segment). upload: SNAPSHOT_DIR,
# SNAPSHOT_KEEP (0: keep all), SNAPSHOT_CREATE_BUCKET and SNAPSHOT_PROTECT_BUCKET (1 or 0). fetch:
# RESTORE_DIR, START_EMPTY_WHEN_LOST (1 or 0), UPLOAD_DEADLINE_S (3000), DECISION_FILE (optional:
# a person's decision, read for `bootstrap`), RECOVERY_CONFIGMAP and POD_NAMESPACE (named in the
# command a waiting member suggests).
# Optional: AWS_ENDPOINT_URL (empty: AWS S3; passed as --endpoint-url, which every CLI version
# reads), AWS_REGION / AWS_DEFAULT_REGION, and the AWS CLI's own credential variables.
set -eu

SNAPSHOT_KEEP="${SNAPSHOT_KEEP:-0}"
SNAPSHOT_CREATE_BUCKET="${SNAPSHOT_CREATE_BUCKET:-0}"
SNAPSHOT_PROTECT_BUCKET="${SNAPSHOT_PROTECT_BUCKET:-0}"
START_EMPTY_WHEN_LOST="${START_EMPTY_WHEN_LOST:-0}"
UPLOAD_DEADLINE_S="${UPLOAD_DEADLINE_S:-3000}"

LOG_NAME=etcd-snapshot-s3
# shellcheck source-path=SCRIPTDIR source=common.sh
. ./common.sh

# The first line of a command's error output, for a log line.
first_line() {
    printf '%s\n' "$1" | sed -n '/./{p;q;}'
}

s3() {
    if [ -n "${AWS_ENDPOINT_URL:-}" ]; then
        aws --endpoint-url "$AWS_ENDPOINT_URL" "$@"
    else
        aws "$@"
    fi
}

# The snapshot keys directly in the folder in a listing (tab- or line-separated), oldest first.
snapshot_keys() {
    printf '%s\n' "$1" | tr '\t' '\n' | while IFS= read -r key; do
        case "${key#"$folder"/}" in
            "$key") ;; # not under the prefix
            [0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9].db) printf '%s\n' "$key" ;;
        esac
    done | sort
}

# list_snapshots: `snapshots` = the snapshot keys, oldest first; on failure, `listing` = the error.
list_snapshots() {
    listing=$(s3 s3api list-objects-v2 --bucket "$bucket" --prefix "$folder/" \
        --query 'Contents[].Key' --output text 2>&1) || return 1
    snapshots=$(snapshot_keys "$listing")
}

upload() {
    case "$SNAPSHOT_KEEP" in
        '' | *[!0-9]*) fail "SNAPSHOT_KEEP is not a whole number: '$SNAPSHOT_KEEP'" ;;
    esac
    [ -n "${SNAPSHOT_DIR:-}" ] || fail "SNAPSHOT_DIR is empty"
    region="${AWS_REGION:-${AWS_DEFAULT_REGION:-us-east-1}}"

    # 1. The snapshot the init container left, and its checksum.
    set -- "$SNAPSHOT_DIR"/*.db
    [ "$#" -eq 1 ] && [ -f "$1" ] || fail "expected one .db in $SNAPSHOT_DIR, found: $*"
    name=$(basename "$1")
    [ -f "$1.sha256" ] || fail "$name.sha256 is missing in $SNAPSHOT_DIR"
    if ! output=$(cd "$SNAPSHOT_DIR" && sha256sum -c "$name.sha256" 2>&1); then
        printf '%s\n' "$output"
        fail "$name does not match $name.sha256: nothing uploaded"
    fi
    log "found $name, its checksum matches"

    # 2. The bucket.
    if [ "$SNAPSHOT_CREATE_BUCKET" = 1 ]; then
        if s3 s3api head-bucket --bucket "$bucket" >/dev/null 2>&1; then
            log "bucket $bucket exists"
        else
            if [ "$region" = us-east-1 ]; then
                set -- s3api create-bucket --bucket "$bucket"
            else
                set -- s3api create-bucket --bucket "$bucket" \
                    --create-bucket-configuration "LocationConstraint=$region"
            fi
            if output=$(s3 "$@" 2>&1 >/dev/null); then
                log "created bucket $bucket in $region"
            elif s3 s3api head-bucket --bucket "$bucket" >/dev/null 2>&1; then
                log "bucket $bucket exists (created meanwhile)"
            else
                printf '%s\n' "$output"
                fail "could not create bucket $bucket in $region: $(first_line "$output")"
            fi
        fi
    fi
    if [ "$SNAPSHOT_PROTECT_BUCKET" = 1 ]; then
        if output=$(s3 s3api put-bucket-versioning --bucket "$bucket" \
            --versioning-configuration Status=Enabled 2>&1 >/dev/null); then
            log "versioning enabled on $bucket"
        else
            log "versioning not enabled on $bucket (the endpoint may not support it): $(first_line "$output")"
        fi
        if output=$(s3 s3api put-public-access-block --bucket "$bucket" --public-access-block-configuration \
            BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true \
            2>&1 >/dev/null); then
            log "public access blocked on $bucket"
        else
            log "public access block not set on $bucket (the endpoint may not support it): $(first_line "$output")"
        fi
    fi

    # 3. Upload: the snapshot first, then its checksum, which names it in this cluster's folder.
    awk -v named="$identity/$name" 'NR == 1 { print $1 "  " named; exit }' \
        "$SNAPSHOT_DIR/$name.sha256" >"$SNAPSHOT_DIR/$name.sha256.named"
    for file in "$name" "$name.sha256"; do
        source="$SNAPSHOT_DIR/$file"
        [ "$file" = "$name" ] || source="$SNAPSHOT_DIR/$name.sha256.named"
        if ! output=$(s3 s3 cp --only-show-errors "$source" "$target/$file" 2>&1); then
            printf '%s\n' "$output"
            fail "upload of $target/$file failed: $(first_line "$output")"
        fi
        log "uploaded $target/$file"
    done

    # 4. Prune: keep the newest SNAPSHOT_KEEP snapshots (names are UTC times: lexical = age order).
    if [ "$SNAPSHOT_KEEP" -eq 0 ]; then
        log "done: $target/$name (keeping every snapshot)"
        return 0
    fi
    if ! list_snapshots; then
        printf '%s\n' "$listing"
        fail "could not list $target/ to prune: $(first_line "$listing")"
    fi
    count=$(printf '%s\n' "$snapshots" | sed '/^$/d' | wc -l | tr -d ' ')
    excess=$((count - SNAPSHOT_KEEP))
    if [ "$excess" -le 0 ]; then
        log "done: $target/$name ($count snapshot(s), keeping up to $SNAPSHOT_KEEP)"
        return 0
    fi
    set -f # the keys are not globs
    for key in $(printf '%s\n' "$snapshots" | sed -n "1,${excess}p"); do
        for object in "$key.sha256" "$key"; do
            if ! output=$(s3 s3api delete-object --bucket "$bucket" --key "$object" 2>&1 >/dev/null); then
                printf '%s\n' "$output"
                fail "could not delete s3://$bucket/$object: $(first_line "$output")"
            fi
        done
        log "pruned s3://$bucket/$key and its .sha256"
    done
    log "done: $target/$name (kept the newest $SNAPSHOT_KEEP of $count)"
}

# give_up REASON: nothing to restore. Start empty when allowed, else fail (the kubelet retries).
give_up() {
    if [ "$START_EMPTY_WHEN_LOST" = 1 ]; then
        log "$1: START_EMPTY_WHEN_LOST is on, so this member starts a new EMPTY cluster"
        : >"$RESTORE_DIR/start-empty"
        exit 0
    fi
    fail "$1: refusing to start an empty cluster over the lost one (etcdStartEmptyWhenLost allows it)"
}

# upload_cutoff: the snapshot name (a UTC time) of a snapshot taken UPLOAD_DEADLINE_S ago.
upload_cutoff() {
    date -u -d "@$(($(date -u +%s) - UPLOAD_DEADLINE_S))" +%Y%m%d%H%M%S
}

# download KEY FILE: one object into FILE, written whole or not at all.
download() {
    rm -f "$2.part"
    s3 s3 cp --only-show-errors "s3://$bucket/$1" "$2.part" >/dev/null 2>&1 && mv "$2.part" "$2"
}

fetch() {
    [ -n "${RESTORE_DIR:-}" ] || fail "RESTORE_DIR is empty"
    if [ ! -f "$RESTORE_DIR/requested" ]; then
        log "no restore requested: nothing to fetch"
        return 0
    fi
    rm -f "$RESTORE_DIR/snapshot.db" "$RESTORE_DIR/snapshot.name" "$RESTORE_DIR/start-empty" \
        "$RESTORE_DIR/existed"
    read -r wanted <"$RESTORE_DIR/requested" || wanted=newest
    bootstrap=0
    if [ "$wanted" = bootstrap ]; then
        # No marker says the cluster bootstrapped: its snapshots, if any, are the witness.
        bootstrap=1
        wanted=newest
        if [ -n "${DECISION_FILE:-}" ] && [ -f "$DECISION_FILE" ]; then
            case "$(awk 'NR == 1 { $1 = $1; print; exit }' "$DECISION_FILE")" in
                'restore newest') ;;
                'restore '*) wanted=$(awk 'NR == 1 { print $2; exit }' "$DECISION_FILE") ;;
                start-empty)
                    log "a person decided: 'start-empty' ($DECISION_FILE): the bucket is not asked"
                    return 0
                    ;;
            esac
        fi
    fi
    if ! list_snapshots; then
        if [ "$bootstrap" = 1 ] && printf '%s\n' "$listing" | grep -q NoSuchBucket; then
            snapshots= # no bucket: no snapshot of this cluster either
        else
            printf '%s\n' "$listing"
            [ "$bootstrap" = 0 ] || log "whether this cluster existed before cannot be told: no member bootstraps until the bucket answers, or a person decides: kubectl -n ${POD_NAMESPACE:-<namespace>} create configmap ${RECOVERY_CONFIGMAP:-<cluster>-etcd-recovery} --from-literal=decision=start-empty (docs/backup-restore.md)"
            fail "cannot list $target/ (the kubelet retries; an error is not an empty bucket): $(first_line "$listing")"
        fi
    fi
    if [ "$bootstrap" = 1 ]; then
        count=$(printf '%s\n' "$snapshots" | sed '/^$/d' | wc -l | tr -d ' ')
        if [ "$count" -eq 0 ]; then
            log "no snapshot in $target/: nothing shows that this cluster existed before"
            return 0
        fi
        printf '%s\n' "$count" >"$RESTORE_DIR/existed"
        log "$count snapshot(s) in $target/: this cluster existed before, so no member bootstraps a new empty one over it; fetching the one a restore takes"
    fi
    checked=0
    set -f # the keys are not globs
    if [ "$wanted" = newest ]; then
        # Newest first: names are UTC times, so the reverse lexical order.
        keys=$(printf '%s\n' "$snapshots" | sed '/^$/d' | sort -r)
    else
        keys="$folder/$wanted.db"
        printf '%s\n' "$snapshots" | grep -qxF "$keys" || fail "snapshot $wanted, which the members restored, is not in $target/"
    fi
    for key in $keys; do
        checked=$((checked + 1))
        name=$(basename "$key" .db)
        sum="$RESTORE_DIR/$name.db.sha256"
        if ! download "$key.sha256" "$sum"; then
            # Uploads put the .db first, then its .sha256: a .db younger than an upload may take
            # is still being uploaded, and every member must take the same object: wait for it.
            if [ "$name" -gt "$(upload_cutoff)" ]; then # 14 digits each: a number
                fail "snapshot $name is still being uploaded (no $key.sha256 yet, taken less than ${UPLOAD_DEADLINE_S}s ago): waiting for it, so that every member restores the same one (the kubelet retries)"
            fi
            log "skipped $name: no readable $key.sha256 (an upload cut short more than ${UPLOAD_DEADLINE_S}s ago)"
            continue
        fi
        # The checksum line: `<hash>  <identity>/<name>.db` (`*` before the name: binary mode).
        expected=$(awk 'NR == 1 { print tolower($1); exit }' "$sum")
        named=$(awk 'NR == 1 { sub(/^\*/, "", $2); print $2; exit }' "$sum")
        if [ "$named" != "$identity/$name.db" ]; then
            rm -f "$sum"
            log "skipped $name: $key.sha256 names '$named', not $identity/$name.db: another cluster's snapshot (copied here, or from before snapshots had a cluster folder) is never restored"
            continue
        fi
        if ! download "$key" "$RESTORE_DIR/$name.db"; then
            rm -f "$sum"
            fail "could not download s3://$bucket/$key (the kubelet retries)"
        fi
        case "$expected" in *[!0-9a-f]*) expected= ;; esac
        actual=$(sha256sum "$RESTORE_DIR/$name.db" | cut -d ' ' -f 1)
        if [ "${#expected}" -eq 64 ] && [ "$expected" = "$actual" ]; then
            mv "$RESTORE_DIR/$name.db" "$RESTORE_DIR/snapshot.db"
            rm -f "$sum"
            printf '%s\n' "$name" >"$RESTORE_DIR/snapshot.name"
            log "fetched s3://$bucket/$key, its checksum matches"
            return 0
        fi
        rm -f "$RESTORE_DIR/$name.db" "$sum"
        log "skipped $name: its checksum does not match $key.sha256"
    done
    [ "$wanted" = newest ] || fail "snapshot $wanted could not be fetched whole (the kubelet retries)"
    if [ "$bootstrap" = 1 ]; then
        [ "$START_EMPTY_WHEN_LOST" = 0 ] || : >"$RESTORE_DIR/start-empty"
        log "no usable snapshot in $target/ ($checked checked): member-restore decides on evidence"
        return 0
    fi
    if [ "$checked" -eq 0 ]; then
        give_up "no snapshot in $target/"
    fi
    give_up "no usable snapshot in $target/ ($checked checked)"
}

[ -n "${SNAPSHOT_BUCKET:-}" ] || fail "SNAPSHOT_BUCKET is empty"
[ -n "${SNAPSHOT_PREFIX:-}" ] || fail "SNAPSHOT_PREFIX is empty"
case "${SNAPSHOT_IDENTITY:-}" in
    '' | */* | . | ..) fail "SNAPSHOT_IDENTITY must be one path segment: '${SNAPSHOT_IDENTITY:-}'" ;;
esac
bucket=$SNAPSHOT_BUCKET
prefix=$SNAPSHOT_PREFIX
identity=$SNAPSHOT_IDENTITY
folder="$prefix/$identity"
target="s3://$bucket/$folder"
case "${1:-}" in
    upload) upload ;;
    fetch) fetch ;;
    *) fail "usage: etcd-snapshot-s3.sh upload|fetch" ;;
esac
