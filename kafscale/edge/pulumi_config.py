"""The Pulumi edge of settings: the component's args from `kafscale:*` stack config."""

from __future__ import annotations

import pulumi
from pulumi.runtime.config import is_config_secret

from kafscale.config.keys import CONFIG_KEYS, NAMESPACE
from kafscale.edge.component_args import LAST_DEPLOYED_SETTINGS, ManagedEtcdArgs

KEYS_BY_INPUT = {key.input_field: key for key in CONFIG_KEYS}


def takes_outputs(field: str) -> bool:
    """Whether a component input may be another resource's output (else it must be plain)."""
    return field == LAST_DEPLOYED_SETTINGS or KEYS_BY_INPUT[field].documented.takes_outputs


def config_values(args: ManagedEtcdArgs) -> dict[str, object]:
    """The given inputs keyed by config key (`etcdReplicas`, ...), unset ones left out."""
    given: dict[str, object] = dict(args)
    return {key.name: given[key.input_field] for key in CONFIG_KEYS if given.get(key.input_field) is not None}


def read_args() -> ManagedEtcdArgs:
    """Every `kafscale:*` key that is set, as the component's args: a key set with `--secret`
    stays a secret output (so is everything made from it), and the stack's own last deployed
    `settings` output lets preview name a change that would replace the StatefulSet.

    A secret on a key that must be plain (it decides which objects exist or how they are named)
    cannot stay secret: one error line says so.
    """
    config = pulumi.Config(NAMESPACE)
    args: dict[str, object] = {}
    for key in CONFIG_KEYS:
        value = config.get(key.name)
        if value is None:
            continue
        field = key.input_field
        if is_config_secret(key.full_name):
            if not takes_outputs(field):
                raise pulumi.RunError(
                    f"{key.full_name} is set with --secret, but it decides which objects exist or how "
                    "they are named, which no secret can hide: set it without --secret"
                )
            args[field] = pulumi.Output.secret(value)
        else:
            args[field] = value
    args[LAST_DEPLOYED_SETTINGS] = last_deployed_settings()
    return ManagedEtcdArgs(**args)  # type: ignore[typeddict-item]


def last_deployed_settings(output: str = "settings") -> pulumi.Output[object]:
    """The stack output `output` (a component's `settings`) of this stack's last deployment, none
    before the first: a StackReference to the stack itself, which the engine reads from the last
    checkpoint, in preview too (pulumi/pulumi pkg/resource/deploy/builtins.go
    `readStackReference`). Each output gets its own StackReference, named after it: one name
    registered twice would stop the program."""
    this_stack = f"{pulumi.get_organization()}/{pulumi.get_project()}/{pulumi.get_stack()}"
    reference = pulumi.StackReference(f"last-deployment-{output}", stack_name=this_stack)
    return reference.get_output(output)
