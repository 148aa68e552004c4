"""etcd's client authentication (etcdAuth): the users' Secrets, the Job that creates the users and
roles and then turns auth on (or, `disabling`, off), and root's credentials for every step of the
program that runs etcdctl.

etcd's authentication guide (etcd.io/docs/v3.5/op-guide/authentication/rbac): auth needs a `root`
user with the `root` role before `auth enable`; a role grants read or readwrite on a key or a
prefix; `auth disable` takes root's credentials. Measured on 3.4.23 and 3.5.1 with etcdctl: every
step the Job takes is idempotent but `user add`, `user get` and `user delete` of a user that is
missing or already there (the Job run twice: tests/test_auth.py); `defrag` and `snapshot save`
refuse the `kafscale` user and serve root; `member list`, `endpoint status`, `alarm list` and the
`/health` endpoint answer without credentials; a client that sends credentials while auth is off
is served (etcdctl and Go's clientv3 ignore "authentication is not enabled"). So every step runs
as root from the start, whatever each call needs, and none is refused while auth turns on.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import cast

from kafscale.config.naming import EtcdNames
from kafscale.config.settings import EtcdSettings
from kafscale.objects.containers import env_var, packaged_script, shell_flag
from kafscale.objects.metadata import object_metadata
from kafscale.objects.platform import pod_templates
from kafscale.objects.pod_security import container_security_context
from kafscale.objects.task_pod import task_pod_template

Manifest = dict[str, object]

ROOT_USER, KAFSCALE_USER, CONSOLE_USER = "root", "kafscale", "kafscale-console"
KAFSCALE_PREFIX = "/kafscale/"  # every key KafScale writes (offsets, topics, groups)
# The keys of the KafScale Helm chart's `existingSecret` (deploy/helm/kafscale/values.yaml).
USERNAME_KEY, PASSWORD_KEY = "ETCD_USERNAME", "ETCD_PASSWORD"
SCRIPT_NAME = "etcd-auth.sh"
COMPONENT_LABEL = "etcd-auth"
AUTH_JOB_DEADLINE_S = 600
# A template annotation that changes with any password: the Job is replaced, so run again, and
# sets the new password in etcd (pulumi-kubernetes replaces a Job whose template changed).
CREDENTIALS_ANNOTATION = "kafscale.io/credentials-digest"
_PLACEHOLDER = re.compile(r"\{\{password:([a-z-]+)\}\}")
DIGEST_PLACEHOLDER = "{{password-digest}}"


def auth_on(settings: EtcdSettings) -> bool:
    """Whether the users, their Secrets and root's credentials exist (`on` and `disabling`)."""
    return settings.auth != "off"


def auth_users(settings: EtcdSettings) -> tuple[str, ...]:
    if not auth_on(settings):
        return ()
    return (ROOT_USER, KAFSCALE_USER, *((CONSOLE_USER,) if settings.auth_console_user else ()))


def provided_secret(settings: EtcdSettings, user: str) -> str:
    """The Secret a person provides for `user`'s password (etcdAuth*Secret); empty: generated."""
    return {
        ROOT_USER: settings.auth_root_secret,
        KAFSCALE_USER: settings.auth_kafscale_secret,
        CONSOLE_USER: settings.auth_console_secret,
    }[user]


def generated_users(settings: EtcdSettings) -> tuple[str, ...]:
    """The users whose password the program draws (and whose Secret it writes)."""
    return tuple(user for user in auth_users(settings) if not provided_secret(settings, user))


def credentials_secret_name(settings: EtcdSettings, names: EtcdNames, user: str) -> str:
    """Where `user`'s password is: the Secret provided, else the one the program writes."""
    return provided_secret(settings, user) or names.credentials_secret(user)


def password_placeholder(user: str) -> str:
    """What stands for `user`'s password in a manifest until the component knows it."""
    return f"{{{{password:{user}}}}}"


def _replaced(value: object, passwords: Mapping[str, str], digest: str) -> object:
    if isinstance(value, str):
        text = _PLACEHOLDER.sub(lambda match: passwords[match.group(1)], value)
        return text.replace(DIGEST_PLACEHOLDER, digest)
    if isinstance(value, Mapping):
        return {key: _replaced(item, passwords, digest) for key, item in value.items()}
    if isinstance(value, list):
        return [_replaced(item, passwords, digest) for item in value]
    return value


def credentials_digest(passwords: Mapping[str, str]) -> str:
    """What the auth Job's template carries of the passwords: 16 hex digits of their SHA-256."""
    text = "\n".join(f"{user}:{password}" for user, password in sorted(passwords.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def with_passwords(value: object, passwords: Mapping[str, str]) -> object:
    """`value` (a manifest or any part of one) with each placeholder replaced."""
    return _replaced(value, passwords, credentials_digest(passwords))


def holds_passwords(value: object) -> bool:
    if isinstance(value, str):
        return bool(_PLACEHOLDER.search(value)) or DIGEST_PLACEHOLDER in value
    if isinstance(value, Mapping):
        return any(holds_passwords(item) for item in value.values())
    if isinstance(value, list):
        return any(holds_passwords(item) for item in value)
    return False


def credentials_secrets(settings: EtcdSettings, names: EtcdNames) -> list[Manifest]:
    """One Secret per user whose password the program draws, in the KafScale chart's keys."""
    secrets: list[Manifest] = []
    for user in generated_users(settings):
        data = {USERNAME_KEY: user, PASSWORD_KEY: password_placeholder(user)}
        secrets.append(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": object_metadata(names, names.credentials_secret(user)),
                "type": "Opaque",
                "stringData": data,
            }
        )
    return secrets


def _secret_env(name: str, secret: str, key: str) -> dict[str, object]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def root_credentials_env(settings: EtcdSettings, names: EtcdNames) -> list[dict[str, object]]:
    """etcdctl's `--user` and `--password` from its env (ETCDCTL_USER, ETCDCTL_PASSWORD, the
    password from root's Secret): every etcdctl the container runs authenticates as root."""
    return [
        env_var("ETCDCTL_USER", ROOT_USER),
        _secret_env("ETCDCTL_PASSWORD", credentials_secret_name(settings, names, ROOT_USER), PASSWORD_KEY),
    ]


def with_root_credentials(
    settings: EtcdSettings, names: EtcdNames, manifests: list[Manifest]
) -> list[Manifest]:
    """With auth, every container of the tools image (each step that runs etcdctl) gets root's
    credentials in its env; etcd's own container and the S3 steps do not."""
    if not auth_on(settings):
        return manifests
    for manifest in manifests:
        for template in pod_templates(manifest):
            spec = cast(dict[str, object], template["spec"])
            for field in ("initContainers", "containers"):
                for container in cast(list[dict[str, object]], spec.get(field, [])):
                    if container.get("image") == settings.snapshot_etcdctl_image:
                        env = cast(list[dict[str, object]], container.setdefault("env", []))
                        env.extend(root_credentials_env(settings, names))
    return manifests


def auth_script() -> str:
    return packaged_script(SCRIPT_NAME)


def auth_job(settings: EtcdSettings, names: EtcdNames) -> list[Manifest]:
    """Creates the users and roles, then turns auth on; `disabling`: turns it off. Applied once
    the members are ready, replaced (so run again) whenever its spec or a password changes."""
    if not auth_on(settings):
        return []
    task_labels = {"app.kubernetes.io/component": COMPONENT_LABEL}
    env = [
        env_var("ETCD_MEMBERS", ",".join(names.member_client_urls(settings.replicas))),
        env_var("AUTH_MODE", settings.auth),
        env_var("KAFSCALE_PREFIX", KAFSCALE_PREFIX),
        env_var("CONSOLE_USER", shell_flag(settings.auth_console_user)),
        *(
            _secret_env(
                f"{user.upper().replace('-', '_')}_PASSWORD",
                credentials_secret_name(settings, names, user),
                PASSWORD_KEY,
            )
            for user in auth_users(settings)
        ),
    ]
    container: dict[str, object] = {
        "name": "auth",
        "image": settings.snapshot_etcdctl_image,
        "command": ["/bin/sh", "-c", auth_script(), SCRIPT_NAME],
        "securityContext": container_security_context(settings),
        "env": env,
    }
    metadata = object_metadata(names, names.auth_job, task_labels)
    template = task_pod_template(settings, names, task_labels, [container])
    if generated_users(settings):  # a provided Secret's change is a person's to apply (docs)
        template_metadata = cast(dict[str, object], template["metadata"])
        template_metadata["annotations"] = {CREDENTIALS_ANNOTATION: DIGEST_PLACEHOLDER}
    return [
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": metadata,
            "spec": {"backoffLimit": 2, "activeDeadlineSeconds": AUTH_JOB_DEADLINE_S, "template": template},
        }
    ]
