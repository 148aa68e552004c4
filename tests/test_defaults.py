"""One source for every default: the declared keys. Everything else must agree with them."""

import pytest

from kafscale.config import keys, rules
from kafscale.config.rules import COMPACTION_MODES
from kafscale.config.settings import parse_settings
from kafscale.config.sizing import recommend
from kafscale.offline.cli import build_parser
from tests.support import run_cli


def test_parsing_every_declared_default_equals_parsing_an_empty_config():
    declared = parse_settings({key.name: key.default for key in keys.CONFIG_KEYS})
    assert declared.warnings == ()
    assert declared.settings == parse_settings({}).settings


@pytest.mark.parametrize("key", keys.CONFIG_KEYS, ids=lambda key: key.name)
def test_each_declared_default_passes_its_own_rule_silently(key):
    parsed = parse_settings({key.name: key.default})
    assert parsed.warnings == ()
    assert parsed.settings == parse_settings({}).settings


DEPRECATED = (keys.DEFRAG_SCHEDULE, keys.DEFRAG_ENABLED)  # folded into the maintenance settings


@pytest.mark.parametrize(
    "key", [key for key in keys.CONFIG_KEYS if key not in DEPRECATED], ids=lambda key: key.name
)
def test_the_settings_output_shows_each_default_as_its_rule_parses_it(key):
    shown = parse_settings({}).settings.as_config_values()[key.name]
    if key is keys.AUTO_COMPACTION_RETENTION:  # empty: the default of the mode
        expected = keys.DEFAULT_RETENTION_BY_MODE[keys.AUTO_COMPACTION_MODE.default_value]
    elif key is keys.POD_ANTI_AFFINITY:  # empty: the default of the storage mode
        expected = keys.DEFAULT_POD_ANTI_AFFINITY_BY_MEMORY[keys.STORAGE_MEMORY.default_value]
    elif key is keys.SNAPSHOT_BUCKET:  # empty: the operator's name for the default cluster
        expected = "kafscale-etcd-kafscale-kafscale"
    elif key is keys.DEPLOY_TIMEOUT_SEC:  # empty: the default for the member count
        expected = rules.default_deploy_timeout_s(keys.REPLICAS.default_value)
    elif key.default_value is None:
        expected = None if key is keys.EXPECTED_WRITE_RATE else ""
    elif isinstance(key.default_value, tuple):
        # Labels as their text, annotations as a map, every other list as a list.
        expected = {"LabelSelector": "", "Annotations": {}}.get(key.documented.attribute_type, [])
    else:
        expected = key.default_value
    assert shown == expected


@pytest.mark.parametrize("mode", COMPACTION_MODES)
def test_every_sizing_default_parses_cleanly_in_every_mode(mode):
    args = build_parser().parse_args(["sizing", "--write-rate", "100", "--mode", mode])
    parsed = parse_settings(
        {
            keys.AUTO_COMPACTION_MODE.name: args.mode,
            keys.AUTO_COMPACTION_RETENTION.name: args.retention,
            keys.MEMORY_HEADROOM.name: args.memory_headroom,
            keys.QUOTA_BACKEND_BYTES.name: args.quota,
        }
    )
    assert parsed.warnings == ()
    assert parsed.settings.auto_compaction_retention == keys.DEFAULT_RETENTION_BY_MODE[mode]
    assert parsed.settings.memory_headroom_bytes == keys.MEMORY_HEADROOM.default_value


def test_the_sizing_defaults_are_the_keys_defaults():
    args = build_parser().parse_args(["sizing", "--write-rate", "100"])
    assert args.mode == keys.AUTO_COMPACTION_MODE.default
    assert args.memory_headroom == keys.MEMORY_HEADROOM.default
    assert recommend(100, "periodic", "5m").memory_headroom_bytes == keys.MEMORY_HEADROOM.default_value


def test_sizing_in_revision_mode_uses_the_revision_default_retention():
    """Regression: the CLI's own default retention was the periodic one, which revision mode refuses."""
    result = run_cli("sizing", "--write-rate", "100", "--mode", "revision")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == (
        "write rate: 100 writes/s, revision compaction, retention 1000000"
    )


def test_sizing_shows_the_headroom_it_was_given_in_every_line():
    """Regression: the recommendation line named the default 512Mi headroom whatever was given."""
    result = run_cli("sizing", "--write-rate", "500", "--quota", "2Gi", "--memory-headroom", "1Gi")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "memory mode: request 2Gi, limit 3Gi (quota + 1Gi headroom)" in lines
    assert lines[-1].endswith("the limit 3Gi covers it")
