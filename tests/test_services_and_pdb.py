from tests.support import render_objects

LABELS = {"app": "kafscale-etcd", "cluster": "prod"}
METADATA = {"namespace": "streaming", "labels": LABELS}


def test_headless_service_publishes_not_ready_peers():
    service = render_objects(clusterName="prod", namespace="streaming").get("Service", "prod-etcd")
    assert service["apiVersion"] == "v1"
    assert service["metadata"] == {"name": "prod-etcd", **METADATA}
    assert service["spec"] == {
        "clusterIP": "None",
        "publishNotReadyAddresses": True,
        "selector": LABELS,
        "ports": [{"name": "client", "port": 2379}, {"name": "peer", "port": 2380}],
    }


def test_client_service_exposes_the_client_port_only():
    service = render_objects(clusterName="prod", namespace="streaming").get("Service", "prod-etcd-client")
    assert service["metadata"] == {"name": "prod-etcd-client", **METADATA}
    assert service["spec"] == {"selector": LABELS, "ports": [{"name": "client", "port": 2379}]}


def test_pod_disruption_budget_allows_one_member_down():
    pdb = render_objects(clusterName="prod", namespace="streaming").get("PodDisruptionBudget", "prod-etcd")
    assert pdb["apiVersion"] == "policy/v1"
    assert pdb["metadata"] == {"name": "prod-etcd", **METADATA}
    assert pdb["spec"] == {"maxUnavailable": 1, "selector": {"matchLabels": LABELS}}


# Objects with a label of their own beside the two; every other object carries exactly the two.
EXTRA_LABELS = {
    ("ConfigMap", "prod-etcd-bootstrapped"): {"app.kubernetes.io/component": "etcd-bootstrap-marker"},
    ("Job", "prod-etcd-scale-down"): {"app.kubernetes.io/component": "etcd-membership"},
    ("CronJob", "prod-etcd-maintenance"): {
        "app.kubernetes.io/component": "etcd-maintenance",
        "kafscale.io/etcd-task": "maintenance",
    },
    ("CronJob", "prod-etcd-maintenance-check"): {
        "app.kubernetes.io/component": "etcd-maintenance",
        "kafscale.io/etcd-task": "maintenance-check",
    },
    ("CronJob", "prod-etcd-snapshot"): {
        "app.kubernetes.io/component": "etcd-snapshot",
        "kafscale.io/etcd-task": "snapshot",
    },
}


def test_every_object_carries_the_two_labels_and_the_namespace():
    objects = render_objects(clusterName="prod", namespace="streaming")
    assert set(EXTRA_LABELS) | {("ConfigMap", "prod-etcd-members")} <= set(objects.kinds_and_names)
    for manifest in objects.manifests:
        key = (manifest["kind"], manifest["metadata"]["name"])
        assert manifest["metadata"]["labels"] == {**EXTRA_LABELS.get(key, {}), **LABELS}, key
        assert manifest["metadata"]["namespace"] == "streaming", key
