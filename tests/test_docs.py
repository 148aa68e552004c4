"""The README, docs/ and Pulumi.yaml describe the same keys, defaults and dev stack as the code, and
every link in them resolves."""

import re

import pytest
import yaml

from kafscale.config.keys import CONFIG_KEYS
from tests.support import PROJECT_DIR

README = (PROJECT_DIR / "README.md").read_text()
SETTINGS_DOC = (PROJECT_DIR / "docs" / "settings.md").read_text()
PROJECT = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())
DEV_STACK = yaml.safe_load((PROJECT_DIR / "Pulumi.dev.yaml").read_text())


def _table_rows(first_header: str, text: str = README) -> list[list[str]]:
    """Rows of every table in `text` whose header row starts with `| first_header |`."""
    lines = text.splitlines()
    rows = []
    for start in (i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |")):
        for line in lines[start + 2 :]:
            if not line.startswith("|"):
                break
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def _code(cell: str) -> str:
    match = re.fullmatch(r"`([^`]*)`", cell)
    return match.group(1) if match else ""


def test_the_settings_page_lists_every_key_once_with_its_env_var_and_default():
    rows = {_code(row[0]): row for row in _table_rows("key | operator env var", SETTINGS_DOC)}
    assert sorted(rows) == sorted(key.full_name for key in CONFIG_KEYS)
    assert len(_table_rows("key | operator env var", SETTINGS_DOC)) == len(CONFIG_KEYS)
    for key in CONFIG_KEYS:
        _, env_cell, default_cell, rule = rows[key.full_name]
        assert env_cell == (f"`{key.env_var}`" if key.env_var else "— (ours)")
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
    for target in ("render", "test", "test-fast", "soak", "lint", "fmt", "generate"):
        assert f"make {target}" in README
        assert re.search(rf"^{target}:", makefile, re.MULTILINE), target
    assert "make test" in (PROJECT_DIR / ".ci" / "run").read_text()


def test_the_settings_page_states_the_limits_the_rules_keep():
    from kafscale.config.quantities import format_binary_si
    from kafscale.config.rules import (
        MAX_BACKEND_BYTES,
        MAX_REPLICAS,
        MAX_WRITE_RATE,
        MIN_PERIODIC_RETENTION_NANOS,
    )

    assert f"whole number from 1 to {MAX_REPLICAS}" in SETTINGS_DOC
    assert f"from 1 byte to `{format_binary_si(MAX_BACKEND_BYTES)}`" in SETTINGS_DOC
    assert f"up to {MAX_WRITE_RATE:,.0f}" in SETTINGS_DOC
    assert MIN_PERIODIC_RETENTION_NANOS == 10**9 and "at least `1s`" in SETTINGS_DOC


MARKDOWN_PAGES = sorted([PROJECT_DIR / "README.md", *(PROJECT_DIR / "docs").glob("*.md")])
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _anchors(text: str) -> set[str]:
    """GitHub's anchors for a page's headings (fenced code left out)."""
    anchors, fenced = set(), False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        heading = re.match(r"^#+ (.*)$", line)
        if heading and not fenced:
            anchors.add(re.sub(r"[^\w\- ]", "", heading.group(1).strip().lower()).replace(" ", "-"))
    return anchors


def _links(text: str) -> list[str]:
    fenced, found = False, []
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced:
            found.extend(LINK.findall(line))
    return found


@pytest.mark.parametrize("page", MARKDOWN_PAGES, ids=lambda p: p.name)
def test_every_relative_link_resolves_to_a_file_and_heading(page):
    for target in _links(page.read_text()):
        if re.match(r"^[a-z]+:", target):
            continue  # an external URL
        path, _, anchor = target.partition("#")
        destination = (page.parent / path).resolve() if path else page
        assert destination.exists(), f"{page.name}: {target}"
        if anchor:
            assert anchor in _anchors(destination.read_text()), f"{page.name}: {target}"


def test_the_readme_is_a_front_door():
    """About 200 lines at most: what it is, a quick start, the outputs, a component example, the
    common keys and links; everything else is a docs page the README links."""
    assert len(README.splitlines()) <= 200
    for page in (PROJECT_DIR / "docs").glob("*.md"):
        assert f"(docs/{page.name})" in README, page.name


def test_the_version_is_one_everywhere():
    """pyproject.toml's version is the newest CHANGELOG entry, and every install line pins its tag."""
    from kafscale.package_version import package_version

    version = package_version()
    changelog = (PROJECT_DIR / "CHANGELOG.md").read_text()
    newest = re.search(r"^## (\S+) \(", changelog, re.MULTILINE)
    assert newest is not None and newest.group(1) == version
    pins = [
        pin
        for page in [PROJECT_DIR / "README.md", *(PROJECT_DIR / "docs").glob("*.md")]
        for pin in re.findall(r"@v([0-9][0-9A-Za-z.+-]*)", page.read_text())
    ]
    assert pins and set(pins) == {version}
