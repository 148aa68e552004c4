import pytest

from kafscale.offline.render import render_stack
from kafscale_lab.load import LoadPlan, LoadResult, MemberSample, SecondSample
from kafscale_lab.simulate import SimulationError, judge, plan_scaling
from tests.support import PROJECT_DIR, other_build_in_soak, run_cli


def _settings(mode="periodic", retention="5m", quota=2147483648):
    return {
        "etcdAutoCompactionMode": mode,
        "etcdAutoCompactionRetention": retention,
        "etcdQuotaBackendBytes": quota,
    }


@pytest.mark.parametrize(
    ("settings", "scale", "retention", "quota"),
    [
        (_settings(), 60, "5s", 35791394),
        (_settings(retention="1h"), 7, "514286ms", 306783378),
        (_settings(retention="2"), 3600, "2s", 596523),
        (_settings(retention="90s"), 1, "1m30s", 2147483648),
        (_settings(mode="revision", retention="1000000"), 60, "16667", 35791394),
    ],
)
def test_plan_scaling_divides_retention_and_quota(settings, scale, retention, quota):
    scaling = plan_scaling(settings, scale)
    assert scaling.scaled_retention == retention
    assert scaling.scaled_quota_bytes == quota
    assert scaling.overrides() == [
        f"etcdAutoCompactionRetention={retention}",
        f"etcdQuotaBackendBytes={quota}",
    ]


def test_time_scale_below_one_is_refused():
    with pytest.raises(SimulationError, match="--time-scale"):
        plan_scaling(_settings(), 0.5)


def _result(nospace_at=None):
    samples = []
    for second in range(6):
        in_use = 100 + 50 * (second % 3)
        alarms = ("NOSPACE",) if nospace_at is not None and second >= nospace_at else ()
        samples.append(
            SecondSample(second, acked=100, members={"m0": MemberSample(400 + second, in_use, alarms)})
        )
    return LoadResult(LoadPlan(rate=100, duration_s=6), ["m0"], samples, {}, {})


def test_verdict_reports_peaks_scaling_compactions_and_full_scale_times():
    scaling = plan_scaling(_settings(quota=60000), 60)
    verdict = judge(_result(), scaling, "3.4.23", 100)
    assert verdict.ok
    assert verdict.lines == [
        "etcd 3.4.23, 1 members, 100 writes/s asked, 100.0 writes/s acknowledged",
        "scaling: time-scale 60: retention 5m -> 5s, quota 60000 -> 1000 bytes; 6s here stand for 6.0m "
        "at 100 writes/s in production",
        "peak dbSize: 405 bytes (40.5% of quota) on m0; at full scale 0.0 MiB",
        "peak dbSizeInUse: 200 bytes (20.0% of quota); at full scale 0.0 MiB",
        "time to NOSPACE: none",
        "compactions seen: 1 (falls of sampled dbSizeInUse)",
        "verdict: OK: no NOSPACE; peak dbSize 40% of quota",
    ]


def test_verdict_gives_the_time_to_nospace_at_full_scale():
    verdict = judge(_result(nospace_at=3), plan_scaling(_settings(quota=60000), 60), "3.5.1", 100)
    assert not verdict.ok
    assert "time to NOSPACE: 3s here, 3.0m at full scale" in verdict.lines
    assert verdict.lines[-1] == "verdict: NOSPACE: this tuning does not hold this write rate"


def _simulate(*args):
    return run_cli("simulate", *args, module="kafscale_lab")


def test_simulate_without_etcd_is_a_one_line_error():
    result = _simulate(
        "--stack", "dev", "--rate", "10", "--duration", "1", "--etcd-binary", "/nonexistent/etcd"
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "error: etcd binary '/nonexistent/etcd' not found: install Debian's etcd-server "
        "(apt-get install etcd-server) or pass the path of an etcd binary"
    ]


def test_simulate_refuses_a_stack_with_external_endpoints():
    result = _simulate(
        "--stack", "dev", "--set", "etcdEndpoints=http://etcd:2379", "--rate", "10", "--duration", "1"
    )
    assert result.returncode == 1
    assert "external etcd endpoints" in result.stderr


@pytest.mark.etcd
@other_build_in_soak("debian")
def test_simulate_prints_a_verdict_and_writes_csv_and_plot(etcd_binary, tmp_path):
    result = _simulate(
        "--stack", "dev", "--rate", "100", "--duration", "16", "--time-scale", "60",
        "--etcd-binary", etcd_binary, "--plot", str(tmp_path / "run.png"), "--csv", str(tmp_path / "run.csv"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    quota = render_stack(PROJECT_DIR, "dev").exports["settings"]["etcdQuotaBackendBytes"]
    assert lines[1].startswith(
        f"scaling: time-scale 60: retention 5m -> 5s, quota {quota} -> {quota // 60} bytes"
    )
    assert "time to NOSPACE: none" in lines
    compactions = next(line for line in lines if line.startswith("compactions seen:"))
    assert int(compactions.split()[2]) >= 1
    assert lines[-1].startswith("verdict: OK")
    assert (tmp_path / "run.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len((tmp_path / "run.csv").read_text().splitlines()) >= 12


@pytest.mark.parametrize("option", ["--rate", "--duration", "--time-scale"])
@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN"])
def test_a_number_that_is_not_finite_is_one_error_line_before_anything_boots(option, value):
    """float() takes `nan` and `inf`, and every comparison with nan is false: the run would go
    on to boot etcd, or crash."""
    given = {"--rate": "10", "--duration": "1", "--time-scale": "1", option: value}
    result = _simulate("--stack", "dev", *[f"{name}={text}" for name, text in given.items()])
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: ") and "not a finite number" in line
