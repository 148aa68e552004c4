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
    """A refusal when the change moves the members' peer URLs between http and https while the
    members would not hold a peer certificate both before and after it. A member without one cannot
    dial an https peer, so a rolling update that switched members one at a time would lose quorum
    at its second member. With a certificate on both sides, each member changes its own peer URL
    with `member update` as the rolling update restarts it (etcd.io/docs/v3.5/op-guide/
    runtime-configuration, "Update advertise peer URLs"; scripts/etcd-member.sh `switch_peer_url`):
    a member that holds the certificate dials both schemes (etcd's peer transport takes the TLS
    files whatever its listener's scheme: server/embed/etcd.go `configurePeerListeners` ignores
    them only for an http listener)."""
    if not settings.managed:
        return None
    # A deployment before a key had it at its default: no certificate, scheme `auto`.
    held_before = bool(deployed.get(keys.PEER_TLS_SECRET.name))
    scheme_before = str(deployed.get(keys.PEER_URL_SCHEME.name) or "auto")
    before = "https" if held_before and scheme_before == "auto" else "http"
    if before == settings.peer_scheme or (held_before and settings.peer_tls_secret):
        return None
    return (
        f"{keys.PEER_TLS_SECRET.full_name} ({_shown(deployed.get(keys.PEER_TLS_SECRET.name) or '')} -> "
        f"{_shown(settings.peer_tls_secret)}) with {keys.PEER_URL_SCHEME.full_name} "
        f"({_shown(scheme_before)} -> {_shown(settings.peer_url_scheme)}) moves the peer URLs of the "
        f"running cluster {settings.names.statefulset} from {before} to {settings.peer_scheme} while "
        "some member holds no peer certificate, and a member without one cannot dial an https peer: "
        "the rolling update would lose quorum. Refused: undo the change, or go through "
        f"{keys.PEER_URL_SCHEME.full_name}=http with the certificate first (docs/security.md, "
        "Turning peer TLS on or off for a running cluster)"
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
