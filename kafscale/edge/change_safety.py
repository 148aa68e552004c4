"""Preview's check of a change against the last deployment: does it replace the StatefulSet?

A replacement (pulumi-kubernetes' rules: kafscale/edge/change_effects.py) deletes every member at once;
unless the new pods find the old claims (disk mode, same names and namespace), their data is gone
for this cluster.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from kafscale.config import keys
from kafscale.config.settings import EtcdSettings, SettingsError, parse_settings
from kafscale.edge.change_effects import forces_replacement, replacement_keeps_data
from kafscale.objects.statefulset import statefulset


def replaces_statefulset(before: EtcdSettings, after: EtcdSettings) -> bool:
    return forces_replacement(
        "StatefulSet", statefulset(before, before.names), statefulset(after, after.names)
    )


SHOWN_MAX_CHARS = 80


def replacing_keys(before: Mapping[str, object], after: Mapping[str, object]) -> list[str]:
    """The config keys whose change from `before` to `after` (raw values by key) replaces the
    StatefulSet, each judged alone; every changed key when only their combination does."""
    old = _settings(before)
    new = _settings(after)
    if old is None or new is None or not (old.managed and new.managed):
        return []
    if not replaces_statefulset(old, new):
        return []
    changed = [key.name for key in keys.CONFIG_KEYS if before.get(key.name) != after.get(key.name)]
    alone = [
        name
        for name in changed
        if (one := _settings({**before, name: after.get(name)})) is not None
        and replaces_statefulset(old, one)
    ]
    return alone or changed


@dataclass(frozen=True)
class ReplacementProblems:
    warnings: tuple[str, ...]
    refusal: str | None


def replacement_problems(
    deployed: object, settings: EtcdSettings, secret_keys: frozenset[str] = frozenset()
) -> ReplacementProblems:
    """Against the `settings` output of the last deployment: a warning naming each setting that
    would replace the StatefulSet (a secret one without its values), and a refusal when the new
    members would start without the old members' data and etcdAllowReplacement is not set."""
    if not isinstance(deployed, Mapping) or not deployed:
        return ReplacementProblems((), None)
    switch = peer_tls_switch(deployed, settings) or auth_switch_off(deployed, settings)
    if switch is not None:
        return ReplacementProblems((), switch)
    current = settings.as_config_values()
    changed = replacing_keys(deployed, current)
    if not changed:
        return ReplacementProblems((), None)
    listed = ", ".join(
        f"{keys.NAMESPACE}:{name}"
        + ("" if name in secret_keys else f" ({_shown(deployed.get(name))} -> {_shown(current.get(name))})")
        for name in changed
    )
    before = _settings(deployed)
    loses_data = before is None or not replacement_keeps_data(before, settings)
    loss = (
        "every member is deleted at once and the new members start without its data (memory "
        "mode, or other claim names): they then restore the newest snapshot (writes after it "
        "are lost) or, without one, wait"
        if loses_data
        else "every member is deleted at once; the new members reuse the claims as they are "
        "(a new size or class applies only to new claims)"
    )
    warning = f"{listed} replaces the StatefulSet {settings.names.statefulset}: {loss}"
    if not settings.allow_replacement:
        lift = f"set {keys.ALLOW_REPLACEMENT.full_name}=true to replace it on purpose"
        if loses_data:
            return ReplacementProblems((), f"{warning}. Refused: {lift}, or undo the change")
        return ReplacementProblems(
            (f"{warning}. The StatefulSet is protected, so the update stops: {lift}",), None
        )
    return ReplacementProblems((warning,), None)


def peer_tls_switch(deployed: Mapping[str, object], settings: EtcdSettings) -> str | None:
    """A refusal when the change turns mutual TLS between members on or off for a deployed
    cluster: every member's peer URL changes scheme, and a member restarted on `https` cannot
    talk to one still on `http` (each refuses the other's handshake), so the rolling update
    loses quorum at its second member. etcd's documented road is to change each member's peer
    URLs with `member update` while it listens on both schemes (etcd.io/docs/v3.5/op-guide/
    runtime-configuration, "Update advertise peer URLs"); this program does not run it yet."""
    before = str(deployed.get(keys.PEER_TLS_SECRET.name) or "")  # a deployment before the key: off
    after = settings.peer_tls_secret
    if bool(before) == bool(after) or not settings.managed:
        return None
    turning = "on" if after else "off"
    return (
        f"{keys.PEER_TLS_SECRET.full_name} ({_shown(before)} -> {_shown(after)}) turns TLS between "
        f"members {turning} for the running cluster {settings.names.statefulset}: every member's peer "
        "URL changes scheme, and a rolling update loses quorum once a restarted member cannot talk to "
        "those not yet restarted. Refused: undo the change, or follow docs/security.md (Peer TLS, "
        "turning it on for a running cluster)"
    )


def auth_switch_off(deployed: Mapping[str, object], settings: EtcdSettings) -> str | None:
    """A refusal when etcdAuth goes from `on` straight to `off`: `off` removes root's credentials
    from every step and the Job that could disable auth, so etcd would keep refusing every client
    without a user, the program's own steps included. `disabling` runs that Job first."""
    before = str(deployed.get(keys.AUTH.name) or "off")  # a deployment before the key: off
    if before != "on" or settings.auth != "off" or not settings.managed:
        return None
    return (
        f'{keys.AUTH.full_name} ("on" -> "off") removes root\'s credentials from every step of '
        f"{settings.names.statefulset} while etcd still requires them. Refused: set "
        f"{keys.AUTH.full_name}=disabling first (its Job disables auth in etcd), then off "
        "(docs/security.md, Client authentication)"
    )


def _shown(value: object) -> str:
    """A deployed or current value for a message, cut short; one Python cannot print (an integer
    past 4,300 digits, nesting past its stack) is named as such."""
    try:
        text = json.dumps(value)
    except (ValueError, RecursionError):
        return "(a value too large to show)"
    return text if len(text) <= SHOWN_MAX_CHARS else f"{text[:SHOWN_MAX_CHARS]}... ({len(text)} characters)"


def _settings(raw: Mapping[str, object]) -> EtcdSettings | None:
    try:
        return parse_settings(raw).settings
    except SettingsError:
        return None
