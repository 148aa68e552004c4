import pytest

from kafscale.settings import parse_settings
from kafscale.sizing import history_revisions, quota_warning, recommend
from tests.conftest import run_cli


@pytest.mark.parametrize(
    ("rate", "mode", "retention", "revisions"),
    [
        (5000, "periodic", "5m", 3_000_000),  # two 5m windows
        (1000, "periodic", "90s", 180_000),
        (100, "periodic", "2", 1_080_000),  # 2h retention, hourly compaction: 3h of writes
        (1000, "revision", "1000000", 1_300_000),  # plus etcd's 5-minute poll
    ],
)
def test_history_held_before_a_compaction(rate, mode, retention, revisions):
    assert history_revisions(rate, mode, retention) == revisions


@pytest.mark.parametrize(
    ("rate", "quota", "request_", "limit"),
    [
        (5000, 2147483648, "2Gi", "2560Mi"),  # 320 MiB of history: etcd's 2 GiB floor
        (20000, 2688548864, "2564Mi", "3076Mi"),  # 1282 MiB x 2
        (50000, 6720323584, "6409Mi", "6921Mi"),
    ],
)
def test_recommendation_for_5m_periodic(rate, quota, request_, limit):
    recommendation = recommend(rate, "periodic", "5m")
    assert recommendation.quota_bytes == quota
    assert recommendation.memory_request == request_
    assert recommendation.memory_limit == limit


def test_zero_retention_has_no_size():
    with pytest.raises(ValueError, match="does not compact"):
        recommend(100, "periodic", "0")


def test_preview_warns_only_when_the_quota_is_below_the_recommendation():
    assert quota_warning(parse_settings({"etcdExpectedWriteRate": "5000"}).settings) is None
    low = parse_settings({"etcdExpectedWriteRate": "50000", "etcdQuotaBackendBytes": "2Gi"}).settings
    assert quota_warning(low) == (
        "kafscale:etcdQuotaBackendBytes: 2147483648 is below the 6720323584 (6409Mi) recommended for "
        "kafscale:etcdExpectedWriteRate 50000 writes/s with periodic retention 5m; "
        "without compaction it would fill in 6.4m"
    )
    external = parse_settings({"etcdExpectedWriteRate": "50000", "etcdEndpoints": "http://e:2379"}).settings
    assert quota_warning(external) is None


@pytest.mark.parametrize("raw", ["fast", "0", "-5", "nan", "inf"])
def test_a_bad_expected_rate_is_ignored_with_a_warning(raw):
    parsed = parse_settings({"etcdExpectedWriteRate": raw})
    assert parsed.settings.expected_write_rate is None
    assert [w.key for w in parsed.warnings] == ["etcdExpectedWriteRate"]
    assert parsed.warnings[0].message.endswith("using none")


def _sizing(*args):
    return run_cli("sizing", *args)


def test_sizing_command_prints_the_recommendation():
    result = _sizing("--write-rate", "20000", "--retention", "5m")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "write rate: 20000 writes/s, periodic compaction, retention 5m",
        "history kept just before a compaction: 12,000,000 revisions x 112 B = 1,282 MiB",
        "recommended quota (x2 safety, at least 2Gi): 2688548864 bytes (2564Mi)",
        "  pulumi config set kafscale:etcdQuotaBackendBytes 2564Mi",
        "memory mode: request 2564Mi, limit 3076Mi",
    ]


@pytest.mark.parametrize("args", [["--write-rate", "0"], ["--write-rate", "10", "--retention", "banana"]])
def test_sizing_command_refuses_bad_input_in_one_line(args):
    result = _sizing(*args)
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("error: ")
