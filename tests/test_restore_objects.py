"""The etcd pods' restore steps as rendered: order, images, commands, env, mounts, the off switch
and the `etcdStartEmptyWhenLost` key."""

import pytest

from kafscale.config.settings import parse_settings
from kafscale.objects.membership import member_script
from kafscale.objects.snapshot import s3_command
from kafscale_lab.manifests import container, script_and_args
from tests.support import render_objects

TOOLS_IMAGE = "ghcr.io/kafscale/kafscale-etcd-tools:dev"
AWS_IMAGE = "amazon/aws-cli:2.15.0"
S3_KEYS = {
    "etcdSnapshotS3Endpoint": "http://minio.storage:9000",
    "etcdSnapshotS3Region": "eu-west-1",
    "etcdSnapshotCredentialsSecret": "s3-creds",
    "etcdSnapshotBucket": "team-etcd",
    "etcdSnapshotPrefix": "prod/etcd",
}


def _pod(**raw):
    return render_objects(**raw).get("StatefulSet", "kafscale-etcd")["spec"]["template"]["spec"]


def _init(pod, name):
    return next(c for c in pod["initContainers"] if c["name"] == name)


def _env(one):
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in one["env"]}


def test_with_backups_the_s3_steps_follow_member_join():
    pod = _pod()
    assert [c["name"] for c in pod["initContainers"]] == [
        "member-scripts",
        "member-join",
        "snapshot-fetch",
        "member-restore",
    ]
    assert _init(pod, "snapshot-fetch")["command"] == s3_command("fetch")
    assert script_and_args(_init(pod, "member-restore"), pod) == (
        member_script(),
        ["etcd-member.sh", "restore"],
    )
    images = {c["name"]: c["image"] for c in pod["initContainers"]}
    assert images == {
        "member-scripts": TOOLS_IMAGE,
        "member-join": TOOLS_IMAGE,
        "snapshot-fetch": AWS_IMAGE,
        "member-restore": TOOLS_IMAGE,
    }
    etcd = next(c for c in pod["containers"] if c["name"] == "etcd")
    for step in pod["initContainers"]:
        assert step["securityContext"] == etcd["securityContext"]  # restricted, read-only root


def test_every_step_shares_the_restore_dir_and_the_fetch_never_sees_the_data_dir():
    pod = _pod()
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["restore"] == {"name": "restore", "emptyDir": {}}
    assert volumes["tmp"] == {"name": "tmp", "emptyDir": {}}
    for step in pod["initContainers"][1:]:  # after the one that writes the member script
        assert {"name": "restore", "mountPath": "/var/lib/etcd-restore"} in step["volumeMounts"]
        assert _env(step)["RESTORE_DIR"] == "/var/lib/etcd-restore"
        assert {m["name"] for m in step["volumeMounts"]} <= {*volumes, "data"}  # data: memory or claim
    fetch = _init(pod, "snapshot-fetch")
    assert "data" not in {m["name"] for m in fetch["volumeMounts"]}
    assert {"name": "tmp", "mountPath": "/tmp"} in fetch["volumeMounts"]  # the AWS CLI's HOME
    assert _env(fetch)["HOME"] == "/tmp"
    restore = _init(pod, "member-restore")
    assert {"name": "data", "mountPath": "/var/lib/etcd"} in restore["volumeMounts"]
    assert {"name": "etcd-config", "mountPath": "/etc/etcd"} in restore["volumeMounts"]


def test_the_pods_reach_the_bucket_exactly_as_the_snapshot_cronjob_does():
    objects = render_objects(**S3_KEYS)
    upload = _env(container(objects.get("CronJob", "kafscale-etcd-snapshot"), "upload"))
    pod = objects.get("StatefulSet", "kafscale-etcd")["spec"]["template"]["spec"]
    shared = ("SNAPSHOT_BUCKET", "SNAPSHOT_PREFIX", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION")
    for name in ("snapshot-fetch",):
        env = _env(_init(pod, name))
        assert {k: env[k] for k in shared} == {k: upload[k] for k in shared}
        assert env["SNAPSHOT_BUCKET"] == "team-etcd" and env["SNAPSHOT_PREFIX"] == "prod/etcd"
        for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            assert env[variable] == upload[variable]
            assert env[variable]["secretKeyRef"]["name"] == "s3-creds"


@pytest.mark.parametrize(("raw", "flag"), [({}, "0"), ({"etcdStartEmptyWhenLost": "true"}, "1")])
def test_start_empty_when_lost_reaches_join_fetch_and_restore(raw, flag):
    pod = _pod(**raw)
    for name in ("member-join", "snapshot-fetch", "member-restore"):
        assert _env(_init(pod, name))["START_EMPTY_WHEN_LOST"] == flag
    # A lost cluster is decided on the members' answers, never on a span of silence.
    assert "LOST_AFTER_S" not in _env(_init(pod, "member-join"))


def test_without_backups_only_member_join_runs_and_a_lost_cluster_waits_or_starts_empty():
    pod = _pod(etcdSnapshotEnabled="false", etcdStartEmptyWhenLost="yes")
    scripts, join = pod["initContainers"]
    assert (scripts["name"], join["name"]) == ("member-scripts", "member-join")
    env = _env(join)
    assert "RESTORE_DIR" not in env
    assert env["START_EMPTY_WHEN_LOST"] == "1"
    assert not {"restore", "tmp"} & {v["name"] for v in pod["volumes"]}


def test_a_start_empty_value_that_is_not_a_boolean_is_false_with_a_warning():
    parsed = parse_settings({"etcdStartEmptyWhenLost": "sometimes"})
    assert parsed.settings.start_empty_when_lost is False
    (warning,) = [w.message for w in parsed.warnings if "etcdStartEmptyWhenLost" in w.message]
    assert '"sometimes"' in warning and warning.endswith("using false")
