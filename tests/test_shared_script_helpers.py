"""The scripts' shared helpers are written once (kafscale/scripts/common.sh) and put into each
script as the pods run it."""

import re
from importlib import resources

import pytest

from kafscale.objects.containers import SHARED_LINE, SHARED_SCRIPT, packaged_script

SCRIPTS = ["etcd-member.sh", "etcd-maintenance.sh", "etcd-snapshot-s3.sh", "etcd-snapshot-save.sh"]
SHARED = ("log", "fail", "is_number")


def _defined(text: str) -> list[str]:
    return re.findall(r"^([a-z_]+)\(\) \{", text, re.MULTILINE)


def test_the_shared_helpers_are_written_once():
    scripts = resources.files("kafscale").joinpath("scripts")
    for name in SCRIPTS:
        source = scripts.joinpath(name).read_text()
        assert SHARED_LINE in source, name
        assert not set(SHARED) & set(_defined(source)), name
    assert _defined(scripts.joinpath(SHARED_SCRIPT).read_text()) == list(SHARED)


@pytest.mark.parametrize("name", SCRIPTS)
def test_each_script_as_the_pods_run_it_holds_them_once_and_names_itself(name):
    text = packaged_script(name)
    assert ". ./common.sh" not in text
    assert all(_defined(text).count(helper) == 1 for helper in SHARED), name
    assert f"LOG_NAME={name.removesuffix('.sh')}\n" in text
    # The helpers come before anything runs: nothing but assignments and comments before them.
    before = text[: text.index("log() {")]
    assert not [
        line for line in before.splitlines() if line and not re.match(r"^(#|[A-Za-z_]+=|set |export )", line)
    ]
