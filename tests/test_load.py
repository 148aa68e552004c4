"""The load driver's bookkeeping, without etcd."""

import csv

import pytest

from kafscale_lab.load import LoadPlan, LoadResult, MemberSample, SecondSample, count_falls


@pytest.mark.parametrize(
    ("series", "falls"),
    [([], 0), ([5], 0), ([1, 2, 3], 0), ([3, 2, 1], 2), ([1, 5, 2, 6, 3, 7], 2), ([4, 4, 4], 0)],
)
def test_count_falls(series, falls):
    assert count_falls(series) == falls


def test_partition_keys_follow_kafscale_layout():
    keys = LoadPlan(rate=1, duration_s=1, topics=2, partitions=2, consumer_groups=1).partition_keys()
    assert keys == [
        "/kafscale/topics/topic-0/partitions/0/next_offset",
        "/kafscale/topics/topic-0/partitions/1/next_offset",
        "/kafscale/topics/topic-1/partitions/0/next_offset",
        "/kafscale/topics/topic-1/partitions/1/next_offset",
        "/kafscale/consumers/group-0/offsets/topic-0/0",
        "/kafscale/consumers/group-0/offsets/topic-0/1",
        "/kafscale/consumers/group-0/offsets/topic-1/0",
        "/kafscale/consumers/group-0/offsets/topic-1/1",
    ]


def _result():
    samples = [
        SecondSample(
            0, acked=10, latencies_ms=[1.0, 2.0, 3.0, 4.0], members={"m0": MemberSample(100, 90, ())}
        ),
        SecondSample(1, acked=5, nospace_errors=3, members={"m0": MemberSample(200, 80, ("NOSPACE",))}),
        SecondSample(2, acked=0, nospace_errors=9),
    ]
    return LoadResult(LoadPlan(rate=10, duration_s=3), ["m0"], samples, {}, {})


def test_result_summaries():
    result = _result()
    assert result.total_acked == 15
    assert result.total_nospace == 12
    assert result.achieved_rate == 5
    assert result.first_nospace_second() == 1
    assert result.series("m0", "db_size") == [100, 200]
    assert result.compactions_seen("m0") == 1
    assert result.samples[0].latency_percentile(0.5) == 3.0
    assert result.samples[0].latency_percentile(0.99) == 4.0
    assert result.samples[2].latency_percentile(0.99) == 0.0


def test_csv_has_one_row_per_second_and_member_columns(tmp_path):
    _result().write_csv(tmp_path / "load.csv")
    rows = list(csv.DictReader((tmp_path / "load.csv").open()))
    assert [row["second"] for row in rows] == ["0", "1", "2"]
    assert rows[1]["m0_db_size"] == "200"
    assert rows[1]["m0_alarms"] == "NOSPACE"
    assert rows[2]["m0_db_size"] == ""
    assert rows[0]["p99_ms"] == "4.0"
