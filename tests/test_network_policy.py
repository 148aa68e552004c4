"""The NetworkPolicy: who may reach which etcd port, evaluated with Kubernetes' semantics.

Ingress rules are OR-ed, the peers of one rule are OR-ed, and a peer with both a namespace and a
pod selector needs both to match; a peer with only a pod selector means this namespace.
"""

from typing import Any

import pytest

from kafscale.objects.network_policy import NAMESPACE_NAME_LABEL
from tests.support import render_objects

ETCD = {"app": "kafscale-etcd", "cluster": "kafscale"}


def _matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    assert set(selector) <= {"matchLabels"}, selector  # the only form we render
    return all(labels.get(key) == value for key, value in selector.get("matchLabels", {}).items())


def admitted(policy: dict[str, Any], namespace: str, labels: dict[str, str], port: int) -> bool:
    """Would a pod (namespace, labels) reach `port` of a pod the policy selects?"""
    own_namespace = policy["metadata"]["namespace"]
    namespace_labels = {NAMESPACE_NAME_LABEL: namespace}
    for rule in policy["spec"]["ingress"]:
        if not any(p["port"] == port and p["protocol"] == "TCP" for p in rule["ports"]):
            continue
        for peer in rule["from"]:
            if "namespaceSelector" in peer:
                namespace_ok = _matches(peer["namespaceSelector"], namespace_labels)
            else:
                namespace_ok = namespace == own_namespace
            if namespace_ok and _matches(peer.get("podSelector", {}), labels):
                return True
    return False


@pytest.fixture
def policy():
    objects = render_objects(
        etcdClientNamespaces="kafscale-apps",
        etcdClientPodSelectors="app=kafscale-broker;app=kafscale-proxy,tier=edge",
    )
    return objects.get("NetworkPolicy", "kafscale-etcd")


@pytest.mark.parametrize(
    ("namespace", "labels", "client_port", "peer_port"),
    [
        ("kafscale", ETCD, True, True),  # another member
        ("kafscale", {"app": "kafscale-broker"}, True, False),  # a broker beside etcd
        ("kafscale", {"app": "kafscale-etcd", "cluster": "other"}, True, False),  # another cluster
        ("kafscale-apps", {"app": "anything"}, True, False),  # a listed namespace
        ("elsewhere", {"app": "kafscale-broker"}, True, False),  # a listed selector, any namespace
        ("elsewhere", {"app": "kafscale-proxy", "tier": "edge"}, True, False),
        ("elsewhere", {"app": "kafscale-proxy"}, False, False),  # half a selector is not enough
        ("elsewhere", ETCD, False, False),  # etcd labels in another namespace are not peers
        ("default", {}, False, False),
    ],
)
def test_who_reaches_which_port(policy, namespace, labels, client_port, peer_port):
    assert admitted(policy, namespace, labels, 2379) is client_port
    assert admitted(policy, namespace, labels, 2380) is peer_port


def test_the_policy_selects_exactly_the_etcd_pods_and_restricts_only_ingress(policy):
    statefulset = render_objects().get("StatefulSet", "kafscale-etcd")
    assert policy["spec"]["podSelector"] == statefulset["spec"]["selector"]
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    assert policy["metadata"]["labels"] == ETCD


def test_the_policy_is_on_by_default_and_off_removes_it():
    assert ("NetworkPolicy", "kafscale-etcd") in render_objects().kinds_and_names
    off = render_objects(etcdNetworkPolicy="off")
    assert [kind for kind, _ in off.kinds_and_names if kind == "NetworkPolicy"] == []
    external = render_objects(etcdEndpoints="http://etcd.example:2379")
    assert external.manifests == []
