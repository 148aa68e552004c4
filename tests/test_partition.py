"""The lab's network partitions (kafscale_lab/partition.py): a pod's processes cut off from another
pod's address, both ways, and every rule gone once the partition heals."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from kafscale_lab.partition import PodGroups, partition, refused
from tests.support import missing

# Real packet filters and cgroups, with the real-etcd tests (`make test-fast` runs mocks alone).
pytestmark = pytest.mark.etcd

# Connects to ADDRESS:PORT from inside the pod's cgroup (PROCS), then prints what happened.
_CONNECT = """
import socket, sys
open(sys.argv[1], "w").write(str(__import__("os").getpid()))
probe = socket.socket()
probe.settimeout(1.5)
try:
    probe.connect((sys.argv[2], int(sys.argv[3])))
    print("connected")
except ConnectionRefusedError:
    print("refused")
except OSError:
    print("silent")
"""


def _groups() -> PodGroups:
    if os.geteuid() != 0 or shutil.which("iptables") is None:
        missing("partitions need root and iptables (make setup installs Debian's iptables)")
    groups = PodGroups.create()
    if groups is None:
        missing("no writable cgroup v2 hierarchy: the lab cannot partition pods here")
    return groups


def _connect_from(groups: PodGroups, pod: str, address: str, port: int) -> str:
    procs = groups.procs_file(pod)
    done = subprocess.run(
        [sys.executable, "-c", _CONNECT, str(procs), address, str(port)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return done.stdout.strip()


def _rules(tag: str) -> list[str]:
    listed = subprocess.run(["iptables", "-S", "OUTPUT"], capture_output=True, text=True, check=True)
    return [line for line in listed.stdout.splitlines() if tag in line]


def test_a_partition_silences_one_pair_both_ways_and_leaves_no_rule_behind():
    groups = _groups()
    listeners: dict[str, socket.socket] = {}
    try:
        for pod, address in (("pod-a", "127.77.0.1"), ("pod-b", "127.77.0.2"), ("pod-c", "127.77.0.3")):
            listener = socket.socket()
            listener.bind((address, 0))
            listener.listen()
            listeners[pod] = listener
        port = {pod: listener.getsockname()[1] for pod, listener in listeners.items()}
        with partition(groups, [("pod-a", "127.77.0.1")], [("pod-b", "127.77.0.2")]):
            assert len(_rules(groups.tag)) == 2
            assert _connect_from(groups, "pod-a", "127.77.0.2", port["pod-b"]) == "silent"
            assert _connect_from(groups, "pod-b", "127.77.0.1", port["pod-a"]) == "silent"
            # Only that pair: pod-a still reaches pod-c, and a client outside every pod reaches all.
            assert _connect_from(groups, "pod-a", "127.77.0.3", port["pod-c"]) == "connected"
            socket.create_connection(("127.77.0.2", port["pod-b"]), timeout=1.5).close()
        assert _rules(groups.tag) == []
        assert _connect_from(groups, "pod-a", "127.77.0.2", port["pod-b"]) == "connected"
    finally:
        for listener in listeners.values():
            listener.close()
        groups.remove()
    assert not Path(groups.base).exists()


def test_a_partition_whose_block_fails_still_removes_its_rules():
    groups = _groups()
    try:
        with pytest.raises(RuntimeError, match="inside"):
            with partition(groups, [("pod-a", "127.77.1.1")], [("pod-b", "127.77.1.2")]):
                raise RuntimeError("inside")
        assert _rules(groups.tag) == []
    finally:
        groups.remove()


def test_a_refused_address_answers_the_pods_at_once_with_a_reset_and_leaves_no_rule_behind():
    """What an egress firewall or a service that is down does to the S3 endpoint: the pods learn
    at once (a reset, not silence), others still reach it."""
    groups = _groups()
    listener = socket.socket()
    try:
        listener.bind(("127.77.2.9", 0))
        listener.listen()
        port = listener.getsockname()[1]
        with refused(groups, ["pod-a", "pod-b"], "127.77.2.9"):
            assert len(_rules(groups.tag)) == 2
            assert _connect_from(groups, "pod-a", "127.77.2.9", port) == "refused"
            assert _connect_from(groups, "pod-b", "127.77.2.9", port) == "refused"
            assert _connect_from(groups, "pod-c", "127.77.2.9", port) == "connected"
        assert _rules(groups.tag) == []
        assert _connect_from(groups, "pod-a", "127.77.2.9", port) == "connected"
    finally:
        listener.close()
        groups.remove()
