"""etcd runs as the rendered non-root user, on volumes made writable only by fsGroup."""

import os
import time
from pathlib import Path

import pytest

from kafscale_lab.etcd_http import EtcdHttpClient
from kafscale_lab.local_cluster import LocalCluster, apply_fs_group, pod_identity
from kafscale_lab.manifests import only, pod_spec
from tests.support import rendered_manifests, rendered_statefulset


def _process_ids(pid: int) -> tuple[int, int, set[int]]:
    """Real uid, real gid and supplementary groups of a running process."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line
    )
    groups = {int(group) for group in fields["Groups"].split()}
    return int(fields["Uid"].split()[0]), int(fields["Gid"].split()[0]), groups


def test_apply_fs_group_gives_the_group_what_the_kubelet_gives_it(tmp_path):
    volume = tmp_path / "volume"
    (volume / "member" / "snap").mkdir(parents=True)
    db = volume / "member" / "snap" / "db"
    db.write_text("x")
    db.chmod(0o600)
    apply_fs_group(volume, 4242)
    assert db.stat().st_gid == 4242 and db.stat().st_mode & 0o777 == 0o660
    for directory in (volume, volume / "member", volume / "member" / "snap"):
        assert directory.stat().st_gid == 4242
        assert directory.stat().st_mode & 0o2070 == 0o2070  # setgid, group rwx


def test_the_rendered_identity_is_the_configured_user():
    identity = pod_identity(rendered_statefulset("etcdRunAsUser=1001"))
    assert identity is not None
    assert (identity.user, identity.group, identity.fs_group) == (1001, 1001, 1001)


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")


@pytest.mark.etcd
@needs_root
@pytest.mark.parametrize("memory", ["true", "false"])
def test_etcd_runs_as_the_pod_user_and_owns_what_it_writes(etcd_binary, memory):
    manifests = rendered_manifests(f"etcdStorageMemory={memory}")
    identity = pod_identity(only(manifests, "StatefulSet"))
    assert identity is not None and identity.user != 0
    with LocalCluster(manifests, etcd_binary) as cluster:
        with cluster.client(0) as client:
            client.put("/kafscale/topics/t/partitions/0/next_offset", "7")
        for pod, pid in cluster.process_ids().items():
            uid, gid, groups = _process_ids(pid)
            assert (uid, gid) == (identity.user, identity.group), pod
            assert identity.fs_group in groups
            db = next(cluster.data_dir(pod).rglob("db"))
            assert db.stat().st_uid == identity.user, pod


def _as_root_wrote_it(directory: Path) -> None:
    """What an etcd run as root leaves behind: everything root's, private to root."""
    for path in [directory, *directory.rglob("*")]:
        os.lchown(path, 0, 0)
        path.chmod(0o700 if path.is_dir() else 0o600)


@pytest.mark.etcd
@needs_root
@pytest.mark.parametrize("with_fs_group", [True, False], ids=["fsGroup", "no-fsGroup"])
def test_data_written_by_a_root_etcd_is_taken_over_only_thanks_to_fs_group(etcd_binary, with_fs_group):
    """The operator's etcd ran as root: a member restarted as our non-root user keeps its data
    when fsGroup re-groups the volume, and cannot start on it without."""
    manifests = rendered_manifests("etcdStorageMemory=false", "etcdReplicas=1")
    identity = pod_identity(only(manifests, "StatefulSet"))
    assert identity is not None
    with LocalCluster(manifests, etcd_binary) as cluster:
        (member,) = cluster.members
        with cluster.client(0) as client:
            client.put("/kafscale/topics/t/partitions/0/next_offset", "41")
        cluster.stop_member(member.pod_name)
        _as_root_wrote_it(cluster.data_dir(member.pod_name))
        if not with_fs_group:
            del pod_spec(only(manifests, "StatefulSet"))["securityContext"]["fsGroup"]
            cluster.apply(manifests)
        cluster.start_member(member.pod_name)
        if not with_fs_group:
            # The pod's user cannot even look into the root-only data dir: whether it holds data
            # cannot be told, so the member decides nothing (no restore, no bootstrap) and waits.
            join_log = cluster.init_log_path(member.pod_name, "member-join")
            deadline = time.monotonic() + 120
            while "cannot be read by this user" not in join_log.read_text():
                assert time.monotonic() < deadline, join_log.read_text()
                time.sleep(0.1)
            assert cluster.running_pods() == []
            return
        cluster.wait_for_leader()
        with EtcdHttpClient(member.client_url) as client:
            assert client.get("/kafscale/topics/t/partitions/0/next_offset") == "41"
            client.put("/kafscale/topics/t/partitions/0/next_offset", "42")
            assert client.get("/kafscale/topics/t/partitions/0/next_offset") == "42"
        uid, _, _ = _process_ids(cluster.process_ids()[member.pod_name])
        assert uid == identity.user
