"""`python -m kafscale render`: its `main` in this process (tests/test_layout.py runs it as a
subprocess, in a venv with only the runtime requirements), real files, real exit codes."""

import json

import pytest
import yaml

from kafscale.config.rules import shown
from kafscale.objects.membership import member_script
from kafscale_lab.manifests import etcd_container, init_container, only, pod_spec
from tests.support import PROJECT_DIR, besides_pinning, run_cli, yaml_documents


def _render(*args):
    return run_cli("render", *args)


def _etcd_container(stdout):
    return etcd_container(only(yaml_documents(stdout), "StatefulSet"))


def _join_container(stdout):
    return init_container(only(yaml_documents(stdout), "StatefulSet"), "member-join")


def _init_containers(stdout):
    return pod_spec(only(yaml_documents(stdout), "StatefulSet"))["initContainers"]


def _etcd_config(stdout):
    """The fixed part of etcd's config file, as the member-join init container writes it."""
    (text,) = [e["value"] for e in _join_container(stdout)["env"] if e["name"] == "ETCD_CONFIG"]
    return yaml.safe_load(text)


def _object(stdout, kind, name):
    (manifest,) = [d for d in yaml_documents(stdout) if d["kind"] == kind and d["metadata"]["name"] == name]
    return manifest


def test_dev_stack_prints_every_object_as_yaml_in_a_stable_order():
    first = _render("--stack", "dev")
    assert first.returncode == 0, first.stderr
    assert besides_pinning(first.stderr.splitlines()) == []
    documents = list(yaml_documents(first.stdout))
    assert [(d["apiVersion"], d["kind"], d["metadata"]["name"]) for d in documents] == [
        ("v1", "ConfigMap", "kafscale-etcd-bootstrapped"),
        ("v1", "ConfigMap", "kafscale-etcd-members"),
        ("v1", "Service", "kafscale-etcd"),
        ("v1", "Service", "kafscale-etcd-client"),
        ("batch/v1", "Job", "kafscale-etcd-scale-down"),
        ("apps/v1", "StatefulSet", "kafscale-etcd"),
        ("policy/v1", "PodDisruptionBudget", "kafscale-etcd"),
        ("networking.k8s.io/v1", "NetworkPolicy", "kafscale-etcd"),
        ("batch/v1", "CronJob", "kafscale-etcd-maintenance"),
        ("batch/v1", "CronJob", "kafscale-etcd-maintenance-check"),
    ]  # no snapshot CronJob: the dev stack turns backups off (Pulumi.dev.yaml says why)
    assert all(
        list(d) == sorted(["apiVersion", "kind", "metadata", "data" if d["kind"] == "ConfigMap" else "spec"])
        for d in documents
    )
    assert "2379.0" not in first.stdout
    assert _etcd_container(first.stdout)["ports"][0]["containerPort"] == 2379
    # Multi-line values survive the YAML round trip: the script as packaged, the config typed.
    installer = _init_containers(first.stdout)[0]
    assert installer["name"] == "member-scripts" and installer["command"][-1] == member_script()
    assert _etcd_config(first.stdout)["quota-backend-bytes"] == 536870912
    assert _render("--stack", "dev").stdout == first.stdout


def test_a_bad_quota_warns_and_renders_the_default():
    result = _render(
        "--stack", "dev", "--set", "etcdQuotaBackendBytes=banana", "--set", "etcdExpectedWriteRate=500"
    )
    assert result.returncode == 0, result.stderr
    assert _etcd_config(result.stdout)["quota-backend-bytes"] == 4294967296
    warnings = [line for line in besides_pinning(result.stderr.splitlines()) if line.startswith("warning:")]
    assert len(warnings) == 1
    assert "etcdQuotaBackendBytes" in warnings[0] and "banana" in warnings[0]


def test_memory_mode_at_1gi_requests_1gi_and_limits_1536mi():
    result = _render(
        "--stack",
        "dev",
        "--set",
        "etcdStorageMemory=true",
        "--set",
        "etcdQuotaBackendBytes=1Gi",
        "--set",
        "etcdMemoryHeadroomBytes=512Mi",
    )
    assert result.returncode == 0, result.stderr
    assert _etcd_container(result.stdout)["resources"] == {
        "requests": {"cpu": "100m", "memory": "1Gi"},  # the dev stack's CPU
        "limits": {"memory": "1536Mi"},
    }


def test_maintenance_off_renders_no_maintenance_cronjob():
    result = _render(
        "--stack", "dev", "--set", "etcdMaintenanceEnabled=off", "--set", "etcdSnapshotEnabled=on"
    )
    assert result.returncode == 0, result.stderr
    kinds = [(d["kind"], d["metadata"]["name"]) for d in yaml_documents(result.stdout)]
    assert [kind for kind, _ in kinds] == [
        "ConfigMap",
        "ConfigMap",
        "Service",
        "Service",
        "Job",
        "StatefulSet",
        "PodDisruptionBudget",
        "NetworkPolicy",
        "CronJob",
    ]
    assert kinds[-1] == ("CronJob", "kafscale-etcd-snapshot")  # backups stay on


def test_set_accepts_the_namespaced_key_too():
    result = _render("--stack", "dev", "--set", "kafscale:etcdReplicas=5")
    assert result.returncode == 0, result.stderr
    members = _object(result.stdout, "ConfigMap", "kafscale-etcd-members")["data"]
    assert members["initial-cluster"].split(",")[-1] == (
        "kafscale-etcd-4=http://kafscale-etcd-4.kafscale-etcd.kafscale-dev.svc.cluster.local:2380"
    )
    assert len(members["client-urls"].split(",")) == 5
    assert _object(result.stdout, "StatefulSet", "kafscale-etcd")["spec"]["replicas"] == 5
    job = _object(result.stdout, "Job", "kafscale-etcd-scale-down")
    (container,) = pod_spec(job)["containers"]
    assert {"name": "TARGET_REPLICAS", "value": "5"} in container["env"]


def test_output_writes_one_file_per_object(tmp_path):
    result = _render("--stack", "dev", "--output", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == [
        "configmap-kafscale-etcd-bootstrapped.yaml",
        "configmap-kafscale-etcd-members.yaml",
        "cronjob-kafscale-etcd-maintenance-check.yaml",
        "cronjob-kafscale-etcd-maintenance.yaml",
        "job-kafscale-etcd-scale-down.yaml",
        "networkpolicy-kafscale-etcd.yaml",
        "poddisruptionbudget-kafscale-etcd.yaml",
        "service-kafscale-etcd-client.yaml",
        "service-kafscale-etcd.yaml",
        "statefulset-kafscale-etcd.yaml",
    ]
    (statefulset,) = yaml_documents((tmp_path / "out" / "statefulset-kafscale-etcd.yaml").read_text())
    assert statefulset["kind"] == "StatefulSet"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--stack", "nosuchstack"], "unknown stack 'nosuchstack'"),
        (
            ["--stack", "dev", "--set", "etcdQuotaBackendByte=1Gi"],
            'unknown config key "kafscale:etcdQuotaBackendByte"',
        ),
        (["--stack", "dev", "--set", "etcdReplicas"], "expected KEY=VALUE"),
        (["--stack", "dev", "--set", "clusterName=Prod"], "kafscale:clusterName"),
        (["--stack", "dev", "--set", "etcdEndpoints=[oops"], "kafscale:etcdEndpoints"),
        (["--set", "etcdReplicas=3"], "--stack"),
    ],
)
def test_input_errors_are_one_line_on_stderr_and_exit_2(args, message):
    result = _render(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_an_encrypted_value_is_one_line_and_exit_2(tmp_path):
    for name in ("Pulumi.yaml", "__main__.py"):
        (tmp_path / name).write_text((PROJECT_DIR / name).read_text())
    (tmp_path / "Pulumi.sec.yaml").write_text(
        "encryptionsalt: v1:abc\nconfig:\n  kafscale:etcdEndpoints:\n    secure: v1:AAAA\n"
    )
    result = _render("--stack", "sec", "--project-dir", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: kafscale:etcdEndpoints is encrypted (secure:) and cannot be read offline; pass its value "
        "with --set kafscale:etcdEndpoints=..."
    ]


def test_preview_warns_when_a_memory_mode_limit_cannot_hold_a_defrag():
    at_5000 = (
        *("--stack", "dev", "--set", "etcdExpectedWriteRate=5000", "--set", "etcdQuotaBackendBytes=4Gi"),
        *("--set", "etcdMemoryHeadroomBytes=512Mi"),
    )
    result = _render(*at_5000)
    assert result.returncode == 0, result.stderr
    assert besides_pinning(result.stderr.splitlines()) == [
        "warning: kafscale:etcdMemoryHeadroomBytes: memory limit 4608Mi (quota 4Gi + headroom 512Mi) cannot "
        "hold a defrag's worst case of 4,620 MiB (backend at quota + a copy of 336 MiB of live data (the "
        "history at 5000 writes/s) + WAL, snapshots and heap); the maintenance job will skip such a defrag. "
        "Set the headroom to at least 524Mi"
    ]
    fixed = _render(*at_5000, "--set", "etcdMemoryHeadroomBytes=524Mi")
    assert fixed.returncode == 0 and besides_pinning(fixed.stderr.splitlines()) == []


def _last_settings(tmp_path, *overrides):
    """What `pulumi stack output settings --json` prints after deploying the dev stack so."""
    from kafscale.offline.render import render_stack

    path = tmp_path / "last.json"
    path.write_text(json.dumps(render_stack(PROJECT_DIR, "dev", overrides).exports["settings"]))
    return str(path)


def test_last_settings_refuses_a_memory_mode_replacement_in_one_error_line(tmp_path):
    result = run_cli(
        "render", "--stack", "dev", "--last-settings", _last_settings(tmp_path), "--set", "etcdProbes=off"
    )
    assert result.returncode == 2 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(
        "error: kafscale:etcdProbes (true -> false) replaces the StatefulSet kafscale-etcd"
    )


def test_last_settings_warns_of_a_disk_mode_replacement_and_renders(tmp_path):
    last = _last_settings(tmp_path, "etcdStorageMemory=false")
    result = run_cli(
        "render",
        "--stack",
        "dev",
        "--last-settings",
        last,
        "--set",
        "etcdStorageMemory=false",
        "--set",
        "etcdStorageSize=20Gi",
    )
    assert result.returncode == 0 and "kind: StatefulSet" in result.stdout
    (warning,) = [line for line in result.stderr.splitlines() if "replaces the StatefulSet" in line]
    assert warning.startswith('warning: kafscale:etcdStorageSize ("10Gi" -> "20Gi")')


def test_last_settings_of_the_same_values_changes_nothing(tmp_path):
    result = run_cli("render", "--stack", "dev", "--last-settings", _last_settings(tmp_path))
    assert result.returncode == 0
    assert result.stdout == run_cli("render", "--stack", "dev").stdout
    assert "StatefulSet" not in result.stderr


@pytest.mark.parametrize(
    "content", ["{not json", "[1, 2]", None], ids=["not-json", "not-an-object", "missing"]
)
def test_a_last_settings_file_that_cannot_be_read_is_one_error_line(tmp_path, content):
    path = tmp_path / "last.json"
    if content is not None:
        path.write_text(content)
    result = run_cli("render", "--stack", "dev", "--last-settings", str(path))
    assert result.returncode == 2 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: --last-settings {shown(str(path))}: ")


@pytest.mark.parametrize(
    "content",
    [
        "[" * 100_000 + "]" * 100_000,  # past Python's recursion limit
        '{"clusterName": "kafscale", "namespace": "x", "etcdReplicas": ' + "9" * 5000 + "}",
        '{"settings": {"clusterName": "kafscale", "namespace": "kafscale"}}',  # a whole stack's outputs
        '{"clientEndpoints": "http://x:2379", "managed": true}',
        '{"clusterName": "kafscale", "namespace": "kafscale", "notAKey": 1}',
        "{}",
    ],
    ids=["deep", "huge-integer", "nested-settings", "other-outputs", "unknown-key", "empty"],
)
def test_a_last_settings_file_that_is_not_a_settings_output_is_one_error_line(tmp_path, content):
    """Read as a deployment of all defaults, such a file would give a false verdict (a refused
    replacement in memory mode, no check at all in disk mode)."""
    path = tmp_path / "last.json"
    path.write_text(content)
    result = run_cli("render", "--stack", "dev", "--last-settings", str(path))
    assert "Traceback" not in result.stderr
    assert result.returncode == 2 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: --last-settings {shown(str(path))}: not a settings output"), line
