#!/bin/sh
# etcd snapshot, step 2 of 2, for KafScale's managed etcd. POSIX sh (the AWS CLI image's sh is
# bash; the tests also run it under BusyBox ash and dash). Uses only `aws s3api` and `aws s3`
# subcommands that behave alike in AWS CLI v1 and v2.
#
# Takes the one <name>.db and <name>.db.sha256 that etcd-snapshot-save.sh left in SNAPSHOT_DIR,
# verifies the checksum, optionally creates the bucket (a LocationConstraint outside us-east-1)
# and protects it (versioning and the public access block; an endpoint without them is logged and
# tolerated), uploads <prefix>/<name>.db and then <prefix>/<name>.db.sha256, and, when
# SNAPSHOT_KEEP is above 0, deletes all but the newest SNAPSHOT_KEEP snapshots (each .db with its
# .sha256). A .sha256 object therefore only ever sits beside a complete .db.
#
# Env: SNAPSHOT_DIR, SNAPSHOT_BUCKET, SNAPSHOT_PREFIX (no leading or trailing '/'), SNAPSHOT_KEEP
# (0: keep all), SNAPSHOT_CREATE_BUCKET and SNAPSHOT_PROTECT_BUCKET (1 or 0).
# Optional: AWS_ENDPOINT_URL (empty: AWS S3; passed as --endpoint-url, which every CLI version
# reads), AWS_REGION / AWS_DEFAULT_REGION, and the AWS CLI's own credential variables.
set -eu

SNAPSHOT_KEEP="${SNAPSHOT_KEEP:-0}"
SNAPSHOT_CREATE_BUCKET="${SNAPSHOT_CREATE_BUCKET:-0}"
SNAPSHOT_PROTECT_BUCKET="${SNAPSHOT_PROTECT_BUCKET:-0}"

log() {
    printf '%s etcd-snapshot-upload: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"
}

fail() {
    log "FAILED: $*"
    exit 1
}

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

# The snapshot keys directly under the prefix in a listing (tab- or line-separated), oldest first.
snapshot_keys() {
    printf '%s\n' "$1" | tr '\t' '\n' | while IFS= read -r key; do
        case "${key#"$prefix"/}" in
            "$key") ;; # not under the prefix
            [0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9].db) printf '%s\n' "$key" ;;
        esac
    done | sort
}

case "$SNAPSHOT_KEEP" in
    '' | *[!0-9]*) fail "SNAPSHOT_KEEP is not a whole number: '$SNAPSHOT_KEEP'" ;;
esac
[ -n "${SNAPSHOT_BUCKET:-}" ] || fail "SNAPSHOT_BUCKET is empty"
[ -n "${SNAPSHOT_PREFIX:-}" ] || fail "SNAPSHOT_PREFIX is empty"
[ -n "${SNAPSHOT_DIR:-}" ] || fail "SNAPSHOT_DIR is empty"
bucket=$SNAPSHOT_BUCKET
prefix=$SNAPSHOT_PREFIX
region="${AWS_REGION:-${AWS_DEFAULT_REGION:-us-east-1}}"
target="s3://$bucket/$prefix"

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

# 3. Upload: the snapshot first, then its checksum.
for file in "$name" "$name.sha256"; do
    if ! output=$(s3 s3 cp --only-show-errors "$SNAPSHOT_DIR/$file" "$target/$file" 2>&1); then
        printf '%s\n' "$output"
        fail "upload of $target/$file failed: $(first_line "$output")"
    fi
    log "uploaded $target/$file"
done

# 4. Prune: keep the newest SNAPSHOT_KEEP snapshots (names are UTC times: lexical = age order).
if [ "$SNAPSHOT_KEEP" -eq 0 ]; then
    log "done: $target/$name (keeping every snapshot)"
    exit 0
fi
if ! listing=$(s3 s3api list-objects-v2 --bucket "$bucket" --prefix "$prefix/" \
    --query 'Contents[].Key' --output text 2>&1); then
    printf '%s\n' "$listing"
    fail "could not list $target/ to prune: $(first_line "$listing")"
fi
snapshots=$(snapshot_keys "$listing")
count=$(printf '%s\n' "$snapshots" | sed '/^$/d' | wc -l | tr -d ' ')
excess=$((count - SNAPSHOT_KEEP))
if [ "$excess" -le 0 ]; then
    log "done: $target/$name ($count snapshot(s), keeping up to $SNAPSHOT_KEEP)"
    exit 0
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
