"""A workspace's own brand that breaks the fast path's CSS rules is rendered in one pass, and said so."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest
import yaml

from dunning.letters import check
from dunning.letters.brand import DEFAULT_LAYOUTS_DIR
from dunning.usecases.letters import render as letters_usecase
from dunning.usecases.letters.render import LetterRun
from dunning.workspace import Workspace, open_workspace
from tests.usecases.letters.helpers import make_workspace


def own_brand(root: Path, name: str, extra_css: str = "") -> Workspace:
    folder = root / "layouts" / name
    shutil.copytree(DEFAULT_LAYOUTS_DIR / "default", folder)
    (folder / "letter.css").write_text((folder / "letter.css").read_text(encoding="utf-8") + extra_css, "utf-8")
    config_path = root / "dunning.yaml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    config["brand"] = name
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return open_workspace(root, environ={})


def test_a_brand_is_checked_once_and_a_breaking_one_is_rendered_in_one_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_workspace(tmp_path / "ws")
    monkeypatch.setattr(letters_usecase, "_BRAND_VERDICTS", {})
    workspace = own_brand(tmp_path / "ws", "mybrand", "\np.legal ~ div p { font-size: 14pt; }\n")
    run = LetterRun(date(2026, 11, 24))
    assert letters_usecase._brands_in_one_pass(workspace, {"mybrand"}, run) == {"mybrand"}
    assert len(run.notes) == 1 and "mybrand" in run.notes[0] and "one pass" in run.notes[0]
    assert run.problems == []  # a slower brand is no failed letter
    saved = json.loads((workspace.output_dir / "brand-checks.json").read_text(encoding="utf-8"))
    assert len(saved) == 1 and next(iter(saved.values()))  # the verdict names the differences

    # The next run (another process: nothing in memory) reads the verdict instead of checking again.
    monkeypatch.setattr(letters_usecase, "_BRAND_VERDICTS", {})

    def no_check(*args: object, **kwargs: object) -> list[check.BrandProblem]:
        raise AssertionError("the brand was checked again")

    monkeypatch.setattr(check, "check_brand", no_check)
    again = LetterRun(date(2026, 11, 25))
    assert letters_usecase._brands_in_one_pass(workspace, {"mybrand"}, again) == {"mybrand"}
    assert len(again.notes) == 1


def test_a_brand_that_keeps_the_rules_takes_the_fast_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_workspace(tmp_path / "ws")
    monkeypatch.setattr(letters_usecase, "_BRAND_VERDICTS", {})
    workspace = own_brand(tmp_path / "ws", "plainbrand")
    run = LetterRun(date(2026, 11, 24))
    assert letters_usecase._brands_in_one_pass(workspace, {"plainbrand"}, run) == frozenset()
    assert run.notes == []
    saved = json.loads((workspace.output_dir / "brand-checks.json").read_text(encoding="utf-8"))
    assert list(saved.values()) == [[]]
    # The shipped brands are not checked at run time (the test suite checks them).
    shipped = make_workspace(tmp_path / "shipped")
    assert letters_usecase._brands_in_one_pass(shipped, {"default"}, LetterRun(date(2026, 11, 24))) == frozenset()
