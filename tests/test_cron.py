import pytest

from kafscale.config.cron import is_valid_schedule


@pytest.mark.parametrize(
    "schedule",
    [
        "0 */6 * * *",
        "*/15 * * * *",
        "30 2 * * 1-5",
        "0 0 1 JAN *",
        "0 12 ? * MON,WED,FRI",
        "5,35 */2 1-15/3 * sun",
        "@hourly",
        "@daily",
        "@midnight",
        "@every 5m",  # robfig/cron parser.go `parseDescriptor`: `@every ` and a Go duration
        "@every 1h30m",
        "@every 60s",
    ],
)
def test_schedules_kubernetes_accepts(schedule):
    assert is_valid_schedule(schedule)


@pytest.mark.parametrize(
    "schedule",
    [
        "",
        "every 6 hours",
        "0 */6 * *",
        "0 */6 * * * *",
        "60 * * * *",
        "0 24 * * *",
        "0 0 0 * *",
        "0 0 * 13 *",
        "0 0 * * 8",
        "*/0 * * * *",
        "5-1 * * * *",
        "? * * * *",
        "@often",
        "@every",  # no duration
        "@every 5",  # a Go duration needs its unit
        "@every  5m",  # robfig reads " 5m", which Go's ParseDuration refuses
        "@every 59s",  # below a minute: only a typo fires a CronJob every few seconds
        "@every 0s",
        "0 0 * FOO *",
    ],
)
def test_schedules_kubernetes_refuses(schedule):
    assert not is_valid_schedule(schedule)
