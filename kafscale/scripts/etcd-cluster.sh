# Helpers the membership scripts share (etcd-member.sh, etcd-scale-down.sh): asking the members
# of this cluster, written once. kafscale/objects/containers.py `packaged_script` puts this text
# into each script in place of its `. ./etcd-cluster.sh` line, after common.sh's.
# shellcheck shell=sh
# Env: CLUSTER_DIR (files `initial-cluster` and `client-urls`), BOOTSTRAP_MARKER (a file that
# exists once the cluster bootstrapped), RESTORE_DIR (backups on; `existed` is the second
# witness), optional RETRY_INTERVAL_S (2), WAIT_LOG_INTERVAL_S (30: while waiting, how often to
# say why), ETCDCTL (etcdctl).

ETCDCTL="${ETCDCTL:-etcdctl}"
RETRY_INTERVAL_S="${RETRY_INTERVAL_S:-2}"
WAIT_LOG_INTERVAL_S="${WAIT_LOG_INTERVAL_S:-30}"
BOOTSTRAP_MARKER="${BOOTSTRAP_MARKER:-}"
RESTORE_DIR="${RESTORE_DIR:-}"
export ETCDCTL_API=3
is_number "$RETRY_INTERVAL_S" || fail "RETRY_INTERVAL_S is not a number: '$RETRY_INTERVAL_S'"
is_number "$WAIT_LOG_INTERVAL_S" || fail "WAIT_LOG_INTERVAL_S is not a number: '$WAIT_LOG_INTERVAL_S'"

require() {
    for name in "$@"; do
        eval "value=\${$name:-}"
        [ -n "$value" ] || fail "$name is empty"
    done
}

ctl() {
    "$ETCDCTL" --dial-timeout=1s --command-timeout=5s "$@"
}

# bootstrapped: the cluster bootstrapped before. Two witnesses: the marker ConfigMap, and (with
# backups on) this cluster's snapshots in the bucket, which the fetch step found (RESTORE_DIR/
# existed): a deleted marker, or one the kubelet has not mounted yet, never lets a member
# bootstrap a new empty cluster over snapshots of this one.
bootstrapped() {
    { [ -n "$BOOTSTRAP_MARKER" ] && [ -f "$BOOTSTRAP_MARKER" ]; } ||
        { [ -n "$RESTORE_DIR" ] && [ -f "$RESTORE_DIR/existed" ]; }
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

# member_list ENDPOINTS: `id, status, name, peer URLs, client URLs, is learner` per line.
member_list() {
    ctl --endpoints="$1" member list -w simple
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
