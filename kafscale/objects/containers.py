"""Container plumbing every builder shares: env vars as the kubelet reads them, a script's text as
packaged, and booleans as the scripts read them. One place, so that no builder spells them its
own way."""

from __future__ import annotations

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


SHARED_SCRIPT = "common.sh"
# Where a script takes the shared helpers (the directive lets shellcheck follow them).
SHARED_LINE = f"# shellcheck source-path=SCRIPTDIR source={SHARED_SCRIPT}\n. ./{SHARED_SCRIPT}\n"


def _script_file(name: str) -> str:
    return resources.files("kafscale").joinpath("scripts", name).read_text(encoding="utf-8")


def packaged_script(name: str) -> str:
    """A script's text as the pods run it (tests run this very text): the packaged file
    (kafscale/scripts) with the shared helpers put in (`with_shared_helpers`)."""
    return with_shared_helpers(_script_file(name), _script_file(SHARED_SCRIPT))


def with_shared_helpers(script: str, shared: str) -> str:
    """`script` with the helpers of `shared` (common.sh, its comments left out) in place of its
    `. ./common.sh` line: a pod runs `sh -c <text>`, with no file beside it to source."""
    if SHARED_LINE not in script:
        return script
    helpers = "".join(line for line in shared.splitlines(keepends=True) if not line.startswith("#"))
    return script.replace(SHARED_LINE, helpers.strip("\n") + "\n", 1)
