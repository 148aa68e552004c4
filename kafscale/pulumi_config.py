"""The Pulumi edge of settings: read stack config, parse it, report warnings to the engine."""

from __future__ import annotations

import pulumi

from kafscale.config_keys import CONFIG_KEYS, NAMESPACE
from kafscale.settings import EtcdSettings, SettingsError, parse_settings
from kafscale.sizing import quota_warning, tmpfs_warning


def read_settings() -> EtcdSettings:
    """Effective settings from `kafscale:*` stack config.

    Each fallback becomes a `pulumi.log.warn`; a value that can only be a mistake stops the
    program with a one-line error (a RunError prints no traceback).
    """
    config = pulumi.Config(NAMESPACE)
    raw = {key.name: config.get(key.name) for key in CONFIG_KEYS}
    try:
        parsed = parse_settings(raw)
    except SettingsError as error:
        raise pulumi.RunError(str(error)) from None
    for warning in parsed.warnings:
        pulumi.log.warn(warning.message)
    for sizing_warning in (quota_warning(parsed.settings), tmpfs_warning(parsed.settings)):
        if sizing_warning is not None:
            pulumi.log.warn(sizing_warning)
    return parsed.settings
