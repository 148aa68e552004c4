"""What an image's etcd version risks, warned about at preview, and the corruption-check keys each
version gets (proven by effect on real etcd in tests/test_corruption_checks_real.py)."""

import pytest

from kafscale.config.corruption_checks import corruption_check_config
from kafscale.config.etcd_versions import KNOWN_DEFECTS, image_etcd_version
from kafscale.config.settings import parse_settings
from tests.support import render_objects

FIFTEEN_MINUTES_NS = 900_000_000_000
EXPERIMENTAL = {
    "experimental-initial-corrupt-check": True,
    "experimental-corrupt-check-time": FIFTEEN_MINUTES_NS,
}


def _image_warnings(**raw):
    return [w.message for w in parse_settings(raw).warnings if w.key == "etcdImage"]


@pytest.mark.parametrize(
    ("image", "links"),
    [
        ("quay.io/coreos/etcd:v3.5.0", ["etcd-io/etcd/issues/13766", "etcd-io/etcd/issues/14685"]),
        ("quay.io/coreos/etcd:v3.5.1", ["etcd-io/etcd/issues/13766", "etcd-io/etcd/issues/14685"]),
        ("quay.io/coreos/etcd:v3.5.2", ["etcd-io/etcd/issues/13766", "etcd-io/etcd/issues/14685"]),
        ("registry.k8s.io/etcd:3.5.3-0", ["etcd-io/etcd/issues/14685"]),
        ("registry.k8s.io/etcd:3.5.5-0", ["etcd-io/etcd/issues/14685"]),
        ("registry.k8s.io/etcd:3.5.6-0", []),
        ("quay.io/coreos/etcd:v3.4.23", []),
        ("kubesphere/etcd:3.6.4-0", []),
    ],
)
def test_builds_with_a_known_data_defect_are_warned_about_with_the_issue_and_the_fix(image, links):
    messages = [m for m in _image_warnings(etcdImage=image) if "fixed in" in m and "20340" not in m]
    assert len(messages) == len(links)
    for message, link in zip(messages, links, strict=True):
        defect = next(d for d in KNOWN_DEFECTS if d.link.endswith(link.split("etcd-io/etcd/")[1]))
        assert f"https://github.com/{link}" in message
        fixed = ".".join(map(str, defect.fixed))
        assert f"fixed in {fixed}): use {fixed} or later" in message
        assert message.endswith(f"; using {image}")  # the image stands


def test_an_unversioned_tag_is_warned_about_unless_the_checks_are_off():
    (message,) = _image_warnings(etcdImage="my/etcd:latest")
    assert "names no etcd version" in message and "etcd 3.7 ignores them" in message
    assert _image_warnings(etcdImage="my/etcd:latest", etcdCorruptionChecks="false") == []


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        (None, EXPERIMENTAL),
        ((3, 4, 23), EXPERIMENTAL),
        ((3, 5, 1), EXPERIMENTAL),
        ((3, 5, 4), EXPERIMENTAL),
        ((3, 5, 5), {**EXPERIMENTAL, "experimental-compact-hash-check-enabled": True}),
        ((3, 5, 21), {**EXPERIMENTAL, "experimental-compact-hash-check-enabled": True}),
        (
            (3, 6, 0),
            {
                "feature-gates": "InitialCorruptCheck=true,CompactHashCheck=true",
                "corrupt-check-time": FIFTEEN_MINUTES_NS,
            },
        ),
        (
            (3, 7, 1),
            {
                "feature-gates": "InitialCorruptCheck=true,CompactHashCheck=true",
                "corrupt-check-time": FIFTEEN_MINUTES_NS,
            },
        ),
    ],
)
def test_each_version_gets_the_names_it_reads(version, expected):
    config = corruption_check_config(version, 900)
    assert config == expected
    assert {k: type(v) for k, v in config.items()} == {k: type(v) for k, v in expected.items()}  # 1 != True


def _config_file(**raw):
    import yaml

    pod = render_objects(**raw).get("StatefulSet", "kafscale-etcd")["spec"]["template"]["spec"]
    join = next(c for c in pod["initContainers"] if c["name"] == "member-join")
    return yaml.safe_load(next(e["value"] for e in join["env"] if e["name"] == "ETCD_CONFIG"))


@pytest.mark.parametrize(
    "image", ["quay.io/coreos/etcd:v3.4.23", "quay.io/coreos/etcd:v3.5.1", "my/etcd:latest"]
)
def test_the_config_file_carries_the_checks_for_the_image_and_none_when_off(image):
    config = _config_file(etcdImage=image)
    assert {k: config[k] for k in EXPERIMENTAL} == EXPERIMENTAL
    assert corruption_check_config(image_etcd_version(image), 900).items() <= config.items()
    off = _config_file(etcdImage=image, etcdCorruptionChecks="false")
    assert not {k for k in off if "corrupt" in k or k == "feature-gates"}


def test_a_corruption_checks_value_that_is_not_a_boolean_is_true_with_a_warning():
    parsed = parse_settings({"etcdCorruptionChecks": "maybe"})
    assert parsed.settings.corruption_checks is True
    (warning,) = [w.message for w in parsed.warnings if w.key == "etcdCorruptionChecks"]
    assert '"maybe"' in warning and warning.endswith("using true")


@pytest.mark.parametrize(
    ("value", "seconds", "warned"),
    [
        ("15m", 900, False),
        ("30s", 30, False),
        ("10s", 10, False),
        ("24h", 86400, False),
        ("1h30m", 5400, False),
        ("9s", 900, True),
        ("25h", 900, True),
        ("1.5s", 900, True),
        ("15", 900, True),
        ("soon", 900, True),
    ],
)
def test_the_periodic_check_interval_is_a_go_duration_of_whole_seconds(value, seconds, warned):
    parsed = parse_settings({"etcdCorruptCheckInterval": value})
    assert parsed.settings.corrupt_check_interval == seconds
    warnings = [w.message for w in parsed.warnings if w.key == "etcdCorruptCheckInterval"]
    assert bool(warnings) is warned
    if warned:
        assert warnings[0].endswith("using 15m")
    config = _config_file(etcdImage="quay.io/coreos/etcd:v3.5.1", etcdCorruptCheckInterval=value)
    assert config["experimental-corrupt-check-time"] == seconds * 10**9
