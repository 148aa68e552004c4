"""Probes on the etcd container that a NOSPACE alarm does not trip.

Under NOSPACE etcd still serves reads, so neither a restart nor leaving the client Service would
help: it would turn a full quota into a cluster-wide outage. Every path excludes NOSPACE. Measured
on a 3-member cluster with every member's NOSPACE raised (tests/test_probes.py): on etcd 3.4.23
these paths answer 200 where plain `/health` answers 503; on 3.5.1 they answer 503 too, because
etcd before 3.4.19 and 3.5.2 excludes only the first NOSPACE alarm, so the settings turn probes off
for such images. `/livez` and `/readyz` are absent from both (404); the default 3.6 image serves
them and still serves `/health` with both query parameters.
"""

from __future__ import annotations

from kafscale.config.rules import MEMBER_STARTUP_BUDGET_S

# Liveness and startup: a serializable read, answered by this member without a quorum read (it
# still needs a leader on 3.4 and 3.5), NOSPACE ignored: kubeadm's own choice.
LIVENESS_PATH = "/health?exclude=NOSPACE&serializable=true"
# Readiness: a linearizable read through the leader, so a member cut off from quorum stops
# receiving client traffic; NOSPACE ignored, since reads still work under it.
READINESS_PATH = "/health?exclude=NOSPACE"

PROBE_PERIOD_S = 10
PROBE_TIMEOUT_S = 15
LIVENESS_FAILURES = 8  # 80 s without a healthy answer before a restart
STARTUP_FAILURES = MEMBER_STARTUP_BUDGET_S // PROBE_PERIOD_S  # 30: 5 minutes to replay the WAL and join
READINESS_PERIOD_S = 5
READINESS_TIMEOUT_S = 5
READINESS_FAILURES = 3


def _http_get(path: str) -> dict[str, object]:
    return {"path": path, "port": "client", "scheme": "HTTP"}


def etcd_probes() -> dict[str, dict[str, object]]:
    """The container fields `startupProbe`, `livenessProbe` and `readinessProbe`."""
    return {
        "startupProbe": {
            "httpGet": _http_get(LIVENESS_PATH),
            "periodSeconds": PROBE_PERIOD_S,
            "timeoutSeconds": PROBE_TIMEOUT_S,
            "failureThreshold": STARTUP_FAILURES,
        },
        "livenessProbe": {
            "httpGet": _http_get(LIVENESS_PATH),
            "periodSeconds": PROBE_PERIOD_S,
            "timeoutSeconds": PROBE_TIMEOUT_S,
            "failureThreshold": LIVENESS_FAILURES,
        },
        "readinessProbe": {
            "httpGet": _http_get(READINESS_PATH),
            "periodSeconds": READINESS_PERIOD_S,
            "timeoutSeconds": READINESS_TIMEOUT_S,
            "failureThreshold": READINESS_FAILURES,
        },
    }
