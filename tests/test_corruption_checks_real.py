"""The corruption-check keys each etcd build is given, proven by their effect on real etcd 3.4.23
and 3.5.1: a config file ignores keys it does not know, so a clean start proves nothing; etcd's
own log lines do. The control: with `etcdCorruptionChecks=false`, neither check runs."""

from __future__ import annotations

import pytest

from kafscale_lab.drills import wait_for
from kafscale_lab.local_cluster import LocalCluster
from tests.support import rendered_manifests

pytestmark = pytest.mark.etcd

# The image tag that names each build, as a user's stack would.
IMAGE_BY_VERSION = {"3.4": "quay.io/coreos/etcd:v3.4.23", "3.5": "quay.io/coreos/etcd:v3.5.1"}
INITIAL_CHECK = "initial corruption check"
PERIODIC_CHECK = "enabled corruption checking"


def _version_of(etcd_binary: str) -> str:
    import subprocess

    out = subprocess.run([etcd_binary, "--version"], capture_output=True, text=True, timeout=30).stdout
    return next(line.split()[-1] for line in out.splitlines() if line.startswith("etcd Version"))


def test_every_member_runs_both_checks_with_the_rendered_keys(etcd_binary):
    """The periodic check starts with every member; the initial one runs when a member starts on
    its data (etcd skips it for a member that bootstraps), here an etcd container restarting."""
    version = _version_of(etcd_binary)
    image = IMAGE_BY_VERSION[version.rsplit(".", 1)[0]]
    with LocalCluster(rendered_manifests(f"etcdImage={image}"), etcd_binary) as cluster:
        pods = [member.pod_name for member in cluster.members]
        for pod in pods:
            log = cluster.log_path(pod)
            wait_for(lambda log=log: PERIODIC_CHECK in log.read_text(), f"{pod}'s periodic check", 60)
            periodic = next(line for line in log.read_text().splitlines() if PERIODIC_CHECK in line)
            assert "15m0s" in periodic, periodic
        restarted = pods[-1]
        before = len(cluster.log_path(restarted).read_text())
        cluster.stop_member(restarted)  # a container restart: the tmpfs keeps the data
        cluster.start_member(restarted)
        cluster.wait_until_serving()
        again = cluster.log_path(restarted).read_text()[before:]
    checked = [line for line in again.splitlines() if INITIAL_CHECK in line]
    assert any("starting" in line for line in checked), again[-2000:]
    assert any("no corruption" in line for line in checked), checked


def test_without_the_key_neither_check_runs(etcd_binary):
    version = _version_of(etcd_binary)
    image = IMAGE_BY_VERSION[version.rsplit(".", 1)[0]]
    manifests = rendered_manifests(f"etcdImage={image}", "etcdCorruptionChecks=false", "etcdReplicas=1")
    with LocalCluster(manifests, etcd_binary) as cluster:
        (pod,) = [member.pod_name for member in cluster.members]
        text = cluster.log_path(pod).read_text()
    assert "ready to serve client requests" in text
    assert INITIAL_CHECK not in text and PERIODIC_CHECK not in text
