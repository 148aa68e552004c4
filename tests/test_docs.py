"""README, Pulumi.yaml and the code must describe the same keys, defaults and dev stack."""

import re

import yaml

from kafscale.config_keys import CONFIG_KEYS
from tests.support import PROJECT_DIR

README = (PROJECT_DIR / "README.md").read_text()
PROJECT = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())
DEV_STACK = yaml.safe_load((PROJECT_DIR / "Pulumi.dev.yaml").read_text())


def _table_rows(first_header: str) -> list[list[str]]:
    """Rows of the README table whose header row starts with `| first_header |`."""
    lines = README.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def _code(cell: str) -> str:
    match = re.fullmatch(r"`([^`]*)`", cell)
    return match.group(1) if match else ""


def test_readme_settings_table_lists_exactly_the_declared_keys_with_env_vars_and_defaults():
    rows = {_code(row[0]): row for row in _table_rows("key | operator env var")}
    assert list(rows) == [key.full_name for key in CONFIG_KEYS]
    for key in CONFIG_KEYS:
        _, env_cell, default_cell, rule = rows[key.full_name]
        assert env_cell == (f"`{key.env_var}`" if key.env_var else "—")
        if key.default:
            assert default_cell == f"`{key.default}`"
        else:
            assert default_cell.startswith("(empty")
        assert rule


def test_pulumi_yaml_declares_every_key_with_the_same_default_and_a_description():
    declared = PROJECT["config"]
    assert list(declared) == [key.name for key in CONFIG_KEYS]
    for key in CONFIG_KEYS:
        declaration = declared[key.name]
        assert declaration["default"] == key.default, key.name
        assert declaration["description"].strip()
        assert declaration.get("type") in ("string", None)


def test_env_var_names_follow_the_naming_rule():
    assert {key.name: key.env_var for key in CONFIG_KEYS if key.env_var} == {
        "etcdEndpoints": "KAFSCALE_OPERATOR_ETCD_ENDPOINTS",
        "etcdImage": "KAFSCALE_OPERATOR_ETCD_IMAGE",
        "etcdReplicas": "KAFSCALE_OPERATOR_ETCD_REPLICAS",
        "etcdStorageSize": "KAFSCALE_OPERATOR_ETCD_STORAGE_SIZE",
        "etcdStorageClass": "KAFSCALE_OPERATOR_ETCD_STORAGE_CLASS",
        "etcdStorageMemory": "KAFSCALE_OPERATOR_ETCD_STORAGE_MEMORY",
        "etcdAutoCompactionMode": "KAFSCALE_OPERATOR_ETCD_AUTO_COMPACTION_MODE",
        "etcdAutoCompactionRetention": "KAFSCALE_OPERATOR_ETCD_AUTO_COMPACTION_RETENTION",
        "etcdQuotaBackendBytes": "KAFSCALE_OPERATOR_ETCD_QUOTA_BACKEND_BYTES",
        "etcdMaintenanceEnabled": "KAFSCALE_OPERATOR_ETCD_MAINTENANCE_ENABLED",
        "etcdMaintenanceSchedule": "KAFSCALE_OPERATOR_ETCD_MAINTENANCE_SCHEDULE",
        "etcdMaintenanceCheckSchedule": "KAFSCALE_OPERATOR_ETCD_MAINTENANCE_CHECK_SCHEDULE",
        "etcdMaintenanceSizeThresholdPct": "KAFSCALE_OPERATOR_ETCD_MAINTENANCE_SIZE_THRESHOLD_PCT",
        "etcdDefragSchedule": "KAFSCALE_OPERATOR_ETCD_DEFRAG_SCHEDULE",
        "etcdDefragEnabled": "KAFSCALE_OPERATOR_ETCD_DEFRAG_ENABLED",
        "etcdSnapshotEtcdctlImage": "KAFSCALE_OPERATOR_ETCD_SNAPSHOT_ETCDCTL_IMAGE",
        "etcdSnapshotBucket": "KAFSCALE_OPERATOR_ETCD_SNAPSHOT_BUCKET",
        "etcdSnapshotPrefix": "KAFSCALE_OPERATOR_ETCD_SNAPSHOT_PREFIX",
        "etcdSnapshotSchedule": "KAFSCALE_OPERATOR_ETCD_SNAPSHOT_SCHEDULE",
        "etcdSnapshotImage": "KAFSCALE_OPERATOR_ETCD_SNAPSHOT_IMAGE",
        "etcdSnapshotS3Endpoint": "KAFSCALE_OPERATOR_ETCD_SNAPSHOT_S3_ENDPOINT",
        "etcdSnapshotStaleAfterSec": "KAFSCALE_OPERATOR_ETCD_SNAPSHOT_STALE_AFTER_SEC",
        "etcdSnapshotCreateBucket": "KAFSCALE_OPERATOR_ETCD_SNAPSHOT_CREATE_BUCKET",
        "etcdSnapshotProtectBucket": "KAFSCALE_OPERATOR_ETCD_SNAPSHOT_PROTECT_BUCKET",
    }


def test_every_dev_stack_value_is_documented_in_the_readme():
    documented = {_code(row[0]): row[1] for row in _table_rows("key | value | why")}
    stack_values = DEV_STACK["config"]
    assert set(documented) == set(stack_values)
    for key, value in stack_values.items():
        expected = str(value).lower() if isinstance(value, bool) else str(value)
        assert _code(documented[key]).strip('"') == expected, key


def test_readme_names_the_commands_that_exist():
    makefile = (PROJECT_DIR / "Makefile").read_text()
    for target in ("render", "test", "test-fast"):
        assert f"make {target}" in README
        assert re.search(rf"^{target}:", makefile, re.MULTILINE), target
    assert "make test" in (PROJECT_DIR / ".ci" / "run").read_text()


def test_the_readme_states_the_limits_the_rules_keep():
    from kafscale.quantities import format_binary_si
    from kafscale.rules import MAX_BACKEND_BYTES, MAX_REPLICAS, MAX_WRITE_RATE, MIN_PERIODIC_RETENTION_NANOS

    assert f"whole number from 1 to {MAX_REPLICAS}" in README
    assert f"from 1 byte to `{format_binary_si(MAX_BACKEND_BYTES)}`" in README
    assert f"up to {MAX_WRITE_RATE:,.0f}" in README
    assert MIN_PERIODIC_RETENTION_NANOS == 10**9 and "at least `1s`" in README
