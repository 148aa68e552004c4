from kafscale.objects.maintenance import maintenance_script
from kafscale.tmpfs_footprint import DEFRAG_RESERVE_BYTES

LABELS = {"app": "kafscale-etcd", "cluster": "prod"}


def _cronjobs(render_component, **raw):
    objects = render_component(clusterName="prod", namespace="streaming", **raw)
    return {m["metadata"]["name"]: m for m in objects.manifests if m["kind"] == "CronJob"}


def test_two_cronjobs_with_the_operators_shape(render_component):
    cronjobs = _cronjobs(render_component, etcdQuotaBackendBytes="2Gi", etcdMaintenanceSizeThresholdPct="80")
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
        ]


def test_the_script_is_the_package_file_verbatim(render_component):
    script = _cronjobs(render_component)["prod-etcd-maintenance"]["spec"]["jobTemplate"]["spec"]["template"][
        "spec"
    ]["containers"][0]["command"][2]
    assert script.startswith("#!/bin/sh\n")
    assert "set -eu" in script
    assert "alarm disarm" not in script  # never the unfiltered disarm


def test_no_cronjobs_when_maintenance_is_disabled(render_component):
    assert _cronjobs(render_component, etcdMaintenanceEnabled="off") == {}
    assert _cronjobs(render_component, etcdDefragEnabled="false") == {}


def test_no_cronjobs_with_external_endpoints(render_component):
    assert render_component(etcdEndpoints="http://etcd:2379").manifests == []


def _job_env(cronjob):
    return cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["env"]


def test_memory_mode_gives_the_jobs_the_etcd_containers_memory_limit(render_component):
    objects = render_component(
        clusterName="prod",
        namespace="streaming",
        etcdStorageMemory="true",
        etcdQuotaBackendBytes="2Gi",
        etcdMemoryHeadroomBytes="1Gi",
    )
    limit = objects.etcd_container("prod-etcd")["resources"]["limits"]["memory"]
    assert limit == "3Gi"
    for name in ("prod-etcd-maintenance", "prod-etcd-maintenance-check"):
        env = objects.get("CronJob", name)["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][
            0
        ]["env"]
        values = {entry["name"]: entry["value"] for entry in env}
        assert values["ETCD_MEMORY_LIMIT_BYTES"] == str(3 * 1024**3)
        assert values["DEFRAG_RESERVE_BYTES"] == str(DEFRAG_RESERVE_BYTES)


def test_disk_mode_jobs_have_no_memory_limit_to_respect(render_component):
    for cronjob in _cronjobs(render_component).values():
        env = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["env"]
        assert {entry["name"] for entry in env}.isdisjoint(
            {"ETCD_MEMORY_LIMIT_BYTES", "DEFRAG_RESERVE_BYTES"}
        )
