"""Monitoring on etcd's own metrics: a metrics Service, a ServiceMonitor and a PrometheusRule.

etcd's alerts need nothing but what etcd exports on its client port (`/metrics`); every metric
they use is checked against real etcd 3.4 and 3.5 in the tests. The snapshot alert reads the
snapshot CronJob's state from kube-state-metrics (what Prometheus stacks scrape already). Every
alert is unit-tested with `promtool test rules`. Thresholds are the rendered quota, maintenance
threshold and `etcdSnapshotStaleAfterSec`.
"""

from __future__ import annotations

import math

from kafscale.config.compaction import compaction_interval_s
from kafscale.config.naming import CLIENT_PORT, EtcdNames
from kafscale.config.settings import EtcdSettings
from kafscale.objects.metadata import object_metadata

MONITORING_API = "monitoring.coreos.com/v1"
METRICS_COMPONENT = {"app.kubernetes.io/component": "metrics"}
SCRAPE_INTERVAL = "30s"
MIN_STUCK_WINDOW_MINUTES = 15
LEADER_CHANGES_WINDOW = "15m"
LEADER_CHANGES_MAX = 3

# etcd metrics the rules read (all exported by etcd 3.4 to 3.6 on /metrics).
DB_SIZE = "etcd_mvcc_db_total_size_in_bytes"
DB_SIZE_IN_USE = "etcd_mvcc_db_total_size_in_use_in_bytes"
HAS_LEADER = "etcd_server_has_leader"
LEADER_CHANGES = "etcd_server_leader_changes_seen_total"
GRPC_HANDLED = "grpc_server_handled_total"
RULE_METRICS = (DB_SIZE, DB_SIZE_IN_USE, HAS_LEADER, LEADER_CHANGES, GRPC_HANDLED)
# kube-state-metrics (docs/cronjob-metrics.md, v2.x, labels namespace and cronjob): the snapshot
# CronJob's last success, absent until a run succeeds, and its creation time.
CRONJOB_LAST_SUCCESS = "kube_cronjob_status_last_successful_time"
CRONJOB_CREATED = "kube_cronjob_created"
KUBE_STATE_METRICS = (CRONJOB_LAST_SUCCESS, CRONJOB_CREATED)


def metrics_service(names: EtcdNames) -> dict[str, object]:
    """`<c>-etcd-metrics`: the only Service the ServiceMonitor selects, so no member is scraped
    twice; it is also the `job` label of every series."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": object_metadata(names, names.metrics_service, METRICS_COMPONENT),
        "spec": {
            "clusterIP": "None",
            "selector": dict(names.labels),
            "ports": [{"name": "metrics", "port": CLIENT_PORT, "targetPort": "client"}],
        },
    }


def service_monitor(settings: EtcdSettings, names: EtcdNames) -> dict[str, object]:
    return {
        "apiVersion": MONITORING_API,
        "kind": "ServiceMonitor",
        "metadata": object_metadata(names, names.service_monitor, settings.monitoring_labels),
        "spec": {
            "selector": {"matchLabels": {**names.labels, **METRICS_COMPONENT}},
            "namespaceSelector": {"matchNames": [names.namespace]},
            "endpoints": [
                {"port": "metrics", "path": "/metrics", "scheme": "http", "interval": SCRAPE_INTERVAL}
            ],
        },
    }


def compaction_stuck_window_minutes(settings: EtcdSettings) -> int:
    """Three compaction intervals, at least 15 minutes. A retention of 0 disables compaction: the
    alert then fires on any growth, which is the point."""
    interval_s = compaction_interval_s(settings.auto_compaction_mode, settings.auto_compaction_retention)
    minutes = 3 * (interval_s or 0) / 60
    return max(MIN_STUCK_WINDOW_MINUTES, math.ceil(minutes))


def alert_rules(settings: EtcdSettings, names: EtcdNames) -> list[dict[str, object]]:
    """The alerting rules, scoped to this cluster's series (job = the metrics Service)."""
    series = f'job="{names.metrics_service}",namespace="{names.namespace}"'
    quota = settings.quota_backend_bytes
    threshold = quota * settings.maintenance_size_threshold_pct // 100
    window = f"{compaction_stuck_window_minutes(settings)}m"
    per_member = "max by (namespace, pod)"
    return [
        {
            "alert": "KafscaleEtcdBackendAboveThreshold",
            "expr": f"{per_member} ({DB_SIZE}{{{series}}}) >= {threshold}",
            "for": "10m",
            "labels": {"severity": "warning"},
            "annotations": {
                "summary": "etcd backend above the maintenance threshold",
                "description": (
                    f"Member {{{{ $labels.pod }}}} holds {{{{ $value | humanize1024 }}}}B, at or above "
                    f"{settings.maintenance_size_threshold_pct}% of the {quota}-byte quota; maintenance "
                    "should defragment it (see the etcd-maintenance CronJob)."
                ),
            },
        },
        {
            "alert": "KafscaleEtcdNoSpace",
            "expr": (
                f"{per_member} ({DB_SIZE}{{{series}}}) >= {quota} or {per_member} (increase("
                f'{GRPC_HANDLED}{{{series},grpc_service="etcdserverpb.KV",grpc_code="ResourceExhausted"}}'
                "[5m])) > 0"
            ),
            "labels": {"severity": "critical"},
            "annotations": {
                "summary": "etcd quota exhausted: writes fail with database space exceeded",
                "description": (
                    f"Member {{{{ $labels.pod }}}} is at its {quota}-byte quota or refused writes "
                    "with NOSPACE in the last 5 minutes: KafScale cannot commit offsets. Compact, "
                    "defragment and disarm NOSPACE (the etcd-maintenance CronJob does all three)."
                ),
            },
        },
        {
            "alert": "KafscaleEtcdCorrupt",
            "expr": (
                f"{per_member} (increase("
                f'{GRPC_HANDLED}{{{series},grpc_service="etcdserverpb.KV",grpc_code="DataLoss"}}'
                "[5m])) > 0"
            ),
            "labels": {"severity": "critical"},
            "annotations": {
                "summary": "etcd CORRUPT alarm: members hold different data",
                "description": (
                    "Member {{ $labels.pod }} refused requests with `corrupt cluster` (gRPC DataLoss) "
                    "in the last 5 minutes: a corruption check found members that differ, and etcd "
                    "refuses every write until the diverged member is replaced (docs/maintenance.md)."
                ),
            },
        },
        {
            "alert": "KafscaleEtcdNoLeader",
            "expr": f"{per_member} ({HAS_LEADER}{{{series}}}) == 0",
            "for": "1m",
            "labels": {"severity": "critical"},
            "annotations": {
                "summary": "etcd member has no leader",
                "description": "Member {{ $labels.pod }} has had no leader for a minute: no writes.",
            },
        },
        {
            "alert": "KafscaleEtcdFrequentLeaderChanges",
            "expr": (
                f"max by (namespace, job) (increase({LEADER_CHANGES}{{{series}}}[{LEADER_CHANGES_WINDOW}]))"
                f" > {LEADER_CHANGES_MAX}"
            ),
            "labels": {"severity": "warning"},
            "annotations": {
                "summary": "etcd leader changes often",
                "description": (
                    f"More than {LEADER_CHANGES_MAX} leader changes in {LEADER_CHANGES_WINDOW}: "
                    "check member CPU, disk latency and the network between members."
                ),
            },
        },
        {
            "alert": "KafscaleEtcdCompactionStuck",
            "expr": (
                f"{per_member} (resets({DB_SIZE_IN_USE}{{{series}}}[{window}])) == 0"
                f" and {per_member} (delta({DB_SIZE_IN_USE}{{{series}}}[{window}])) > 0"
                f" and {per_member} ({DB_SIZE_IN_USE}{{{series}}} offset {window}) >= 0"
            ),
            "labels": {"severity": "warning"},
            "annotations": {
                "summary": "etcd in-use size has not fallen: compaction looks stuck",
                "description": (
                    f"Member {{{{ $labels.pod }}}}'s in-use backend size only grew for {window}, "
                    "three compaction intervals: check --auto-compaction-* and etcd's log."
                ),
            },
        },
    ]


def all_rules(settings: EtcdSettings, names: EtcdNames) -> list[dict[str, object]]:
    """etcd's alerts and, with backups on, the snapshot's (read from kube-state-metrics)."""
    snapshot = [snapshot_stale_rule(settings, names)] if settings.snapshot_enabled else []
    return [*alert_rules(settings, names), *snapshot]


def snapshot_stale_rule(settings: EtcdSettings, names: EtcdNames) -> dict[str, object]:
    """The snapshot CronJob's last success is older than `etcdSnapshotStaleAfterSec`, or it has
    never succeeded in that long since it was created (a first run that keeps failing)."""
    cronjob = f'namespace="{names.namespace}",cronjob="{names.snapshot_cronjob}"'
    stale = settings.snapshot_stale_after_sec
    by = "max by (namespace, cronjob)"
    return {
        "alert": "KafscaleEtcdSnapshotStale",
        "expr": (
            f"time() - {by} ({CRONJOB_LAST_SUCCESS}{{{cronjob}}}) > {stale}"
            f" or (time() - {by} ({CRONJOB_CREATED}{{{cronjob}}}) > {stale}"
            f" unless on (namespace, cronjob) {CRONJOB_LAST_SUCCESS}{{{cronjob}}})"
        ),
        "labels": {"severity": "warning"},
        "annotations": {
            "summary": "etcd snapshot to S3 is stale",
            "description": (
                f"CronJob {{{{ $labels.cronjob }}}} has not succeeded for more than {stale}s: a "
                "restore would lose the offsets written since its last success (or there is no "
                "snapshot at all). Check its last Job's logs (`FAILED:` lines)."
            ),
        },
    }


def prometheus_rule(settings: EtcdSettings, names: EtcdNames) -> dict[str, object]:
    return {
        "apiVersion": MONITORING_API,
        "kind": "PrometheusRule",
        "metadata": object_metadata(names, names.prometheus_rule, settings.monitoring_labels),
        "spec": {"groups": [{"name": f"{names.statefulset}.rules", "rules": all_rules(settings, names)}]},
    }


def monitoring_objects(settings: EtcdSettings, names: EtcdNames) -> list[dict[str, object]]:
    if not settings.monitoring:
        return []
    return [metrics_service(names), service_monitor(settings, names), prometheus_rule(settings, names)]
