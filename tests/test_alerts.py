"""The PrometheusRule's alerts, unit-tested with `promtool test rules` on synthetic series, and the
metrics they read checked against what real etcd exports."""

import re
import shutil
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from kafscale.config.naming import EtcdNames
from kafscale.config.settings import parse_settings
from kafscale.objects.monitoring import (
    DB_SIZE,
    KUBE_STATE_METRICS,
    RULE_METRICS,
    alert_rules,
    all_rules,
    compaction_stuck_window_minutes,
)
from kafscale_lab.local_cluster import LocalCluster
from tests.support import missing, rendered_manifests

GiB = 1024**3
NAMES = EtcdNames("kafscale", "kafscale")
SERIES = 'job="kafscale-etcd-metrics",namespace="kafscale"'


def _promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        missing("promtool is not installed (make setup installs Debian's prometheus package)")
    return found


def _rules(**raw: str) -> list[dict[str, Any]]:
    return all_rules(parse_settings(raw).settings, NAMES)


def _write_rules(directory: Path, rules: list[dict[str, Any]], annotations: bool) -> None:
    if not annotations:  # expressions alone; the templates are checked in their own test
        rules = [{k: v for k, v in rule.items() if k != "annotations"} for rule in rules]
    (directory / "rules.yaml").write_text(yaml.safe_dump({"groups": [{"name": "t", "rules": rules}]}))


def _promtool_test(directory: Path, tests: list[dict[str, Any]]) -> subprocess.CompletedProcess[str]:
    unit = {"rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": tests}
    (directory / "test.yaml").write_text(yaml.safe_dump(unit))
    return subprocess.run(
        [_promtool(), "test", "rules", "test.yaml"], cwd=directory, capture_output=True, text=True, timeout=60
    )


def _member(metric: str, values: str, pod: str = "kafscale-etcd-0", **labels: str) -> dict[str, str]:
    extra = "".join(f',{key}="{value}"' for key, value in labels.items())
    return {"series": f'{metric}{{{SERIES},pod="{pod}",instance="{pod}:2379"{extra}}}', "values": values}


def _fires(labels: dict[str, str], severity: str) -> list[dict[str, Any]]:
    return [{"exp_labels": {**labels, "severity": severity}}]


MEMBER0 = {"namespace": "kafscale", "pod": "kafscale-etcd-0"}
SNAPSHOT_CRONJOB = {"namespace": "kafscale", "cronjob": "kafscale-etcd-snapshot"}


def _cronjob(metric: str, values: str) -> dict[str, str]:
    """A kube-state-metrics series of the snapshot CronJob (values: Unix seconds; promtool's
    clock starts at 0)."""
    labels = 'job="kube-state-metrics",namespace="kafscale",cronjob="kafscale-etcd-snapshot"'
    return {"series": f"{metric}{{{labels}}}", "values": values}


LAST_SUCCESS = "kube_cronjob_status_last_successful_time"
CORRUPT_PUT = {"grpc_service": "etcdserverpb.KV", "grpc_method": "Put", "grpc_code": "DataLoss"}
CREATED = "kube_cronjob_created"
RESOURCE_EXHAUSTED = {
    "grpc_service": "etcdserverpb.KV",
    "grpc_method": "Put",
    "grpc_code": "ResourceExhausted",
}

# alert, config, input series, eval time, expected alerts (empty: must stay silent)
CASES = [
    # 4 GiB quota, 75%: 3 GiB threshold, held for 10 minutes.
    ("KafscaleEtcdBackendAboveThreshold", {}, [_member(DB_SIZE, f"{3 * GiB}x20")],
     "15m", _fires(MEMBER0, "warning")),
    ("KafscaleEtcdBackendAboveThreshold", {}, [_member(DB_SIZE, f"{3 * GiB - 1}x20")],
     "15m", []),
    ("KafscaleEtcdBackendAboveThreshold", {}, [_member(DB_SIZE, f"{3 * GiB}x20")],
     "5m", []),  # not yet for 10 minutes
    ("KafscaleEtcdBackendAboveThreshold", {"etcdMaintenanceSizeThresholdPct": "50"},
     [_member(DB_SIZE, f"{2 * GiB}x20")], "15m", _fires(MEMBER0, "warning")),
    # NOSPACE: at the quota, or writes refused with ResourceExhausted.
    ("KafscaleEtcdNoSpace", {}, [_member(DB_SIZE, f"{4 * GiB}x5")],
     "2m", _fires(MEMBER0, "critical")),
    ("KafscaleEtcdNoSpace", {}, [_member(DB_SIZE, f"{4 * GiB - 1}x5")], "2m", []),
    ("KafscaleEtcdNoSpace", {"etcdQuotaBackendBytes": "8Gi"},
     [_member(DB_SIZE, f"{4 * GiB}x5")], "2m", []),  # the quota we render
    ("KafscaleEtcdNoSpace", {"etcdQuotaBackendBytes": "2Gi"},
     [_member(DB_SIZE, f"{2 * GiB}x5")], "2m", _fires(MEMBER0, "critical")),
    # Disarmed size but the alarm still armed: KafScale's puts are refused.
    ("KafscaleEtcdNoSpace", {},
     [_member(DB_SIZE, f"{GiB}x10"),
      _member("grpc_server_handled_total", "0 0 0 5 10 15 20 25 30 35 40", **RESOURCE_EXHAUSTED)],
     "6m", _fires(MEMBER0, "critical")),
    ("KafscaleEtcdNoSpace", {},
     [_member(DB_SIZE, f"{GiB}x20"),
      _member("grpc_server_handled_total", "0 5 10 10 10 10 10 10 10 10 10 10 10", **RESOURCE_EXHAUSTED)],
     "12m", []),  # refusals stopped more than 5 minutes ago
    ("KafscaleEtcdNoSpace", {},
     [_member("grpc_server_handled_total", "0 5 10 15 20 25", grpc_service="etcdserverpb.KV",
              grpc_method="Range", grpc_code="OK")],
     "4m", []),  # successful calls are not refusals
    # No leader for a minute.
    ("KafscaleEtcdNoLeader", {}, [_member("etcd_server_has_leader", "1 1 0 0 0 0")],
     "5m", _fires(MEMBER0, "critical")),
    ("KafscaleEtcdNoLeader", {}, [_member("etcd_server_has_leader", "1 1 1 1 0 1")], "5m", []),
    ("KafscaleEtcdNoLeader", {}, [_member("etcd_server_has_leader", "1x10")], "5m", []),
    # More than 3 leader changes in 15 minutes, once per cluster.
    ("KafscaleEtcdFrequentLeaderChanges", {},
     [_member("etcd_server_leader_changes_seen_total", "0 1 2 3 4 5 6 7 8 9 10", pod=pod)
      for pod in ("kafscale-etcd-0", "kafscale-etcd-1")],
     "10m", _fires({"namespace": "kafscale", "job": "kafscale-etcd-metrics"}, "warning")),
    ("KafscaleEtcdFrequentLeaderChanges", {},
     [_member("etcd_server_leader_changes_seen_total", "0 0 0 1 1 1 1 2 2 2 2 2 2 2 2 2 2")], "16m", []),
    # In-use size only growing for three compaction intervals (15m at 5m retention).
    ("KafscaleEtcdCompactionStuck", {},
     [_member("etcd_mvcc_db_total_size_in_use_in_bytes", "1000000+10000x40")],
     "30m", _fires(MEMBER0, "warning")),
    ("KafscaleEtcdCompactionStuck", {},  # the sawtooth of a working compactor
     [_member("etcd_mvcc_db_total_size_in_use_in_bytes",
              " ".join(str(1_000_000 + 10_000 * (minute % 5)) for minute in range(41)))],
     "30m", []),
    ("KafscaleEtcdCompactionStuck", {},  # an idle cluster does not grow
     [_member("etcd_mvcc_db_total_size_in_use_in_bytes", "1000000x40")], "30m", []),
    ("KafscaleEtcdCompactionStuck", {},  # a member younger than the window
     [_member("etcd_mvcc_db_total_size_in_use_in_bytes", "_x20 1000000+10000x20")], "30m", []),
    ("KafscaleEtcdCompactionStuck", {"etcdAutoCompactionRetention": "1h"},  # window 3h: not yet
     [_member("etcd_mvcc_db_total_size_in_use_in_bytes", "1000000+10000x40")], "30m", []),
    # A CORRUPT alarm: etcd answers writes `corrupt cluster`, gRPC code DataLoss.
    ("KafscaleEtcdCorrupt", {},
     [_member("grpc_server_handled_total", "0 0 0 0 1 3 5 8 9 9 9", **CORRUPT_PUT)],
     "8m", _fires(MEMBER0, "critical")),
    ("KafscaleEtcdCorrupt", {},  # a refusal long ago, none in the last 5 minutes
     [_member("grpc_server_handled_total", "0 1 1 1 1 1 1 1 1 1 1 1 1 1 1", **CORRUPT_PUT)], "14m", []),
    # Snapshots: 7200 s stale-after; at 3h (10800 s) a success at 0 is 3h old.
    ("KafscaleEtcdSnapshotStale", {},
     [_cronjob(CREATED, "0x180"), _cronjob(LAST_SUCCESS, "0x180")],
     "3h", _fires(SNAPSHOT_CRONJOB, "warning")),
    ("KafscaleEtcdSnapshotStale", {},  # the hourly success: at most an hour old
     [_cronjob(CREATED, "0x180"),
      _cronjob(LAST_SUCCESS, " ".join(str(3600 * (minute // 60)) for minute in range(181)))],
     "3h", []),
    ("KafscaleEtcdSnapshotStale", {},  # never succeeded, created 3h ago
     [_cronjob(CREATED, "0x180")], "3h", _fires(SNAPSHOT_CRONJOB, "warning")),
    ("KafscaleEtcdSnapshotStale", {},  # never succeeded yet, created 1h ago
     [_cronjob(CREATED, "_x120 7200x60")], "3h", []),
    ("KafscaleEtcdSnapshotStale", {"etcdSnapshotStaleAfterSec": "86400"},  # a daily schedule
     [_cronjob(CREATED, "0x180"), _cronjob(LAST_SUCCESS, "0x180")], "3h", []),
]  # fmt: skip


@pytest.fixture(scope="module")
def promtool_verdicts(tmp_path_factory: pytest.TempPathFactory) -> dict[int, str]:
    """Every case in one `promtool test rules` run (one unit file per case, each with its own
    rules beside it), its report cut per file: case index -> promtool's lines for it."""
    root = tmp_path_factory.mktemp("alerts")
    files = []
    for index, (alert, raw, series, eval_time, expected) in enumerate(CASES):
        directory = root / f"case-{index}"
        directory.mkdir()
        _write_rules(directory, _rules(**raw), annotations=False)
        test = {
            "interval": "1m",
            "input_series": series,
            "alert_rule_test": [{"eval_time": eval_time, "alertname": alert, "exp_alerts": expected}],
        }
        unit = {"rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": [test]}
        (directory / "test.yaml").write_text(yaml.safe_dump(unit))
        files.append(f"case-{index}/test.yaml")
    result = subprocess.run(
        [_promtool(), "test", "rules", *files], cwd=root, capture_output=True, text=True, timeout=120
    )
    report = result.stdout + result.stderr
    blocks = re.split(r"^Unit Testing: +", report, flags=re.MULTILINE)[1:]
    verdicts = {int(re.match(r"case-(\d+)/", block).group(1)): block for block in blocks}  # type: ignore[union-attr]
    assert sorted(verdicts) == list(range(len(CASES))), report
    return verdicts


@pytest.mark.tools
@pytest.mark.parametrize("index", [pytest.param(i, id=f"{case[0]}-{i}") for i, case in enumerate(CASES)])
def test_alert_fires_exactly_when_it_should(promtool_verdicts, index):
    verdict = promtool_verdicts[index]
    assert re.search(r"^ +SUCCESS$", verdict, flags=re.MULTILINE), verdict


def test_every_alert_has_a_firing_and_a_silent_case():
    alerts = {rule["alert"] for rule in _rules()}
    assert {case[0] for case in CASES if case[4]} == alerts
    assert {case[0] for case in CASES if not case[4]} == alerts


@pytest.mark.tools
def test_promtool_really_checks_the_expectation(tmp_path):
    """The control: the same harness fails when the expectation is wrong."""
    _write_rules(tmp_path, _rules(), annotations=False)
    result = _promtool_test(
        tmp_path,
        [
            {
                "interval": "1m",
                "input_series": [_member("etcd_server_has_leader", "1x10")],
                "alert_rule_test": [
                    {
                        "eval_time": "5m",
                        "alertname": "KafscaleEtcdNoLeader",
                        "exp_alerts": _fires(MEMBER0, "critical"),
                    }
                ],
            }
        ],
    )
    assert result.returncode != 0
    assert "KafscaleEtcdNoLeader" in result.stdout + result.stderr


@pytest.mark.tools
def test_rules_and_templates_pass_promtool_check_and_annotations_render(tmp_path):
    rules = _rules(etcdQuotaBackendBytes="2Gi")
    _write_rules(tmp_path, rules, annotations=True)
    check = subprocess.run(
        [_promtool(), "check", "rules", "rules.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "SUCCESS: 7 rules found" in check.stdout
    result = _promtool_test(
        tmp_path,
        [
            {
                "interval": "1m",
                "input_series": [_member(DB_SIZE, f"{2 * GiB}x20")],
                "alert_rule_test": [
                    {
                        "eval_time": "15m",
                        "alertname": "KafscaleEtcdBackendAboveThreshold",
                        "exp_alerts": [
                            {
                                "exp_labels": {**MEMBER0, "severity": "warning"},
                                "exp_annotations": {
                                    "summary": "etcd backend above the maintenance threshold",
                                    "description": "Member kafscale-etcd-0 holds 2GiB, at or above 75% of "
                                    "the 2147483648-byte quota; maintenance should defragment it (see the "
                                    "etcd-maintenance CronJob).",
                                },
                            }
                        ],
                    }
                ],
            }
        ],
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("raw", "minutes"),
    [
        ({}, 15),
        ({"etcdAutoCompactionRetention": "10m"}, 30),
        ({"etcdAutoCompactionRetention": "1"}, 180),
        ({"etcdAutoCompactionRetention": "72h"}, 180),  # hourly from an hour on
        ({"etcdAutoCompactionRetention": "0"}, 15),
        ({"etcdAutoCompactionMode": "revision"}, 15),
    ],
)
def test_compaction_stuck_window_is_three_compaction_intervals(raw, minutes):
    assert compaction_stuck_window_minutes(parse_settings(raw).settings) == minutes


def _metric_names(expression: str) -> set[str]:
    return set(re.findall(r"\b([a-z_:][a-z0-9_:]*)\{", expression))


def test_the_rules_read_only_the_metrics_checked_against_real_etcd_and_kube_state_metrics():
    settings = parse_settings({}).settings
    etcd = set().union(*(_metric_names(str(rule["expr"])) for rule in alert_rules(settings, NAMES)))
    assert etcd == set(RULE_METRICS)
    every = set().union(*(_metric_names(str(rule["expr"])) for rule in _rules()))
    assert every == set(RULE_METRICS) | set(KUBE_STATE_METRICS)


def test_without_backups_there_is_no_snapshot_alert():
    assert "KafscaleEtcdSnapshotStale" not in {rule["alert"] for rule in _rules(etcdSnapshotEnabled="false")}


@pytest.mark.etcd
def test_real_etcd_exports_every_metric_the_rules_read(etcd_binary):
    with LocalCluster(rendered_manifests("etcdReplicas=1"), etcd_binary) as cluster:
        with urllib.request.urlopen(f"{cluster.members[0].client_url}/metrics", timeout=10) as response:
            text = response.read().decode()
    exported = {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and line[0] != "#"}
    assert set(RULE_METRICS) <= exported
    assert re.search(
        r'^grpc_server_handled_total\{grpc_code="ResourceExhausted",grpc_method="Put",'
        r'grpc_service="etcdserverpb.KV"',
        text,
        re.MULTILINE,
    )


@pytest.mark.etcd
def test_real_etcd_refuses_writes_under_corrupt_with_the_code_the_alert_counts(etcd_binary):
    """CORRUPT raised on every member (as the leader's check raises it): a write is refused with
    `corrupt cluster`, reads still answer, and the refusal is counted as gRPC DataLoss."""
    from kafscale_lab.drills import raise_alarm_on_every_member
    from kafscale_lab.etcd_http import EtcdError

    with LocalCluster(rendered_manifests("etcdReplicas=1"), etcd_binary) as cluster:
        with cluster.client(0) as client:
            client.put("/kafscale/topics/t/partitions/0/next_offset", "41")
        raise_alarm_on_every_member(cluster, "CORRUPT")
        with cluster.client(0) as client:
            with pytest.raises(EtcdError, match="corrupt cluster"):
                client.put("/kafscale/topics/t/partitions/0/next_offset", "42")
            assert client.get("/kafscale/topics/t/partitions/0/next_offset") == "41"
        with urllib.request.urlopen(f"{cluster.members[0].client_url}/metrics", timeout=10) as response:
            text = response.read().decode()
    refused = re.search(
        r'^grpc_server_handled_total\{grpc_code="DataLoss",grpc_method="Put",'
        r'grpc_service="etcdserverpb.KV",grpc_type="unary"\} (\d+)',
        text,
        re.MULTILINE,
    )
    assert refused is not None and int(refused.group(1)) >= 1
