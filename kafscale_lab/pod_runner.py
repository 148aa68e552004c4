"""Run a rendered pod's containers on this machine the way the kubelet runs them.

Init containers one after another, each to completion, then the main container; every one with
the pod's env (`$(VAR)` expanded as Kubernetes does), its own view of the filesystem (a private
mount namespace, `unshare -m`, with each of its volumes bind-mounted at its mountPath) and an
/etc/hosts that names every pod of the StatefulSet, so its scripts and args run unmodified. All
pods share this machine's network, so each pod's own loopback address stands in for a `0.0.0.0`
listener flag. The container user is set as the pod's security context says (`setpriv`), after the
mounts. Needs root, as the kubelet does.

Images are stood in for by what this machine has: the etcd image by an etcd binary, the tools
image by BusyBox (its applets) and etcdctl on PATH.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The mount setup, run as root inside the new mount namespace; then the container process.
# Arguments: the hosts file, pairs of (volume dir, mountPath) up to "--", then setpriv's argv.
_MOUNT_AND_EXEC = """
hosts=$1
shift
while [ "$1" != "--" ]; do
    mkdir -p "$2"
    mount --bind "$1" "$2"
    shift 2
done
shift
mount --bind "$hosts" /etc/hosts
exec "$@"
"""
_ENV_REFERENCE = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


class PodError(RuntimeError):
    """A container of the pod could not run as the kubelet would run it."""


@dataclass(frozen=True)
class PodIdentity:
    """Who the pod's containers run as, from the rendered security contexts."""

    user: int
    group: int
    fs_group: int | None


@dataclass(frozen=True)
class ContainerRun:
    """One container of one pod, ready to start: the argv (as root: mounts, then the user) and env."""

    name: str
    argv: tuple[str, ...]
    env: dict[str, str]


def expand_kubernetes_refs(text: str, env: dict[str, str]) -> str:
    """Kubernetes' `$(VAR)` expansion: defined vars are replaced, `$$` escapes, others stay."""

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        return env.get(match.group(1), match.group(0))

    return _ENV_REFERENCE.sub(substitute, text)


def container_env(
    container: dict[str, Any],
    pod_name: str,
    namespace: str,
    secrets: Mapping[str, Mapping[str, str]] | None = None,
    address: str = "127.0.0.1",
) -> dict[str, str]:
    """The container's env as the kubelet sets it: values expanded in order, the downward API's
    pod name, namespace and IP (`address`: the pod's own loopback address here), Secret keys
    from `secrets` (Secret name -> data; a missing optional key leaves the variable unset, a
    missing required one is an error, as for the kubelet)."""
    fields = {"metadata.name": pod_name, "metadata.namespace": namespace, "status.podIP": address}
    env: dict[str, str] = {}
    for entry in container.get("env", []):
        if "value" in entry:
            env[entry["name"]] = expand_kubernetes_refs(str(entry["value"]), env)
        elif "secretKeyRef" in entry.get("valueFrom", {}):
            ref = entry["valueFrom"]["secretKeyRef"]
            value = (secrets or {}).get(ref["name"], {}).get(ref["key"])
            if value is not None:
                env[entry["name"]] = value
            elif not ref.get("optional", False):
                raise PodError(f"env {entry['name']}: Secret {ref['name']} has no key {ref['key']}")
        else:
            field_path = entry.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath", "")
            if field_path not in fields:
                raise PodError(f"env {entry['name']}: fieldRef {field_path!r} is not simulated")
            env[entry["name"]] = fields[field_path]
    return env


def pod_identity(pod: dict[str, Any], container: dict[str, Any]) -> PodIdentity | None:
    """A container's effective user and group, and the pod's fsGroup; None when no user is set."""
    merged = {**pod.get("securityContext", {}), **container.get("securityContext", {})}
    user = merged.get("runAsUser")
    if user is None:
        return None
    fs_group = pod.get("securityContext", {}).get("fsGroup")
    return PodIdentity(
        int(user), int(merged.get("runAsGroup", 0)), None if fs_group is None else int(fs_group)
    )


def hosts_file(addresses: dict[str, str], service: str, namespace: str) -> str:
    """/etc/hosts naming every pod (pod name -> address) as the headless Service's DNS does."""
    lines = ["127.0.0.1 localhost"]
    for pod_name, address in addresses.items():
        names = [
            f"{pod_name}.{service}.{namespace}.svc.cluster.local",
            f"{pod_name}.{service}.{namespace}.svc",
        ]
        lines.append(f"{address} {' '.join([*names, f'{pod_name}.{service}.{namespace}', pod_name])}")
    return "\n".join(lines) + "\n"


def container_run(
    pod: dict[str, Any],
    container: dict[str, Any],
    pod_name: str,
    namespace: str,
    address: str,
    volume_dirs: dict[str, Path],
    hosts_path: Path,
    executables: dict[str, str],
    image_env: dict[str, str] | None = None,
    secrets: Mapping[str, Mapping[str, str]] | None = None,
) -> ContainerRun:
    """How to start `container` of pod `pod_name`: its command and args with `$(VAR)` expanded and
    `0.0.0.0` bound to the pod's address, under its own mounts and user.

    `executables` maps the image's command (`etcd`, `/bin/sh`) to what stands in for it here;
    `image_env` is the env the image sets (such as PATH), under the container's own; `secrets`
    the Secrets its env refers to.
    """
    env = container_env(container, pod_name, namespace, secrets, address)
    command = [expand_kubernetes_refs(part, env) for part in container.get("command", [])]
    args = [_bound_to(address, expand_kubernetes_refs(arg, env)) for arg in container.get("args", [])]
    if not command:
        raise PodError(f"container {container['name']}: no command (image entrypoints are not simulated)")
    program = executables.get(command[0])
    if program is None:
        raise PodError(f"container {container['name']}: nothing stands in for {command[0]!r} here")
    mounts: list[str] = []
    for mount in container.get("volumeMounts", []):
        if mount["name"] not in volume_dirs:
            raise PodError(f"container {container['name']}: volume {mount['name']!r} is not in the pod")
        mounts += [str(volume_dirs[mount["name"]]), mount["mountPath"]]
    identity = pod_identity(pod, container)
    as_user: list[str] = []
    if identity is not None:
        groups = "" if identity.fs_group is None else str(identity.fs_group)
        as_user = [
            tool_path("setpriv"),
            f"--reuid={identity.user}",
            f"--regid={identity.group}",
            f"--groups={groups}" if groups else "--clear-groups",
            # Changing the user clears the parent-death signal the harness set: set it again, so
            # no container outlives a harness that dies.
            "--pdeathsig=TERM",
            "--",
        ]
    argv = (
        *private_mounts(_MOUNT_AND_EXEC),
        "mount-and-exec",
        str(hosts_path),
        *mounts,
        "--",
        *as_user,
        program,
        *command[1:],
        *args,
    )
    bound_env = {name: _config_bound_to(address, value) for name, value in env.items()}
    return ContainerRun(container["name"], argv, {**(image_env or {}), **bound_env})


_LISTEN_LINE = re.compile(r"^(listen-[a-z-]+:.*)$", re.MULTILINE)


def _config_bound_to(address: str, value: str) -> str:
    """An etcd config file in an env value (`listen-client-urls: "http://0.0.0.0:2379"`) with its
    listeners bound to the pod's own address, as `_bound_to` does for flags."""
    return _LISTEN_LINE.sub(lambda line: line.group(1).replace("0.0.0.0", address), value)


def _bound_to(address: str, arg: str) -> str:
    """A `--listen-...=http://0.0.0.0:port` flag bound to the pod's own address (pods here share one
    network); every other argument, scripts included, stays as rendered."""
    return arg.replace("0.0.0.0", address) if arg.startswith("--listen-") else arg


def private_mounts(script: str) -> tuple[str, ...]:
    """The argv that runs the sh `script` as root in a new, private mount namespace (its args
    follow): its bind mounts are seen by what it execs, and by nothing else."""
    return (tool_path("unshare"), "--mount", "--propagation=private", "--", "/bin/sh", "-c", script)


def tool_path(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise PodError(f"{name} is missing (util-linux)")
    return found


def can_run_pods() -> bool:
    """Root, with unshare and setpriv: what running containers the kubelet's way needs here."""
    return os.geteuid() == 0 and all(shutil.which(tool) for tool in ("unshare", "setpriv", "mount"))
