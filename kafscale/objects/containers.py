"""Container plumbing every builder shares: env vars as the kubelet reads them, a script's text as
packaged, and booleans as the scripts read them. One place, so that no builder spells them its
own way."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from importlib import resources


def env_var(name: str, value: str) -> dict[str, object]:
    """An env var whose `$(VAR)` references the kubelet expands (ours: `$(POD_NAME)`)."""
    return {"name": name, "value": value}


def literal_env(name: str, value: str) -> dict[str, object]:
    """An env var that reaches the container exactly as given, for a value a user wrote. The
    kubelet expands `$(VAR)` in env values and reduces `$$` to `$` (Kubernetes docs, "Define
    Dependent Environment Variables"; kubernetes third_party/forked/golang/expansion/expand.go,
    `Expand`): every `$` doubled comes out as one, and nothing is expanded."""
    return {"name": name, "value": value.replace("$", "$$")}


def downward_env(name: str, field_path: str) -> dict[str, object]:
    """An env var from the downward API (`metadata.name`, `status.podIP`, ...)."""
    return {"name": name, "valueFrom": {"fieldRef": {"fieldPath": field_path}}}


def shell_flag(value: bool) -> str:
    """A boolean for a script's env: 1 or 0."""
    return "1" if value else "0"


# The scripts of shared helpers, and the line where a script takes one (the directive lets
# shellcheck follow it). A script includes common.sh first, then etcd-cluster.sh if it needs it.
SHARED_SCRIPTS = ("common.sh", "etcd-cluster.sh")
_INCLUDE = re.compile(r"# shellcheck source-path=SCRIPTDIR source=(?P<name>[a-z-]+\.sh)\n\. \./(?P=name)\n")


def include_line(shared: str) -> str:
    """The two lines with which a script takes the helpers of `shared`."""
    return f"# shellcheck source-path=SCRIPTDIR source={shared}\n. ./{shared}\n"


def _script_file(name: str) -> str:
    return resources.files("kafscale").joinpath("scripts", name).read_text(encoding="utf-8")


@functools.cache  # the installed package's files: read once per process, not once per object built
def packaged_script(name: str) -> str:
    """A script's text as the pods run it (tests run this very text): the packaged file
    (kafscale/scripts) with the shared helpers put in (`with_shared_helpers`)."""
    return with_shared_helpers(_script_file(name), _script_file)


def with_shared_helpers(script: str, read: Callable[[str], str]) -> str:
    """`script` with each `. ./<shared>.sh` line replaced by the helpers of that file (`read`
    gives its text; its comments left out): a pod runs `sh -c <text>`, with no file beside it
    to source. Only SHARED_SCRIPTS can be taken."""

    def helpers(match: re.Match[str]) -> str:
        shared = match.group("name")
        if shared not in SHARED_SCRIPTS:
            raise ValueError(f"{shared} is not one of the shared scripts {SHARED_SCRIPTS}")
        lines = read(shared).splitlines(keepends=True)
        return "".join(line for line in lines if not line.startswith("#")).strip("\n") + "\n"

    return _INCLUDE.sub(helpers, script)
