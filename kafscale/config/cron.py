"""Cron schedules as Kubernetes CronJobs accept them: five fields, an `@hourly`-style macro, or
`@every <duration>`.

Kubernetes validates a CronJob's schedule with robfig/cron v3's `ParseStandard`
(pkg/apis/batch/validation/validation.go `validateScheduleFormat`), whose `parseDescriptor`
(robfig/cron parser.go) takes the macros and `@every ` followed by a Go duration; the controller
schedules with the same parser. robfig's `Every` turns anything under a second into one second,
so a schedule that fires every second or two could only be a typo: `@every` here needs at least
MIN_EVERY_S.
"""

from __future__ import annotations

import re

from kafscale.config.durations import go_duration_nanos

MIN_EVERY_S = 60  # the shortest `@every` taken: a CronJob controller's schedule is per minute
EVERY = "@every "

MACROS = frozenset({"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"})
MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
# (low, high, names numbered from `low`, `?` allowed)
_FIELDS = (
    (0, 59, (), False),  # minute
    (0, 23, (), False),  # hour
    (1, 31, (), True),  # day of month
    (1, 12, MONTH_NAMES, False),  # month
    (0, 6, DAY_NAMES, True),  # day of week
)
_ITEM = re.compile(r"^(?P<range>\*|\?|[0-9A-Za-z]+(?:-[0-9A-Za-z]+)?)(?:/(?P<step>[0-9]+))?$")


def _value(text: str, low: int, high: int, names: tuple[str, ...]) -> int | None:
    if re.fullmatch(r"[0-9]{1,4}", text):  # ASCII digits only, as Go's parser reads them
        number = int(text)
    elif text.upper() in names:
        number = names.index(text.upper()) + low
    else:
        return None
    return number if low <= number <= high else None


def _valid_field(text: str, low: int, high: int, names: tuple[str, ...], question: bool) -> bool:
    for item in text.split(","):
        match = _ITEM.match(item)
        if match is None:
            return False
        # A step is 1 up to the field's span: Kubernetes refuses 0 and steps beyond 64 bits, and a
        # step past the span can only mean "once", which a plain value says.
        step = match["step"]
        if step is not None and not (len(step) <= 4 and 1 <= int(step) <= high - low + 1):
            return False
        bounds = match["range"]
        if bounds == "?" and not question:
            return False
        if bounds in ("*", "?"):
            continue
        ends = [_value(end, low, high, names) for end in bounds.split("-")]
        if None in ends or (len(ends) == 2 and ends[0] > ends[1]):  # type: ignore[operator]
            return False
    return True


def is_valid_schedule(schedule: str) -> bool:
    if schedule in MACROS:
        return True
    if schedule.startswith(EVERY):
        nanos = go_duration_nanos(schedule[len(EVERY) :])
        return nanos is not None and nanos >= MIN_EVERY_S * 10**9
    fields = schedule.split()
    if len(fields) != len(_FIELDS):
        return False
    return all(_valid_field(text, *spec) for text, spec in zip(fields, _FIELDS, strict=True))
