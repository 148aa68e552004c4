import pytest

from kafscale.cron import is_valid_schedule


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
        "@every 5m",
        "@often",
        "0 0 * FOO *",
    ],
)
def test_schedules_kubernetes_refuses(schedule):
    assert not is_valid_schedule(schedule)
