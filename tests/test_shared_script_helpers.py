"""The scripts' shared helpers are written once (kafscale/scripts/common.sh for every script,
etcd-cluster.sh for the two membership scripts) and put into each script as the pods run it."""

import json
import re
import subprocess
from importlib import resources
from pathlib import Path

import pytest

from kafscale.objects.containers import SHARED_SCRIPTS, include_line, packaged_script, with_shared_helpers
from kafscale.objects.membership import INSTALL_SCRIPTS
from kafscale_lab.etcd_binaries import known_etcd_binaries, tools_image_path
from tests.support import SHELLS, missing, render_objects

SCRIPTS = [
    "etcd-member.sh",
    "etcd-scale-down.sh",
    "etcd-maintenance.sh",
    "etcd-snapshot-s3.sh",
    "etcd-snapshot-save.sh",
]
# Which shared scripts each script takes, in order.
TAKES = {name: ("common.sh",) for name in SCRIPTS} | {
    "etcd-member.sh": ("common.sh", "etcd-cluster.sh"),
    "etcd-scale-down.sh": ("common.sh", "etcd-cluster.sh"),
}


def _defined(text: str) -> list[str]:
    return re.findall(r"^([a-z_]+)\(\) \{", text, re.MULTILINE)


def _source(name: str) -> str:
    return resources.files("kafscale").joinpath("scripts", name).read_text()


def test_the_shared_helpers_are_written_once():
    shared = {name: _defined(_source(name)) for name in SHARED_SCRIPTS}
    assert shared["common.sh"] == ["log", "fail", "is_number", "json_number"]
    assert not set(shared["common.sh"]) & set(shared["etcd-cluster.sh"])
    for name in SCRIPTS:
        source = _source(name)
        for taken in TAKES[name]:
            assert include_line(taken) in source, (name, taken)
            assert not set(shared[taken]) & set(_defined(source)), name
        assert [m for m in re.findall(r"^\. \./(\S+)$", source, re.MULTILINE)] == list(TAKES[name]), name


@pytest.mark.parametrize("name", SCRIPTS)
def test_each_script_as_the_pods_run_it_holds_them_once_and_names_itself(name):
    text = packaged_script(name)
    assert not re.search(r"^\. \./", text, re.MULTILINE)
    for taken in TAKES[name]:
        assert all(_defined(text).count(helper) == 1 for helper in _defined(_source(taken))), name
    assert f"LOG_NAME={name.removesuffix('.sh')}\n" in text
    # The helpers come before anything runs: nothing but assignments and comments before them.
    before = text[: text.index("log() {")]
    assert not [
        line for line in before.splitlines() if line and not re.match(r"^(#|[A-Za-z_]+=|set |export )", line)
    ]


def test_only_a_shared_script_can_be_taken():
    with pytest.raises(ValueError, match=r"etcd-member\.sh is not one of the shared scripts"):
        with_shared_helpers(include_line("etcd-member.sh"), _source)


# One copy per pod template: the etcd pod's first init container writes the member script, and
# its steps run that file.


def test_the_etcd_pod_template_holds_each_script_once():
    for raw in ({}, {"etcdSnapshotEnabled": "true"}, {"etcdSnapshotEnabled": "false"}):
        statefulset = render_objects(**raw).get("StatefulSet", "kafscale-etcd")
        text = json.dumps(statefulset)
        for name in ("etcd-member.sh", "etcd-snapshot-s3.sh"):
            first_line = packaged_script(name).splitlines()[1]  # after the shebang: a comment of its own
            assert text.count(json.dumps(first_line)[1:-1]) <= 1, (raw, name)
        assert text.count(json.dumps(packaged_script("etcd-member.sh"))[1:-1]) == 1, raw


@pytest.mark.tools
@pytest.mark.parametrize("shell_name", sorted(SHELLS))
def test_the_scripts_container_writes_each_text_exactly(tmp_path, shell_name):
    """Under both shells: every byte as given (`%`, backslashes, `$(...)`, no trailing newline,
    a trailing newline), and a name without its text is refused."""
    shell = SHELLS[shell_name]
    if not Path(shell[0]).exists():
        missing(f"{shell[0]} is missing (make setup installs busybox and dash)")
    texts = {"a.sh": "printf '%s\\n' \"$(date)\" \\\\ 100%\n", "b.sh": "no newline at the end"}
    words = [item for pair in texts.items() for item in pair]
    installed = subprocess.run(
        [*shell, INSTALL_SCRIPTS, "install-scripts", str(tmp_path), *words], capture_output=True, text=True
    )
    assert installed.returncode == 0, installed.stderr
    assert {path.name: path.read_text() for path in tmp_path.iterdir()} == texts
    odd = subprocess.run(
        [*shell, INSTALL_SCRIPTS, "install-scripts", str(tmp_path), "c.sh"], capture_output=True, text=True
    )
    assert odd.returncode == 1 and "c.sh has no text" in odd.stderr


# etcd's JSON gateway writes int64 fields as strings (3.4.23 and 3.5.1, /v3/maintenance/status);
# `etcdctl endpoint status -w json` writes them bare.
GATEWAY_STATUS = (
    '{"header":{"cluster_id":"13680177129500227847","member_id":"11543508957392368117",'
    '"revision":"1","raft_term":"2"},"version":"3.4.23","dbSize":"20480",'
    '"leader":"11543508957392368117","raftIndex":"4","dbSizeInUse":"16384"}'
)
ETCDCTL_STATUS = (
    '[{"Endpoint":"http://127.0.0.1:2379","Status":{"header":{"cluster_id":1368,"member_id":115,'
    '"revision":7,"raft_term":2},"version":"3.5.1","dbSize":20480,"leader":115,"raftTerm":2}}]'
)


@pytest.mark.tools
@pytest.mark.parametrize("shell_name", sorted(SHELLS))
@pytest.mark.parametrize(
    ("key", "text", "number"),
    [
        ("member_id", GATEWAY_STATUS, "11543508957392368117"),
        ("dbSize", GATEWAY_STATUS, "20480"),
        ("dbSizeInUse", GATEWAY_STATUS, "16384"),
        ("leader", GATEWAY_STATUS, "11543508957392368117"),
        ("revision", ETCDCTL_STATUS, "7"),
        ("leader", ETCDCTL_STATUS, "115"),
        ("leader", '{"header":{"member_id":"9"},"dbSize":"1"}', ""),  # no leader: etcd leaves it out
        ("version", GATEWAY_STATUS, ""),  # not a number
    ],
)
def test_json_number_reads_a_field_bare_or_quoted(tmp_path, shell_name, key, text, number):
    """Under both shells, with only BusyBox applets on PATH (the tools image's tr, sed, head)."""
    shell = SHELLS[shell_name]
    if not Path(shell[0]).exists():
        missing(f"{shell[0]} is missing (make setup installs busybox and dash)")
    script = _source("common.sh") + '\nprintf "[%s]" "$(json_number "$1" "$2")"\n'
    path = tools_image_path(tmp_path, known_etcd_binaries()["debian"])
    found = subprocess.run(
        [*shell, script, "sh", key, text], capture_output=True, text=True, check=True, env={"PATH": path}
    )
    assert found.stdout == f"[{number}]"
