"""What `make generate` writes from the key rows equals what is committed, and a hand edit of any
generated file is caught."""

import shutil
from pathlib import Path

import pytest

from kafscale.config import keys
from kafscale.offline import codegen
from tests.support import PROJECT_DIR


def test_every_generated_file_is_what_the_rows_generate():
    assert codegen.stale_files() == []


@pytest.mark.parametrize("path", sorted(codegen.GENERATED))
def test_a_hand_edit_of_a_generated_file_is_caught(path: str, tmp_path: Path):
    for generated in codegen.GENERATED:
        (tmp_path / generated).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(PROJECT_DIR / generated, tmp_path / generated)
    edited = tmp_path / path
    text = edited.read_text()
    edited.write_text(text.replace("replicas", "members", 1) if "replicas" in text else text + "\n")
    assert codegen.stale_files(tmp_path) == [path]


def test_the_check_names_a_stale_file_and_fails(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys):
    for generated in codegen.GENERATED:
        (tmp_path / generated).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(PROJECT_DIR / generated, tmp_path / generated)
    (tmp_path / "docs/settings.md").write_text("# Settings\n")
    monkeypatch.setattr(codegen, "PROJECT_DIR", tmp_path)
    assert codegen.main(["--check"]) == 1
    assert capsys.readouterr().out == (
        "error: docs/settings.md differs from what kafscale/config/keys.py generates: run make generate\n"
    )
    assert codegen.main([]) == 0
    assert codegen.stale_files(tmp_path) == []


def test_every_key_has_its_row_complete():
    for key in keys.CONFIG_KEYS:
        doc = key.documented
        assert doc.group in keys.GROUPS and doc.summary and doc.rule and doc.example, key.name
        assert key.default or doc.default_doc.startswith("(empty"), key.name


def test_every_settings_attribute_is_a_key_named_by_the_rule():
    from dataclasses import fields

    from kafscale.config.settings import EtcdSettings

    attributes = [f.name for f in fields(EtcdSettings)]
    named = [
        keys.snake_case(key.name).removeprefix("etcd_")
        for key in keys.CONFIG_KEYS
        if key.documented.attribute_type
    ]
    assert attributes == named


def test_make_generate_runs_the_generator():
    makefile = (PROJECT_DIR / "Makefile").read_text()
    recipe = makefile.split("\ngenerate:", 1)[1].split("\n\n", 1)[0]
    assert "-m kafscale.offline.codegen" in recipe
