"""The snapshot CronJob and its keys: defaults, rules, warnings, shape, env, off switch."""

import pytest

from kafscale.config import keys
from kafscale.config.naming import CLUSTER_NAME_MAX_LENGTH, CRONJOB_NAME_MAX_LENGTH, EtcdNames
from kafscale.config.rules import default_snapshot_bucket, s3_bucket_name
from kafscale.config.settings import parse_settings
from kafscale.objects.snapshot import s3_command, s3_script, save_script
from kafscale_lab.manifests import container, init_container, only, pod_spec
from tests.support import MOCK_DEPLOYMENT, component_args, render_objects

LABELS = {"app": "kafscale-etcd", "cluster": "prod"}
TASK_LABELS = {"app.kubernetes.io/component": "etcd-snapshot", "kafscale.io/etcd-task": "snapshot"}
IDENTITY = EtcdNames("prod", "streaming", MOCK_DEPLOYMENT).snapshot_identity
MEMBERS = ",".join(f"http://prod-etcd-{i}.prod-etcd.streaming.svc.cluster.local:2379" for i in range(3))


def _cronjob(**raw):
    return render_objects(clusterName="prod", namespace="streaming", **raw).get(
        "CronJob", "prod-etcd-snapshot"
    )


def _upload_env(cronjob):
    return container(cronjob, "upload")["env"]


def _values(env):
    return {entry["name"]: entry.get("value") for entry in env}


def _warnings(raw):
    return [w.message for w in parse_settings(raw).warnings]


# The keys


def test_defaults():
    settings = parse_settings({}).settings
    assert settings.snapshot_enabled is True
    assert settings.snapshot_bucket == "kafscale-etcd-kafscale-kafscale"
    assert settings.snapshot_prefix == "etcd-snapshots"
    assert settings.snapshot_schedule == "0 * * * *"
    assert settings.snapshot_image == "amazon/aws-cli:2.15.0"
    assert settings.snapshot_s3_endpoint == ""
    assert settings.snapshot_stale_after_sec == 7200
    assert settings.snapshot_create_bucket is False
    assert settings.snapshot_protect_bucket is False
    assert settings.snapshot_s3_region == ""
    assert settings.snapshot_credentials_secret == ""
    assert settings.snapshot_keep == 0


@pytest.mark.parametrize(
    ("namespace", "cluster", "bucket"),
    [
        ("kafscale", "kafscale", "kafscale-etcd-kafscale-kafscale"),
        ("team-a1", "prod-2", "kafscale-etcd-team-a1-prod-2"),
        ("0stream--ing", "eu-west-1a", "kafscale-etcd-0stream-ing-eu-west-1a"),  # "--" is a run: one "-"
    ],
)
def test_the_default_bucket_is_derived_from_the_namespace_and_cluster_name(namespace, cluster, bucket):
    parsed = parse_settings({"namespace": namespace, "clusterName": cluster})
    assert parsed.settings.snapshot_bucket == bucket
    assert parsed.warnings == ()


@pytest.mark.parametrize(
    ("namespace", "cluster", "bucket"),
    [
        ("Team_A", "Prod", "kafscale-etcd-team-a-prod"),  # lower-cased, '_' one '-'
        ("a..b", "c", "kafscale-etcd-a-b-c"),  # a run of others is one '-'
        ("--x--", "__", "kafscale-etcd-x"),  # trimmed, both ends
        ("ns", "a b/c", "kafscale-etcd-ns-a-b-c"),
    ],
)
def test_the_bucket_derivation_rule_itself(namespace, cluster, bucket):
    """The operator's rule, on inputs beyond the DNS names our namespace and cluster keys admit."""
    assert default_snapshot_bucket(namespace, cluster) == bucket


def test_a_derived_bucket_s3_would_refuse_is_used_with_a_warning():
    raw = {"namespace": "n" * 63, "clusterName": "c" * CLUSTER_NAME_MAX_LENGTH}
    parsed = parse_settings(raw)
    derived = f"kafscale-etcd-{'n' * 63}-{'c' * CLUSTER_NAME_MAX_LENGTH}"
    assert parsed.settings.snapshot_bucket == derived
    (message,) = [w.message for w in parsed.warnings]
    assert message.startswith('kafscale:etcdSnapshotBucket: "kafscale-etcd-nnn')
    assert "is the default derived from the namespace and cluster name" in message
    assert "every snapshot upload fails until kafscale:etcdSnapshotBucket names a bucket" in message
    # Named explicitly, it is fine; with backups off, nothing is said.
    assert _warnings({**raw, "etcdSnapshotBucket": "backups"}) == []
    assert _warnings({**raw, "etcdSnapshotEnabled": "false"}) == []


@pytest.mark.parametrize("bucket", ["abc", "my.bucket-1", "a" * 63, "kafscale-etcd-prod", "0backups9"])
def test_bucket_names_s3_accepts(bucket):
    parsed = parse_settings({"etcdSnapshotBucket": bucket})
    assert parsed.settings.snapshot_bucket == bucket
    assert parsed.warnings == ()


@pytest.mark.parametrize(
    "bucket",
    [
        "ab",
        "a" * 64,
        "Backups",
        "my_bucket",
        "-backups",
        "backups-",
        "my..bucket",
        "192.168.5.4",
        "xn--backups",
        "sthree-backups",
        "amzn-s3-demo-backups",
        "backups-s3alias",
        "backups--ol-s3",
        "backups.mrap",
        "backups--x-s3",
        "backups--table-s3",
        "s3://backups",
    ],
)
def test_bucket_names_s3_refuses_fall_back_to_the_default_with_a_warning(bucket):
    parsed = parse_settings({"namespace": "streaming", "clusterName": "prod", "etcdSnapshotBucket": bucket})
    assert s3_bucket_name(bucket) is None
    assert parsed.settings.snapshot_bucket == "kafscale-etcd-streaming-prod"
    (warning,) = parsed.warnings
    assert warning.key == "etcdSnapshotBucket"
    assert warning.message.endswith(f"{keys.SNAPSHOT_BUCKET.reason}; using kafscale-etcd-streaming-prod")


@pytest.mark.parametrize(
    ("raw", "prefix"),
    [
        ("etcd-snapshots", "etcd-snapshots"),
        ("/backups/", "backups"),
        ("//team/etcd//", "team/etcd"),
        ("a/b.c/d_e", "a/b.c/d_e"),
    ],
)
def test_the_prefix_has_its_slashes_trimmed(raw, prefix):
    parsed = parse_settings({"etcdSnapshotPrefix": raw})
    assert parsed.settings.snapshot_prefix == prefix
    assert parsed.warnings == ()


@pytest.mark.parametrize("raw", ["/", "a//b", "a/./b", "../x", "with space", "é", "a\tb", "x" * 513])
def test_a_prefix_that_is_not_one_falls_back_with_a_warning(raw):
    parsed = parse_settings({"etcdSnapshotPrefix": raw})
    assert parsed.settings.snapshot_prefix == "etcd-snapshots"
    (warning,) = parsed.warnings
    assert warning.key == "etcdSnapshotPrefix" and warning.used == "etcd-snapshots"


@pytest.mark.parametrize(
    ("key", "good", "field", "value"),
    [
        ("etcdSnapshotSchedule", "*/30 * * * *", "snapshot_schedule", "*/30 * * * *"),
        ("etcdSnapshotSchedule", "@daily", "snapshot_schedule", "@daily"),
        (
            "etcdSnapshotImage",
            "registry.example:5000/aws-cli:2",
            "snapshot_image",
            "registry.example:5000/aws-cli:2",
        ),
        (
            "etcdSnapshotS3Endpoint",
            "http://minio.storage:9000",
            "snapshot_s3_endpoint",
            "http://minio.storage:9000",
        ),
        (
            "etcdSnapshotS3Endpoint",
            "https://s3.example.com",
            "snapshot_s3_endpoint",
            "https://s3.example.com",
        ),
        ("etcdSnapshotStaleAfterSec", "3600", "snapshot_stale_after_sec", 3600),
        ("etcdSnapshotCreateBucket", "yes", "snapshot_create_bucket", True),
        ("etcdSnapshotProtectBucket", "ON", "snapshot_protect_bucket", True),
        ("etcdSnapshotS3Region", "eu-west-1", "snapshot_s3_region", "eu-west-1"),
        ("etcdSnapshotS3Region", "garage", "snapshot_s3_region", "garage"),
        ("etcdSnapshotCredentialsSecret", "s3-creds.v1", "snapshot_credentials_secret", "s3-creds.v1"),
        ("etcdSnapshotKeep", "24", "snapshot_keep", 24),
        ("etcdSnapshotKeep", "100000", "snapshot_keep", 100_000),
        ("etcdSnapshotEnabled", "off", "snapshot_enabled", False),
    ],
)
def test_values_each_rule_accepts(key, good, field, value):
    parsed = parse_settings({key: good})
    assert getattr(parsed.settings, field) == value
    assert parsed.warnings == ()


@pytest.mark.parametrize(
    ("key", "bad", "used"),
    [
        ("etcdSnapshotSchedule", "hourly", "0 * * * *"),
        ("etcdSnapshotSchedule", "61 * * * *", "0 * * * *"),
        ("etcdSnapshotImage", "Amazon/AWS-CLI", "amazon/aws-cli:2.15.0"),
        ("etcdSnapshotS3Endpoint", "minio:9000", "none (AWS S3)"),
        ("etcdSnapshotS3Endpoint", "ftp://minio:9000", "none (AWS S3)"),
        ("etcdSnapshotS3Endpoint", "http://minio:9000/bucket", "none (AWS S3)"),
        ("etcdSnapshotStaleAfterSec", "0", "7200"),
        ("etcdSnapshotStaleAfterSec", "-5", "7200"),
        ("etcdSnapshotStaleAfterSec", "2h", "7200"),
        ("etcdSnapshotCreateBucket", "maybe", "false"),
        ("etcdSnapshotProtectBucket", "2", "false"),
        ("etcdSnapshotS3Region", "EU_WEST_1", "none (the AWS CLI's default, us-east-1)"),
        ("etcdSnapshotCredentialsSecret", "S3_Creds", "none (the pod's own AWS credentials)"),
        ("etcdSnapshotKeep", "-1", "0"),
        ("etcdSnapshotKeep", "100001", "0"),
        ("etcdSnapshotKeep", "ten", "0"),
        ("etcdSnapshotEnabled", "sometimes", "true"),
    ],
)
def test_values_each_rule_refuses_fall_back_with_a_warning(key, bad, used):
    parsed = parse_settings({key: bad})
    assert parsed.settings == parse_settings({}).settings
    (warning,) = parsed.warnings
    assert (warning.key, warning.value, warning.used) == (key, bad, used)
    assert warning.message.startswith(f"kafscale:{key}: ")


def test_the_snapshot_cronjob_name_fits_with_the_longest_cluster_name():
    name = EtcdNames("c" * CLUSTER_NAME_MAX_LENGTH, "ns").snapshot_cronjob
    assert name == "c" * CLUSTER_NAME_MAX_LENGTH + "-etcd-snapshot"
    assert len(name) <= CRONJOB_NAME_MAX_LENGTH


# The CronJob


def test_the_cronjob_has_the_operators_shape():
    cronjob = _cronjob()
    assert cronjob["apiVersion"] == "batch/v1"
    assert cronjob["metadata"] == {
        "name": "prod-etcd-snapshot",
        "namespace": "streaming",
        "labels": {**TASK_LABELS, **LABELS},
    }
    spec = cronjob["spec"]
    assert spec["schedule"] == "0 * * * *"
    assert spec["concurrencyPolicy"] == "Forbid"
    assert (spec["successfulJobsHistoryLimit"], spec["failedJobsHistoryLimit"]) == (3, 3)
    job = spec["jobTemplate"]["spec"]
    assert 0 < job["activeDeadlineSeconds"] < 3600  # done before the next hourly run
    pod = pod_spec(cronjob)
    assert pod["restartPolicy"] == "Never"
    assert pod["automountServiceAccountToken"] is False
    task_pod_labels = {**TASK_LABELS, "app": "kafscale-etcd-task", "cluster": "prod"}
    assert spec["jobTemplate"]["metadata"]["labels"] == task_pod_labels
    assert job["template"]["metadata"]["labels"] == task_pod_labels
    assert pod["volumes"] == [{"name": "snapshot", "emptyDir": {}}, {"name": "tmp", "emptyDir": {}}]


def test_the_init_container_saves_with_the_tools_image():
    cronjob = _cronjob(etcdSnapshotEtcdctlImage="registry.example/tools:1")
    (save,) = pod_spec(cronjob)["initContainers"]
    assert save["name"] == "snapshot-save"
    assert save["image"] == "registry.example/tools:1"
    assert save["command"] == ["/bin/sh", "-c", save_script()]
    assert save["env"] == [
        {"name": "ETCD_MEMBERS", "value": MEMBERS},
        {"name": "ETCDCTL_API", "value": "3"},
        {"name": "SNAPSHOT_DIR", "value": "/snapshot"},
    ]
    assert save["volumeMounts"] == [{"name": "snapshot", "mountPath": "/snapshot"}]


def test_the_members_follow_the_replicas():
    (save,) = pod_spec(_cronjob(etcdReplicas="5"))["initContainers"]
    assert _values(save["env"])["ETCD_MEMBERS"].split(",")[-1] == (
        "http://prod-etcd-4.prod-etcd.streaming.svc.cluster.local:2379"
    )


def test_the_main_container_uploads_with_the_aws_cli_image_and_the_defaults():
    cronjob = _cronjob()
    (upload,) = pod_spec(cronjob)["containers"]
    assert upload["name"] == "upload"
    assert upload["image"] == "amazon/aws-cli:2.15.0"
    assert upload["command"] == s3_command("upload")
    assert upload["env"] == [
        {"name": "SNAPSHOT_DIR", "value": "/snapshot"},
        {"name": "SNAPSHOT_BUCKET", "value": "kafscale-etcd-streaming-prod"},
        {"name": "SNAPSHOT_PREFIX", "value": "etcd-snapshots"},
        {"name": "SNAPSHOT_IDENTITY", "value": IDENTITY},
        {"name": "HOME", "value": "/tmp"},
        {"name": "SNAPSHOT_KEEP", "value": "0"},
        {"name": "SNAPSHOT_CREATE_BUCKET", "value": "0"},
        {"name": "SNAPSHOT_PROTECT_BUCKET", "value": "0"},
    ]
    assert upload["volumeMounts"] == [
        {"name": "snapshot", "mountPath": "/snapshot", "readOnly": True},
        {"name": "tmp", "mountPath": "/tmp"},
    ]


def test_every_upload_setting_reaches_the_env():
    env = _upload_env(
        _cronjob(
            etcdSnapshotBucket="backups",
            etcdSnapshotPrefix="/team/etcd/",
            etcdSnapshotKeep="24",
            etcdSnapshotCreateBucket="true",
            etcdSnapshotProtectBucket="true",
            etcdSnapshotS3Endpoint="http://minio.storage:9000",
            etcdSnapshotS3Region="eu-west-1",
        )
    )
    assert _values(env) == {
        "SNAPSHOT_DIR": "/snapshot",
        "SNAPSHOT_BUCKET": "backups",
        "SNAPSHOT_PREFIX": "team/etcd",
        "SNAPSHOT_IDENTITY": IDENTITY,
        "SNAPSHOT_KEEP": "24",
        "SNAPSHOT_CREATE_BUCKET": "1",
        "SNAPSHOT_PROTECT_BUCKET": "1",
        "HOME": "/tmp",
        "AWS_ENDPOINT_URL": "http://minio.storage:9000",
        "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }


def test_no_endpoint_region_or_credentials_env_unless_set():
    names = set(_values(_upload_env(_cronjob())))
    assert not names & {
        "AWS_ENDPOINT_URL",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    }


def test_the_credentials_secret_keys_become_the_aws_variables_each_optional():
    env = _upload_env(_cronjob(etcdSnapshotCredentialsSecret="s3-creds"))
    refs = {entry["name"]: entry["valueFrom"] for entry in env if "valueFrom" in entry}
    assert refs == {
        "AWS_ACCESS_KEY_ID": {
            "secretKeyRef": {"name": "s3-creds", "key": "KAFSCALE_S3_ACCESS_KEY", "optional": True}
        },
        "AWS_SECRET_ACCESS_KEY": {
            "secretKeyRef": {"name": "s3-creds", "key": "KAFSCALE_S3_SECRET_KEY", "optional": True}
        },
        "AWS_SESSION_TOKEN": {
            "secretKeyRef": {"name": "s3-creds", "key": "KAFSCALE_S3_SESSION_TOKEN", "optional": True}
        },
    }
    assert all("value" not in entry for entry in env if "valueFrom" in entry)


def test_the_schedule_and_image_reach_the_cronjob():
    cronjob = _cronjob(etcdSnapshotSchedule="*/30  *  * * *", etcdSnapshotImage="registry.example/aws:1")
    assert cronjob["spec"]["schedule"] == "*/30 * * * *"
    assert container(cronjob, "upload")["image"] == "registry.example/aws:1"


def test_backups_off_render_no_snapshot_cronjob_and_leave_maintenance_alone():
    objects = render_objects(clusterName="prod", namespace="streaming", etcdSnapshotEnabled="false")
    cronjobs = sorted(name for kind, name in objects.kinds_and_names if kind == "CronJob")
    assert cronjobs == ["prod-etcd-maintenance", "prod-etcd-maintenance-check"]


def test_maintenance_off_leaves_backups_on():
    objects = render_objects(clusterName="prod", namespace="streaming", etcdMaintenanceEnabled="false")
    assert [name for kind, name in objects.kinds_and_names if kind == "CronJob"] == ["prod-etcd-snapshot"]


def test_no_snapshot_cronjob_with_external_endpoints():
    assert render_objects(etcdEndpoints="http://etcd:2379").manifests == []


def test_the_pod_runs_as_the_other_pods_do():
    objects = render_objects(clusterName="prod", namespace="streaming", etcdRunAsUser="1001")
    snapshot = pod_spec(objects.get("CronJob", "prod-etcd-snapshot"))
    maintenance = pod_spec(objects.get("CronJob", "prod-etcd-maintenance"))
    assert snapshot["securityContext"] == maintenance["securityContext"]
    assert snapshot["securityContext"]["runAsUser"] == 1001
    for one in (*snapshot["initContainers"], *snapshot["containers"]):
        assert one["securityContext"] == maintenance["containers"][0]["securityContext"]


@pytest.mark.parametrize("script", [save_script(), s3_script()], ids=["save", "s3"])
def test_the_scripts_are_posix_sh_that_stop_on_error(script):
    assert script.startswith("#!/bin/sh\n")
    assert "\nset -eu\n" in script
    assert 'log "FAILED: $*"' in script
    assert "[[" not in script and "pipefail" not in script and "local " not in script


def test_the_upload_script_uses_only_s3_commands_alike_in_aws_cli_v1_and_v2():
    script = s3_script()
    used = sorted({line.split("s3api ", 1)[1].split()[0] for line in script.splitlines() if "s3api " in line})
    assert used == [
        "create-bucket",
        "delete-object",
        "head-bucket",
        "list-objects-v2",
        "put-bucket-versioning",
        "put-public-access-block",
    ]
    assert "s3 cp --only-show-errors" in script


def test_each_cluster_has_its_own_snapshot_folder_named_readably_and_stable():
    """Two stacks, namespaces or cluster names never share a folder, even with one bucket and
    prefix; the same cluster always gets the same one (a restore finds what the uploads wrote)."""
    base = EtcdNames("prod", "streaming", "kafscale/production")
    others = [
        EtcdNames("prod", "streaming", "kafscale/staging"),
        EtcdNames("prod", "streaming", "platform/production"),
        EtcdNames("prod", "streaming2", "kafscale/production"),
        EtcdNames("prod2", "streaming", "kafscale/production"),
    ]
    identities = {base.snapshot_identity, *(names.snapshot_identity for names in others)}
    assert len(identities) == 1 + len(others)
    assert EtcdNames("prod", "streaming", "kafscale/production").snapshot_identity == base.snapshot_identity
    namespace, cluster, digest = base.snapshot_identity.split(".")
    assert (namespace, cluster) == ("streaming", "prod")
    assert len(digest) == 12 and int(digest, 16) >= 0


def test_uploads_and_restores_use_the_folder_of_the_stack_that_deploys_them():
    """The component's stack (project/stack, under the mocks) names the folder, for the CronJob
    and the etcd pods' fetch alike."""
    from kafscale.edge.component import ManagedEtcd
    from kafscale.offline.engine import run_program
    from kafscale.offline.render import kubernetes_manifests

    def identities(stack: str) -> set[str]:
        run = run_program(lambda: ManagedEtcd("etcd", component_args()), config={}, stack=stack)
        manifests = kubernetes_manifests(run)
        (cronjob,) = [m for m in manifests if m["metadata"]["name"] == "kafscale-etcd-snapshot"]
        upload = container(cronjob, "upload")
        fetch = init_container(only(manifests, "StatefulSet"), "snapshot-fetch")
        return {_values(each["env"])["SNAPSHOT_IDENTITY"] for each in (upload, fetch)}

    staging, production = identities("staging"), identities("production")
    assert len(staging) == len(production) == 1
    assert staging != production


@pytest.mark.parametrize(
    ("key", "variable", "value"),
    [
        ("etcdSnapshotPrefix", "SNAPSHOT_PREFIX", "team$$a"),
        ("etcdSnapshotPrefix", "SNAPSHOT_PREFIX", "$(SNAPSHOT_DIR)/x"),
        ("etcdSnapshotPrefix", "SNAPSHOT_PREFIX", "a$(POD_NAME)$$(HOME)$"),
        # Bucket, endpoint and region rules refuse a `$` outright (a warning; see test_bad_input).
        ("etcdSnapshotPrefix", "SNAPSHOT_PREFIX", "$$(HOME)$"),
    ],
)
def test_a_value_with_dollar_forms_reaches_every_container_exactly_as_given(key, variable, value):
    """The kubelet expands `$(VAR)` and reduces `$$` in env values: a user's value must come out
    of that expansion as written, in the upload container (which defines SNAPSHOT_DIR and HOME)
    and in the etcd pods' fetch (which defines HOME) alike."""
    from kafscale_lab.pod_runner import container_env

    objects = render_objects(etcdSnapshotEnabled="true", **{key: value})
    statefulset = objects.get("StatefulSet", "kafscale-etcd")
    cronjob = objects.get("CronJob", "kafscale-etcd-snapshot")
    containers = [container(cronjob, "upload"), init_container(statefulset, "snapshot-fetch")]
    for each in containers:
        env = container_env(each, "kafscale-etcd-0", "kafscale")
        assert env[variable] == value, each["name"]
