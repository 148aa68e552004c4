import pytest

from kafscale.config.settings import parse_settings


@pytest.mark.parametrize(
    ("raw", "enabled", "warned_keys"),
    [
        ({}, True, []),
        ({"etcdMaintenanceEnabled": "off"}, False, []),
        ({"etcdMaintenanceEnabled": "FALSE"}, False, []),
        ({"etcdMaintenanceEnabled": "yes"}, True, []),
        ({"etcdMaintenanceEnabled": "sometimes"}, True, ["etcdMaintenanceEnabled"]),
        ({"etcdDefragEnabled": "false"}, False, ["etcdDefragEnabled"]),
        ({"etcdDefragEnabled": "true"}, True, ["etcdDefragEnabled"]),
        ({"etcdMaintenanceEnabled": "true", "etcdDefragEnabled": "no"}, False, ["etcdDefragEnabled"]),
    ],
)
def test_maintenance_switch_and_its_deprecated_alias(raw, enabled, warned_keys):
    parsed = parse_settings(raw)
    assert parsed.settings.maintenance_enabled is enabled
    assert [w.key for w in parsed.warnings] == warned_keys


def test_deprecated_defrag_schedule_is_used_when_the_new_key_is_empty():
    parsed = parse_settings({"etcdDefragSchedule": "0 3 * * *"})
    assert parsed.settings.maintenance_schedule == "0 3 * * *"
    assert [w.key for w in parsed.warnings] == ["etcdDefragSchedule"]
    assert "deprecated" in parsed.warnings[0].message


def test_deprecated_defrag_schedule_is_ignored_when_the_new_key_is_set():
    parsed = parse_settings({"etcdDefragSchedule": "0 3 * * *", "etcdMaintenanceSchedule": "0 4 * * *"})
    assert parsed.settings.maintenance_schedule == "0 4 * * *"
    assert [w.key for w in parsed.warnings] == ["etcdDefragSchedule"]
    assert "ignored" in parsed.warnings[0].message


@pytest.mark.parametrize(
    ("key", "raw", "field", "used"),
    [
        ("etcdMaintenanceSchedule", "every 6 hours", "maintenance_schedule", "0 */6 * * *"),
        ("etcdMaintenanceSchedule", "0 */6 * *", "maintenance_schedule", "0 */6 * * *"),
        ("etcdDefragSchedule", "61 * * * *", "maintenance_schedule", "0 */6 * * *"),
        ("etcdMaintenanceCheckSchedule", "@every 5s", "maintenance_check_schedule", "*/15 * * * *"),
        ("etcdMaintenanceSizeThresholdPct", "0", "maintenance_size_threshold_pct", 75),
        ("etcdMaintenanceSizeThresholdPct", "101", "maintenance_size_threshold_pct", 75),
        ("etcdMaintenanceSizeThresholdPct", "half", "maintenance_size_threshold_pct", 75),
    ],
)
def test_bad_maintenance_values_fall_back_with_a_warning(key, raw, field, used):
    parsed = parse_settings({key: raw})
    assert getattr(parsed.settings, field) == used
    assert key in [w.key for w in parsed.warnings]
    assert any(w.message.endswith(f"using {used}") for w in parsed.warnings)


def test_good_maintenance_values_are_used():
    parsed = parse_settings(
        {
            "etcdMaintenanceSchedule": "  30 1 * * SUN ",
            "etcdMaintenanceCheckSchedule": "@hourly",
            "etcdMaintenanceSizeThresholdPct": "90",
            "etcdSnapshotEtcdctlImage": "registry.example/etcd-tools:1.2",
        }
    )
    assert parsed.warnings == ()
    assert parsed.settings.maintenance_schedule == "30 1 * * SUN"
    assert parsed.settings.maintenance_check_schedule == "@hourly"
    assert parsed.settings.maintenance_size_threshold_pct == 90
    assert parsed.settings.snapshot_etcdctl_image == "registry.example/etcd-tools:1.2"
