#!/bin/sh
# etcd membership for KafScale's managed etcd, the way etcd's runtime-reconfiguration guide says.
# POSIX sh: runs under BusyBox ash and dash. Needs etcdctl (v3 API).
#
#   join     init container: decide how this member starts and write etcd's config file.
#   restore  init container after join (and etcd-snapshot-s3.sh fetch), when backups are on:
#            restore the fetched snapshot into the data dir, if join asked for a restore; or,
#            when join found no marker, bootstrap (the fetch step found no snapshot of this
#            cluster) or decide on evidence as for a lost cluster (it found some: the cluster
#            existed, and its marker is gone or not mounted yet).
#   promote  beside etcd (the pod's sidecar, for as long as the pod runs): promote this member
#            from learner to voter once it has caught up, answer the other members' questions
#            (the evidence port), and recover the cluster from this member's data when it is the
#            survivor: it holds data, no member has quorum, and every other member answered that
#            it holds none, CONFIRM_ROUNDS times in a row (or a person decided `recover-from` it).
#            The recovery is etcd's disaster-recovery guide's: etcd restarted with
#            `force-new-cluster` on the survivor's data (the sidecar stops this pod's etcd, which
#            the kubelet starts again), the flag removed once it serves; the others join it.
#
# join, for a member with no data:
#   - some member has quorum: this member's stale entry (if any) is removed and it is added again
#     as a learner, then started as `existing` (a member that lost its data never restarts under
#     its old identity: etcd-io/etcd#7445). etcd allows one learner at a time, so members join
#     one by one. An entry that never started while the cluster is still bootstrapping (no
#     marker) is this member's own bootstrap slot: it starts as `new`.
#   - no member has quorum and the cluster never bootstrapped (no BOOTSTRAP_MARKER and, with
#     backups on, no snapshot in this cluster's folder: join asks the fetch step to look, and
#     `restore` decides): `new`, with the full initial cluster.
#   - no member has quorum and the cluster bootstrapped before: decided on evidence, never on
#     silence. While join decides, this member answers on its evidence port (EVIDENCE_PORT) that
#     it holds no data; beside etcd, the sidecar answers that it holds data (with its cluster ID,
#     revision and raft term). A member that answers nothing may be restarting, partitioned or
#     slow, and may hold every acknowledged write: join then waits, saying why every
#     WAIT_LOG_INTERVAL_S, and names the one command a person can run to decide. Only when every
#     other member of the membership answers that it holds no data is the whole cluster gone:
#     with backups on (RESTORE_DIR set), join asks for a restore and `restore` brings back the
#     snapshot that the fetch step took (the newest whose checksum matches, the same object for
#     every member) under the cluster token `<token>-restore-<snapshot name>-<nonce>`, so members
#     that restored different snapshots can never form one cluster, nor a restore one that an
#     earlier restore of the same snapshot left. Without backups, a lost cluster waits, unless
#     START_EMPTY_WHEN_LOST=1 (then every member starts a new empty cluster under
#     `<token>-empty-<nonce>`). The nonce is the one the membership's first member (its lowest
#     ordinal) answered with: every member heard it, as every member answered. A person's
#     decision carries none (the members it names may not hear one another): its token is
#     `<token>-restore-<snapshot name>` or `<token>-empty`. A member that answers with data while no member has quorum is a
#     survivor: the cluster is recovered from its data (`promote` below), never from a
#     snapshot, and this member then joins it; so is one that restored a moment earlier.
#   - a person's decision (DECISION_FILE, from the optional recovery ConfigMap): `restore newest`,
#     `restore <snapshot>`, `start-empty` or `recover-from <member>` is carried out (logged as a
#     person's decision) whatever the evidence says.
# A member with data starts from it (etcd then ignores the initial-cluster settings), unless a
# member with quorum says it is no longer in the cluster: that data is cleared and it joins.
#
# Peer URL scheme: a member whose recorded peer URL has another scheme than MEMBER_PEER_URL (peer
# TLS turned on or off through etcdPeerUrlScheme=http) changes it with `member update` before its
# etcd starts while some member has quorum, else from the sidecar once the cluster serves. To
# https only once every member recorded at http answers that it holds the peer certificate
# (PEER_CERTIFICATE in its answer): a member without one cannot dial an https peer. Until then
# it waits and says why. A member that joins at an https URL waits for the same answer.
#
# Env (all): CLUSTER_DIR (files `initial-cluster` and `client-urls`), BOOTSTRAP_MARKER (a file that
# exists once the cluster bootstrapped). join: MEMBER_NAME, MEMBER_PEER_URL, MEMBER_CLIENT_URL,
# DATA_DIR, CONFIG_FILE, ETCD_CONFIG (every other setting, YAML; its initial-cluster-token is the
# cluster's), optional RESTORE_DIR (backups on), START_EMPTY_WHEN_LOST (0); restore: as join, and
# etcdutl (or, etcd 3.4, etcdctl) for the restore. promote: MEMBER_NAME, MEMBER_PEER_URL,
# MEMBER_CLIENT_URL, DATA_DIR, CONFIG_FILE, VOTING_FILE (optional: created once this member
# votes, for the readiness probe), CONFIRM_ROUNDS (3), WATCH_INTERVAL_S (5). join and promote:
# EVIDENCE_FILE (where this member's answer is kept; empty: it answers nothing), EVIDENCE_PORT
# (2382), POD_IP (the address to answer on; 0.0.0.0), DECISION_FILE (a person's decision),
# RECOVERY_CONFIGMAP and POD_NAMESPACE (named in the command a waiting member suggests),
# PEER_CERTIFICATE (`yes` when this pod's etcd holds the peer certificate; `no`).
# Optional: RETRY_INTERVAL_S (2), WAIT_LOG_INTERVAL_S (30: while waiting, how often to say why),
# ETCDCTL (etcdctl).
set -eu

START_EMPTY_WHEN_LOST="${START_EMPTY_WHEN_LOST:-0}"
EVIDENCE_FILE="${EVIDENCE_FILE:-}"
EVIDENCE_PORT="${EVIDENCE_PORT:-2382}"
PEER_CERTIFICATE="${PEER_CERTIFICATE:-no}"
DECISION_FILE="${DECISION_FILE:-}"
CONFIRM_ROUNDS="${CONFIRM_ROUNDS:-3}"
WATCH_INTERVAL_S="${WATCH_INTERVAL_S:-5}"
ETCDUTL="${ETCDUTL:-etcdutl}"
own_nonce=
identity_nonce=

LOG_NAME=etcd-member
# shellcheck source-path=SCRIPTDIR source=common.sh
. ./common.sh
# shellcheck source-path=SCRIPTDIR source=etcd-cluster.sh
. ./etcd-cluster.sh

# pod_nonce: this pod's nonce, 12 random hex digits, kept beside EVIDENCE_FILE (the pod's own
# volume) so that every step and every restart of this pod answers the same one; a new pod draws
# a new one.
pod_nonce() {
    if [ -n "$EVIDENCE_FILE" ]; then
        if [ ! -s "$EVIDENCE_FILE.nonce" ]; then
            od -An -N6 -tx1 /dev/urandom | tr -d ' \n' >"$EVIDENCE_FILE.nonce.tmp"
            mv "$EVIDENCE_FILE.nonce.tmp" "$EVIDENCE_FILE.nonce"
        fi
        cat "$EVIDENCE_FILE.nonce"
    else
        od -An -N6 -tx1 /dev/urandom | tr -d ' \n'
    fi
}

# witness: what says the cluster bootstrapped before, for a log line.
witness() {
    if [ -n "$BOOTSTRAP_MARKER" ] && [ -f "$BOOTSTRAP_MARKER" ]; then
        printf '%s' "$BOOTSTRAP_MARKER"
    else
        printf "its snapshots in the bucket; its marker is missing"
    fi
}

# peer_urls: every member's peer URL in the initial-cluster file; without_own: this one's left out.
# A member is told by its peer URL's address, without the scheme: turning peer TLS on or off moves
# each peer URL between http and https (`switch_peer_url`), one member at a time, while the
# initial-cluster file and the membership may still give another member's old scheme.
peer_urls() {
    tr -d ' \n' <"$CLUSTER_DIR/initial-cluster" | tr ',' '\n' | sed -n 's/^[^=]*=//p'
}

# STRIP_SCHEME: an awk function, `address(url)`: the URL without its scheme.
STRIP_SCHEME='function address(url) { sub(/^[a-z]*:\/\//, "", url); return url }'

without_own() {
    awk -v own="${MEMBER_PEER_URL#*://}" "$STRIP_SCHEME"' $0 != "" && address($0) != own'
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

# --- Evidence: what each member answers about itself, and what it asks of the others. ---

# answer STATE [LINE...]: what this member answers on its evidence port from now on, replaced in
# one rename: `state=` empty (join, seeing no quorum; with `nonce=`), joining (join, seeing one),
# starting (not decided yet, or etcd has made no data dir yet) or data (the sidecar, with the
# cluster's `token=`); then `key=value` lines.
answer() {
    [ -n "$EVIDENCE_FILE" ] || return 0
    {
        printf 'member=%s\nstate=%s\npeer_certificate=%s\n' "$MEMBER_NAME" "$1" "$PEER_CERTIFICATE"
        shift
        for line in "$@"; do
            printf '%s\n' "$line"
        done
    } >"$EVIDENCE_FILE.tmp"
    mv "$EVIDENCE_FILE.tmp" "$EVIDENCE_FILE"
}

# The answer to one connection: the request read to its blank line, then EVIDENCE_FILE as it is
# now (HTTP/1.0, so that wget reads it). Run by nc for every connection (EVIDENCE_FILE is in the
# container's env, so the responder has it).
# shellcheck disable=SC2016 # the responder's own shell expands these, per connection
RESPONDER='while IFS= read -r line; do case "$line" in "" | "$(printf "\r")") break ;; esac; done
printf "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n"
cat "$EVIDENCE_FILE" 2>/dev/null || printf "state=starting\n"'

# start_answering: serve EVIDENCE_FILE on EVIDENCE_PORT in the background (BusyBox nc, a new
# responder per connection) until stop_answering. Without nc this member answers nothing, and
# the others wait for it: the safe side.
answering_pid=
start_answering() {
    [ -n "$EVIDENCE_FILE" ] || return 0
    if ! command -v nc >/dev/null 2>&1; then
        log "this image has no nc: this member cannot answer the others (they wait for it)"
        return 0
    fi
    export EVIDENCE_FILE
    nc -ll -p "$EVIDENCE_PORT" "${POD_IP:-0.0.0.0}" -e /bin/sh -c "$RESPONDER" </dev/null >/dev/null 2>&1 &
    answering_pid=$!
}

stop_answering() {
    [ -z "$answering_pid" ] || kill "$answering_pid" 2>/dev/null || true
    answering_pid=
}

# evidence_of PEER_URL: what the member at PEER_URL answers on its evidence port (key=value
# lines); empty when it answers nothing, after three tries a second apart (a busy node may drop
# one connection; silence is only what stays silent).
evidence_of() {
    host=${1#*://}
    host=${host%:*}
    for _ in 1 2 3; do
        reply=$(timeout 3 wget -q -O - "http://$host:$EVIDENCE_PORT/" 2>/dev/null </dev/null || true)
        case "$reply" in
            *state=*)
                printf '%s\n' "$reply"
                return 0
                ;;
        esac
        sleep 1
    done
}

# value_of KEY TEXT: the value of `KEY=` in key=value lines.
value_of() {
    printf '%s\n' "$2" | sed -n "s/^$1=//p" | head -n 1
}

# name_of PEER_URL: the member name the initial-cluster file gives that peer URL.
name_of() {
    tr -d ' \n' <"$CLUSTER_DIR/initial-cluster" | tr ',' '\n' |
        awk -F= -v url="${1#*://}" "$STRIP_SCHEME"' address($2) == url { print $1 }'
}

# decision: a person's decision, the first line of DECISION_FILE (empty: none).
decision() {
    if [ -n "$DECISION_FILE" ] && [ -f "$DECISION_FILE" ]; then
        awk 'NR == 1 { $1 = $1; print; exit }' "$DECISION_FILE"
    fi
}

# to_decide: the one command with which a person decides what evidence cannot.
to_decide() {
    printf "to decide: kubectl -n %s create configmap %s --from-literal=decision='restore newest'" \
        "${POD_NAMESPACE:-<namespace>}" "${RECOVERY_CONFIGMAP:-<cluster>-etcd-recovery}"
    printf " (or 'restore <snapshot>', 'start-empty', 'recover-from <member>'; docs/backup-restore.md)"
}

# survey: every other member's answer. Sets `silent` (names), `holders` (name=cluster ID, for
# members that answer with data or whose etcd answers on its peer port), `holder_info`, and
# `first_nonce`: the nonce that the membership's first member answered with (this member's own
# when it is the first).
survey() {
    silent=
    holders=
    holder_info=
    first=$(peer_urls | head -n 1)
    first_nonce=
    [ "${first#*://}" != "${MEMBER_PEER_URL#*://}" ] || first_nonce=$own_nonce
    for url in $(peer_urls | without_own); do
        name=$(name_of "$url")
        reply=$(evidence_of "$url")
        [ "${url#*://}" != "${first#*://}" ] || first_nonce=$(value_of nonce "$reply")
        state=$(value_of state "$reply")
        id=$(cluster_of "$url")
        if [ "$state" = empty ] && [ -z "$id" ]; then
            continue
        fi
        if [ -z "$state" ] && [ -z "$id" ]; then
            silent="$silent ${name:-$url}"
            continue
        fi
        [ -n "$id" ] || id=$(value_of cluster "$reply")
        holders="$holders ${name:-$url}=${id:-unknown}"
        holder_info="$holder_info ${name:-$url} (cluster ${id:-unknown}, revision $(value_of revision "$reply"), term $(value_of term "$reply"))"
    done
}

# lost_cluster: no member has quorum and the cluster bootstrapped before. Decides, on evidence,
# whether this member restores (a request written for the fetch step: `newest` or a snapshot
# name, and the nonce of its cluster token), starts a new empty cluster, or waits (returns 1,
# `why` set). Sets `identity_nonce`: empty for a person's decision.
lost_cluster() {
    identity_nonce=
    for tool in wget timeout; do
        if ! command -v "$tool" >/dev/null 2>&1; then
            why="this image has no $tool, so the peers cannot be checked: never restoring blind"
            return 1
        fi
    done
    decided=$(decision)
    choice=
    case "$decided" in
        '') ;;
        'restore newest') choice=newest ;;
        'restore '*) choice=${decided#restore } ;;
        start-empty)
            log "a person decided: '$decided' ($DECISION_FILE)"
            log "starting a NEW EMPTY cluster in place of the lost one"
            write_config new "$initial_cluster" "$(cluster_token)-empty"
            return 0
            ;;
        'recover-from '*)
            why="a person decided '$decided': waiting for that member to serve, then joining it"
            return 1
            ;;
        *) log "ignoring the decision '$decided' in $DECISION_FILE: not one of 'restore newest', 'restore <snapshot>', 'start-empty', 'recover-from <member>'" ;;
    esac
    if [ -n "$choice" ]; then
        log "a person decided: '$decided' ($DECISION_FILE)"
    else
        survey
        if [ -n "$silent" ]; then
            why="no answer from$silent: a member that does not answer may be restarting, partitioned or slow, and may hold every acknowledged write, so nothing is restored or started; $(to_decide)"
            return 1
        fi
        if [ -n "$holders" ]; then
            why="${holder_info# } holds data and no member has quorum: the cluster is recovered from that data (its pod does it once every other member answers that it holds none), never over it, and this member joins it then; $(to_decide)"
            return 1
        fi
        log "every other member answered that it holds no data: the whole cluster is gone"
        choice=newest
        identity_nonce=$first_nonce
        if [ -n "$identity_nonce" ]; then
            log "the new cluster's identity: nonce $identity_nonce, which $(name_of "$first") answered"
        else
            log "$(name_of "$first") answered no nonce (an older script): the new cluster's token carries none"
        fi
    fi
    if [ -z "$RESTORE_DIR" ]; then
        if [ "$START_EMPTY_WHEN_LOST" = 1 ]; then
            start_empty
            return 0
        fi
        why="the whole cluster is gone and there are no backups (etcdSnapshotEnabled is off); etcdStartEmptyWhenLost would start it empty; $(to_decide)"
        return 1
    fi
    if [ -n "$identity_nonce" ]; then
        printf '%s\n' "$identity_nonce" >"$RESTORE_DIR/nonce"
    else
        rm -f "$RESTORE_DIR/nonce"
    fi
    printf '%s\n' "$choice" >"$RESTORE_DIR/requested"
    log "asking for a restore of the $([ "$choice" = newest ] && echo 'newest snapshot' || echo "snapshot $choice")"
}

# own_entry LIST: the entry whose peer URL is this member's, in either scheme.
own_entry() {
    printf '%s\n' "$1" | awk -F', ' -v url="${MEMBER_PEER_URL#*://}" "$STRIP_SCHEME"' address($4) == url'
}

# certificates_held LIST: true when every member that LIST (`member list`) records at an http peer
# URL, this one left out, answers that it holds the peer certificate: only such a member can dial
# an https peer (one recorded at https listens with it, so holds it). `lacking` names the others,
# the silent ones too: a member that does not answer is never taken to hold it.
certificates_held() {
    lacking=
    for url in $(printf '%s\n' "$1" | awk -F', ' '$4 ~ /^http:/ { print $4 }' | without_own); do
        [ "$(value_of peer_certificate "$(evidence_of "$url")")" = yes ] ||
            lacking="$lacking $(name_of "$url" | grep . || printf '%s' "$url")"
    done
    [ -z "$lacking" ]
}

# https_ready LIST: true when this member may be recorded at its peer URL: any http one, or an
# https one once `certificates_held`. Otherwise `why` says what it waits for.
https_ready() {
    case $MEMBER_PEER_URL in
        https://*) ;;
        *) return 0 ;;
    esac
    certificates_held "$1" && return 0
    why="no answer that it holds the peer certificate from$lacking (a member without it cannot dial an https peer); to go back to plain HTTP: pulumi config set kafscale:etcdPeerUrlScheme http, then pulumi up"
    return 1
}

# switch_peer_url ENDPOINTS LIST: this member's recorded peer URL (LIST, `member list`) made the
# one it listens on, MEMBER_PEER_URL, with `member update`: etcd's way to change a member's peer
# URLs (etcd.io/docs/v3.5/op-guide/runtime-configuration, "Update advertise peer URLs"). True when
# it is recorded so (or has no entry); false while it waits, `why` saying what for.
switch_peer_url() {
    own=$(own_entry "$2")
    [ -n "$own" ] || return 0
    recorded=$(field "$own" 4)
    [ "$recorded" != "$MEMBER_PEER_URL" ] || return 0
    https_ready "$2" || return 1
    if out=$(ctl --endpoints="$1" member update "$(field "$own" 1)" --peer-urls="$MEMBER_PEER_URL" 2>&1); then
        log "peer URL $recorded -> $MEMBER_PEER_URL (member update): $out"
        return 0
    fi
    why="member update to $MEMBER_PEER_URL failed: $out"
    return 1
}

# switch_before_start: while some member has quorum, this member's peer URL is switched before its
# etcd listens on the new scheme. With none (one member, or every member down) etcd starts on its
# data as it is, and the sidecar switches it once the cluster serves.
switch_before_start() {
    while [ -n "$healthy" ]; do
        if list=$(member_list "$healthy" 2>&1); then
            switch_peer_url "$healthy" "$list" && return 0
        else
            why="member list failed: $list"
        fi
        wait_log "waiting: etcd would listen on $MEMBER_PEER_URL, and this member's peer URL is not switched to it yet: $why"
        nap
        healthy=$(healthy_endpoints "$(client_urls)")
    done
}

# The cluster's token, as ETCD_CONFIG sets it.
cluster_token() {
    printf '%s\n' "$ETCD_CONFIG" | sed -n 's/^initial-cluster-token: *"\(.*\)" *$/\1/p'
}

# bootstrap_token: sets `token` to a first bootstrap's: the cluster's and the identity Pulumi drew
# once for this stack (CLUSTER_DIR's `identity`, the same file for every member), so that a cluster
# bootstrapped again after a `pulumi destroy` never shares a cluster ID with the one before it.
# No identity file (a render older than it): the cluster's token alone. One that is not hex fails:
# a member never bootstraps under a token the others may not share.
bootstrap_token() {
    identity=
    [ ! -f "$CLUSTER_DIR/identity" ] || read -r identity <"$CLUSTER_DIR/identity" || true
    case $identity in
        *[!0-9a-f]*) fail "$CLUSTER_DIR/identity is not lower-case hex: refusing to bootstrap" ;;
    esac
    token="$(cluster_token)${identity:+-$identity}"
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

# start_empty: a new empty cluster after a loss, the same token for every member (with the nonce
# every member heard, when the evidence decided).
start_empty() {
    log "starting a NEW EMPTY cluster in place of the lost one (START_EMPTY_WHEN_LOST)"
    write_config new "$initial_cluster" "$(cluster_token)-empty${identity_nonce:+-$identity_nonce}"
}

join() {
    require MEMBER_NAME MEMBER_PEER_URL DATA_DIR CONFIG_FILE ETCD_CONFIG CLUSTER_DIR
    initial_cluster=$(tr -d ' \n' <"$CLUSTER_DIR/initial-cluster")
    [ -n "$initial_cluster" ] || fail "$CLUSTER_DIR/initial-cluster is empty"
    # A member above the replica count (the scale-down Job removed it; its pod restarted before
    # the StatefulSet dropped it) never adds itself back, with data or without.
    until peer_urls | sed 's|^[a-z]*://||' | grep -qxF "${MEMBER_PEER_URL#*://}"; do
        wait_log "waiting: $MEMBER_NAME is not in $CLUSTER_DIR/initial-cluster (above etcdReplicas):" \
            "it never adds itself back; the StatefulSet removes this pod"
        nap
        initial_cluster=$(tr -d ' \n' <"$CLUSTER_DIR/initial-cluster")
    done
    # "No data" must be seen, not assumed: a data dir this user cannot look into may hold data.
    until [ -r "$DATA_DIR" ] && [ -x "$DATA_DIR" ]; do
        wait_log "waiting: $DATA_DIR cannot be read by this user (uid $(id -u)), so whether this member" \
            "holds data cannot be told and nothing is decided (fsGroup, or the volume's owner)"
        nap
    done
    if [ -d "$DATA_DIR/member" ]; then
        healthy=$(healthy_endpoints "$(client_urls)")
        if [ -n "$healthy" ] && list=$(member_list "$healthy") && [ -z "$(own_entry "$list")" ]; then
            log "the data in $DATA_DIR belongs to a member the cluster removed: clearing it to join again"
            rm -rf "$DATA_DIR/member"
        else
            switch_before_start
            log "data found in $DATA_DIR: etcd restarts from it"
            write_config new "$initial_cluster"
            return 0
        fi
    fi
    # While it decides, this member tells the others that it holds no data: `empty` only while it
    # sees no quorum either (what a survivor needs to hear before it recovers the cluster), and
    # `joining` while it joins a cluster that has one (a survivor never acts on that).
    answer starting
    [ -n "$answering_pid" ] || start_answering
    [ -n "$own_nonce" ] || own_nonce=$(pod_nonce)
    while :; do
        healthy=$(healthy_endpoints "$(client_urls)")
        if [ -z "$healthy" ]; then
            answer empty "nonce=$own_nonce"
        else
            answer joining
        fi
        if [ -z "$healthy" ]; then
            if ! bootstrapped; then
                if [ -n "$RESTORE_DIR" ]; then
                    # The second witness is in the bucket: the fetch step looks, then `restore`
                    # bootstraps, or decides on evidence as for a lost cluster.
                    log "no member has quorum and no marker says the cluster bootstrapped: asking the fetch step whether this cluster's snapshot folder shows it existed"
                    printf 'bootstrap\n' >"$RESTORE_DIR/requested"
                    return 0
                fi
                bootstrap_token
                log "no member has quorum and the cluster never bootstrapped: bootstrapping it as $token"
                write_config new "$initial_cluster" "$token"
                return 0
            fi
            if lost_cluster; then
                return 0
            fi
            wait_log "waiting: the cluster bootstrapped before ($(witness)) and no member has" \
                "quorum; refusing to bootstrap a new empty cluster over it: $why"
        elif ! list=$(member_list "$healthy" 2>&1); then
            wait_log "waiting: member list failed: $list"
        else
            entry=$(own_entry "$list")
            if [ -n "$entry" ] && [ "$(field "$entry" 2)" = unstarted ] &&
                [ "$(field "$entry" 6)" = false ] && ! bootstrapped; then
                bootstrap_token
                log "this member's bootstrap slot never started: joining the bootstrap as $token"
                write_config new "$initial_cluster" "$token"
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
            if [ -z "$entry" ] && ! https_ready "$list"; then
                wait_log "waiting: not adding this member at $MEMBER_PEER_URL yet: $why"
            elif [ -z "$entry" ]; then
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

# decide_again: join's decision, made again from the restore step (it may join, start empty, or
# ask for a restore). `requested` stays until join has decided, so that this step, should it fail
# and the kubelet run it again, decides again too. Returns 0 when join wrote etcd's config.
decide_again() {
    rm -f "$CONFIG_FILE"
    join
    if [ -f "$CONFIG_FILE" ]; then
        rm -f "$RESTORE_DIR/requested" "$RESTORE_DIR/snapshot.db"
        return 0
    fi
    return 1 # join asked for a restore: the fetch step already took the snapshot
}

# restore: after join asked for a restore and the fetch step ran.
restore() {
    require MEMBER_NAME MEMBER_PEER_URL DATA_DIR CONFIG_FILE ETCD_CONFIG CLUSTER_DIR RESTORE_DIR
    if [ ! -f "$RESTORE_DIR/requested" ]; then
        log "no restore requested: etcd starts as join decided"
        return 0
    fi
    initial_cluster=$(tr -d ' \n' <"$CLUSTER_DIR/initial-cluster")
    identity_nonce=
    [ ! -f "$RESTORE_DIR/nonce" ] || read -r identity_nonce <"$RESTORE_DIR/nonce" || true
    read -r requested <"$RESTORE_DIR/requested" || requested=newest
    if [ "$requested" = bootstrap ]; then
        if [ ! -f "$RESTORE_DIR/existed" ]; then
            bootstrap_token
            log "this cluster's snapshot folder holds no snapshot and no marker says it bootstrapped: bootstrapping it as $token"
            write_config new "$initial_cluster" "$token"
            rm -f "$RESTORE_DIR/requested"
            return 0
        fi
        log "this cluster's snapshot folder shows that it existed (its marker is gone, or not mounted yet): deciding on evidence as for a lost cluster, never bootstrapping a new empty one"
        if decide_again; then
            return 0
        fi
    fi
    healthy=$(healthy_endpoints "$(client_urls)")
    if [ -n "$healthy" ]; then
        log "a member has quorum again ($healthy): joining it instead of restoring"
        if decide_again; then
            return 0
        fi
    fi
    if [ -f "$RESTORE_DIR/start-empty" ]; then
        start_empty
        return 0
    fi
    if [ ! -f "$RESTORE_DIR/snapshot.db" ] || [ ! -f "$RESTORE_DIR/snapshot.name" ]; then
        # The kubelet runs this step again, not the fetch: a person's start-empty still decides.
        if [ "$(decision)" = start-empty ]; then
            log "a person decided: 'start-empty' ($DECISION_FILE)"
            start_empty
            return 0
        fi
        fail "a restore was requested but no snapshot was fetched into $RESTORE_DIR; $(to_decide)"
    fi
    name=$(cat "$RESTORE_DIR/snapshot.name")
    read -r requested <"$RESTORE_DIR/requested" || requested=newest
    if [ "$requested" != newest ] && [ "$requested" != "$name" ]; then
        fail "snapshot $requested was requested, but $name was fetched: nothing restored"
    fi
    token="$(cluster_token)-restore-$name${identity_nonce:+-$identity_nonce}"
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

# leader_endpoint URLS: the one of the comma-separated URLS whose member is the leader, as its own
# `endpoint status` says (etcd answers it without credentials and without quorum); nothing when
# none is. `member promote` goes there: a follower forwards a promote to the leader without the
# client's credentials, which the leader refuses with auth on ("auth: user name is empty", and the
# promote times out: etcd-io/etcd#20757, measured on 3.5.1; fixed by #20792 in later releases).
leader_endpoint() {
    for url in $(printf '%s' "$1" | tr ',' ' '); do
        status=$("$ETCDCTL" --endpoints="$url" --dial-timeout=1s --command-timeout=2s \
            endpoint status -w json </dev/null 2>/dev/null) || continue
        responder=$(json_number member_id "$status")
        if [ -n "$responder" ] && [ "$responder" = "$(json_number leader "$status")" ]; then
            printf '%s\n' "$url"
            return 0
        fi
    done
}

# mark_voting: what the container's readiness probe looks for (VOTING_FILE, when set).
mark_voting() {
    if [ -n "${VOTING_FILE:-}" ]; then
        : >"$VOTING_FILE"
    fi
}

# own_status: this member's `endpoint status` (JSON), which etcd answers without quorum; empty
# when its etcd does not answer.
own_status() {
    "$ETCDCTL" --endpoints="$MEMBER_CLIENT_URL" --dial-timeout=1s --command-timeout=2s \
        endpoint status -w json </dev/null 2>/dev/null || true
}

# tell: refresh what this member answers: its data (cluster ID, revision and term as last seen
# from its etcd, which may be down) or, before etcd made its data dir, `starting`.
# Sets own_leader: the leader this member's etcd knows (empty or 0: none, or etcd is down).
last_cluster=
last_revision=
last_term=
own_leader=
tell() {
    own_leader=
    if [ ! -d "$DATA_DIR/member" ]; then
        answer starting
        return 0
    fi
    status=$(own_status)
    running=no
    if [ -n "$status" ]; then
        running=yes
        own_leader=$(json_number leader "$status")
        [ -n "$last_cluster" ] || last_cluster=$(cluster_of "$MEMBER_PEER_URL")
        revision=$(json_number revision "$status")
        term=$(json_number raft_term "$status")
        [ -z "$revision" ] || last_revision=$revision
        [ -z "$term" ] || last_term=$term
    fi
    answer data "cluster=$last_cluster" "revision=$last_revision" "term=$last_term" "etcd_running=$running" \
        "token=$(sed -n 's/^initial-cluster-token: *"\(.*\)" *$/\1/p' "$CONFIG_FILE" 2>/dev/null | head -n 1)"
}

# own_etcd_pid: this pod's etcd process. The pod shares one process namespace; the etcd container
# carries POD_NAME and POD_IP, so that a process namespace with other pods' etcd in it (several
# clusters on one machine, their pods named alike) is told apart too. Nothing without both.
own_etcd_pid() {
    [ -n "${POD_IP:-}" ] || return 0
    for dir in /proc/[0-9]*; do
        [ "$(cat "$dir/comm" 2>/dev/null)" = etcd ] || continue
        env_of=$(tr '\0' '\n' <"$dir/environ" 2>/dev/null) || continue
        printf '%s\n' "$env_of" | grep -qxF "POD_NAME=$MEMBER_NAME" || continue
        printf '%s\n' "$env_of" | grep -qxF "POD_IP=$POD_IP" || continue
        printf '%s\n' "${dir#/proc/}"
    done
}

# force_new_cluster: etcd's disaster recovery from this member's data: etcd started again with
# `force-new-cluster` (a one-member cluster on its data, the others' entries dropped); stopping
# it here, the kubelet starts it again with the flag.
force_new_cluster() {
    if ! grep -q '^force-new-cluster:' "$CONFIG_FILE"; then
        { cat "$CONFIG_FILE" && printf 'force-new-cluster: true\n'; } >"$CONFIG_FILE.tmp"
        mv "$CONFIG_FILE.tmp" "$CONFIG_FILE"
    fi
    log "RECOVERING the cluster from this member's data (revision ${last_revision:-unknown}, term ${last_term:-unknown}): etcd starts again with force-new-cluster, the others join it"
    for pid in $(own_etcd_pid); do
        kill "$pid" 2>/dev/null && log "stopped etcd (pid $pid): the kubelet starts it again"
    done
    confirmed=0
}

# forced_done: once this member serves again, the flag goes: a later restart must not drop the
# members that joined since.
forced_done() {
    if [ -f "$CONFIG_FILE" ] && grep -q '^force-new-cluster:' "$CONFIG_FILE"; then
        sed '/^force-new-cluster:/d' "$CONFIG_FILE" >"$CONFIG_FILE.tmp"
        mv "$CONFIG_FILE.tmp" "$CONFIG_FILE"
        log "recovered: this member serves, a one-member cluster on its data; the others join it as learners"
    fi
}

# recover_check: no member has quorum. This member recovers the cluster from its data when it
# holds data, a person decided so or every other member answered CONFIRM_ROUNDS times in a row
# that it holds none; any silence or any other data resets the count.
confirmed=0
recover_check() {
    [ -d "$DATA_DIR/member" ] || return 0
    [ -n "$(peer_urls | without_own)" ] || return 0 # one member: nobody to recover from
    if grep -q '^force-new-cluster:' "$CONFIG_FILE" 2>/dev/null; then
        wait_log "recovering: waiting for etcd to start with force-new-cluster and serve"
        return 0
    fi
    decided=$(decision)
    case "$decided" in
        "recover-from $MEMBER_NAME")
            log "a person decided: '$decided' ($DECISION_FILE)"
            force_new_cluster
            return 0
            ;;
        'recover-from '* | 'restore '* | start-empty)
            confirmed=0
            wait_log "no member has quorum; a person decided '$decided': not recovering from this member"
            return 0
            ;;
    esac
    survey
    if [ -n "$silent" ] || [ -n "$holders" ]; then
        confirmed=0
        wait_log "no member has quorum; not recovering from this member's data while${silent:+ no answer comes from$silent}${holders:+ data is also on$holders}; $(to_decide)"
        return 0
    fi
    confirmed=$((confirmed + 1))
    log "no member has quorum and every other member answers that it holds no data ($confirmed of $CONFIRM_ROUNDS)"
    [ "$confirmed" -lt "$CONFIRM_ROUNDS" ] || force_new_cluster
}

promote() {
    require MEMBER_NAME MEMBER_PEER_URL MEMBER_CLIENT_URL CLUSTER_DIR DATA_DIR CONFIG_FILE
    trap 'stop_answering; exit 0' TERM INT
    tell
    start_answering
    # A member that started `new` (the bootstrap, a restart on its data, a restore) votes: ready
    # at once, which OrderedReady needs to create the next member of a first bootstrap. One that
    # started as a learner (`existing`) is ready once promoted.
    if grep -q '^initial-cluster-state: new' "$CONFIG_FILE" 2>/dev/null; then
        mark_voting
    fi
    promoted=
    switched=
    while :; do
        tell
        healthy=
        if [ -n "$own_leader" ] && [ "$own_leader" != 0 ]; then
            healthy=$(healthy_endpoints "$MEMBER_CLIENT_URL")
        fi
        [ -n "$healthy" ] || healthy=$(healthy_endpoints "$(client_urls)")
        if [ -z "$healthy" ]; then
            recover_check
        else
            confirmed=0
            [ -z "$(healthy_endpoints "$MEMBER_CLIENT_URL")" ] || forced_done
            if [ -n "$(decision)" ]; then
                wait_log "the cluster has quorum: the decision in $DECISION_FILE ('$(decision)') is not needed; delete the ConfigMap, or a later loss acts on it"
            fi
        fi
        if [ -z "$promoted" ] && [ -n "$healthy" ] && list=$(member_list "$healthy" 2>/dev/null); then
            entry=$(own_entry "$list")
            if [ -z "$entry" ]; then
                log "not a member of the cluster: nothing to promote"
                promoted=1
            elif [ "$(field "$entry" 6)" != true ]; then
                log "a voting member"
                mark_voting
                promoted=1
            elif through=$(leader_endpoint "$(client_urls)" | grep . || printf '%s' "$healthy") &&
                out=$(ctl --endpoints="$through" member promote "$(field "$entry" 1)" 2>&1); then
                log "$out (through $through)"
                mark_voting
                promoted=1
            else
                wait_log "learner, not promoted yet: $out"
            fi
        elif [ -z "$promoted" ]; then
            wait_log "waiting for a member with quorum, to promote this member if it is a learner"
        fi
        # A member that started without quorum elsewhere (one member; every member restarted at
        # once) switches its recorded peer URL once the cluster serves.
        if [ -z "$switched" ] && [ -n "$healthy" ] && list=$(member_list "$healthy" 2>/dev/null); then
            if switch_peer_url "$healthy" "$list"; then
                switched=1
            else
                wait_log "$MEMBER_NAME's peer URL is not switched to $MEMBER_PEER_URL yet: $why"
            fi
        fi
        if [ -n "$promoted" ] && [ -n "$healthy" ]; then
            sleep "$WATCH_INTERVAL_S" &
            wait $! || true
        else
            nap
        fi
    done
}

is_number "$EVIDENCE_PORT" || fail "EVIDENCE_PORT is not a number: '$EVIDENCE_PORT'"
is_number "$CONFIRM_ROUNDS" && [ "$CONFIRM_ROUNDS" -ge 1 ] ||
    fail "CONFIRM_ROUNDS is not a positive number: '$CONFIRM_ROUNDS'"
is_number "$WATCH_INTERVAL_S" || fail "WATCH_INTERVAL_S is not a number: '$WATCH_INTERVAL_S'"
case "${1:-}" in
    join)
        # What an earlier run of this pod left: a restore is decided afresh.
        if [ -n "$RESTORE_DIR" ]; then
            rm -f "$RESTORE_DIR/requested" "$RESTORE_DIR/start-empty" "$RESTORE_DIR/snapshot.db" \
                "$RESTORE_DIR/snapshot.name" "$RESTORE_DIR/nonce"
        fi
        trap stop_answering EXIT
        join
        ;;
    restore)
        trap stop_answering EXIT
        restore
        ;;
    promote) promote ;;
    *) fail "usage: etcd-member.sh join|restore|promote" ;;
esac
