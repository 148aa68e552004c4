"""The etcd pods' S3 step (`snapshot-fetch`), taken verbatim from the rendered
StatefulSet and run with its env under BusyBox sh and dash, with only BusyBox applets and Debian's
`aws` on PATH, against a real S3 API (moto's server on a loopback address). What join and restore
do with their results runs on real etcd in tests/test_restore_drills.py."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from kafscale.offline.render import render_stack
from kafscale_lab.etcd_binaries import AWS_CLI, aws_image_path
from kafscale_lab.manifests import init_container, only
from kafscale_lab.pod_runner import container_env
from kafscale_lab.s3_server import ACCESS_KEY, SECRET_KEY, s3_client, unique_bucket, unreachable_endpoint
from tests.support import PROJECT_DIR, SHELLS, missing

pytestmark = pytest.mark.etcd  # real parts, slow: not in the fast target

PREFIX = "etcd-snapshots"
SECRET = {"KAFSCALE_S3_ACCESS_KEY": ACCESS_KEY, "KAFSCALE_S3_SECRET_KEY": SECRET_KEY}
TIMEOUT_S = 120


# Each test runs once, under one of the two shells; between them, every step runs under both.
BUSYBOX_SH = pytest.mark.parametrize("shell", ["busybox-sh"], indirect=True)
DASH = pytest.mark.parametrize("shell", ["dash"], indirect=True)


@pytest.fixture
def shell(request: pytest.FixtureRequest) -> list[str]:
    command = SHELLS[request.param]
    if not Path(command[0]).exists():
        missing(f"{command[0]} is missing (make setup installs busybox and dash)")
    if not AWS_CLI.exists():
        missing(f"{AWS_CLI} is missing (make setup installs Debian's awscli)")
    return command


class Pod:
    """One pod's S3 init containers, their emptyDirs (and data dir) on local directories."""

    def __init__(
        self,
        endpoint: str,
        bucket: str,
        shell: list[str],
        work: Path,
        *overrides: str,
        project: tuple[Path, str] = (PROJECT_DIR, "dev"),
    ):
        """`project`: the project directory and stack that render the pod."""
        manifests = render_stack(
            project[0],
            project[1],
            (
                "etcdSnapshotEnabled=true",
                f"etcdSnapshotS3Endpoint={endpoint}",
                f"etcdSnapshotBucket={bucket}",
                "etcdSnapshotCredentialsSecret=s3-creds",
                *overrides,
            ),
        ).manifests
        self.statefulset = only(manifests, "StatefulSet")
        self.shell = shell
        self.dirs = {name: work / name for name in ("restore", "data", "home")}
        for directory in self.dirs.values():
            directory.mkdir(parents=True)
        self.path = aws_image_path(work / "aws-bin")
        self.decision_file: Path | None = None  # a person's decision (the recovery ConfigMap)

    @property
    def restore_dir(self) -> Path:
        return self.dirs["restore"]

    def run(self, container_name: str) -> subprocess.CompletedProcess[str]:
        container = init_container(self.statefulset, container_name)
        env = container_env(container, "kafscale-etcd-0", "kafscale-dev", {"s3-creds": SECRET})
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        local = {"restore": self.dirs["restore"], "data": self.dirs["data"], "tmp": self.dirs["home"]}
        for variable, value in list(env.items()):
            if value in mounts:  # a directory the container mounts: its local stand-in
                env[variable] = str(local[mounts[value]])
        env["PATH"] = self.path
        env["DECISION_FILE"] = str(self.decision_file or self.dirs["home"] / "no-decision")
        assert container["command"][:2] == ["/bin/sh", "-c"]
        return subprocess.run(
            [*self.shell, *container["command"][2:]],
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
        )

    def request(self, what: str = "newest") -> None:
        (self.restore_dir / "requested").write_text(f"{what}\n")

    @property
    def identity(self) -> str:
        fetch = init_container(self.statefulset, "snapshot-fetch")
        (identity,) = [entry["value"] for entry in fetch["env"] if entry["name"] == "SNAPSHOT_IDENTITY"]
        return identity

    @property
    def folder(self) -> str:
        """This cluster's snapshots: the prefix, then its own folder."""
        return f"{PREFIX}/{self.identity}"


def _staging_project(work: Path) -> tuple[Path, str]:
    """This project with a second stack, `staging`, whose config is the dev stack's: the same
    cluster name, namespace, bucket and prefix, deployed by another stack."""
    project = work / "project"
    project.mkdir()
    for name in ("Pulumi.yaml", "__main__.py"):
        (project / name).symlink_to(PROJECT_DIR / name)
    shutil.copyfile(PROJECT_DIR / "Pulumi.dev.yaml", project / "Pulumi.staging.yaml")
    return project, "staging"


def _upload(
    s3: Any,
    bucket: str,
    pod: Pod,
    name: str,
    body: bytes,
    checksum_of: bytes | None = None,
    identity: str | None = None,
) -> None:
    """A snapshot and its checksum, as the upload writes them, in `identity`'s folder (the pod's
    cluster's by default)."""
    identity = identity or pod.identity
    digest = hashlib.sha256(body if checksum_of is None else checksum_of).hexdigest()
    s3.put_object(Bucket=bucket, Key=f"{PREFIX}/{identity}/{name}.db", Body=body)
    checksum = f"{digest}  {identity}/{name}.db\n".encode()
    s3.put_object(Bucket=bucket, Key=f"{PREFIX}/{identity}/{name}.db.sha256", Body=checksum)


def _failed_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stdout.splitlines() if "FAILED" in line]


@pytest.fixture
def bucket(s3_endpoint: str) -> str:
    name = unique_bucket()
    s3_client(s3_endpoint).create_bucket(Bucket=name)
    return name


@BUSYBOX_SH
def test_the_newest_snapshot_whose_checksum_matches_is_fetched_a_torn_one_skipped(
    shell, tmp_path, s3_endpoint, bucket
):
    s3 = s3_client(s3_endpoint)
    pod = Pod(s3_endpoint, bucket, shell, tmp_path)
    _upload(s3, bucket, pod, "20260101000000", b"oldest")
    _upload(s3, bucket, pod, "20260101010000", b"good")
    _upload(s3, bucket, pod, "20260101020000", b"torn", checksum_of=b"the whole upload")
    s3.put_object(Bucket=bucket, Key=f"{pod.folder}/20260101030000.db", Body=b"no checksum yet")
    pod.request()
    result = pod.run("snapshot-fetch")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (pod.restore_dir / "snapshot.db").read_bytes() == b"good"
    assert (pod.restore_dir / "snapshot.name").read_text() == "20260101010000\n"
    assert "skipped 20260101030000: no readable" in result.stdout
    assert "skipped 20260101020000: its checksum does not match" in result.stdout
    assert sorted(p.name for p in pod.restore_dir.iterdir()) == ["requested", "snapshot.db", "snapshot.name"]


@DASH
def test_a_snapshot_still_being_uploaded_makes_the_member_wait_not_take_an_older_one(
    shell, tmp_path, s3_endpoint, bucket
):
    """Uploads put the .db, then its .sha256. A member that took the older snapshot while
    another, a moment later, took the new one would restore two clusters that never merge."""
    s3 = s3_client(s3_endpoint)
    pod = Pod(s3_endpoint, bucket, shell, tmp_path)
    _upload(s3, bucket, pod, "20260101000000", b"older")
    in_flight = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    s3.put_object(Bucket=bucket, Key=f"{pod.folder}/{in_flight}.db", Body=b"half of it")
    pod.request()
    result = pod.run("snapshot-fetch")
    assert result.returncode != 0
    (failed,) = _failed_lines(result)
    assert f"snapshot {in_flight} is still being uploaded" in failed
    assert not (pod.restore_dir / "snapshot.db").exists()


@DASH
def test_the_snapshot_the_members_restored_is_fetched_even_beside_a_newer_one(
    shell, tmp_path, s3_endpoint, bucket
):
    s3 = s3_client(s3_endpoint)
    pod = Pod(s3_endpoint, bucket, shell, tmp_path)
    _upload(s3, bucket, pod, "20260101000000", b"what the others restored")
    _upload(s3, bucket, pod, "20260101010000", b"newer")
    pod.request("20260101000000")
    result = pod.run("snapshot-fetch")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (pod.restore_dir / "snapshot.db").read_bytes() == b"what the others restored"
    pod.request("20251231000000")  # not in the bucket (pruned meanwhile): no other will do
    missing_one = pod.run("snapshot-fetch")
    assert missing_one.returncode != 0
    assert _failed_lines(missing_one) == [
        next(
            line
            for line in missing_one.stdout.splitlines()
            if "snapshot 20251231000000, which the members" in line
        )
    ]


@DASH
def test_nothing_to_restore_refuses_to_start_empty_unless_allowed(shell, tmp_path, s3_endpoint, bucket):
    endpoint = s3_endpoint
    refused = Pod(endpoint, bucket, shell, tmp_path / "default")
    refused.request()
    result = refused.run("snapshot-fetch")
    assert result.returncode != 0
    (failed,) = _failed_lines(result)
    assert f"no snapshot in s3://{bucket}/{refused.folder}/" in failed
    assert "refusing to start an empty cluster over the lost one (etcdStartEmptyWhenLost allows it)" in failed
    assert not (refused.restore_dir / "start-empty").exists()

    allowed = Pod(endpoint, bucket, shell, tmp_path / "allowed", "etcdStartEmptyWhenLost=true")
    allowed.request()
    result = allowed.run("snapshot-fetch")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "this member starts a new EMPTY cluster" in result.stdout
    assert (allowed.restore_dir / "start-empty").exists()


@BUSYBOX_SH
def test_a_bucket_that_cannot_be_listed_is_never_taken_for_an_empty_one(shell, tmp_path, bucket):
    """DNS, credentials or egress failing: good snapshots may exist, so even with
    etcdStartEmptyWhenLost on, the fetch fails (the kubelet retries) and nothing starts empty."""
    pod = Pod(unreachable_endpoint(), bucket, shell, tmp_path, "etcdStartEmptyWhenLost=true")
    pod.request()
    result = pod.run("snapshot-fetch")
    assert result.returncode != 0
    (failed,) = _failed_lines(result)
    assert "cannot list" in failed and "an error is not an empty bucket" in failed
    assert not (pod.restore_dir / "start-empty").exists()


@BUSYBOX_SH
def test_without_a_request_nothing_is_fetched(shell, tmp_path, s3_endpoint, bucket):
    pod = Pod(s3_endpoint, bucket, shell, tmp_path)
    _upload(s3_client(s3_endpoint), bucket, pod, "20260101000000", b"snapshot")
    result = pod.run("snapshot-fetch")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no restore requested" in result.stdout
    assert list(pod.restore_dir.iterdir()) == []


@DASH
def test_another_clusters_snapshot_in_the_same_bucket_and_prefix_is_never_fetched(
    shell, tmp_path, s3_endpoint, bucket
):
    """Staging and production with the same names, one bucket, one prefix: each restores its own.
    Newer snapshots of another stack, one from before snapshots had a folder, and one copied into
    this cluster's folder from another's are all passed over for this cluster's own."""
    s3 = s3_client(s3_endpoint)
    production = Pod(s3_endpoint, bucket, shell, tmp_path / "production")
    staging = Pod(s3_endpoint, bucket, shell, tmp_path / "staging", project=_staging_project(tmp_path))
    assert staging.identity != production.identity
    _upload(s3, bucket, production, "20260101000000", b"production's own")
    _upload(s3, bucket, staging, "20260101050000", b"staging's, newer")
    legacy = hashlib.sha256(b"no folder").hexdigest()
    s3.put_object(Bucket=bucket, Key=f"{PREFIX}/20260101060000.db", Body=b"no folder")
    s3.put_object(Bucket=bucket, Key=f"{PREFIX}/20260101060000.db.sha256", Body=f"{legacy}  x.db\n".encode())
    # Copied into production's folder: its checksum still names staging's folder.
    copied = f"{production.folder}/20260101070000.db"
    s3.copy_object(
        Bucket=bucket, Key=copied, CopySource={"Bucket": bucket, "Key": f"{staging.folder}/20260101050000.db"}
    )
    s3.copy_object(
        Bucket=bucket,
        Key=f"{copied}.sha256",
        CopySource={"Bucket": bucket, "Key": f"{staging.folder}/20260101050000.db.sha256"},
    )
    results = {}
    for pod, own in ((production, b"production's own"), (staging, b"staging's, newer")):
        pod.request()
        results[pod] = pod.run("snapshot-fetch")
        assert results[pod].returncode == 0, results[pod].stdout + results[pod].stderr
        assert (pod.restore_dir / "snapshot.db").read_bytes() == own
    skipped = f"skipped 20260101070000: {copied}.sha256 names '{staging.identity}/20260101050000.db'"
    assert skipped in results[production].stdout
    assert "another cluster's snapshot" in results[production].stdout


# With no marker, the folder is the second witness that this cluster existed (`bootstrap`).


@BUSYBOX_SH
def test_with_no_marker_an_empty_folder_or_no_bucket_lets_the_member_bootstrap(
    shell, tmp_path, s3_endpoint, bucket
):
    s3 = s3_client(s3_endpoint)
    for label, target in (("empty", bucket), ("no-bucket", f"{bucket}-missing")):
        pod = Pod(s3_endpoint, target, shell, tmp_path / label)
        # Another cluster's snapshot in the same bucket and prefix is no witness for this one.
        if label == "empty":
            _upload(s3, bucket, pod, "20260101000000", b"another's", identity="other.kafscale.0123456789ab")
        pod.request("bootstrap")
        result = pod.run("snapshot-fetch")
        assert result.returncode == 0, result.stdout + result.stderr
        assert "nothing shows that this cluster existed before" in result.stdout
        assert sorted(p.name for p in pod.restore_dir.iterdir()) == ["requested"], label


@DASH
def test_with_no_marker_snapshots_in_the_folder_show_the_cluster_existed_and_the_newest_is_fetched(
    shell, tmp_path, s3_endpoint, bucket
):
    s3 = s3_client(s3_endpoint)
    pod = Pod(s3_endpoint, bucket, shell, tmp_path)
    _upload(s3, bucket, pod, "20260101000000", b"older")
    _upload(s3, bucket, pod, "20260101010000", b"newest")
    pod.request("bootstrap")
    result = pod.run("snapshot-fetch")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (pod.restore_dir / "existed").read_text() == "2\n"
    assert "this cluster existed before, so no member bootstraps a new empty one" in result.stdout
    assert (pod.restore_dir / "snapshot.db").read_bytes() == b"newest"
    assert (pod.restore_dir / "snapshot.name").read_text() == "20260101010000\n"


@BUSYBOX_SH
def test_with_no_marker_a_persons_decision_names_the_snapshot_or_skips_the_bucket(
    shell, tmp_path, s3_endpoint, bucket
):
    s3 = s3_client(s3_endpoint)
    pod = Pod(s3_endpoint, bucket, shell, tmp_path)
    _upload(s3, bucket, pod, "20260101000000", b"the one a person chose")
    _upload(s3, bucket, pod, "20260101010000", b"newest")
    decision = tmp_path / "decision"
    pod.decision_file = decision
    decision.write_text("restore 20260101000000\n")
    pod.request("bootstrap")
    chosen = pod.run("snapshot-fetch")
    assert chosen.returncode == 0, chosen.stdout + chosen.stderr
    assert (pod.restore_dir / "snapshot.db").read_bytes() == b"the one a person chose"
    assert (pod.restore_dir / "existed").exists()

    decision.write_text("start-empty\n")
    unreachable = Pod(unreachable_endpoint(), bucket, shell, tmp_path / "unreachable")
    unreachable.decision_file = decision
    unreachable.request("bootstrap")
    started = unreachable.run("snapshot-fetch")
    assert started.returncode == 0, started.stdout + started.stderr
    assert "a person decided: 'start-empty'" in started.stdout
    assert sorted(p.name for p in unreachable.restore_dir.iterdir()) == ["requested"]


@DASH
def test_with_no_marker_a_bucket_that_cannot_be_listed_keeps_the_member_from_bootstrapping(
    shell, tmp_path, bucket
):
    """First day or marker gone, nobody can tell while S3 does not answer: the fetch fails (the
    kubelet retries) and names the command with which a person decides."""
    pod = Pod(unreachable_endpoint(), bucket, shell, tmp_path)
    pod.request("bootstrap")
    result = pod.run("snapshot-fetch")
    assert result.returncode != 0
    (failed,) = _failed_lines(result)
    assert "cannot list" in failed and "an error is not an empty bucket" in failed
    assert "whether this cluster existed before cannot be told" in result.stdout
    assert "create configmap kafscale-etcd-recovery --from-literal=decision=start-empty" in result.stdout
    assert sorted(p.name for p in pod.restore_dir.iterdir()) == ["requested"]
