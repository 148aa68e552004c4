"""Pod placement: hard anti-affinity by default in memory mode, the operator's soft rule in disk
mode, and an optional zone spread."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kafscale.config import keys
from kafscale.config.settings import EtcdSettings, parse_settings
from kafscale.objects.placement import pod_placement

SELECTOR = {"matchLabels": {"app": "kafscale-etcd", "cluster": "kafscale"}}
REQUIRED = {
    "podAntiAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [
            {"topologyKey": "kubernetes.io/hostname", "labelSelector": SELECTOR}
        ]
    }
}
# The KafScale operator's rule, field for field.
PREFERRED = {
    "podAntiAffinity": {
        "preferredDuringSchedulingIgnoredDuringExecution": [
            {
                "weight": 100,
                "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname", "labelSelector": SELECTOR},
            }
        ]
    }
}
ZONE_SPREAD = [
    {
        "maxSkew": 1,
        "topologyKey": "topology.kubernetes.io/zone",
        "whenUnsatisfiable": "ScheduleAnyway",
        "labelSelector": SELECTOR,
    }
]
MODES = {"disk": "false", "memory": "true"}


def _settings(**raw: str) -> EtcdSettings:
    parsed = parse_settings(raw)
    assert parsed.warnings == ()
    return parsed.settings


def _placement(settings: EtcdSettings) -> dict[str, object]:
    return pod_placement(settings, settings.names)


def test_disk_mode_keeps_the_operators_soft_rule_by_default():
    settings = _settings()
    assert settings.pod_anti_affinity == "preferred"
    assert _placement(settings) == {"affinity": PREFERRED}


def test_memory_mode_requires_distinct_nodes_by_default():
    settings = _settings(etcdStorageMemory="true")
    assert settings.pod_anti_affinity == "required"
    assert _placement(settings) == {"affinity": REQUIRED}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("value", "affinity"),
    [("required", REQUIRED), ("preferred", PREFERRED), (" Required ", REQUIRED), ("PREFERRED", PREFERRED)],
)
def test_an_explicit_choice_holds_in_either_mode(mode, value, affinity):
    settings = _settings(etcdStorageMemory=MODES[mode], etcdPodAntiAffinity=value)
    assert settings.pod_anti_affinity == value.strip().lower()
    assert _placement(settings) == {"affinity": affinity}


@pytest.mark.parametrize(("mode", "affinity"), [("disk", PREFERRED), ("memory", REQUIRED)])
def test_zone_spread_adds_a_soft_zone_constraint_beside_the_anti_affinity(mode, affinity):
    settings = _settings(etcdStorageMemory=MODES[mode], etcdZoneSpread="true")
    assert settings.zone_spread is True
    assert _placement(settings) == {"affinity": affinity, "topologySpreadConstraints": ZONE_SPREAD}


@pytest.mark.parametrize("value", ["", "false", "off", "0"])
def test_without_zone_spread_there_are_no_spread_constraints(value):
    assert "topologySpreadConstraints" not in _placement(_settings(etcdZoneSpread=value))


def test_placement_selects_this_clusters_members_only():
    settings = _settings(clusterName="orders", etcdPodAntiAffinity="required", etcdZoneSpread="yes")
    selector = {"matchLabels": {"app": "kafscale-etcd", "cluster": "orders"}}
    placement: Any = _placement(settings)
    terms = placement["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert [term["labelSelector"] for term in terms] == [selector]
    assert [one["labelSelector"] for one in placement["topologySpreadConstraints"]] == [selector]


@pytest.mark.parametrize(("mode", "used"), [("disk", "preferred"), ("memory", "required")])
@pytest.mark.parametrize("value", ["soft", "hard", "anti", "required,preferred"])
def test_a_bad_choice_falls_back_to_the_modes_default_with_a_warning(mode, used, value):
    parsed = parse_settings({"etcdStorageMemory": MODES[mode], "etcdPodAntiAffinity": value})
    assert parsed.settings.pod_anti_affinity == used
    (warning,) = parsed.warnings
    assert warning.key == "etcdPodAntiAffinity"
    assert warning.value == value
    assert warning.used == used
    assert warning.message == (
        f"kafscale:etcdPodAntiAffinity: {json.dumps(value)} is not required or preferred; using {used}"
    )


@pytest.mark.parametrize(("mode", "used"), [("disk", "preferred"), ("memory", "required")])
def test_a_blank_choice_falls_back_to_the_modes_default_with_a_warning(mode, used):
    parsed = parse_settings({"etcdStorageMemory": MODES[mode], "etcdPodAntiAffinity": "  "})
    assert parsed.settings.pod_anti_affinity == used
    (warning,) = parsed.warnings
    assert warning.message == f'kafscale:etcdPodAntiAffinity: "  " is blank; using {used}'


def test_a_bad_zone_spread_word_is_false_with_a_warning():
    parsed = parse_settings({"etcdZoneSpread": "zones"})
    assert parsed.settings.zone_spread is False
    (warning,) = parsed.warnings
    assert warning.message == (f'kafscale:etcdZoneSpread: "zones" {keys.BOOLEAN_REASON}; using false')
    assert "topologySpreadConstraints" not in _placement(parsed.settings)


@pytest.mark.parametrize(("mode", "shown"), [("disk", "preferred"), ("memory", "required")])
def test_the_settings_output_shows_the_effective_choice(mode, shown):
    values = _settings(etcdStorageMemory=MODES[mode]).as_config_values()
    assert values["etcdPodAntiAffinity"] == shown
    assert values["etcdZoneSpread"] is False


def test_the_mode_defaults_are_declared_once():
    assert keys.POD_ANTI_AFFINITY.default == ""
    assert keys.DEFAULT_POD_ANTI_AFFINITY_BY_MEMORY == {True: "required", False: "preferred"}
    assert keys.ZONE_SPREAD.default_value is False
    assert keys.POD_ANTI_AFFINITY.env_var is None and keys.ZONE_SPREAD.env_var is None
