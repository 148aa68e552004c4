"""`simulate`: a stack's rendered etcd booted here, driven at a user's write rate, and judged.

With `--time-scale S` the stack's retention and quota are divided by S: the live set grows
with rate x retention, so dbSize/quota keeps its shape while D seconds here stand for D x S
seconds in production. Revision-mode compaction runs on etcd's own fixed 5-minute poll, which no
flag changes, so it is not scaled.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from kafscale.config.durations import format_duration, human_seconds, periodic_retention_nanos
from kafscale.config.rules import MIN_PERIODIC_RETENTION_NANOS
from kafscale.offline.render import render_stack
from kafscale_lab.load import LoadPlan, LoadResult, SecondSample, run_load
from kafscale_lab.local_cluster import LocalCluster

REACHED_FRACTION = 0.9  # below this share of the asked rate the run does not stand for it


class SimulationError(Exception):
    """The simulation cannot stand for the stack (nothing to boot, rate out of reach)."""


@dataclass(frozen=True)
class Scaling:
    time_scale: float
    mode: str
    retention: str
    scaled_retention: str
    quota_bytes: int
    scaled_quota_bytes: int

    def overrides(self) -> list[str]:
        return [
            f"etcdAutoCompactionRetention={self.scaled_retention}",
            f"etcdQuotaBackendBytes={self.scaled_quota_bytes}",
        ]


def plan_scaling(settings: dict[str, Any], time_scale: float) -> Scaling:
    """The scaled retention and quota for a stack's effective settings."""
    if time_scale < 1:
        raise SimulationError(f"--time-scale must be 1 or more, got {time_scale:g}")
    mode = str(settings["etcdAutoCompactionMode"])
    retention = str(settings["etcdAutoCompactionRetention"])
    quota = int(settings["etcdQuotaBackendBytes"])
    if mode == "periodic":
        nanos = periodic_retention_nanos(retention) or 0
        if nanos and nanos / time_scale < MIN_PERIODIC_RETENTION_NANOS:
            raise SimulationError(
                f"--time-scale {time_scale:g} takes retention {retention} below the 1s minimum: "
                f"use at most {nanos // MIN_PERIODIC_RETENTION_NANOS}"
            )
        scaled_retention = format_duration(int(nanos / time_scale)) if nanos else retention
    else:
        scaled_retention = str(max(1, round(int(retention) / time_scale)))
    return Scaling(time_scale, mode, retention, scaled_retention, quota, max(1, int(quota / time_scale)))


@dataclass(frozen=True)
class Verdict:
    lines: list[str]
    ok: bool


def judge(result: LoadResult, scaling: Scaling, etcd_version: str, rate: float) -> Verdict:
    scale = scaling.time_scale
    quota = scaling.scaled_quota_bytes
    peaks = {
        member: (
            max(result.series(member, "db_size"), default=0),
            max(result.series(member, "db_size_in_use"), default=0),
        )
        for member in result.member_names
    }
    worst = max(peaks, key=lambda member: peaks[member][0])
    peak_size, _ = peaks[worst]
    peak_in_use = max(in_use for _, in_use in peaks.values())
    first_nospace = result.first_nospace_second()
    compactions = max(result.compactions_seen(member) for member in result.member_names)
    lines = [
        f"etcd {etcd_version}, {len(result.member_names)} members, {result.plan.rate:g} writes/s asked, "
        f"{result.achieved_rate:.1f} writes/s acknowledged",
        f"scaling: time-scale {scale:g}: retention {scaling.retention} -> {scaling.scaled_retention}, "
        f"quota {scaling.quota_bytes} -> {quota} bytes; {result.plan.duration_s:g}s here stand for "
        f"{human_seconds(result.plan.duration_s * scale)} at {rate:g} writes/s in production",
        f"peak dbSize: {peak_size} bytes ({100 * peak_size / quota:.1f}% of quota) on {worst}; "
        f"at full scale {peak_size * scale / 2**20:.1f} MiB",
        f"peak dbSizeInUse: {peak_in_use} bytes ({100 * peak_in_use / quota:.1f}% of quota); "
        f"at full scale {peak_in_use * scale / 2**20:.1f} MiB",
        "time to NOSPACE: "
        + (
            "none"
            if first_nospace is None
            else f"{first_nospace}s here, {human_seconds(first_nospace * scale)} at full scale"
        ),
        f"compactions seen: {compactions} (falls of sampled dbSizeInUse)",
    ]
    if scaling.mode == "revision":
        lines.append("note: revision-mode compaction polls every 5 minutes in etcd; that poll is not scaled")
    ok = first_nospace is None
    lines.append(
        "verdict: "
        + (
            f"OK: no NOSPACE; peak dbSize {100 * peak_size / quota:.0f}% of quota"
            if ok
            else "NOSPACE: this tuning does not hold this write rate"
        )
    )
    return Verdict(lines, ok)


def _progress(stream: TextIO, every_s: int) -> Callable[[SecondSample], None]:
    def report(sample: SecondSample) -> None:
        if (sample.second + 1) % every_s:
            return
        sizes = ", ".join(f"{m.db_size}/{m.db_size_in_use}" for m in sample.members.values())
        print(
            f"  t={sample.second + 1}s acked={sample.acked}/s nospace={sample.nospace_errors} "
            f"dbSize/inUse={sizes}",
            file=stream,
            flush=True,
        )

    return report


def simulate(
    project_dir: Path,
    stack: str,
    overrides: Sequence[str],
    rate: float,
    duration_s: float,
    time_scale: float,
    etcd_binary: str,
    progress: TextIO = sys.stderr,
) -> tuple[Verdict, LoadResult, Scaling]:
    if rate <= 0 or duration_s <= 0:
        raise SimulationError("--rate and --duration must be positive")
    first = render_stack(project_dir, stack, overrides)
    if not first.exports.get("managed"):
        raise SimulationError(f"stack {stack} uses external etcd endpoints: there is no etcd to simulate")
    scaling = plan_scaling(first.exports["settings"], time_scale)
    rendered = render_stack(project_dir, stack, [*overrides, *scaling.overrides()])
    with LocalCluster(rendered.manifests, etcd_binary) as cluster:
        version = next(iter(cluster.statuses().values())).version
        print(
            f"booted {len(cluster.members)} etcd {version} members; writing {rate:g}/s for {duration_s:g}s",
            file=progress,
            flush=True,
        )
        members = cluster.client_urls_by_pod
        plan = LoadPlan(rate=rate, duration_s=duration_s, concurrency=max(4, min(32, int(rate // 100) or 1)))
        result = run_load(members, plan, on_second=_progress(progress, 10 if duration_s >= 30 else 1))
    verdict = judge(result, scaling, version, rate)
    if result.achieved_rate < REACHED_FRACTION * rate:
        raise SimulationError(
            "\n".join(verdict.lines)
            + f"\nrate not reached: {result.achieved_rate:.0f} of {rate:g} writes/s acknowledged on "
            "this machine; lower --rate and raise --time-scale to keep the same shape"
        )
    return verdict, result, scaling
