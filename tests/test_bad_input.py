"""Bad input never crashes and never reaches etcd or Kubernetes: properties over every key, and one
regression test for each hole a fuzz of config, stack files and the CLI found."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kafscale.config import keys
from kafscale.config.durations import periodic_retention_nanos
from kafscale.config.quantities import INT64_MAX
from kafscale.config.settings import EtcdSettings, SettingsError, parse_settings
from kafscale.objects.composition import managed_etcd_manifests
from kafscale_lab.manifests import (
    container,
    cronjobs_by_task,
    etcd_container,
    init_container,
    maintenance_container,
    only,
)
from kafscale_lab.pod_runner import container_env
from tests.support import PROJECT_DIR, besides_pinning, property_examples, run_cli

# Kubernetes' own validation patterns (k8s.io/apimachinery/pkg/util/validation), written out here
# apart from the product's rules so that the two check each other.
DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
CRON_FIELD_SPANS = (60, 24, 31, 12, 7)

# Hostile text: control characters, lone surrogates (a byte that is not UTF-8 on a command line),
# huge numbers, the values a fuzz found, and ordinary words.
HOSTILE = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec=None), max_size=12),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.integers(min_value=4300, max_value=6000).map(lambda n: "9" * n),
    # Numbers of every length past what a parser reads, with a unit or with leading zeros.
    st.tuples(st.integers(min_value=20, max_value=4400), st.sampled_from(["", "Gi", "Ti", "Ki"])).map(
        lambda pair: "9" * pair[0] + pair[1]
    ),
    st.tuples(st.integers(min_value=1, max_value=200), st.integers(min_value=0, max_value=10**6)).map(
        lambda pair: "0" * pair[0] + str(pair[1])
    ),
    # Digests of every length, case and algorithm; hosts the AWS CLI refuses.
    st.tuples(
        st.sampled_from(["etcd", "quay.io/coreos/etcd:v3.5.1"]),
        st.sampled_from(["sha256", "sha512", "sha384", "md5", "SHA256"]),
        st.integers(min_value=30, max_value=130),
        st.sampled_from(["a", "A", "0"]),
    ).map(lambda parts: f"{parts[0]}@{parts[1]}:{parts[3] * parts[2]}"),
    st.tuples(
        st.sampled_from(["http://", "https://"]),
        st.sampled_from(["minio_1", "a..b", "a" * 64 + ".x", "mi%6eio", "-x", "minio.storage", "10.0.0.7"]),
    ).map(lambda parts: f"{parts[0]}{parts[1]}:9000"),
    # What the kubelet would expand or unescape in an env value.
    st.tuples(
        st.sampled_from(["", "team", "http://s3"]), st.sampled_from(["$$", "$(HOME)", "$(SNAPSHOT_DIR)", "$"])
    ).map("".join),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(
        [
            "0", "0s", "0.5ns", "1ns", "9ns", "5us", "1e308", "1e300", "2147483647", "-1", "1:30",
            "*/99999999999999999999 * * * *", "a..b/c=d", "app=x", "Fast SSD", "Ünïcödé $(id)",
            "Kubesphere/etcd:1", "500m", "9Ei", "\udcff", "a\nwarning: forged", "\x1b[31mred", "[oops",
            '{"a": 1}', "true", "yes", "http://etcd:2379", "kafscale-", "-x", "A",
        ]
    ),
)  # fmt: skip
ALL_KEYS = st.sampled_from(keys.CONFIG_KEYS)


def _accepted_by_kubernetes_and_etcd(settings: EtcdSettings) -> None:
    """What each rendered value must be for the API server and etcd to take it."""
    import botocore.utils as botocore_utils  # installed with moto; imported when used (50 ms)

    assert 1 <= settings.replicas <= 7
    if settings.auto_compaction_mode == "periodic":
        nanos = periodic_retention_nanos(settings.auto_compaction_retention)
        assert nanos is not None and (nanos == 0 or nanos >= 10**9)
    else:
        assert 1 <= int(settings.auto_compaction_retention) <= INT64_MAX
    assert settings.quota_backend_bytes * 100 <= INT64_MAX  # the script's threshold sum
    assert settings.memory_limit_bytes <= INT64_MAX
    for schedule in (settings.maintenance_schedule, settings.maintenance_check_schedule):
        if not schedule.startswith("@"):
            for field, span in zip(schedule.split(), CRON_FIELD_SPANS, strict=True):
                for step in re.findall(r"/([0-9]+)", field):
                    assert 1 <= int(step) <= span
    assert settings.storage_class is None or DNS1123_SUBDOMAIN.fullmatch(settings.storage_class)
    for image in (settings.image, settings.snapshot_etcdctl_image, settings.snapshot_image):
        assert image.isascii() and image.isprintable() and " " not in image
        if "@" in image:  # a digest the runtimes verify (opencontainers/go-digest)
            algorithm, _, encoded = image.rsplit("@", 1)[1].partition(":")
            length = {"sha256": 64, "sha384": 96, "sha512": 128}[algorithm]
            assert re.fullmatch(f"[0-9a-f]{{{length}}}", encoded)
        first, _, rest = image.split("@")[0].partition("/")
        path = rest if rest and ("." in first or ":" in first or first == "localhost") else f"{first}/{rest}"
        assert path.rsplit(":", 1)[0] == path.rsplit(":", 1)[0].lower()  # repositories are lower-case
    for selector in (*settings.client_pod_selectors, settings.monitoring_labels):
        for key, value in selector:
            prefix, _, name = key.rpartition("/")
            assert not prefix or (DNS1123_SUBDOMAIN.fullmatch(prefix) and len(prefix) <= 253)
            assert QUALIFIED_NAME.fullmatch(name) and len(name) <= 63
            assert value == "" or (QUALIFIED_NAME.fullmatch(value) and len(value) <= 63)
    assert {name for name, _ in settings.monitoring_labels}.isdisjoint({"app", "cluster"})
    for namespace in settings.client_namespaces:
        assert DNS1123_LABEL.fullmatch(namespace) and len(namespace) <= 63
    if settings.snapshot_s3_endpoint:  # what the AWS CLI itself checks
        assert botocore_utils.is_valid_uri(settings.snapshot_s3_endpoint)  # the AWS CLI's own check
    manifests = managed_etcd_manifests(settings)
    text = json.dumps(manifests)
    text.encode("utf-8")  # nothing the engine could not carry
    if settings.managed and settings.snapshot_enabled:  # user values reach every container as given
        fetch = init_container(only(manifests, "StatefulSet"), "snapshot-fetch")
        upload = container(cronjobs_by_task(manifests)["snapshot"], "upload")
        for each in (fetch, upload):
            env = container_env(each, "pod-0", settings.namespace)
            assert env["SNAPSHOT_PREFIX"] == settings.snapshot_prefix
            assert env["SNAPSHOT_BUCKET"] == settings.snapshot_bucket
            assert env.get("AWS_ENDPOINT_URL", "") == settings.snapshot_s3_endpoint


def _one_line_and_safe(message: str) -> None:
    assert "\n" not in message and "\r" not in message
    assert message.isprintable(), message
    message.encode("utf-8")


@settings(max_examples=property_examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=ALL_KEYS, value=HOSTILE)
def test_any_value_of_any_key_is_used_refused_with_a_warning_or_an_error(key, value):
    try:
        parsed = parse_settings({key.name: value})
    except SettingsError as error:
        _one_line_and_safe(str(error))
        # Identities, endpoints, a list that is not one: no default could stand in. Sizes past
        # their limit: a fallback would shrink a live cluster.
        lists = (keys.CLIENT_NAMESPACES, keys.CLIENT_POD_SELECTORS, keys.IMAGE_PULL_SECRETS)
        sizes = (keys.REPLICAS, keys.QUOTA_BACKEND_BYTES, keys.MEMORY_HEADROOM)
        assert (
            key in (keys.CLUSTER_NAME, keys.K8S_NAMESPACE, keys.ENDPOINTS, *keys.PROTECTION_KEYS)
            or (key in lists and value.strip().startswith("["))
            or (key in sizes and "is above" in str(error))
        ), key.name
        return
    _accepted_by_kubernetes_and_etcd(parsed.settings)
    for warning in parsed.warnings:
        _one_line_and_safe(warning.message)
        assert warning.message.startswith(f"kafscale:{warning.key}: ")
    text = value.strip()
    # A list's rule judges each item, and empty items are dropped (`,` is no item, not a refused
    # one): only a text of one item is judged whole here; test_settings covers lists.
    one_item = key.unset != () or not any(separator in text for separator in ",;")
    refused = (
        bool(text) and one_item and key.convert(text) is None and key is not keys.AUTO_COMPACTION_RETENTION
    )
    if refused:
        assert key.name in {w.key for w in parsed.warnings}, (key.name, value)


@settings(max_examples=property_examples(10), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=ALL_KEYS, value=HOSTILE.filter(lambda text: "\x00" not in text))
def test_render_with_any_set_value_exits_0_with_warnings_or_2_with_one_error_line(key, value):
    result = run_cli("render", "--stack", "dev", "--set", f"{key.name}={value}")
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    if result.returncode == 2:
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
        assert result.stdout == ""
    else:
        assert result.returncode == 0, result.stderr
        assert all(line.startswith("warning: ") for line in lines), result.stderr


@settings(max_examples=property_examples(40), deadline=None)
@given(
    rate=st.sampled_from(["100", "0", "-1", "nan", "1e308", "1e7", "x"]),
    option=st.sampled_from(["--quota", "--memory-headroom", "--retention", "--mode"]),
    value=HOSTILE.filter(lambda text: "\x00" not in text and not text.startswith("-")),
)
def test_sizing_with_any_input_prints_or_refuses_in_one_line(rate, option, value):
    result = run_cli("sizing", "--write-rate", rate, option, value)
    assert "Traceback" not in result.stderr
    assert result.returncode in (0, 2), result.stderr
    if result.returncode == 2:
        assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("error: ")


# --- Crashes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("retention", ["0", "0s", "0h"])
def test_zero_retention_with_a_write_rate_warns_instead_of_crashing(retention):
    result = run_cli("render", "--stack", "dev", "--set", f"etcdAutoCompactionRetention={retention}")
    assert result.returncode == 0, result.stderr
    assert "disables auto-compaction" in result.stderr


@pytest.mark.parametrize("rate", ["1e308", "1e300", "1000001", "inf"])
def test_an_absurd_write_rate_falls_back_with_a_short_warning(rate):
    parsed = parse_settings({"etcdExpectedWriteRate": rate})
    assert parsed.settings.expected_write_rate is None
    (warning,) = parsed.warnings
    assert len(warning.message) < 200


@pytest.mark.parametrize(
    "key",
    ["etcdStorageSize", "etcdAutoCompactionRetention", "etcdMaintenanceSizeThresholdPct", "etcdRunAsUser"],
)
def test_an_integer_of_5000_digits_falls_back_with_a_warning_that_cuts_it(key):
    parsed = parse_settings({key: "9" * 5000})
    (warning,) = [w for w in parsed.warnings if w.key == key]
    assert "(5000 characters)" in warning.message and len(warning.message) < 400


def test_a_byte_that_is_not_utf8_on_the_command_line_is_one_error_line():
    result = run_cli("render", "--stack", "dev", "--set", "etcdImage=\udcff")
    assert result.returncode == 2
    assert result.stderr == 'error: kafscale:etcdImage: "\\udcff" is not valid UTF-8 text\n'


@pytest.fixture
def project(tmp_path):
    for name in ("Pulumi.yaml", "__main__.py"):
        (tmp_path / name).write_text((PROJECT_DIR / name).read_text())
    return tmp_path


def _render_stack_file(project, content: bytes | str, *args: str):
    data = content.encode("utf-8") if isinstance(content, str) else content
    (project / "Pulumi.t.yaml").write_bytes(data)
    return run_cli("render", "--stack", "t", "--project-dir", str(project), *args)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("config:\n  - a\n", "'config' is not a mapping"),
        ("config: text\n", "'config' is not a mapping"),
        ("- just a list\n", "is not a YAML mapping"),
        ("config:\n  kafscale:etcdImage: caf\xe9\n".encode("latin-1"), "is not UTF-8 text"),
        ('config:\n  kafscale:etcdImage: "\\udcff"\n', "line 2, column 26: found invalid Unicode character"),
        ("config:\n  kafscale:etcdReplicas: 3\n  kafscale:etcdReplicas: 5\n", "already defined"),
        ("config:\n  kafscale:etcdEndpoints: {a: 1}\n", "kafscale:etcdEndpoints"),
        ("config:\n  kafscale:etcdEndpoints: 5\n", "kafscale:etcdEndpoints"),
        ("config:\n  kafscale:etcdEndpoints: true\n", "kafscale:etcdEndpoints"),
    ],
)
def test_a_stack_file_pulumi_would_not_read_is_one_error_line(project, content, message):
    result = _render_stack_file(project, content)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("error: ")
    assert message in result.stderr


def test_a_non_string_key_in_a_stack_file_is_warned_about_not_a_crash(project):
    result = _render_stack_file(project, "config:\n  1: 2\n")
    assert result.returncode == 0, result.stderr
    assert besides_pinning(result.stderr.splitlines()) == [
        'warning: "kafscale:1" in Pulumi.t.yaml is not a key this program reads; ignored'
    ]


def test_a_wrongly_cased_namespace_is_warned_about(project):
    result = _render_stack_file(project, "config:\n  Kafscale:etcdReplicas: 5\n")
    assert result.returncode == 0, result.stderr
    assert "namespaces are case-sensitive" in result.stderr


@pytest.mark.parametrize("output", ["existing-file", "existing-file/sub"])
def test_an_output_that_cannot_be_written_is_one_error_line(tmp_path, output):
    (tmp_path / "existing-file").write_text("x")
    result = run_cli("render", "--stack", "dev", "--output", str(tmp_path / output))
    assert result.returncode == 2
    lines = besides_pinning(result.stderr.splitlines())
    assert len(lines) == 1 and lines[0].startswith("error: --output ")


def test_a_stack_name_too_long_for_pulumi_is_one_error_line():
    result = run_cli("render", "--stack", "s" * 300)
    assert result.returncode == 2
    assert "at most 100" in result.stderr and "(300 characters)" in result.stderr


@pytest.mark.parametrize("key", ["etcdReplicas", "etcdQuotaBackendBytes", "etcdMemoryHeadroomBytes"])
@pytest.mark.parametrize("digits", [20, 61, 65, 4300, 5000])
def test_a_size_above_its_limit_is_an_error_however_many_digits_it_has(key, digits):
    """Falling back would remove members, or shrink a quota or memory limit, on a live cluster:
    past Python's 4,300-digit limit and past what a quantity parser reads alike."""
    raw = "9" * digits
    with pytest.raises(SettingsError, match=f"kafscale:{key}: .* is above ") as error:
        parse_settings({key: raw})
    assert "\n" not in str(error.value) and len(str(error.value)) < 400
    if digits > 100:
        assert f"({digits} characters)" in str(error.value)


@pytest.mark.parametrize(
    ("key", "attribute", "raw", "used"),
    [
        ("etcdReplicas", "replicas", "0" * 30 + "5", 5),
        ("etcdDeployTimeoutSec", "deploy_timeout_sec", "0" * 40 + "600", 600),
        ("etcdSnapshotKeep", "snapshot_keep", "0" * 25 + "24", 24),
        ("etcdSnapshotStaleAfterSec", "snapshot_stale_after_sec", "0" * 25 + "7200", 7200),
        ("etcdQuotaBackendBytes", "quota_backend_bytes", "0" * 80 + "4Gi", 4 * 1024**3),
    ],
)
def test_a_whole_number_with_leading_zeros_is_read_as_written(key, attribute, raw, used):
    parsed = parse_settings({key: raw})
    assert getattr(parsed.settings, attribute) == used
    assert [w for w in parsed.warnings if w.key == key] == []


@pytest.mark.parametrize("raw", ["2147483647", "8", "1403"])
def test_replicas_above_seven_are_an_error_not_a_fallback_that_would_remove_members(raw):
    with pytest.raises(SettingsError, match=f'kafscale:etcdReplicas: "{raw}" is above 7 members'):
        parse_settings({"etcdReplicas": raw})
    assert parse_settings({"etcdReplicas": "7"}).settings.replicas == 7


@pytest.mark.parametrize(
    ("key", "raw"), [("etcdQuotaBackendBytes", "2Ti"), ("etcdMemoryHeadroomBytes", "8Ei")]
)
def test_sizes_above_1ti_are_an_error_not_a_fallback_that_would_shrink_a_member(key, raw):
    with pytest.raises(SettingsError, match=f'kafscale:{key}: "{raw}" is above 1Ti'):
        parse_settings({key: raw})


# --- Rendered silently, refused later ---------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "used"), [("1ns", "5m"), ("9ns", "5m"), ("5us", "5m"), ("999ms", "5m"), ("1s", "1s")]
)
def test_a_periodic_retention_under_a_second_never_reaches_etcd(raw, used):
    assert parse_settings({"etcdAutoCompactionRetention": raw}).settings.auto_compaction_retention == used


@pytest.mark.parametrize(
    ("key", "raw"),
    [
        ("etcdMaintenanceSchedule", "*/99999999999999999999 * * * *"),
        ("etcdMaintenanceCheckSchedule", "*/61 * * * *"),
        ("etcdMaintenanceSchedule", "\u0663 * * * *"),  # an Arabic-Indic digit: Go reads none
        ("etcdClientPodSelectors", "a..b/c=d"),
        ("etcdMonitoringLabels", "a..b/c=d"),
        ("etcdStorageClass", "Fast SSD"),
        ("etcdImage", "Ünïcödé $(id)"),
        ("etcdImage", "Kubesphere/etcd:3.6.4-0"),
        ("etcdSnapshotEtcdctlImage", "tools image"),
        ("etcdStorageSize", "500m"),
    ],
)
def test_values_kubernetes_or_etcd_would_refuse_fall_back_with_a_warning(key, raw):
    parsed = parse_settings({key: raw})
    assert [w.key for w in parsed.warnings] == [key]
    assert parsed.settings == parse_settings({}).settings


def test_the_largest_quota_and_headroom_keep_the_scripts_arithmetic_in_64_bits():
    raw = {"etcdQuotaBackendBytes": "1Ti", "etcdMemoryHeadroomBytes": "1Ti", "etcdStorageMemory": "true"}
    settings_ = parse_settings(raw).settings
    assert settings_.quota_backend_bytes == 1024**4
    env = {e["name"]: e["value"] for e in maintenance_container(_cronjob(settings_))["env"]}
    assert int(env["ETCD_QUOTA_BYTES"]) * 100 < 2**63
    assert int(env["ETCD_MEMORY_LIMIT_BYTES"]) < 2**63


def _cronjob(settings_: EtcdSettings) -> dict[str, Any]:
    return cronjobs_by_task(managed_etcd_manifests(settings_))["maintenance"]


def test_monitoring_labels_cannot_take_the_selector_labels():
    parsed = parse_settings({"etcdMonitoringLabels": "app=x,release=prom,cluster=y"})
    assert parsed.settings.monitoring_labels == (("release", "prom"),)
    (warning,) = parsed.warnings
    assert warning.message == (
        'kafscale:etcdMonitoringLabels: "app=x,release=prom,cluster=y" sets app and cluster, which select '
        'this cluster\'s objects: left out; using "release=prom"'
    )


def test_the_rendered_image_and_selector_labels_are_the_ones_given():
    parsed = parse_settings({"etcdImage": "registry.example:5000/etcd/etcd:v3.6.4@sha256:" + "a" * 64})
    assert parsed.warnings == ()
    statefulset = only(managed_etcd_manifests(parsed.settings), "StatefulSet")
    assert etcd_container(statefulset)["image"].startswith("registry.example:5000/etcd/etcd:v3.6.4@sha256:")


# --- Stack files read as Pulumi reads them ----------------------------------------------------


@pytest.mark.parametrize(
    ("written", "text"),
    [
        ("1:30", "1:30"), ("yes", "yes"), ("On", "On"), (".nan", ".nan"), ("010", "010"), ("0x10", "0x10"),
        ("1_000", "1_000"), ("1e3", "1e3"), ("~", ""), ("null", ""), ("", ""), ('"~"', "~"), ("'010'", "010"),
        ("true", "true"), ("2026-11-25", "2026-11-25"),
    ],
)  # fmt: skip
def test_a_scalar_reaches_the_program_as_the_text_written(project, written, text):
    from kafscale.offline.stack_config import load_stack_config

    (project / "Pulumi.t.yaml").write_text(f"config:\n  kafscale:etcdImage: {written}\n")
    assert load_stack_config(project, "t").values["kafscale:etcdImage"] == text


@pytest.mark.parametrize(
    ("written", "json_text"),
    [
        ("[yes, On, 010, 0x10, 0o10, 1_000, ~, true, a]", '["yes","On",8,16,8,1000,null,true,"a"]'),
        ("{a: 1, b: [x]}", '{"a":1,"b":["x"]}'),
    ],
)
def test_inside_a_list_scalars_resolve_as_yaml_v3_resolves_them(project, written, json_text):
    from kafscale.offline.stack_config import load_stack_config

    (project / "Pulumi.t.yaml").write_text(f"config:\n  kafscale:etcdClientNamespaces: {written}\n")
    assert load_stack_config(project, "t").values["kafscale:etcdClientNamespaces"] == json_text


# --- Messages ---------------------------------------------------------------------------------


def test_the_deprecated_defrag_schedule_takes_effect_when_the_new_key_is_at_its_default():
    raw = {"etcdMaintenanceSchedule": keys.MAINTENANCE_SCHEDULE.default, "etcdDefragSchedule": "0 3 * * *"}
    parsed = parse_settings(raw)
    assert parsed.settings.maintenance_schedule == "0 3 * * *"
    assert [w.key for w in parsed.warnings] == ["etcdDefragSchedule"]


def test_with_a_bad_maintenance_schedule_the_alias_warning_names_the_schedule_used():
    parsed = parse_settings({"etcdMaintenanceSchedule": "never", "etcdDefragSchedule": "0 3 * * *"})
    assert parsed.settings.maintenance_schedule == "0 */6 * * *"
    messages = [w.message for w in parsed.warnings]
    assert messages[1].endswith(
        "is deprecated and ignored: kafscale:etcdMaintenanceSchedule is set; using 0 */6 * * *"
    )


@pytest.mark.parametrize("value", ["a\nwarning: forged", "\x1b[31mred", "\u202eevil"])
def test_a_warning_shows_a_value_escaped_on_one_line(value):
    (warning,) = parse_settings({"etcdReplicas": value}).warnings
    _one_line_and_safe(warning.message)
    assert json.dumps(value) in warning.message


def test_an_encrypted_value_can_be_given_with_set(project):
    result = _render_stack_file(
        project, "config:\n  kafscale:etcdImage:\n    secure: v1:AAAA\n", "--set", "etcdImage=etcd:3.6.4"
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("raw", "says", "does_not_say"),
    [
        ("kafscale-", "end with a letter or digit", "start with a letter"),
        ("1kafscale", "start with a letter", "end with"),
        ("Kafscale", "use only lower-case letters", "start with"),
        ("k" * 30, "at most 29 characters (it has 30)", "lower-case"),
    ],
)
def test_a_name_error_names_only_the_rules_the_name_breaks(raw, says, does_not_say):
    with pytest.raises(SettingsError) as caught:
        parse_settings({"clusterName": raw})
    assert says in str(caught.value) and does_not_say not in str(caught.value)


def test_the_python_api_takes_python_values_as_stack_config_would_give_them():
    parsed = parse_settings(
        {"etcdReplicas": 5, "etcdStorageMemory": True, "etcdClientNamespaces": ["apps", "monitoring"]}
    )
    assert parsed.warnings == ()
    assert parsed.settings.replicas == 5
    assert parsed.settings.storage_memory is True
    assert parsed.settings.client_namespaces == ("apps", "monitoring")


def test_an_integer_past_4300_digits_in_the_component_api_is_judged_not_a_crash():
    """Python refuses to print such an integer (ValueError in str()): the component judges it as
    the number it is, an error for a size (falling back would shrink a live cluster), a warning
    for any other key."""
    import pulumi

    from tests.support import run_component

    run, _ = run_component(etcdSnapshotKeep=10**5000)
    (warning,) = [w for w in run.warnings if "etcdSnapshotKeep" in w]
    assert "(5001 characters)" in warning and "Traceback" not in warning
    with pytest.raises(
        pulumi.RunError, match=r'kafscale:etcdReplicas: "9+\.\.\." \(5001 characters\) is above 7'
    ):
        run_component(etcdReplicas=10**5000)


HEX64 = "0123456789abcdef" * 4


@pytest.mark.parametrize("key", ["etcdImage", "etcdSnapshotEtcdctlImage", "etcdSnapshotImage"])
@pytest.mark.parametrize(
    "image",
    [
        f"etcd@sha256:{HEX64[:-1]}",  # one digit short
        f"etcd@sha256:{HEX64.upper()}",  # runtimes read only lower-case hex
        f"etcd@sha512:{HEX64}",  # sha512 is 128 digits
        f"etcd@md5:{HEX64[:32]}",  # not a registered algorithm
        "e" * 238,  # docker.io/library/eee...: 256 characters once normalised
    ],
)
def test_an_image_reference_the_kubelet_refuses_falls_back_with_a_warning(key, image):
    parsed = parse_settings({key: image})
    (warning,) = [w for w in parsed.warnings if w.key == key]
    assert "is not an image reference the kubelet can pull" in warning.message


@pytest.mark.parametrize(
    "image", [f"etcd@sha256:{HEX64}", f"quay.io/coreos/etcd:v3.5.1@sha512:{HEX64 * 2}", "e" * 237]
)
def test_an_image_reference_the_kubelet_takes_is_used_as_given(image):
    parsed = parse_settings({"etcdImage": image})
    assert parsed.settings.image == image


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://minio_1:9000",  # '_'
        "http://a..b:9000",  # an empty label
        f"http://{'a' * 64}.storage:9000",  # a label of 64
        "http://mi%6eio:9000",  # a percent-escape
        "http://-minio:9000",  # a label starting with '-'
    ],
)
def test_an_s3_endpoint_the_aws_cli_refuses_falls_back_to_aws_s3_with_a_warning(endpoint):
    """botocore/utils.py `is_valid_endpoint_url`: the CLI would fail every snapshot and every
    restore listing."""
    parsed = parse_settings({"etcdSnapshotS3Endpoint": endpoint})
    assert parsed.settings.snapshot_s3_endpoint == ""
    (warning,) = [w for w in parsed.warnings if w.key == "etcdSnapshotS3Endpoint"]
    assert "is not an S3 endpoint URL the AWS CLI takes" in warning.message


@pytest.mark.parametrize(
    "endpoint", ["http://minio.storage:9000", "http://10.0.0.7:9000", "http://[fd00::7]:9000"]
)
def test_an_s3_endpoint_the_aws_cli_takes_is_used(endpoint):
    assert parse_settings({"etcdSnapshotS3Endpoint": endpoint}).settings.snapshot_s3_endpoint == endpoint


def test_a_region_of_digits_alone_falls_back_with_a_warning():
    parsed = parse_settings({"etcdSnapshotS3Region": "123"})
    assert parsed.settings.snapshot_s3_region == ""
    assert [w.key for w in parsed.warnings] == ["etcdSnapshotS3Region"]


@pytest.mark.parametrize("key", keys.CONFIG_KEYS, ids=lambda key: key.name)
def test_an_integer_past_4300_digits_for_any_key_of_the_python_api_is_judged_not_a_crash(key):
    """What a caller of the component API may pass for any field: a warning, or one error for a
    size (falling back would shrink a live cluster), an identity (no default stands in) or a
    protection (falling back would turn it off)."""
    try:
        parsed = parse_settings({key.name: 10**5000})
    except SettingsError as error:
        assert key in (keys.REPLICAS, keys.QUOTA_BACKEND_BYTES, keys.MEMORY_HEADROOM, keys.CLUSTER_NAME,
                       keys.K8S_NAMESPACE, keys.ENDPOINTS, *keys.PROTECTION_KEYS), key.name  # fmt: skip
        _one_line_and_safe(str(error))
        return
    for warning in parsed.warnings:
        _one_line_and_safe(warning.message)
