from kafscale.config.tmpfs_footprint import DEFRAG_COPY_DIVISOR, DEFRAG_RESERVE_BYTES
from kafscale.objects.maintenance import maintenance_script
from kafscale_lab.manifests import maintenance_container
from tests.support import render_objects

LABELS = {"app": "kafscale-etcd", "cluster": "prod"}


def _cronjobs(**raw):
    objects = render_objects(clusterName="prod", namespace="streaming", **raw)
    return {
        m["metadata"]["name"]: m
        for m in objects.manifests
        if m["kind"] == "CronJob"
        and m["metadata"]["labels"]["app.kubernetes.io/component"] == "etcd-maintenance"
    }


def test_two_cronjobs_with_the_operators_shape():
    cronjobs = _cronjobs(etcdQuotaBackendBytes="2Gi", etcdMaintenanceSizeThresholdPct="80")
    assert sorted(cronjobs) == ["prod-etcd-maintenance", "prod-etcd-maintenance-check"]
    for name, task, schedule, check_only in [
        ("prod-etcd-maintenance", "maintenance", "0 */6 * * *", "0"),
        ("prod-etcd-maintenance-check", "maintenance-check", "*/15 * * * *", "1"),
    ]:
        cronjob = cronjobs[name]
        labels = {**LABELS, "app.kubernetes.io/component": "etcd-maintenance", "kafscale.io/etcd-task": task}
        assert cronjob["apiVersion"] == "batch/v1"
        assert cronjob["metadata"] == {"name": name, "namespace": "streaming", "labels": labels}
        spec = cronjob["spec"]
        assert spec["schedule"] == schedule
        assert spec["concurrencyPolicy"] == "Forbid"
        assert spec["successfulJobsHistoryLimit"] == 3
        assert spec["failedJobsHistoryLimit"] == 3
        job = spec["jobTemplate"]["spec"]
        assert job["activeDeadlineSeconds"] == 1800
        pod = job["template"]["spec"]
        assert pod["restartPolicy"] == "Never"
        (container,) = pod["containers"]
        assert container["image"] == "ghcr.io/kafscale/kafscale-etcd-tools:dev"
        assert container["command"] == ["/bin/sh", "-c", maintenance_script()]
        assert container["env"] == [
            {
                "name": "ETCD_MEMBERS",
                "value": ",".join(
                    f"http://prod-etcd-{i}.prod-etcd.streaming.svc.cluster.local:2379" for i in range(3)
                ),
            },
            {"name": "ETCDCTL_API", "value": "3"},
            {"name": "ETCD_QUOTA_BYTES", "value": "2147483648"},
            {"name": "THRESHOLD_PCT", "value": "80"},
            {"name": "CHECK_ONLY", "value": check_only},
            {"name": "FRAGMENTATION_PCT", "value": "45"},
            {"name": "MIN_DEFRAG_BYTES", "value": "104857600"},
            {"name": "MOVE_LEADER", "value": "0"},
        ]


def test_the_script_is_the_package_file_verbatim():
    script = _cronjobs()["prod-etcd-maintenance"]["spec"]["jobTemplate"]["spec"]["template"]["spec"][
        "containers"
    ][0]["command"][2]
    assert script.startswith("#!/bin/sh\n")
    assert "set -eu" in script
    assert "alarm disarm" not in script  # never the unfiltered disarm


def test_no_cronjobs_when_maintenance_is_disabled():
    assert _cronjobs(etcdMaintenanceEnabled="off") == {}
    assert _cronjobs(etcdDefragEnabled="false") == {}


def test_no_cronjobs_with_external_endpoints():
    assert render_objects(etcdEndpoints="http://etcd:2379").manifests == []


def _job_env(cronjob):
    return {entry["name"]: entry["value"] for entry in maintenance_container(cronjob)["env"]}


def test_memory_mode_gives_the_jobs_the_etcd_containers_memory_limit():
    objects = render_objects(
        clusterName="prod",
        namespace="streaming",
        etcdStorageMemory="true",
        etcdQuotaBackendBytes="2Gi",
        etcdMemoryHeadroomBytes="1Gi",
    )
    limit = objects.etcd_container("prod-etcd")["resources"]["limits"]["memory"]
    assert limit == "3Gi"
    for name in ("prod-etcd-maintenance", "prod-etcd-maintenance-check"):
        values = _job_env(objects.get("CronJob", name))
        assert values["ETCD_MEMORY_LIMIT_BYTES"] == str(3 * 1024**3)
        assert values["DEFRAG_RESERVE_BYTES"] == str(DEFRAG_RESERVE_BYTES)
        assert values["DEFRAG_COPY_DIVISOR"] == str(DEFRAG_COPY_DIVISOR)


def test_disk_mode_jobs_have_no_memory_limit_to_respect():
    for cronjob in _cronjobs().values():
        assert set(_job_env(cronjob)).isdisjoint(
            {"ETCD_MEMORY_LIMIT_BYTES", "DEFRAG_RESERVE_BYTES", "DEFRAG_COPY_DIVISOR"}
        )
