"""Go-style durations (`90s`, `5m`, `1h30m`), as etcd reads `--auto-compaction-retention`."""

from __future__ import annotations

import re
from decimal import Decimal

from kafscale.config.quantities import INT64_MAX

NANOS_PER_UNIT = {
    "ns": 1,
    "us": 10**3,
    "µs": 10**3,
    "μs": 10**3,
    "ms": 10**6,
    "s": 10**9,
    "m": 60 * 10**9,
    "h": 3600 * 10**9,
}
_GO_DURATION = re.compile(r"^(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:ns|us|µs|μs|ms|s|m|h))+$")
MAX_DURATION_CHARS = 64  # longer is never a real retention, and stays cheap to refuse
_GO_DURATION_PART = re.compile(r"([0-9]*\.?[0-9]*)(ns|us|µs|μs|ms|s|m|h)")


def go_duration_nanos(text: str) -> int | None:
    """Nanoseconds of an unsigned Go duration (`90s`, `1h30m`); None for anything else."""
    if len(text) > MAX_DURATION_CHARS or not _GO_DURATION.match(text):
        return None
    parts = _GO_DURATION_PART.findall(text)
    nanos = sum(int(Decimal(number) * NANOS_PER_UNIT[unit]) for number, unit in parts)
    return nanos if nanos <= INT64_MAX else None


def periodic_retention_nanos(text: str) -> int | None:
    """Nanoseconds of a periodic retention: bare whole hours, or an unsigned Go duration."""
    if len(text) > MAX_DURATION_CHARS:
        return None
    if re.fullmatch(r"[0-9]+", text):
        nanos = int(text) * NANOS_PER_UNIT["h"]
        return nanos if nanos <= INT64_MAX else None
    return go_duration_nanos(text)


def format_duration(nanos: int) -> str:
    """A Go duration etcd accepts, exact to the millisecond (`5s`, `1500ms`, `2m30s`)."""
    millis = max(1, round(nanos / 10**6))
    if millis % 1000:
        return f"{millis}ms"
    seconds = millis // 1000
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [f"{hours}h" if hours else "", f"{minutes}m" if minutes else "", f"{seconds}s" if seconds else ""]
    return "".join(parts) or "0s"


def human_seconds(seconds: float) -> str:
    """`42s`, `7m`, `2h05m` — for reports."""
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.1f}m"
    return f"{int(seconds // 3600)}h{int(seconds % 3600 // 60):02d}m"
