"""Pods run the kubelet's way: init containers in order, then etcd, each with the pod's env, its
own mounts and an /etc/hosts naming every pod; the rendered scripts and args unmodified."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from kafscale_lab.local_cluster import LocalCluster, LocalClusterError
from kafscale_lab.manifests import etcd_container, pod_spec
from kafscale_lab.pod_runner import PodError, can_run_pods, container_run, hosts_file
from tests.support import missing, rendered_statefulset

SCRIPT = 'echo "$STEP $POD_NAME $(id -u) $(grep -c "$POD_NAME" /etc/hosts)" >> /work/order'


def _with_init_containers(statefulset: dict[str, Any], *scripts: str) -> dict[str, Any]:
    """The rendered StatefulSet plus init containers of the tools image that run `scripts`, each
    mounting the pod's `snapshots` emptyDir at /work and its data volume where etcd has it."""
    changed = copy.deepcopy(statefulset)
    etcd = etcd_container(changed)
    pod_spec(changed)["initContainers"] = [
        {
            "name": f"step-{index}",
            "image": "ghcr.io/kafscale/kafscale-etcd-tools:dev",
            "command": ["/bin/sh", "-c", script],
            "env": [*etcd["env"], {"name": "STEP", "value": f"step-{index}"}],
            "volumeMounts": [{"name": "snapshots", "mountPath": "/work"}, *etcd["volumeMounts"]],
        }
        for index, script in enumerate(scripts)
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
    statefulset = _with_init_containers(rendered_statefulset(), SCRIPT)
    pod = pod_spec(statefulset)
    volumes = {"snapshots": tmp_path / "snapshots", "data": tmp_path / "data"}
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
    ]
    assert argv[split + 1 : split + 6][1:] == ["--reuid=65532", "--regid=65532", "--groups=65532", "--"]
    program_and_args = argv[split + 6 :]
    assert program_and_args[0] == "/opt/etcd"
    rendered_args = etcd_container(statefulset)["args"]
    assert "--data-dir=/var/lib/etcd" in program_and_args  # the mountPath, not a local path
    assert "--listen-client-urls=http://127.3.3.2:2379" in program_and_args
    assert (
        "--advertise-client-urls=http://kafscale-etcd-1.kafscale-etcd.kafscale-dev.svc.cluster.local:2379"
        in program_and_args
    )
    assert len(program_and_args) == 1 + len(rendered_args)
    assert etcd.env == {"POD_NAME": "kafscale-etcd-1", "POD_NAMESPACE": "kafscale-dev"}

    (init,) = pod["initContainers"]
    step = container_run(
        pod, init, "kafscale-etcd-1", "kafscale-dev", "127.3.3.2", volumes, hosts, executables
    )
    assert step.argv[-3:] == ("/opt/tools/sh", "-c", SCRIPT)  # the script verbatim


def test_a_container_that_mounts_a_volume_the_pod_lacks_is_refused(tmp_path):
    statefulset = rendered_statefulset()
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


@pytest.mark.etcd
def test_init_containers_run_in_order_as_the_pod_user_then_etcd_serves(etcd_binary):
    _require_pods()
    statefulset = _with_init_containers(rendered_statefulset(), SCRIPT, SCRIPT)
    with LocalCluster(statefulset, etcd_binary) as cluster:
        assert cluster.kubelet
        with cluster.client(0) as client:
            client.put("/kafscale/topics/t/partitions/0/next_offset", "7")
        for member in cluster.members:
            order = (member.volume_dirs["snapshots"] / "order").read_text().splitlines()
            assert order == [f"step-0 {member.pod_name} 65532 1", f"step-1 {member.pod_name} 65532 1"]
            with cluster.client(cluster.members.index(member)) as client:
                assert client.get("/kafscale/topics/t/partitions/0/next_offset") == "7"
            pid = cluster.process_ids()[member.pod_name]
            mounts = Path(f"/proc/{pid}/mountinfo").read_text()
            assert " /var/lib/etcd " in mounts and " /etc/hosts " in mounts
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            assert b"--data-dir=/var/lib/etcd" in cmdline


@pytest.mark.etcd
def test_a_failing_init_container_stops_the_pod_with_its_own_words(etcd_binary):
    _require_pods()
    statefulset = _with_init_containers(
        rendered_statefulset("etcdReplicas=1"), "echo cannot decide >&2; exit 3"
    )
    with pytest.raises(
        LocalClusterError, match="init container step-0 of kafscale-etcd-0 exited with code 3: cannot decide"
    ):
        with LocalCluster(statefulset, etcd_binary):
            pass


@pytest.mark.etcd
def test_restarting_a_pod_empties_its_emptydirs_and_keeps_its_claim(etcd_binary):
    """What a rolling update does to each pod: memory mode's data dir comes back empty (the init
    container sees it so), disk mode's claim keeps the member's data."""
    _require_pods()
    record = "ls -A /var/lib/etcd | wc -l > /work/entries-at-start"
    for memory, entries_after_restart in (("false", "1"), ("true", "0")):
        statefulset = _with_init_containers(
            rendered_statefulset("etcdReplicas=1", f"etcdStorageMemory={memory}"), record
        )
        with LocalCluster(statefulset, etcd_binary) as cluster:
            (member,) = cluster.members
            entries = member.volume_dirs["snapshots"] / "entries-at-start"
            assert entries.read_text().strip() == "0"
            cluster.restart_pod(member.pod_name)
            assert entries.read_text().strip() == entries_after_restart, memory
            if memory == "false":
                assert cluster.wait_for_leader() == member.pod_name
