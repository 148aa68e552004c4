"""Pods run the kubelet's way: init containers in order, then etcd, each with the pod's env, its
own mounts and an /etc/hosts naming every pod; the rendered scripts and args unmodified."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kafscale_lab.local_cluster import LocalCluster, LocalClusterError
from kafscale_lab.manifests import etcd_container, only, pod_spec
from kafscale_lab.pod_runner import PodError, can_run_pods, container_run, hosts_file
from tests.support import missing, rendered_manifests

SCRIPT = 'echo "$STEP $POD_NAME $(id -u) $(grep -c "$POD_NAME" /etc/hosts)" >> /work/order'


def _with_init_containers(manifests: list[dict[str, Any]], *scripts: str) -> list[dict[str, Any]]:
    """The rendered objects, the StatefulSet's pods given init containers of the tools image that
    run `scripts` before the rendered ones, each mounting the pod's `snapshots` emptyDir at /work
    and its data volume where etcd has it."""
    changed = copy.deepcopy(manifests)
    pod = pod_spec(only(changed, "StatefulSet"))
    data_mount = etcd_container(only(changed, "StatefulSet"))["volumeMounts"][0]
    pod["initContainers"] = [
        *(
            {
                "name": f"step-{index}",
                "image": "ghcr.io/kafscale/kafscale-etcd-tools:dev",
                "command": ["/bin/sh", "-c", script],
                "env": [
                    {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                    {"name": "STEP", "value": f"step-{index}"},
                ],
                "volumeMounts": [{"name": "snapshots", "mountPath": "/work"}, data_mount],
            }
            for index, script in enumerate(scripts)
        ),
        *pod["initContainers"],
    ]
    return changed


def _require_pods() -> None:
    if not can_run_pods():
        missing("running pods the kubelet's way needs root, unshare and setpriv (util-linux)")


def test_hosts_file_names_every_pod_as_the_headless_service_does():
    text = hosts_file({"e-0": "127.1.2.1", "e-1": "127.1.2.2"}, "e", "ns")
    assert text.splitlines() == [
        "127.0.0.1 localhost",
        "127.1.2.1 e-0.e.ns.svc.cluster.local e-0.e.ns.svc e-0.e.ns e-0",
        "127.1.2.2 e-1.e.ns.svc.cluster.local e-1.e.ns.svc e-1.e.ns e-1",
    ]


def test_a_container_runs_unmodified_under_its_own_mounts_and_user(tmp_path):
    statefulset = only(_with_init_containers(rendered_manifests(), SCRIPT), "StatefulSet")
    pod = pod_spec(statefulset)
    volumes = {
        "snapshots": tmp_path / "snapshots",
        "data": tmp_path / "data",
        "etcd-config": tmp_path / "config",
    }
    hosts = tmp_path / "hosts"
    executables = {"etcd": "/opt/etcd", "/bin/sh": "/opt/tools/sh"}
    etcd = container_run(
        pod,
        etcd_container(statefulset),
        "kafscale-etcd-1",
        "kafscale-dev",
        "127.3.3.2",
        volumes,
        hosts,
        executables,
    )
    argv = list(etcd.argv)
    split = argv.index("--", argv.index("mount-and-exec"))
    assert argv[argv.index("mount-and-exec") + 1 : split] == [
        str(hosts),
        str(tmp_path / "data"),
        "/var/lib/etcd",
        str(tmp_path / "config"),
        "/etc/etcd",
    ]
    assert argv[split + 1 : split + 7][1:] == [
        "--reuid=65532",
        "--regid=65532",
        "--groups=65532",
        "--pdeathsig=TERM",
        "--",
    ]
    program_and_args = argv[split + 7 :]
    assert program_and_args == ["/opt/etcd", "--config-file=/etc/etcd/etcd.conf.yml"]  # as rendered
    assert etcd.env == {"POD_NAME": "kafscale-etcd-1", "POD_IP": "127.3.3.2"}  # the downward API

    init = pod["initContainers"][0]
    step = container_run(
        pod, init, "kafscale-etcd-1", "kafscale-dev", "127.3.3.2", volumes, hosts, executables
    )
    assert step.argv[-3:] == ("/opt/tools/sh", "-c", SCRIPT)  # the script verbatim


def test_a_container_that_mounts_a_volume_the_pod_lacks_is_refused(tmp_path):
    statefulset = only(rendered_manifests(), "StatefulSet")
    with pytest.raises(PodError, match="volume 'data' is not in the pod"):
        container_run(
            pod_spec(statefulset),
            etcd_container(statefulset),
            "p",
            "n",
            "127.0.0.2",
            {},
            tmp_path,
            {"etcd": "e"},
        )


def _poll(condition: Callable[[], bool], what: str, deadline_s: float = 60) -> None:
    deadline = time.monotonic() + deadline_s
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {deadline_s:.0f}s"
        time.sleep(0.1)


@pytest.mark.etcd
def test_init_containers_run_in_order_as_the_pod_user_then_etcd_serves(etcd_binary):
    _require_pods()
    manifests = _with_init_containers(rendered_manifests(), SCRIPT, SCRIPT)
    with LocalCluster(manifests, etcd_binary) as cluster:
        with cluster.client(0) as client:
            client.put("/kafscale/topics/t/partitions/0/next_offset", "7")
        for member in cluster.members:
            order = (member.volume_dirs["snapshots"] / "order").read_text().splitlines()
            assert order == [f"step-0 {member.pod_name} 65532 1", f"step-1 {member.pod_name} 65532 1"]
            with cluster.client(cluster.members.index(member)) as client:
                assert client.get("/kafscale/topics/t/partitions/0/next_offset") == "7"
            pid = cluster.process_ids()[member.pod_name]
            mounts = Path(f"/proc/{pid}/mountinfo").read_text()
            assert " /var/lib/etcd " in mounts and " /etc/hosts " in mounts and " /etc/etcd " in mounts
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            assert b"--config-file=/etc/etcd/etcd.conf.yml" in cmdline


@pytest.mark.etcd
def test_a_failing_init_container_stops_the_pod_with_its_own_words(etcd_binary):
    _require_pods()
    manifests = _with_init_containers(rendered_manifests("etcdReplicas=1"), "echo cannot decide >&2; exit 3")
    with pytest.raises(
        LocalClusterError, match="init container step-0 of kafscale-etcd-0 exited with code 3: cannot decide"
    ):
        with LocalCluster(manifests, etcd_binary):
            pass


@pytest.mark.etcd
def test_restarting_a_pod_empties_its_emptydirs_and_keeps_its_claim(etcd_binary):
    """What a rolling update does to each pod: memory mode's data dir comes back empty (the init
    containers see it so), disk mode's claim keeps the member's data."""
    _require_pods()
    # Written whole, then renamed: the test never reads a file the script is still writing.
    record = "ls -A /var/lib/etcd | wc -l > /work/entries.tmp && mv /work/entries.tmp /work/entries-at-start"
    for memory, entries_after_restart in (("false", "1"), ("true", "0")):
        manifests = _with_init_containers(
            rendered_manifests("etcdReplicas=1", f"etcdStorageMemory={memory}"), record
        )
        with LocalCluster(manifests, etcd_binary) as cluster:
            (member,) = cluster.members
            entries = member.volume_dirs["snapshots"] / "entries-at-start"
            assert entries.read_text().strip() == "0"
            cluster.restart_pod(member.pod_name)
            _poll(entries.exists, "the restarted pod's first init container")
            assert entries.read_text().strip() == entries_after_restart, memory
            if memory == "false":
                assert cluster.wait_for_leader() == member.pod_name
            else:
                # The only member lost its data: nobody else can hold any, so the cluster is gone;
                # with no backups (the dev stack's) it waits for a person, never bootstrapping a
                # new empty cluster.
                join_log = cluster.init_log_path(member.pod_name, "member-join")
                _poll(
                    lambda log=join_log: "refusing to bootstrap a new empty cluster" in log.read_text(),
                    "the decision to wait",
                )
                assert "the whole cluster is gone" in join_log.read_text()
