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

from kafscale.config.settings import SettingsError, parse_settings
from kafscale.edge.change_safety import replacement_problems
from kafscale.objects.composition import apply_after
from kafscale.objects.peer_tls import peer_dns_names
from kafscale_lab.certificates import Certificate, make_ca, make_certificate
from kafscale_lab.drills import (
    DRILL_LOAD,
    auth_secrets,
    background_load,
    lost_writes,
    membership,
    turn_auth_on,
    wait_for,
)
from kafscale_lab.local_cluster import LocalCluster
from kafscale_lab.manifests import container, init_container, only, pod_spec
from tests.support import other_build_in_soak, render_objects, rendered_manifests, run_cli

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
    ],
)
def test_a_value_that_cannot_be_used_is_an_error_never_plain_http(key, value):
    with pytest.raises(SettingsError, match=f"kafscale:{key}: "):
        parse_settings({key: value})
    result = run_cli("render", "--stack", "dev", "--set", f"{key}={value}")
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: kafscale:{key}: ") and result.stderr.count("\n") == 1


@pytest.mark.parametrize(("before", "after"), [("", SECRET), (SECRET, "")], ids=["turning-on", "turning-off"])
def test_turning_peer_tls_on_or_off_for_a_deployed_cluster_is_refused(before, after):
    deployed = parse_settings({"etcdPeerTlsSecret": before}).settings.as_config_values()
    settings = parse_settings({"etcdPeerTlsSecret": after}).settings
    problems = replacement_problems(deployed, settings)
    assert problems.refusal is not None
    assert problems.refusal.startswith("kafscale:etcdPeerTlsSecret (")
    assert "loses quorum" in problems.refusal and "docs/security.md" in problems.refusal
    # A deployment from before the key existed had it off: turning it on is refused too.
    older = {k: v for k, v in deployed.items() if k != "etcdPeerTlsSecret"}
    assert (replacement_problems(older, settings).refusal is not None) is bool(after)
    # Another Secret for a cluster that has peer TLS already: a rolling update, not refused.
    renamed = parse_settings({"etcdPeerTlsSecret": "other"}).settings
    if before:
        assert replacement_problems(deployed, renamed).refusal is None


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
    ours, theirs, ca = _certificates(tmp_path)
    manifests = rendered_manifests(f"etcdPeerTlsSecret={SECRET}")
    # Each pod's connections leave from its own address, as in a pod network: etcd admits a peer
    # only when one of its certificate's DNS names covers the connecting address's name
    # (etcd's security guide, "Notes for TLS authentication": since v3.2.0 the server resolves
    # the certificate's DNS names against the remote IP), which the hosts file gives here and the
    # cluster's DNS in Kubernetes (docs/security.md, "Peer TLS").
    secrets = {SECRET: ours.secret_data()}
    with LocalCluster(manifests, etcd_binary, secrets=secrets, own_source_addresses=True) as cluster:
        cluster.wait_for_leader()
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
        # https peer URL, promoted once caught up.
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
        plain = http.client.HTTPConnection(first.address, 2380, timeout=5)
        try:
            plain.request("GET", "/members")
            # etcd's TLS listener drops a connection whose first bytes are no TLS handshake.
            with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
                plain.getresponse()
        finally:
            plain.close()


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
