#!/bin/sh
# The auth Job of KafScale's managed etcd (etcdAuth): with AUTH_MODE=on, create or update the
# users and roles, then enable auth; with AUTH_MODE=disabling, disable it. Every step is safe to
# run again: a Job that failed half-way is replaced and run again by the next `pulumi up`.
# etcd's authentication guide: `auth enable` needs the user `root` with the role `root`.
# POSIX sh: runs under BusyBox ash and dash. Needs etcdctl (v3 API).
#
# Env: ETCD_MEMBERS (the members' client URLs, comma-separated), AUTH_MODE (on, disabling),
# ETCDCTL_USER and ETCDCTL_PASSWORD (root and its password: etcdctl logs in with them once auth
# is on), ROOT_PASSWORD,
# KAFSCALE_PASSWORD, KAFSCALE_PREFIX (the prefix the kafscale user reads and writes), CONSOLE_USER
# (1: a read-only user kafscale-console, with KAFSCALE_CONSOLE_PASSWORD; 0: none, removed if there),
# optional HEALTH_TIMEOUT_S (300), ETCDCTL. Passwords go to etcdctl on its stdin, never in args.
set -eu

LOG_NAME=etcd-auth
# shellcheck source-path=SCRIPTDIR source=common.sh
. ./common.sh

ETCDCTL="${ETCDCTL:-etcdctl}"
HEALTH_TIMEOUT_S="${HEALTH_TIMEOUT_S:-300}"
export ETCDCTL_API=3
for name in ETCD_MEMBERS AUTH_MODE ETCDCTL_USER ETCDCTL_PASSWORD; do
    eval "value=\${$name:-}"
    [ -n "$value" ] || fail "$name is empty"
done
is_number "$HEALTH_TIMEOUT_S" || fail "HEALTH_TIMEOUT_S is not a number: '$HEALTH_TIMEOUT_S'"

ctl() {
    "$ETCDCTL" --endpoints="$ETCD_MEMBERS" --dial-timeout=2s --command-timeout=10s "$@" </dev/null
}

# with_password PASSWORD ARGS...: etcdctl ARGS, the password on its stdin (`--interactive=false`).
with_password() {
    password=$1
    shift
    printf '%s\n' "$password" |
        "$ETCDCTL" --endpoints="$ETCD_MEMBERS" --dial-timeout=2s --command-timeout=10s "$@" --interactive=false
}

# wait_healthy: until a member answers a linearizable read (a leader and a quorum behind it).
wait_healthy() {
    waited=0
    until ctl get --consistency=l /kafscale/etcd-auth/health-check >/dev/null 2>&1; do
        [ "$waited" -lt "$HEALTH_TIMEOUT_S" ] || fail "no quorum within ${HEALTH_TIMEOUT_S}s at $ETCD_MEMBERS"
        sleep 2
        waited=$((waited + 2))
    done
}

# ensure_user NAME PASSWORD: the user exists with this password.
ensure_user() {
    if ctl user get "$1" >/dev/null 2>&1; then
        with_password "$2" user passwd "$1" >/dev/null || fail "could not set the password of $1"
        log "user $1: password set"
    else
        with_password "$2" user add "$1" >/dev/null || fail "could not add the user $1"
        log "user $1: added"
    fi
}

# ensure_role NAME PERMISSION: the role exists and grants PERMISSION on KAFSCALE_PREFIX.
ensure_role() {
    ctl role get "$1" >/dev/null 2>&1 || ctl role add "$1" >/dev/null || fail "could not add the role $1"
    ctl role grant-permission "$1" "$2" "$KAFSCALE_PREFIX" --prefix=true >/dev/null ||
        fail "could not grant $2 on $KAFSCALE_PREFIX to $1"
}

wait_healthy
case "$AUTH_MODE" in
    on)
        for name in ROOT_PASSWORD KAFSCALE_PASSWORD KAFSCALE_PREFIX; do
            eval "value=\${$name:-}"
            [ -n "$value" ] || fail "$name is empty"
        done
        ensure_user root "$ROOT_PASSWORD"
        ctl user grant-role root root >/dev/null || fail "could not grant the role root to root"
        ensure_role kafscale readwrite
        ensure_user kafscale "$KAFSCALE_PASSWORD"
        ctl user grant-role kafscale kafscale >/dev/null || fail "could not grant the role kafscale"
        if [ "${CONSOLE_USER:-0}" = 1 ]; then
            [ -n "${KAFSCALE_CONSOLE_PASSWORD:-}" ] || fail "KAFSCALE_CONSOLE_PASSWORD is empty"
            ensure_role kafscale-console read
            ensure_user kafscale-console "$KAFSCALE_CONSOLE_PASSWORD"
            ctl user grant-role kafscale-console kafscale-console >/dev/null ||
                fail "could not grant the role kafscale-console"
        elif ctl user get kafscale-console >/dev/null 2>&1; then
            ctl user delete kafscale-console >/dev/null || fail "could not delete the user kafscale-console"
            log "user kafscale-console: deleted"
        fi
        ctl auth enable >/dev/null || fail "could not enable auth"
        log "auth enabled: root, kafscale (readwrite $KAFSCALE_PREFIX)$([ "${CONSOLE_USER:-0}" = 1 ] && printf ', kafscale-console (read)')"
        ;;
    disabling)
        ctl auth disable >/dev/null || fail "could not disable auth"
        log "auth disabled: the users stay in etcd, unused; set etcdAuth=off to remove their Secrets"
        ;;
    *) fail "AUTH_MODE is not on or disabling: '$AUTH_MODE'" ;;
esac
