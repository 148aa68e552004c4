"""The Pulumi component: one Kubernetes resource per built manifest, parented to it.

Also the component a multi-language package hosts (provider/__main__.py): Pulumi's analyzer reads
the annotations and docstrings of `ManagedEtcd` (outputs) and `ManagedEtcdArgs` (inputs).
"""

# No `from __future__ import annotations`: the analyzer reads these annotations as types.
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random

from kafscale.config.image_pinning import pinning_warning
from kafscale.config.keys import NAMESPACE, snake_case
from kafscale.config.rules import shown
from kafscale.config.settings import EtcdSettings, SettingsError, parse_settings
from kafscale.config.sizing import quota_warning, tmpfs_warning
from kafscale.edge.change_safety import replacement_problems
from kafscale.edge.component_args import LAST_DEPLOYED_SETTINGS, ManagedEtcdArgs
from kafscale.edge.pulumi_config import config_values, takes_outputs
from kafscale.objects.auth import (
    auth_users,
    credentials_secret_name,
    generated_users,
    holds_passwords,
    with_passwords,
)
from kafscale.objects.composition import Manifest, ObjectKey, apply_after, managed_etcd_manifests
from kafscale.objects.membership import IDENTITY_BYTES, with_identity
from kafscale.package_version import DISTRIBUTION

PACKAGE_NAME = DISTRIBUTION  # the pip distribution and the Pulumi package
COMPONENT_TYPE = f"{PACKAGE_NAME}:index:ManagedEtcd"
# The type (and child names: the Kubernetes object names) of the component before it was a
# package: aliases keep the resources of stacks deployed then.
LEGACY_COMPONENT_TYPE = "kafscale:etcd:ManagedEtcd"

_RESOURCE_CLASSES: dict[tuple[str, str], Callable[..., pulumi.CustomResource]] = {
    ("v1", "Namespace"): k8s.core.v1.Namespace,
    ("v1", "ServiceAccount"): k8s.core.v1.ServiceAccount,
    ("v1", "ConfigMap"): k8s.core.v1.ConfigMap,
    ("v1", "Secret"): k8s.core.v1.Secret,
    ("v1", "Service"): k8s.core.v1.Service,
    ("batch/v1", "Job"): k8s.batch.v1.Job,
    ("apps/v1", "StatefulSet"): k8s.apps.v1.StatefulSet,
    ("policy/v1", "PodDisruptionBudget"): k8s.policy.v1.PodDisruptionBudget,
    ("batch/v1", "CronJob"): k8s.batch.v1.CronJob,
    ("networking.k8s.io/v1", "NetworkPolicy"): k8s.networking.v1.NetworkPolicy,
}


class ManagedEtcd(pulumi.ComponentResource):
    """The etcd behind one KafScale cluster: provisioned in-cluster (Services, StatefulSet, PodDisruptionBudget, NetworkPolicy, maintenance and snapshot CronJobs, monitoring), or only named when external endpoints are given."""

    client_endpoints: pulumi.Output[list[str]]
    """What KafScale's brokers use: the client Service's URL, or the external endpoints."""
    member_endpoints: pulumi.Output[list[str]]
    """One client URL per member, through the headless Service (the external endpoints when given)."""
    stateful_set_name: pulumi.Output[str | None]
    """The StatefulSet's name; none when external endpoints are given."""
    managed: pulumi.Output[bool]
    """True when this component provisions etcd, false when external endpoints are given."""
    settings: pulumi.Output[dict[str, Any]]
    """The effective value of every setting, keyed by its stack config key; secret when any input is."""
    credentials_secrets: pulumi.Output[dict[str, str]]
    """With etcdAuth, each etcd user's Secret (ETCD_USERNAME, ETCD_PASSWORD) by user name: kafscale, kafscale-console, root; empty without it."""

    def __init__(self, name: str, args: ManagedEtcdArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        legacy = pulumi.Alias(type_=LEGACY_COMPONENT_TYPE)
        super().__init__(COMPONENT_TYPE, name, None, _with_aliases(opts, [legacy]))
        given = config_values(args)
        later = {key: value for key, value in given.items() if _is_output(value)}
        for key in later:
            if not takes_outputs(snake_case(key)):
                raise pulumi.RunError(
                    f"{NAMESPACE}:{key} decides which objects exist and how they are named or kept: "
                    "it must be a plain value, not an output (or a secret)"
                )
        now = {key: value for key, value in given.items() if key not in later}
        # The shape (which objects, their names, protect and timeouts) comes from the plain values.
        shape = _parsed(now, report=not later)
        # The keys whose value is a secret: never shown in a warning or an error.
        secret_keys: pulumi.Output[frozenset[str]] = _secret_keys(later)
        settings: pulumi.Output[EtcdSettings] = (
            pulumi.Output.all(pulumi.Output.all(**later), secret_keys).apply(
                lambda pair: _parsed({**now, **pair[0]}, report=True, hidden=_texts(pair[0], pair[1]))
            )
            if later
            else pulumi.Output.from_input(shape)  # type: ignore[arg-type]
        )
        deployed = args.get(LAST_DEPLOYED_SETTINGS)
        # A bool: never secret, though the settings compared may be (unsecret keeps the
        # StatefulSet's metadata, which waits for it, in plain text).
        checked = (
            pulumi.Output.unsecret(
                pulumi.Output.all(pulumi.Output.from_input(deployed), settings, secret_keys).apply(
                    lambda values: _refuse_replacement(values[0], values[1], values[2])
                )
            )
            if deployed is not None
            else None
        )

        created = self._create_children(name, opts, shape, settings if later else None, checked)
        self.managed = pulumi.Output.from_input(shape.managed)
        self.credentials_secrets = pulumi.Output.from_input(
            {user: credentials_secret_name(shape, shape.names, user) for user in auth_users(shape)}
        )
        self.settings = settings.apply(lambda effective: effective.as_config_values())
        if shape.managed:
            names = shape.names
            statefulset = cast(k8s.apps.v1.StatefulSet, created[("StatefulSet", names.statefulset)])
            client = [created[("Service", names.client_service)], statefulset]
            members = [created[("Service", names.headless_service)], statefulset]
            self.client_endpoints = _after(client, settings.apply(lambda s: [s.names.client_url]))
            self.member_endpoints = _after(
                members, settings.apply(lambda s: s.names.member_client_urls(s.replicas))
            )
            self.stateful_set_name = statefulset.metadata.apply(lambda metadata: metadata.name)
        else:
            self.client_endpoints = settings.apply(lambda s: list(s.endpoints))
            self.member_endpoints = settings.apply(lambda s: list(s.endpoints))
            self.stateful_set_name = pulumi.Output.from_input(None)
        self.register_outputs(
            {
                "clientEndpoints": self.client_endpoints,
                "memberEndpoints": self.member_endpoints,
                "statefulSetName": self.stateful_set_name,
                "managed": self.managed,
                "credentialsSecrets": self.credentials_secrets,
                "settings": self.settings,
                **({"replacementChecked": checked} if checked is not None else {}),
            }
        )

    def _create_children(
        self,
        name: str,
        opts: pulumi.ResourceOptions | None,
        shape: EtcdSettings,
        settings: pulumi.Output[EtcdSettings] | None,
        checked: pulumi.Output[bool] | None,
    ) -> dict[ObjectKey, pulumi.CustomResource]:
        """One resource per manifest of `shape`; its fields from `settings` when some input is
        an output (the same objects, with every value known only then)."""
        if not shape.managed:
            return {}
        # Not the organization: moving a stack between backends changes it, not the cluster.
        deployment = f"{pulumi.get_project()}/{pulumi.get_stack()}"
        manifests = managed_etcd_manifests(shape, deployment)
        shape_keys = [_key(manifest) for manifest in manifests]
        later = (
            settings.apply(lambda s: _same_shape(managed_etcd_manifests(s, deployment), shape_keys))
            if settings
            else None
        )
        order = apply_after(shape)
        legacy_parent = pulumi.create_urn(name, LEGACY_COMPONENT_TYPE, parent=opts.parent if opts else None)
        created: dict[ObjectKey, pulumi.CustomResource] = {}
        # Drawn once and kept in the stack's state: a first bootstrap's token ends with it, so a
        # cluster bootstrapped after a `pulumi destroy` never shares the cluster ID of the one
        # before it. Replacing it changes nothing a running member reads (docs/membership.md).
        identity = pulumi_random.RandomId(
            f"{name}-identity", byte_length=IDENTITY_BYTES, opts=pulumi.ResourceOptions(parent=self)
        )
        # etcd users' passwords (etcdAuth), drawn once per stack and kept in its state as secrets;
        # `pulumi up --replace` of one rotates it (docs/security.md, "Rotation").
        passwords = {
            user: pulumi_random.RandomPassword(
                f"{name}-{user}-password", length=32, special=False, opts=pulumi.ResourceOptions(parent=self)
            ).result
            for user in generated_users(shape)
        }
        members_key = ("ConfigMap", shape.names.members_configmap)
        statefulset_key = ("StatefulSet", shape.names.statefulset)
        marker_key = ("ConfigMap", shape.names.bootstrap_marker)
        for index, manifest in enumerate(manifests):
            key = _key(manifest)
            # The SDK's classes take top-level fields in snake_case (automount_service_account_token).
            manifest_fields = [field for field in manifest if field not in ("apiVersion", "kind")]
            fields: dict[str, Any] = {snake_case(field): manifest[field] for field in manifest_fields}
            if later is not None:
                fields = {
                    snake_case(field): later.apply(_field_of(index, field)) for field in manifest_fields
                }
            options = pulumi.ResourceOptions(
                parent=self,
                depends_on=[created[dependency] for dependency in order.get(key, ())],
                aliases=[pulumi.Alias(name=key[1], parent=legacy_parent)],
            )
            if key == members_key:
                fields["data"] = pulumi.Output.all(identity.hex, fields["data"]).apply(
                    lambda pair: with_identity(pair[1], pair[0])
                )
            if passwords:
                fields = _passwords_in(manifest, fields, passwords, secret=key[0] == "Secret")
            if key == marker_key or key[0] == "Namespace":  # deleting either could cost the data
                options = pulumi.ResourceOptions.merge(options, _marker_options(shape))
            if key == statefulset_key:
                options = pulumi.ResourceOptions.merge(options, _statefulset_options(shape))
                if checked is not None:
                    fields["metadata"] = pulumi.Output.all(checked, fields["metadata"]).apply(
                        lambda pair: pair[1]
                    )
            # A namespace's name need not start with the cluster's: it gets a name of its own.
            logical_name = (
                f"{name}-namespace" if key[0] == "Namespace" else child_name(name, shape.cluster_name, key[1])
            )
            created[key] = _create(str(manifest["apiVersion"]), key[0], logical_name, fields, options)
        return created


def _passwords_in(
    manifest: Manifest, fields: dict[str, Any], passwords: Mapping[str, pulumi.Output[str]], secret: bool
) -> dict[str, Any]:
    """The fields of `manifest` with the users' passwords in place of their placeholders. Only a
    Secret holds one: elsewhere (the auth Job's template) a digest of them, which is no secret."""
    known = pulumi.Output.all(**passwords)
    filled = dict(fields)
    for field, value in manifest.items():
        if not holds_passwords(value):
            continue
        output = pulumi.Output.all(known, fields[snake_case(field)]).apply(
            lambda pair: with_passwords(pair[1], pair[0])
        )
        filled[snake_case(field)] = output if secret else pulumi.Output.unsecret(output)
    return filled


def child_name(component_name: str, cluster_name: str, object_name: str) -> str:
    """A child's Pulumi name: its Kubernetes name with the cluster name swapped for the
    component's (`kafscale-etcd-client` in component `etcd` -> `etcd-etcd-client`). Unique per
    component, so one stack holds any number of clusters, whatever their names and namespaces."""
    return component_name + object_name.removeprefix(cluster_name)


def _marker_options(settings: EtcdSettings) -> pulumi.ResourceOptions:
    """The bootstrap marker keeps an emptied cluster from bootstrapping anew: always kept in
    Kubernetes when it leaves the stack (retainOnDelete: `pulumi destroy`, a replacement), and
    protected like the StatefulSet unless etcdAllowReplacement lifts it (a deliberate new
    clusterName or namespace replaces it; the old one stays in Kubernetes)."""
    return pulumi.ResourceOptions(protect=not settings.allow_replacement, retain_on_delete=True)


def _statefulset_options(settings: EtcdSettings) -> pulumi.ResourceOptions:
    """Protected unless etcdAllowReplacement lifts it; awaited for etcdDeployTimeoutSec."""
    timeout = f"{settings.deploy_timeout_sec}s"
    return pulumi.ResourceOptions(
        protect=not settings.allow_replacement,
        custom_timeouts=pulumi.CustomTimeouts(create=timeout, update=timeout),
    )


def _parsed(raw: Mapping[str, object], report: bool, hidden: tuple[str, ...] = ()) -> EtcdSettings:
    """Parsed settings; each fallback a warning (when `report`), a mistake a one-line error; the
    `hidden` texts (secret values) never shown."""
    try:
        parsed = parse_settings(raw)
    except SettingsError as error:
        raise pulumi.RunError(_hide(str(error), hidden)) from None
    if report:
        for warning in parsed.warnings:
            pulumi.log.warn(_hide(warning.message, hidden))
        later_warnings = (
            quota_warning(parsed.settings),
            tmpfs_warning(parsed.settings),
            pinning_warning(parsed.settings),
        )
        for sizing_warning in later_warnings:
            if sizing_warning is not None:
                pulumi.log.warn(_hide(sizing_warning, hidden))
    return parsed.settings


def _field_of(index: int, field: str) -> Callable[[Sequence[Manifest]], object]:
    """The field `field` of the `index`th manifest, once the manifests are known."""
    return lambda manifests: manifests[index][field]


def _secret_keys(values: Mapping[str, object]) -> pulumi.Output[frozenset[str]]:
    flags: dict[str, pulumi.Output[bool]] = {
        key: pulumi.Output.from_input(value.is_secret())
        for key, value in values.items()
        if isinstance(value, pulumi.Output)
    }
    if not flags:
        return pulumi.Output.from_input(frozenset())  # type: ignore[arg-type]
    return pulumi.Output.all(**flags).apply(
        lambda secret: frozenset(key for key, flag in secret.items() if flag)
    )


def _texts(values: Mapping[str, object], keys: frozenset[str]) -> tuple[str, ...]:
    """The secret values as a message could show them (each item of a list too)."""
    texts: list[str] = []
    for key in keys:
        value = values[key]
        items = value if isinstance(value, list | tuple) else str(value).split(",")
        texts.extend(text for item in [str(value), *map(str, items)] if (text := item.strip()))
    return tuple(sorted(set(texts), key=len, reverse=True))


def _hide(message: str, hidden: tuple[str, ...]) -> str:
    """`message` with each hidden text (and its quoted form) shown as [secret]."""
    for text in hidden:
        message = message.replace(shown(text), '"[secret]"').replace(text, "[secret]")
    return message


def _refuse_replacement(deployed: object, settings: EtcdSettings, secret_keys: frozenset[str]) -> bool:
    """Warn of each setting that would replace the deployed StatefulSet; refuse what would lose
    every member's data unless etcdAllowReplacement is set."""
    problems = replacement_problems(deployed, settings, secret_keys)
    for warning in problems.warnings:
        pulumi.log.warn(warning)
    if problems.refusal:
        raise pulumi.RunError(problems.refusal)
    return True


def _same_shape(manifests: list[Manifest], shape_keys: list[ObjectKey]) -> list[Manifest]:
    keys = [_key(manifest) for manifest in manifests]
    if keys != shape_keys:
        raise pulumi.RunError(f"the objects changed once every input was known: {shape_keys} -> {keys}")
    return manifests


def _after(resources: list[pulumi.CustomResource], value: pulumi.Output[Any]) -> pulumi.Output[Any]:
    """`value`, carrying a dependency on `resources`: what is built from it waits for them."""
    return pulumi.Output.all(value, *(resource.urn for resource in resources)).apply(lambda values: values[0])


def _is_output(value: object) -> bool:
    return isinstance(value, pulumi.Output) or hasattr(value, "__await__")


def _with_aliases(opts: pulumi.ResourceOptions | None, aliases: list[pulumi.Alias]) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(aliases=aliases))


def _key(manifest: Manifest) -> ObjectKey:
    metadata = manifest["metadata"]
    assert isinstance(metadata, dict)
    return str(manifest["kind"]), str(metadata["name"])


def _create(
    api_version: str, kind: str, name: str, fields: dict[str, Any], opts: pulumi.ResourceOptions
) -> pulumi.CustomResource:
    resource_class = _RESOURCE_CLASSES.get((api_version, kind))
    if resource_class is None:
        # Prometheus operator kinds (ServiceMonitor, PrometheusRule): no typed class in the SDK.
        return k8s.apiextensions.CustomResource(name, api_version=api_version, kind=kind, opts=opts, **fields)
    return resource_class(name, opts=opts, **fields)
