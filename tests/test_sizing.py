import pytest

from kafscale.config.settings import parse_settings
from kafscale.config.sizing import (
    history_revisions,
    quota_warning,
    recommend,
    tmpfs_warning,
    tmpfs_worst_case,
)
from tests.support import run_cli


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
        "memory mode: request 2564Mi, limit 3076Mi (quota + 512Mi headroom)",
        # 1,344,000,000 B of history x 1.05 = 1,411,200,000 B copied beside a 2564Mi backend,
        # + 128,000,000 B of WAL + 1 MiB + 64 MiB = 4,295,929,856 B, 4,097 MiB; the limit is 3076Mi.
        "memory mode, worst case of one member (tmpfs data dir + heap) during a defrag:",
        "  backend at the quota         2,564 MiB",
        "  defrag copy of live data     1,346 MiB (the history at 20000 writes/s, x1.05)",
        "  WAL                            122 MiB (open + next segment)",
        "  snapshot files                   1 MiB",
        "  etcd heap                       64 MiB",
        "  total                        4,097 MiB: the limit 3076Mi does NOT cover it: "
        "set kafscale:etcdMemoryHeadroomBytes to at least 1533Mi",
    ]


@pytest.mark.parametrize("args", [["--write-rate", "0"], ["--write-rate", "10", "--retention", "banana"]])
def test_sizing_command_refuses_bad_input_in_one_line(args):
    result = _sizing(*args)
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("error: ")


GiB = 1024**3
MiB = 1024**2
RESERVE = 128_000_000 + 1 * MiB + 64 * MiB  # two WAL segments, snapshot files, etcd heap


@pytest.mark.parametrize(
    ("quota", "limit", "rate", "copy", "covered", "headroom_mib"),
    [
        # 5,000/s x 600 s x 112 B = 336,000,000 B of history, x 1.05: not quite within +512Mi.
        (4 * GiB, 4 * GiB + 512 * MiB, 5000, 352_800_000, False, 524),
        (4 * GiB, 4 * GiB + 524 * MiB, 5000, 352_800_000, True, 524),
        # The dev stack: 500/s gives 35,280,000 B to copy beside 2Gi, well within 2560Mi.
        (2 * GiB, 2 * GiB + 512 * MiB, 500, 35_280_000, True, 221),
        # No rate: only the quota bounds the live data; the copy is quota + quota // 20, as the script has it.
        (2 * GiB, 2 * GiB + 512 * MiB, None, 2_254_857_830, False, 2338),
        # History above the quota: capped at the quota.
        (2 * GiB, 2 * GiB + 512 * MiB, 100_000, 2_254_857_830, False, 2338),
    ],
)
def test_tmpfs_worst_case(quota, limit, rate, copy, covered, headroom_mib):
    worst = tmpfs_worst_case(quota, limit, rate, "periodic", "5m")
    assert worst.copy_bytes == copy
    assert worst.total_bytes == quota + copy + RESERVE
    assert worst.covered is covered
    assert worst.headroom_needed_bytes == headroom_mib * MiB


def test_preview_warns_in_memory_mode_when_the_limit_cannot_hold_a_defrag():
    default_memory = parse_settings({"etcdStorageMemory": "true"}).settings
    assert tmpfs_warning(default_memory) == (
        "kafscale:etcdMemoryHeadroomBytes: memory limit 4608Mi (quota 4Gi + headroom 512Mi) cannot hold "
        "a defrag's worst case of 8,584 MiB (backend at quota + a copy of 4,301 MiB of live data (the "
        "quota: no write rate given) + WAL, snapshots and heap); the maintenance job will skip such a "
        "defrag. Set the headroom to at least 4488Mi, or set kafscale:etcdExpectedWriteRate"
    )
    at_rate = parse_settings({"etcdStorageMemory": "true", "etcdExpectedWriteRate": "5000"}).settings
    assert tmpfs_warning(at_rate) == (
        "kafscale:etcdMemoryHeadroomBytes: memory limit 4608Mi (quota 4Gi + headroom 512Mi) cannot hold "
        "a defrag's worst case of 4,620 MiB (backend at quota + a copy of 336 MiB of live data (the "
        "history at 5000 writes/s) + WAL, snapshots and heap); the maintenance job will skip such a "
        "defrag. Set the headroom to at least 524Mi"
    )


@pytest.mark.parametrize(
    "raw",
    [
        {"etcdStorageMemory": "true", "etcdExpectedWriteRate": "5000", "etcdMemoryHeadroomBytes": "524Mi"},
        {"etcdStorageMemory": "true", "etcdExpectedWriteRate": "500", "etcdQuotaBackendBytes": "2Gi"},
        {"etcdStorageMemory": "false"},  # disk mode: no tmpfs
        {"etcdStorageMemory": "true", "etcdEndpoints": "http://etcd:2379"},  # nothing provisioned
    ],
)
def test_no_tmpfs_warning_when_the_limit_holds_or_there_is_no_tmpfs(raw):
    assert tmpfs_warning(parse_settings(raw).settings) is None


def test_sizing_command_checks_a_configured_quota_and_headroom():
    result = _sizing("--write-rate", "5000", "--quota", "4Gi", "--memory-headroom", "524Mi")
    assert result.returncode == 0, result.stderr
    assert (
        result.stdout.splitlines()[-1]
        == "  total                        4,620 MiB: the limit 4620Mi covers it"
    )


def test_sizing_honours_a_quota_above_8gi_with_the_warning_render_gives():
    """Render uses a quota above etcd's suggested 8Gi with a warning; sizing judges the same."""
    result = _sizing("--write-rate", "100", "--quota", "9Gi")
    assert result.returncode == 0, result.stderr
    (warning,) = result.stderr.splitlines()
    assert warning.startswith('warning: kafscale:etcdQuotaBackendBytes: "9Gi" is above etcd\'s suggested')
    assert "  backend at the quota         9,216 MiB" in result.stdout


def test_sizing_says_what_fits_when_the_history_needs_more_than_one_member_holds():
    """Render refuses a quota above 1Ti: recommending one would be advice nobody can follow."""
    result = _sizing("--write-rate", "1000000", "--retention", "24h")
    assert result.returncode == 2 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    # 1Ti / (2 x 112 B) = 4,908,534,052 revisions; 24h + 1h of 1e6 writes/s = 90,000,000,000.
    assert line == (
        "error: 1e+06 writes/s with periodic retention 24h keeps 90,000,000,000 revisions, which need a "
        "quota of 19226075Mi, above the 1Ti one member holds: at most 4,908,534,052 revisions fit "
        "(x2 safety), that is about 54,539 writes/s with this retention, or a retention that keeps "
        "5.45% of this history"
    )
