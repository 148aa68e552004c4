"""The membership script, verbatim from the rendered pod, under BusyBox sh and dash with only
BusyBox applets and etcdctl on PATH: the decisions it takes with no member answering (a fresh
cluster, a lost one, a member with data) and its refusals. The decisions with members answering
run in tests/test_membership_drills.py, in pods, against real clusters."""

from __future__ import annotations

import random
import re
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from kafscale.config.corruption_checks import corruption_check_config
from kafscale.config.etcd_versions import image_etcd_version
from kafscale.config.rules import MAX_REPLICAS
from kafscale.config.settings import parse_settings
from kafscale.objects.membership import CONFIG_FILE_DEFAULTS, MEMBERSHIP_FLAGS, etcd_flags
from kafscale_lab.etcd_binaries import tools_image_path
from kafscale_lab.manifests import only, pod_spec, script_and_args
from kafscale_lab.pod_runner import can_run_pods, container_env, hosts_file, private_mounts
from tests.support import MOCK_IDENTITY, SHELLS, missing, render_objects, require_etcd_binary

pytestmark = pytest.mark.etcd

POD = "kafscale-etcd-1"
# The env paths a pod's containers use, moved under the test's directory.
DIR_KEYS = ("DATA_DIR", "CLUSTER_DIR", "RESTORE_DIR")
FILE_KEYS = ("CONFIG_FILE", "BOOTSTRAP_MARKER", "EVIDENCE_FILE", "DECISION_FILE", "VOTING_FILE")
NAMESPACE = "kafscale-dev"


@pytest.fixture(params=sorted(SHELLS))
def shell(request: pytest.FixtureRequest) -> list[str]:
    command = SHELLS[request.param]
    if not Path(command[0]).exists():
        missing(f"{command[0]} is missing (make setup installs busybox and dash)")
    return command


class Pod:
    """One rendered container's script and env, its volumes as directories under `root`."""

    def __init__(
        self,
        root: Path,
        container: dict[str, Any],
        config_maps: dict[str, dict[str, str]],
        name: str = POD,
        pod: dict[str, Any] | None = None,
    ) -> None:
        """`pod`: the pod's spec, where an init container wrote the script `container` runs."""
        self.root = root
        self.script, self.args = script_and_args(container, pod or {})
        self.env = container_env(container, name, NAMESPACE)
        # The members' addresses: a random loopback /24 per pod, so that tests running side by
        # side never answer each other's questions.
        self.subnet = f"127.{random.randint(100, 250)}.{random.randint(0, 250)}"
        for key in (*DIR_KEYS, *FILE_KEYS):
            if key in self.env:
                self.env[key] = str(root / self.env[key].lstrip("/"))
        self.env["POD_IP"] = self.address(name)
        cluster_dir = Path(self.env["CLUSTER_DIR"])
        cluster_dir.mkdir(parents=True, exist_ok=True)  # another container of the same pod made it
        for key, value in config_maps["kafscale-etcd-members"].items():
            (cluster_dir / key).write_text(value)
        Path(self.env["BOOTSTRAP_MARKER"]).parent.mkdir(parents=True, exist_ok=True)
        for key in (*DIR_KEYS, *FILE_KEYS):
            if key in self.env and key not in ("CLUSTER_DIR", "BOOTSTRAP_MARKER"):
                is_dir = key in DIR_KEYS
                (Path(self.env[key]) if is_dir else Path(self.env[key]).parent).mkdir(
                    parents=True, exist_ok=True
                )

    def address(self, pod: str) -> str:
        return f"{self.subnet}.{int(pod.rsplit('-', 1)[1]) + 1}"

    def decide(self, decision: str) -> None:
        """What `kubectl create configmap <cluster>-etcd-recovery` puts in the pod."""
        Path(self.env["DECISION_FILE"]).write_text(decision + "\n")

    def mark_bootstrapped(self) -> None:
        Path(self.env["BOOTSTRAP_MARKER"]).write_text("bootstrapped")

    def argv(self, shell: list[str]) -> list[str]:
        """The script under `shell`; as root, with an /etc/hosts that names every member at a
        loopback address where nothing listens, so that each probe is refused at once instead of
        waiting on a DNS server that does not know the cluster's names."""
        command = [*shell, self.script, *self.args]
        if not can_run_pods():
            return command
        hosts = self.root / "hosts"
        if not hosts.exists():
            names = [f"kafscale-etcd-{i}" for i in range(MAX_REPLICAS)]
            addresses = {name: self.address(name) for name in names}
            hosts.write_text(hosts_file(addresses, "kafscale-etcd", NAMESPACE))
        return [*private_mounts('mount --bind "$0" /etc/hosts && exec "$@"'), str(hosts), *command]

    def start(self, shell: list[str], path: str, **env: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.argv(shell),
            env={**self.env, "PATH": path, **env},
            stdout=subprocess.PIPE,
            text=True,
        )

    def run(
        self, shell: list[str], path: str, timeout_s: float = 60, **env: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.argv(shell),
            env={**self.env, "PATH": path, **env},
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )


def _manifests(*overrides: str) -> list[dict[str, Any]]:
    raw = dict(o.split("=", 1) for o in (f"namespace={NAMESPACE}", *overrides))
    return render_objects(**raw).manifests


def _config_maps(manifests: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    return {m["metadata"]["name"]: m["data"] for m in manifests if m["kind"] == "ConfigMap"}


def _join_pod(tmp_path: Path, *overrides: str, member: int = 1) -> Pod:
    manifests = _manifests(*overrides)
    return _member_pod(tmp_path, manifests, "member-join", name=f"kafscale-etcd-{member}")


def _member_pod(tmp_path: Path, manifests: list[dict[str, Any]], container: str, name: str = POD) -> Pod:
    """One container of the etcd pod, with the script the pod's first init container wrote."""
    spec = pod_spec(only(manifests, "StatefulSet"))
    found = next(c for c in spec["initContainers"] + spec["containers"] if c["name"] == container)
    return Pod(tmp_path, found, _config_maps(manifests), name=name, pod=spec)


@pytest.fixture
def tools_path(tmp_path: Path) -> str:
    """BusyBox applets and one etcdctl: with no member answering, etcdctl's version shows in
    nothing the script reads (the drills run both versions' etcdctl against real members)."""
    return tools_image_path(tmp_path / "tools-bin", require_etcd_binary("debian"))


def _expected_bootstrap_config(*overrides: str) -> dict[str, Any]:
    """The operator's flags for this pod, as a config file: `$(POD_NAME)` and `$(POD_NAMESPACE)`
    expanded, plus the flag defaults a config file needs spelled out and the corruption checks."""
    settings = parse_settings(dict(o.split("=", 1) for o in ("namespace=" + NAMESPACE, *overrides))).settings
    flags = {
        key: value.replace("$(POD_NAME)", POD).replace("$(POD_NAMESPACE)", NAMESPACE)
        if isinstance(value, str)
        else value
        for key, value in etcd_flags(settings, settings.names).items()
    }
    checks = corruption_check_config(image_etcd_version(settings.image), settings.corrupt_check_interval)
    # The operator's token, with the stack's identity from the members ConfigMap.
    flags["initial-cluster-token"] = f"{settings.names.initial_cluster_token}-{MOCK_IDENTITY}"
    return {**flags, **CONFIG_FILE_DEFAULTS, **checks}  # the operator's, then ours


@pytest.mark.parametrize(
    "overrides",
    [(), ("etcdReplicas=5", "etcdAutoCompactionMode=revision", "etcdQuotaBackendBytes=8Gi")],
    ids=["defaults", "tuned"],
)
def test_a_fresh_cluster_bootstraps_new_with_the_operators_flags(tmp_path, shell, tools_path, overrides):
    """Backups off: no second witness to ask, join bootstraps at once."""
    pod = _join_pod(tmp_path, "etcdSnapshotEnabled=false", *overrides)
    finished = pod.run(shell, tools_path)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert "the cluster never bootstrapped: bootstrapping it" in finished.stdout
    config = yaml.safe_load(Path(pod.env["CONFIG_FILE"]).read_text())
    expected = _expected_bootstrap_config(*overrides)
    for key in MEMBERSHIP_FLAGS:
        assert key in config
    assert config == expected  # data-dir: the mountPath, where the etcd container has the volume


def test_a_bootstrap_takes_the_stacks_identity_into_its_token_and_refuses_a_malformed_one(
    tmp_path, shell, tools_path
):
    """The members ConfigMap's `identity` ends the bootstrap's token; a render without one (an
    older program's ConfigMap) bootstraps under the cluster's token alone; one that is not hex
    digits bootstraps nothing, since the members might not share the token it would make."""
    pod = _join_pod(tmp_path / "with", "etcdSnapshotEnabled=false")
    finished = pod.run(shell, tools_path)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    token = f"kafscale-etcd-{MOCK_IDENTITY}"
    assert f"bootstrapping it as {token}" in finished.stdout
    assert yaml.safe_load(Path(pod.env["CONFIG_FILE"]).read_text())["initial-cluster-token"] == token

    older = _join_pod(tmp_path / "without", "etcdSnapshotEnabled=false")
    (Path(older.env["CLUSTER_DIR"]) / "identity").unlink()
    finished = older.run(shell, tools_path)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    config = yaml.safe_load(Path(older.env["CONFIG_FILE"]).read_text())
    assert config["initial-cluster-token"] == "kafscale-etcd"

    malformed = _join_pod(tmp_path / "malformed", "etcdSnapshotEnabled=false")
    (Path(malformed.env["CLUSTER_DIR"]) / "identity").write_text("c0ffee$(reboot)\n")
    finished = malformed.run(shell, tools_path)
    assert finished.returncode != 0
    assert "identity is not lower-case hex: refusing to bootstrap" in finished.stdout
    assert not Path(malformed.env["CONFIG_FILE"]).exists()


def test_with_backups_on_a_fresh_cluster_bootstraps_once_the_fetch_step_found_no_snapshot(
    tmp_path, shell, tools_path
):
    """No marker, no quorum: join asks the fetch step to look for this cluster's snapshots and
    writes no config; `member-restore`, told the folder holds none (no `existed`), bootstraps with
    the operator's flags; told it holds some, it decides as for a lost cluster (here every other
    member is silent, so it waits) and never bootstraps."""
    manifests = _manifests()
    join = _member_pod(tmp_path, manifests, "member-join")
    asked = join.run(shell, tools_path)
    assert asked.returncode == 0, asked.stdout + asked.stderr
    assert "asking the fetch step whether this cluster's snapshot folder shows it existed" in asked.stdout
    restore_dir = Path(join.env["RESTORE_DIR"])
    assert (restore_dir / "requested").read_text() == "bootstrap\n"
    assert not Path(join.env["CONFIG_FILE"]).exists()

    restore = _member_pod(tmp_path, manifests, "member-restore")
    (restore_dir / "existed").write_text("2\n")
    waiting = restore.start(shell, tools_path, RETRY_INTERVAL_S="1")
    try:
        assert waiting.stdout is not None
        lines = [waiting.stdout.readline() for _ in range(2)]
        while "waiting" not in lines[-1] and lines[-1]:
            lines.append(waiting.stdout.readline())
        assert "deciding on evidence as for a lost cluster, never bootstrapping" in lines[0], lines
        assert "no answer from" in lines[-1], lines
        assert waiting.poll() is None  # still waiting
    finally:
        waiting.kill()
        waiting.wait()
    assert not Path(restore.env["CONFIG_FILE"]).exists()

    (restore_dir / "existed").unlink()
    (restore_dir / "requested").write_text("bootstrap\n")
    bootstrapped = restore.run(shell, tools_path)
    assert bootstrapped.returncode == 0, bootstrapped.stdout + bootstrapped.stderr
    assert "holds no snapshot and no marker says it bootstrapped: bootstrapping it" in bootstrapped.stdout
    assert yaml.safe_load(Path(restore.env["CONFIG_FILE"]).read_text()) == _expected_bootstrap_config()
    assert not (restore_dir / "requested").exists()


def test_with_the_marker_and_no_member_it_waits_and_writes_nothing(tmp_path, shell, tools_path):
    pod = _join_pod(tmp_path)
    pod.mark_bootstrapped()
    waiting = pod.start(shell, tools_path, RETRY_INTERVAL_S="1")
    try:
        assert waiting.stdout is not None
        first = waiting.stdout.readline()
        while "starts as" not in first and "refusing" not in first and first:
            first = waiting.stdout.readline()
        assert "refusing to bootstrap a new empty cluster over it" in first, first
        assert waiting.poll() is None  # still waiting
    finally:
        waiting.kill()
        waiting.wait()
    assert not Path(pod.env["CONFIG_FILE"]).exists()


def test_a_member_with_data_restarts_from_it(tmp_path, shell, tools_path):
    pod = _join_pod(tmp_path)
    pod.mark_bootstrapped()
    (Path(pod.env["DATA_DIR"]) / "member" / "wal").mkdir(parents=True)
    finished = pod.run(shell, tools_path)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert "etcd restarts from it" in finished.stdout
    assert yaml.safe_load(Path(pod.env["CONFIG_FILE"]).read_text())["initial-cluster-state"] == "new"


@pytest.mark.parametrize("variable", ["MEMBER_NAME", "MEMBER_PEER_URL", "ETCD_CONFIG"])
def test_a_missing_setting_fails_naming_it(tmp_path, shell, tools_path, variable):
    pod = _join_pod(tmp_path)
    finished = pod.run(shell, tools_path, **{variable: ""})
    assert finished.returncode == 1
    assert f"FAILED: {variable} is empty" in finished.stdout


def _shrink_pod(tmp_path: Path, replicas: int = 1) -> Pod:
    manifests = _manifests(f"etcdReplicas={replicas}")
    (container,) = pod_spec(only(manifests, "Job"))["containers"]
    return Pod(tmp_path, container, _config_maps(manifests))


def test_scaling_down_before_the_first_bootstrap_removes_nothing(tmp_path, shell, tools_path):
    finished = _shrink_pod(tmp_path).run(shell, tools_path)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert "never bootstrapped: nothing to remove" in finished.stdout


def test_scaling_down_a_cluster_that_does_not_answer_fails_in_time(tmp_path, shell, tools_path):
    pod = _shrink_pod(tmp_path)
    pod.mark_bootstrapped()
    finished = pod.run(shell, tools_path, SHRINK_TIMEOUT_S="1", RETRY_INTERVAL_S="1")
    assert finished.returncode == 1
    assert "FAILED: no member with quorum answers (gave up after 1s)" in finished.stdout


@pytest.mark.parametrize("value", ["0", "-1", "three", ""])
def test_a_target_that_is_not_a_positive_count_is_refused(tmp_path, shell, tools_path, value):
    finished = _shrink_pod(tmp_path).run(shell, tools_path, TARGET_REPLICAS=value)
    assert finished.returncode == 1
    assert "FAILED: TARGET_REPLICAS" in finished.stdout


@pytest.mark.parametrize("variable", ["RETRY_INTERVAL_S", "WAIT_LOG_INTERVAL_S"])
@pytest.mark.parametrize("script", ["member", "scale-down"])
def test_an_interval_that_is_not_a_number_is_refused(tmp_path, shell, tools_path, variable, script):
    """Both scripts take the interval rules from etcd-cluster.sh."""
    pod = _join_pod(tmp_path) if script == "member" else _shrink_pod(tmp_path)
    finished = pod.run(shell, tools_path, **{variable: "2s"})
    assert finished.returncode == 1
    assert f"FAILED: {variable} is not a number: '2s'" in finished.stdout


def test_an_unknown_task_is_refused(tmp_path, shell, tools_path):
    pod = _join_pod(tmp_path)
    pod.args = [pod.args[0], "shrink"]  # the scale-down has a script of its own
    finished = pod.run(shell, tools_path)
    assert finished.returncode == 1
    assert "usage: etcd-member.sh join|restore|promote" in finished.stdout
    scale_down = _shrink_pod(tmp_path / "scale-down")
    scale_down.args = [*scale_down.args, "shrink"]
    finished = scale_down.run(shell, tools_path)
    assert finished.returncode == 1
    assert "usage: etcd-scale-down.sh (no arguments" in finished.stdout


# A lost cluster: bootstrapped (the marker), no data, no member with quorum. What each other
# member answers on its evidence port decides; these stand-ins answer as a member would.


@contextmanager
def answering(pod: Pod, answers: dict[str, str]) -> Iterator[None]:
    """Members (pod name -> their answer, `state=...` lines) answering on the evidence port, as
    etcd-member.sh's responder does (BusyBox nc, one responder per connection)."""
    busybox = shutil.which("busybox")
    if busybox is None:
        missing("busybox is missing (make setup installs it)")
    port = pod.env["EVIDENCE_PORT"]
    servers = []
    for member, text in answers.items():
        reply = "printf 'HTTP/1.0 200 OK\\r\\n\\r\\n'; cat <<'EOF'\n" + text + "\nEOF\n"
        argv = [busybox, "nc", "-ll", "-p", port, pod.address(member), "-e", "/bin/sh", "-c", reply]
        servers.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    try:
        yield
    finally:
        for server in servers:
            server.kill()
            server.wait()


EMPTY = "state=empty\nnonce=2c0ffee2c0ff"
FIRST_NONCE = "0a1b2c3d4e5f"
FIRST_EMPTY = f"state=empty\nnonce={FIRST_NONCE}"
HOLDS_DATA = "state=data\ncluster=5a1e\nrevision=1504\nterm=7"


@pytest.mark.parametrize("shell", ["busybox-sh"], indirect=True)
def test_a_lost_cluster_with_backups_asks_for_the_newest_snapshot_once_every_member_answers_empty(
    tmp_path, shell, tools_path
):
    pod = _join_pod(tmp_path)
    pod.mark_bootstrapped()
    with answering(pod, {"kafscale-etcd-0": FIRST_EMPTY, "kafscale-etcd-2": EMPTY}):
        finished = pod.run(shell, tools_path, RETRY_INTERVAL_S="1")
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert "every other member answered that it holds no data: the whole cluster is gone" in finished.stdout
    assert (Path(pod.env["RESTORE_DIR"]) / "requested").read_text() == "newest\n"
    # The restore's identity: the nonce the first member answered, which every member heard.
    assert (Path(pod.env["RESTORE_DIR"]) / "nonce").read_text() == f"{FIRST_NONCE}\n"
    identity = f"the new cluster's identity: nonce {FIRST_NONCE}, which kafscale-etcd-0 answered"
    assert identity in finished.stdout
    assert not Path(pod.env["CONFIG_FILE"]).exists()  # member-restore writes it


@pytest.mark.parametrize("shell", ["dash"], indirect=True)
def test_the_first_member_names_a_restore_with_the_nonce_it_answers(tmp_path, shell, tools_path):
    """kafscale-etcd-0 decides with the nonce it answers the others, kept for the pod's life: the
    restore step (and a restart of join) finds the same one."""
    pod = _join_pod(tmp_path, member=0)
    pod.mark_bootstrapped()
    with answering(pod, {"kafscale-etcd-1": EMPTY, "kafscale-etcd-2": EMPTY}):
        finished = pod.run(shell, tools_path, RETRY_INTERVAL_S="1")
    assert finished.returncode == 0, finished.stdout + finished.stderr
    kept = Path(pod.env["EVIDENCE_FILE"] + ".nonce").read_text()
    assert re.fullmatch(r"[0-9a-f]{12}", kept), kept
    assert (Path(pod.env["RESTORE_DIR"]) / "nonce").read_text() == f"{kept}\n"
    assert f"nonce={kept}" in Path(pod.env["EVIDENCE_FILE"]).read_text()
    assert "2c0ffee2c0ff" not in (Path(pod.env["RESTORE_DIR"]) / "nonce").read_text()


@pytest.mark.parametrize(
    ("shell", "answers", "why"),
    [
        ("dash", {"kafscale-etcd-0": EMPTY}, "no answer from kafscale-etcd-2: a member that does not answer"),
        (
            "busybox-sh",
            {"kafscale-etcd-0": EMPTY, "kafscale-etcd-2": HOLDS_DATA},
            "kafscale-etcd-2 (cluster 5a1e, revision 1504, term 7) holds data and no member has quorum",
        ),
    ],
    ids=["one-silent", "one-holds-data"],
    indirect=["shell"],
)
def test_a_silent_member_or_one_with_data_keeps_a_lost_cluster_waiting(
    tmp_path, shell, tools_path, answers, why
):
    """Silence is never evidence: the member that does not answer may be restarting or cut off,
    with every acknowledged write. A member with data is recovered from, never restored over."""
    pod = _join_pod(tmp_path)
    pod.mark_bootstrapped()
    with answering(pod, answers):
        line = _first_wait_line(pod.start(shell, tools_path, RETRY_INTERVAL_S="1"))
    assert why in line, line
    assert "to decide: kubectl -n kafscale-dev create configmap kafscale-etcd-recovery" in line
    assert not (Path(pod.env["RESTORE_DIR"]) / "requested").exists()
    assert not Path(pod.env["CONFIG_FILE"]).exists()


@pytest.mark.parametrize("shell", ["dash"], indirect=True)
def test_a_persons_decision_is_carried_out_whatever_the_evidence(tmp_path, shell, tools_path):
    pod = _join_pod(tmp_path)
    pod.mark_bootstrapped()
    pod.decide("restore 20261201000000")
    finished = pod.run(shell, tools_path, RETRY_INTERVAL_S="1")  # nobody answers
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert "a person decided: 'restore 20261201000000'" in finished.stdout
    assert (Path(pod.env["RESTORE_DIR"]) / "requested").read_text() == "20261201000000\n"


@pytest.mark.parametrize("shell", ["busybox-sh"], indirect=True)
def test_while_it_decides_a_member_answers_that_it_holds_no_data(tmp_path, shell, tools_path):
    pod = _join_pod(tmp_path)
    pod.mark_bootstrapped()
    waiting = pod.start(shell, tools_path, RETRY_INTERVAL_S="1")
    try:
        url = f"http://{pod.address(POD)}:{pod.env['EVIDENCE_PORT']}/"
        deadline = time.monotonic() + 30
        answer = ""
        while "state=empty" not in answer and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    answer = response.read().decode()
            except OSError:
                time.sleep(0.2)
        assert answer.splitlines()[:2] == [f"member={POD}", "state=empty"], answer
    finally:
        waiting.kill()
        waiting.wait()


@pytest.mark.parametrize("shell", ["dash"], indirect=True)
def test_a_lost_cluster_without_backups_starts_empty_only_when_allowed(tmp_path, shell, tools_path):
    allowed = _join_pod(tmp_path / "allowed", "etcdSnapshotEnabled=false", "etcdStartEmptyWhenLost=true")
    allowed.mark_bootstrapped()
    with answering(allowed, {"kafscale-etcd-0": FIRST_EMPTY, "kafscale-etcd-2": EMPTY}):
        finished = allowed.run(shell, tools_path, RETRY_INTERVAL_S="1")
    assert finished.returncode == 0, finished.stdout + finished.stderr
    config = yaml.safe_load(Path(allowed.env["CONFIG_FILE"]).read_text())
    assert config["initial-cluster-state"] == "new"
    # Never the lost cluster's own token: the nonce kafscale-etcd-0 (the first member) answered.
    assert config["initial-cluster-token"] == f"kafscale-etcd-empty-{FIRST_NONCE}"

    refused = _join_pod(tmp_path / "refused", "etcdSnapshotEnabled=false")
    refused.mark_bootstrapped()
    with answering(refused, {"kafscale-etcd-0": EMPTY, "kafscale-etcd-2": EMPTY}):
        line = _first_wait_line(refused.start(shell, tools_path, RETRY_INTERVAL_S="1"))
    assert "there are no backups (etcdSnapshotEnabled is off)" in line
    assert not Path(refused.env["CONFIG_FILE"]).exists()


@pytest.mark.parametrize("shell", ["busybox-sh"], indirect=True)
def test_a_member_above_the_replica_count_never_adds_itself_back(tmp_path, shell, tools_path):
    """etcdReplicas=1: the scale-down Job removed kafscale-etcd-1, whose pod restarts before the
    StatefulSet drops it. With data or without, it waits and writes no config."""
    pod = _join_pod(tmp_path, "etcdReplicas=1")
    pod.mark_bootstrapped()
    (Path(pod.env["DATA_DIR"]) / "member" / "wal").mkdir(parents=True)
    line = _first_wait_line(pod.start(shell, tools_path, RETRY_INTERVAL_S="1"))
    assert "kafscale-etcd-1 is not in" in line and "it never adds itself back" in line, line
    assert not Path(pod.env["CONFIG_FILE"]).exists()


@pytest.mark.parametrize("shell", ["dash"], indirect=True)
def test_a_restore_of_another_snapshot_than_the_one_requested_is_refused(tmp_path, shell, tools_path):
    manifests = _manifests()
    restore = _member_pod(tmp_path, manifests, "member-restore")
    restore_dir = Path(restore.env["RESTORE_DIR"])
    (restore_dir / "requested").write_text("20261201000000\n")
    (restore_dir / "snapshot.name").write_text("20261202000000\n")
    (restore_dir / "snapshot.db").write_bytes(b"a snapshot")
    finished = restore.run(shell, tools_path, RETRY_INTERVAL_S="1")
    assert finished.returncode != 0
    assert "snapshot 20261201000000 was requested, but 20261202000000 was fetched" in finished.stdout
    assert not (Path(restore.env["DATA_DIR"]) / "member").exists()


@pytest.mark.parametrize(
    ("shell", "state", "ready"),
    [("busybox-sh", "new", True), ("dash", "existing", False)],
    indirect=["shell"],
)
def test_the_voting_gate_is_open_at_once_only_for_a_member_that_started_new(
    tmp_path, shell, tools_path, state, ready
):
    """The sidecar's readiness file, with no member answering: a member that started `new` (a
    first bootstrap, which OrderedReady must not hold back) votes; a learner waits for its
    promotion, so a rolling update or a drain never counts it."""
    manifests = _manifests("etcdProbes=false")
    pod = _member_pod(tmp_path, manifests, "member-promote")
    Path(pod.env["CONFIG_FILE"]).write_text(f"initial-cluster-state: {state}\n")
    voting = Path(pod.env["VOTING_FILE"])
    running = pod.start(shell, tools_path, RETRY_INTERVAL_S="1", WAIT_LOG_INTERVAL_S="0")
    try:
        assert running.stdout is not None
        line = running.stdout.readline()
        while "waiting for a member with quorum" not in line and line:
            line = running.stdout.readline()
        assert "waiting for a member with quorum" in line  # one whole round since it started
        assert voting.exists() is ready
    finally:
        running.kill()
        running.wait()


@pytest.mark.parametrize("shell", ["dash"], indirect=True)
def test_without_wget_a_member_never_restores_blind(tmp_path, shell, tools_path):
    bin_dir = Path(tools_path)
    (bin_dir / "wget").unlink()
    pod = _join_pod(tmp_path)
    pod.mark_bootstrapped()
    line = _first_wait_line(pod.start(shell, tools_path, RETRY_INTERVAL_S="1"))
    assert "this image has no wget, so the peers cannot be checked: never restoring blind" in line
    assert not (Path(pod.env["RESTORE_DIR"]) / "requested").exists()


def _first_wait_line(process: subprocess.Popen[str]) -> str:
    """The first `waiting` line of a join that must keep waiting; the process is stopped."""
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        while "waiting" not in line and line:
            line = process.stdout.readline()
        assert process.poll() is None, line  # still waiting
        return line
    finally:
        process.kill()
        process.wait()
