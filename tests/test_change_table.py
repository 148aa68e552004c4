"""docs/change-safety.md's table of what each setting's change does on a live stack, from pulumi-kubernetes'
replacement rules (kafscale/edge/change_effects.py cites them), and the preview check built on them."""

import pytest

from kafscale.config import keys
from kafscale.config.settings import parse_settings
from kafscale.edge.change_effects import (
    EXAMPLE_CHANGES,
    FORCE_NEW_BY_KIND,
    MEMBERS_REPLACED,
    change_table,
    example_effects,
    example_value,
    forces_replacement,
)
from kafscale.edge.change_safety import replacing_keys
from tests.support import PROJECT_DIR, render_objects, run_cli

CHANGE_DOC = (PROJECT_DIR / "docs" / "change-safety.md").read_text()


def test_the_change_page_holds_the_table_the_rules_give():
    assert change_table() in CHANGE_DOC


def test_the_changes_command_prints_it():
    result = run_cli("changes")
    assert (result.returncode, result.stdout, result.stderr) == (0, change_table(), "")


def test_every_key_has_an_example_change_that_is_a_real_value():
    """Each example is a value the key's rule accepts (no fallback warning) and a change."""
    assert list(EXAMPLE_CHANGES) == [key.name for key in keys.CONFIG_KEYS]
    deprecated = {keys.DEFRAG_SCHEDULE.name, keys.DEFRAG_ENABLED.name}  # accepted, with a warning
    for key in keys.CONFIG_KEYS:
        for memory in (True, False):
            base = {keys.STORAGE_MEMORY.name: str(memory).lower()}
            parsed = parse_settings({**base, key.name: example_value(key.name, memory)})
            assert [w.key for w in parsed.warnings if w.key == key.name and key.name not in deprecated] == []
            assert parsed.settings != parse_settings(base).settings, key.name


@pytest.mark.parametrize("path", FORCE_NEW_BY_KIND["StatefulSet"])
def test_a_change_of_each_statefulset_field_in_the_rules_is_a_replacement(path):
    """pulumi-kubernetes provider/pkg/provider/diff.go: `statefulSet` lists exactly these."""
    statefulset = render_objects().get("StatefulSet", "kafscale-etcd")
    section, field = path.strip(".").split(".")
    changed = {**statefulset, section: {**statefulset[section], field: "changed"}}
    assert forces_replacement("StatefulSet", statefulset, changed)
    template = {**statefulset, "spec": {**statefulset["spec"], "template": {}}}
    assert not forces_replacement("StatefulSet", statefulset, template)  # the pod template: in place


@pytest.mark.parametrize("key", [key.name for key in keys.CONFIG_KEYS])
@pytest.mark.parametrize("memory", [True, False], ids=["memory", "disk"])
def test_preview_names_exactly_the_keys_the_table_says_replace_the_statefulset(key, memory):
    base = {keys.STORAGE_MEMORY.name: memory}
    before = parse_settings(base).settings.as_config_values()
    after = parse_settings({**base, key: example_value(key, memory)}).settings.as_config_values()
    named = replacing_keys(before, after)
    if example_effects(key, memory).members == MEMBERS_REPLACED:
        assert key in named
    else:
        assert named == []
