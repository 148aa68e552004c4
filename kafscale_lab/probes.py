"""A container's probes as the kubelet runs them: an HTTP GET on the pod's address, or a command
in the container's own view (its mounts, env and user), one try at a time.

Liveness and startup (Kubernetes docs, "Configure Liveness, Readiness and Startup Probes"): a
container's startup probe runs every periodSeconds until it succeeds, and its liveness probe only
after that; `failureThreshold` failures in a row of either restart the container (after the
kubelet's back-off, as any exit).

What a Pod's readiness decides here is what it decides on a cluster: a StatefulSet's rolling
update moves to the next pod only once the updated one is Running and Ready, and an eviction (a
drain) is allowed only while the PodDisruptionBudget's healthy count (ready pods) allows one more
disruption (Kubernetes docs, "StatefulSets: Rolling Updates" and "Specifying a Disruption Budget
for your Application"; pkg/controller/disruption/disruption.go counts a pod healthy when its
Ready condition is true)."""

from __future__ import annotations

import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from kafscale_lab.pod_runner import ContainerRun

# The API's defaults (core/v1 Probe): timeoutSeconds 1, periodSeconds 10, failureThreshold 3.
KUBELET_DEFAULT_TIMEOUT_S = 1.0
KUBELET_DEFAULT_PERIOD_S = 10.0
KUBELET_DEFAULT_FAILURE_THRESHOLD = 3


@dataclass(frozen=True)
class Probe:
    """One probe of one container: `url` for an httpGet, `run` for an exec."""

    container: str
    url: str | None = None
    run: ContainerRun | None = None
    timeout_s: float = KUBELET_DEFAULT_TIMEOUT_S
    period_s: float = KUBELET_DEFAULT_PERIOD_S
    failure_threshold: int = KUBELET_DEFAULT_FAILURE_THRESHOLD
    initial_delay_s: float = 0.0

    def passes(self) -> bool:
        """One try, as the kubelet makes it: an HTTP status from 200 to 399, or exit code 0."""
        if self.url is not None:
            try:
                with urllib.request.urlopen(self.url, timeout=self.timeout_s) as answer:
                    return 200 <= answer.status < 400
            except (OSError, ValueError):  # refused, timed out, or an HTTP error status
                return False
        assert self.run is not None
        try:
            done = subprocess.run(
                self.run.argv,
                env=self.run.env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=self.timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return False
        return done.returncode == 0


def http_probe_url(container: dict[str, Any], address: str, http_get: dict[str, Any]) -> str:
    """The URL of an httpGet probe: a named port looked up among the container's ports."""
    port = http_get["port"]
    if isinstance(port, str) and not port.isdigit():
        (port,) = [p["containerPort"] for p in container.get("ports", []) if p.get("name") == port]
    scheme = str(http_get.get("scheme", "HTTP")).lower()
    return f"{scheme}://{address}:{port}{http_get.get('path', '/')}"


def exec_probe_container(container: dict[str, Any], command: list[str]) -> dict[str, Any]:
    """The container as an exec probe runs in it: the probe's command, the container's env,
    mounts and user."""
    return {**container, "command": command, "args": []}


def probe_timing(spec: dict[str, Any]) -> dict[str, float | int]:
    """A probe spec's timing fields, the API's defaults where unset."""
    return {
        "timeout_s": float(spec.get("timeoutSeconds", KUBELET_DEFAULT_TIMEOUT_S)),
        "period_s": float(spec.get("periodSeconds", KUBELET_DEFAULT_PERIOD_S)),
        "failure_threshold": int(spec.get("failureThreshold", KUBELET_DEFAULT_FAILURE_THRESHOLD)),
        "initial_delay_s": float(spec.get("initialDelaySeconds", 0)),
    }
