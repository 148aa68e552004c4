"""The snapshot CronJob's two scripts, taken verbatim from the rendered CronJob, run with its env
against a real 3-member cluster and a real S3 API (moto's server on a loopback address), under
BusyBox sh and under dash.

The init step runs with only BusyBox applets, etcdctl and (etcd 3.5) etcdutl on PATH, as the tools
image has them; the upload step with BusyBox applets and Debian's `aws` (AWS CLI v2.9, which does
not read AWS_ENDPOINT_URL itself: the script's --endpoint-url is what reaches the endpoint). The
downloaded snapshot is restored with etcd's own tool and started as a one-member etcd, which must
hold every key acknowledged before the snapshot.
"""

from __future__ import annotations

import contextlib
import hashlib
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from kafscale_lab.drills import put_offsets
from kafscale_lab.etcd_binaries import AWS_CLI, aws_image_path, etcdctl_beside, tools_image_path
from kafscale_lab.etcd_http import EtcdHttpClient
from kafscale_lab.local_cluster import LocalCluster
from kafscale_lab.manifests import container, pod_spec
from kafscale_lab.s3_server import (
    ACCESS_KEY,
    SECRET_KEY,
    bucket_keys,
    free_port,
    random_loopback,
    s3_client,
    unique_bucket,
    unreachable_endpoint,
)
from tests.support import missing, other_build_in_soak, rendered_manifests

pytestmark = pytest.mark.etcd

SECRET = {"KAFSCALE_S3_ACCESS_KEY": ACCESS_KEY, "KAFSCALE_S3_SECRET_KEY": SECRET_KEY}
PREFIX = "team/etcd-snapshots"
DEADLINE_S = 30.0
SCRIPT_TIMEOUT_S = 180


# What only S3 decides (pruning, buckets, an endpoint that fails) runs against one etcd build;
# the snapshot itself, its check and its restore run against both.
S3_SIDE_ONLY = pytest.mark.parametrize("etcd_binary", ["debian"], indirect=True)


def _rendered_one_member(
    endpoint: str, bucket: str, *overrides: str
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """What needs no quorum to show: one member boots faster than three."""
    return _rendered(endpoint, bucket, "etcdReplicas=1", *overrides)


def _rendered(endpoint: str, bucket: str, *overrides: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The cluster the snapshots are taken of (its pods rendered with backups off, so that they
    boot whatever the endpoint does: tests/test_restore_drills.py runs the pods' S3 steps) and
    the snapshot CronJob of the same cluster with backups on."""
    with_backups = rendered_manifests(
        "etcdSnapshotEnabled=true",
        f"etcdSnapshotS3Endpoint={endpoint}",
        f"etcdSnapshotBucket={bucket}",
        f"etcdSnapshotPrefix=/{PREFIX}/",
        "etcdSnapshotCredentialsSecret=s3-creds",
        *overrides,
    )
    (cronjob,) = [
        m for m in with_backups if m["kind"] == "CronJob" and m["metadata"]["name"].endswith("-snapshot")
    ]
    return rendered_manifests("etcdSnapshotEnabled=false", *overrides), cronjob


def _folder(cronjob: dict[str, Any]) -> str:
    """Where this cluster's snapshots go: the prefix, then the cluster's own folder."""
    env = {entry["name"]: entry.get("value") for entry in container(cronjob, "upload")["env"]}
    return f"{env['SNAPSHOT_PREFIX']}/{env['SNAPSHOT_IDENTITY']}"


def _env(
    entries: list[dict[str, Any]], cluster: LocalCluster, snapshot_dir: Path, home: Path
) -> dict[str, str]:
    """The container's env as the kubelet gives it: values (member URLs localized), each Secret key
    ref resolved from SECRET, a missing optional key left unset; the emptyDirs at their local paths."""
    env: dict[str, str] = {}
    for entry in entries:
        if "valueFrom" in entry:
            ref = entry["valueFrom"]["secretKeyRef"]
            assert ref["name"] == "s3-creds" and ref["optional"] is True
            if ref["key"] in SECRET:
                env[entry["name"]] = SECRET[ref["key"]]
        else:
            env[entry["name"]] = cluster.localize(entry["value"])
    assert env["SNAPSHOT_DIR"] == "/snapshot"
    env["SNAPSHOT_DIR"] = str(snapshot_dir)
    if "HOME" in env:
        assert env["HOME"] == "/tmp"
        env["HOME"] = str(home)
    return env


def _upload_path(bin_dir: Path) -> str:
    """BusyBox applets and `aws`, nothing else."""
    if not AWS_CLI.exists():
        missing(f"{AWS_CLI} is missing (make setup installs Debian's awscli)")
    return aws_image_path(bin_dir)


class SnapshotJob:
    """One CronJob's two steps, each run as its container would be, on directories of its own."""

    def __init__(
        self, cronjob: dict[str, Any], cluster: LocalCluster, shell: list[str], work: Path, etcd: str
    ):
        self.cronjob = cronjob
        self.cluster = cluster
        self.shell = shell
        self.work = work
        self.tools_path = tools_image_path(work / "tools-bin", etcd)
        self.upload_path = _upload_path(work / "upload-bin")
        self.runs = 0

    def _run(self, spec: dict[str, Any], path: str, snapshot_dir: Path) -> subprocess.CompletedProcess[str]:
        assert spec["command"][:2] == ["/bin/sh", "-c"]
        env = _env(spec["env"], self.cluster, snapshot_dir, self.work / "home")
        env["PATH"] = path
        return subprocess.run(
            [*self.shell, *spec["command"][2:]],
            env=env,
            capture_output=True,
            text=True,
            timeout=SCRIPT_TIMEOUT_S,
        )

    def save(self) -> tuple[subprocess.CompletedProcess[str], Path]:
        self.runs += 1
        snapshot_dir = self.work / f"snapshot-{self.runs}"
        snapshot_dir.mkdir()
        (save,) = pod_spec(self.cronjob)["initContainers"]
        return self._run(save, self.tools_path, snapshot_dir), snapshot_dir

    def upload(self, snapshot_dir: Path) -> subprocess.CompletedProcess[str]:
        (self.work / "home").mkdir(exist_ok=True)
        return self._run(container(self.cronjob, "upload"), self.upload_path, snapshot_dir)

    def run(self) -> tuple[subprocess.CompletedProcess[str], Path]:
        saved, snapshot_dir = self.save()
        assert saved.returncode == 0, saved.stdout + saved.stderr
        return self.upload(snapshot_dir), snapshot_dir


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    assert "FAILED" not in result.stdout
    return result.stdout


def _wait_for_the_next_second(after: str) -> None:
    """Snapshots are named by the UTC second: the next run must start in a later one."""
    deadline = time.monotonic() + DEADLINE_S
    while datetime.now(UTC).strftime("%Y%m%d%H%M%S") <= after:
        assert time.monotonic() < deadline
        time.sleep(0.05)


@contextlib.contextmanager
def _restored_etcd(db: Path, etcd_binary: str, work: Path) -> Iterator[str]:
    """`db` restored with etcd's own tool (etcdutl, or etcdctl on 3.4) into a fresh data dir and
    started as a one-member etcd; yields its client URL."""
    etcdutl = Path(etcd_binary).parent / "etcdutl"
    restore = [str(etcdutl)] if etcdutl.is_file() else [etcdctl_beside(etcd_binary)]
    address = random_loopback()
    client_url = f"http://{address}:{free_port(address)}"
    peer_url = f"http://{address}:{free_port(address)}"
    data_dir = work / "restored.etcd"
    cluster_flags = [
        "--name=restored",
        f"--initial-cluster=restored={peer_url}",
        f"--initial-advertise-peer-urls={peer_url}",
        "--initial-cluster-token=restored",
    ]
    subprocess.run(
        [*restore, "snapshot", "restore", str(db), f"--data-dir={data_dir}", *cluster_flags],
        env={"ETCDCTL_API": "3", "PATH": "/usr/bin:/bin"},
        check=True,
        capture_output=True,
        timeout=60,
    )
    log = (work / "restored.log").open("wb")
    etcd = subprocess.Popen(
        [
            etcd_binary,
            f"--data-dir={data_dir}",
            f"--listen-client-urls={client_url}",
            f"--advertise-client-urls={client_url}",
            f"--listen-peer-urls={peer_url}",
            *cluster_flags,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + DEADLINE_S
        while True:
            assert etcd.poll() is None, (work / "restored.log").read_text()
            try:
                with EtcdHttpClient(client_url) as client:
                    client.get("/kafscale/restore-probe")
                break
            except Exception:
                assert time.monotonic() < deadline, (work / "restored.log").read_text()
                time.sleep(0.1)
        yield client_url
    finally:
        etcd.terminate()
        etcd.wait(timeout=DEADLINE_S)
        log.close()


@S3_SIDE_ONLY  # both builds save, check, upload and restore in tests/test_restore_drills.py
def test_a_snapshot_and_its_checksum_are_uploaded_and_restore_every_acknowledged_key(
    etcd_binary, shell, tmp_path, s3_endpoint
):
    s3 = s3_client(s3_endpoint)
    bucket = unique_bucket()
    s3.create_bucket(Bucket=bucket)
    manifests, cronjob = _rendered(s3_endpoint, bucket)
    with LocalCluster(manifests, etcd_binary, secrets={"s3-creds": SECRET}) as cluster:
        acked = put_offsets(cluster, "before", 200)
        job = SnapshotJob(cronjob, cluster, shell, tmp_path, etcd_binary)
        saved, snapshot_dir = job.save()
        log = _ok(saved)
        put_offsets(cluster, "after", 20)  # written after the snapshot: not in it
        uploaded = job.upload(snapshot_dir)
    upload_log = _ok(uploaded)

    checker = "etcdutl" if (Path(etcd_binary).parent / "etcdutl").is_file() else "etcdctl"
    assert "checked " in log and f" with {checker} (hash, revision, keys, size): " in log
    (db_file,) = snapshot_dir.glob("*.db")
    name = db_file.name
    assert len(name) == len("20250101000000.db") and name[:14].isdigit()
    folder = _folder(cronjob)
    assert folder.startswith(f"{PREFIX}/")
    assert bucket_keys(s3, bucket) == [f"{folder}/{name}", f"{folder}/{name}.sha256"]
    assert f"uploaded s3://{bucket}/{folder}/{name}\n" in upload_log
    assert upload_log.index(f"/{name}\n") < upload_log.index(f"/{name}.sha256\n")  # the .db first

    downloaded = tmp_path / "downloaded"
    downloaded.mkdir()
    for key in (f"{folder}/{name}", f"{folder}/{name}.sha256"):
        s3.download_file(bucket, key, str(downloaded / Path(key).name))
    digest = hashlib.sha256((downloaded / name).read_bytes()).hexdigest()
    # The checksum names the snapshot in this cluster's folder (what a restore verifies).
    identity = folder.removeprefix(f"{PREFIX}/")
    assert (downloaded / f"{name}.sha256").read_text() == f"{digest}  {identity}/{name}\n"
    assert (downloaded / name).read_bytes() == db_file.read_bytes()

    with _restored_etcd(downloaded / name, etcd_binary, tmp_path) as url, EtcdHttpClient(url) as client:
        restored = client.get_prefix("/kafscale/topics/")
    assert {key: restored.get(key) for key in acked} == acked
    assert not any("/after/" in key for key in restored)


@S3_SIDE_ONLY
def test_pruning_keeps_the_newest_n_snapshots_with_their_checksums(etcd_binary, shell, tmp_path, s3_endpoint):
    s3 = s3_client(s3_endpoint)
    bucket = unique_bucket()
    s3.create_bucket(Bucket=bucket)
    manifests, cronjob = _rendered_one_member(s3_endpoint, bucket, "etcdSnapshotKeep=2")
    folder = _folder(cronjob)
    others = [
        f"{folder}/notes.txt",
        f"{folder}/old/20200101000000.db",
        # Another cluster's snapshots in the same bucket and prefix, and ones from before
        # snapshots had a cluster folder: never this cluster's to prune.
        f"{PREFIX}/other.kafscale.0123456789ab/20200101000000.db",
        f"{PREFIX}/other.kafscale.0123456789ab/20200101000000.db.sha256",
        f"{PREFIX}/20200101000000.db",
        "elsewhere/20200101000000.db",
    ]
    for key in others:  # not snapshots directly in this cluster's folder: never pruned
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    names = []
    with LocalCluster(manifests, etcd_binary, secrets={"s3-creds": SECRET}) as cluster:
        job = SnapshotJob(cronjob, cluster, shell, tmp_path, etcd_binary)
        logs = []
        for _ in range(3):
            if names:
                _wait_for_the_next_second(names[-1].removesuffix(".db"))
            result, snapshot_dir = job.run()
            logs.append(_ok(result))
            names.append(next(snapshot_dir.glob("*.db")).name)
    assert len(set(names)) == 3
    snapshots = [f"{folder}/{name}" for name in names]
    assert bucket_keys(s3, bucket) == sorted(
        [*others, *(key for newest in snapshots[1:] for key in (newest, f"{newest}.sha256"))]
    )
    assert "(2 snapshot(s), keeping up to 2)" in logs[1]
    assert f"pruned s3://{bucket}/{snapshots[0]} and its .sha256" in logs[2]
    assert "kept the newest 2 of 3" in logs[2]


@S3_SIDE_ONLY
def test_the_bucket_is_created_and_protected_when_enabled(etcd_binary, shell, tmp_path, s3_endpoint):
    s3 = s3_client(s3_endpoint)
    bucket = unique_bucket()
    manifests, cronjob = _rendered_one_member(
        s3_endpoint,
        bucket,
        "etcdSnapshotCreateBucket=true",
        "etcdSnapshotProtectBucket=true",
        "etcdSnapshotS3Region=eu-west-1",
    )
    with LocalCluster(manifests, etcd_binary, secrets={"s3-creds": SECRET}) as cluster:
        job = SnapshotJob(cronjob, cluster, shell, tmp_path, etcd_binary)
        first, snapshot_dir = job.run()
        again = job.upload(snapshot_dir)  # the bucket exists now
    first_log, again_log = _ok(first), _ok(again)
    assert f"created bucket {bucket} in eu-west-1" in first_log
    assert f"bucket {bucket} exists\n" in again_log
    assert s3.get_bucket_location(Bucket=bucket)["LocationConstraint"] == "eu-west-1"
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert block == dict.fromkeys(
        ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True
    )
    for log in (first_log, again_log):
        assert f"versioning enabled on {bucket}" in log and f"public access blocked on {bucket}" in log
    name = next(snapshot_dir.glob("*.db")).name
    folder = _folder(cronjob)
    assert bucket_keys(s3, bucket) == [f"{folder}/{name}", f"{folder}/{name}.sha256"]


@S3_SIDE_ONLY
def test_a_missing_bucket_is_not_created_unless_enabled(etcd_binary, shell, tmp_path, s3_endpoint):
    bucket = unique_bucket()
    manifests, cronjob = _rendered_one_member(s3_endpoint, bucket)
    with LocalCluster(manifests, etcd_binary, secrets={"s3-creds": SECRET}) as cluster:
        result, snapshot_dir = SnapshotJob(cronjob, cluster, shell, tmp_path, etcd_binary).run()
    assert result.returncode != 0
    name = next(snapshot_dir.glob("*.db")).name
    assert (
        f"etcd-snapshot-s3: FAILED: upload of s3://{bucket}/{_folder(cronjob)}/{name} failed" in result.stdout
    )
    assert bucket not in [b["Name"] for b in s3_client(s3_endpoint).list_buckets()["Buckets"]]


@S3_SIDE_ONLY
def test_an_unreachable_endpoint_fails_the_upload_with_its_failed_line(etcd_binary, shell, tmp_path):
    endpoint = unreachable_endpoint()
    manifests, cronjob = _rendered_one_member(endpoint, "kafscale-unreachable")
    with LocalCluster(manifests, etcd_binary, secrets={"s3-creds": SECRET}) as cluster:
        result, snapshot_dir = SnapshotJob(cronjob, cluster, shell, tmp_path, etcd_binary).run()
    assert result.returncode != 0
    name = next(snapshot_dir.glob("*.db")).name
    failed = [line for line in result.stdout.splitlines() if "FAILED" in line]
    assert len(failed) == 1, result.stdout
    assert (
        f"etcd-snapshot-s3: FAILED: upload of s3://kafscale-unreachable/{_folder(cronjob)}/{name} failed"
        in failed[0]
    )
    assert endpoint in result.stdout  # the CLI's own error names the endpoint


@other_build_in_soak("debian")
def test_the_save_asks_the_next_member_when_one_is_down_and_fails_when_none_answers(
    etcd_binary, shell, tmp_path, s3_endpoint
):
    manifests, cronjob = _rendered(s3_endpoint, unique_bucket())
    with LocalCluster(manifests, etcd_binary, secrets={"s3-creds": SECRET}) as cluster:
        job = SnapshotJob(cronjob, cluster, shell, tmp_path, etcd_binary)
        first = cluster.members[0]
        cluster.stop_member(first.pod_name)
        saved, snapshot_dir = job.save()
        log = _ok(saved)
        for member in cluster.members[1:]:
            cluster.stop_member(member.pod_name)
        none, empty_dir = job.save()
    assert f"member {first.client_url} is not healthy: trying the next" in log
    assert f"saving a snapshot of {cluster.members[1].client_url} to " in log
    assert len(list(snapshot_dir.glob("*.db"))) == len(list(snapshot_dir.glob("*.db.sha256"))) == 1
    assert none.returncode != 0
    assert "etcd-snapshot-save: FAILED: no member is healthy: no snapshot taken" in none.stdout
    assert list(empty_dir.iterdir()) == []
