"""PNG of each member's dbSize and dbSizeInUse against time: once against the quota, once zoomed
in so the compaction sawtooth shows."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.axes import Axes

from kafscale_lab.load import LoadResult

MIB = 2**20


def _draw_members(axes: Axes, result: LoadResult) -> None:
    for member in result.member_names:
        seconds = [s.second for s in result.samples if member in s.members]
        (line,) = axes.plot(
            seconds, [v / MIB for v in result.series(member, "db_size")], label=f"{member} dbSize"
        )
        axes.plot(
            seconds,
            [v / MIB for v in result.series(member, "db_size_in_use")],
            linestyle="--",
            color=line.get_color(),
            label=f"{member} dbSizeInUse",
        )
    nospace = result.first_nospace_second()
    if nospace is not None:
        axes.axvline(nospace, color="black", linestyle=":", label="first NOSPACE")
    axes.grid(alpha=0.3)


def plot_db_size(
    result: LoadResult, quota_bytes: int, path: Path, title: str, time_scale: float = 1.0
) -> None:
    figure, (against_quota, zoomed) = plt.subplots(2, 1, figsize=(10, 8), sharex=True)
    _draw_members(against_quota, result)
    against_quota.axhline(quota_bytes / MIB, color="red", linewidth=1.5, label="quota")
    against_quota.set_ylim(0, quota_bytes / MIB * 1.1)
    against_quota.set_ylabel("MiB")
    against_quota.set_title(f"{title}: against the quota")
    against_quota.legend(fontsize="x-small", loc="center right")

    _draw_members(zoomed, result)
    zoomed.set_ylabel("MiB")
    zoomed.set_title("zoomed in: dbSizeInUse falls at each compaction")
    scale_note = f" (each stands for {time_scale:g} s in production)" if time_scale != 1 else ""
    zoomed.set_xlabel(f"seconds of the run{scale_note}")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
