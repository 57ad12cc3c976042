"""``dunning brand-check``: batch letters against one-pass renderings, for shipped and designed brands."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from dunning.cli import EXIT_PROBLEMS, cli
from dunning.letters import LetterKind, LetterRenderer
from dunning.letters.brand import DEFAULT_LAYOUTS_DIR
from dunning.letters.check import check_brand


@pytest.mark.parametrize(("brand", "languages"), [("default", ("nl", "fr")), ("atelier", ("de", "en"))])
def test_the_shipped_brands_print_in_batches_as_in_previews(
    renderer: LetterRenderer, brand: str, languages: tuple[str, ...]
) -> None:
    assert check_brand(brand, renderer, languages=languages) == []


def broken_brand(tmp_path: Path) -> Path:
    """The default brand plus a rule that makes the shared closing depend on what precedes it."""
    layouts = tmp_path / "layouts"
    shutil.copytree(DEFAULT_LAYOUTS_DIR / "default", layouts / "mybrand")
    css = layouts / "mybrand" / "letter.css"
    css.write_text(css.read_text(encoding="utf-8") + "\np.legal ~ div p { font-size: 14pt; }\n", encoding="utf-8")
    return layouts


def test_a_brand_whose_blocks_depend_on_their_neighbours_is_caught(tmp_path: Path) -> None:
    layouts = broken_brand(tmp_path)
    renderer = LetterRenderer(layouts_dir=layouts)
    problems = check_brand("mybrand", renderer, kinds=[LetterKind.FIRST_REMINDER], languages=["en"])
    assert [(p.kind, p.language) for p in problems] == [("first_reminder", "en")]
    assert "instead of" in problems[0].message or "times, expected" in problems[0].message


def test_the_command_reports_and_exits_with_problems(tmp_path: Path) -> None:
    layouts = broken_brand(tmp_path)
    runner = CliRunner()
    result = runner.invoke(
        cli, ["brand-check", "mybrand", "--layouts", str(layouts), "--lang", "en", "--format", "json"],
        catch_exceptions=False,
    )
    assert result.exit_code == EXIT_PROBLEMS
    report = json.loads(result.stdout)
    assert report["brand"] == "mybrand" and report["letters"] == len(LetterKind)
    assert {row["kind"] for row in report["problems"]} >= {"first_reminder", "final_notice"}

    good = runner.invoke(cli, ["brand-check", "atelier", "--lang", "fr"], catch_exceptions=False)
    assert good.exit_code == 0, good.output
    assert "every letter prints in a batch as in a preview" in good.stdout

    missing = runner.invoke(cli, ["brand-check", "nosuchbrand", "--layouts", str(layouts)])
    assert missing.exit_code != 0 and "brand file not found" in missing.output


def test_a_brand_rendered_in_one_pass_prints_exactly_what_a_preview_prints(tmp_path: Path) -> None:
    import dataclasses

    from dunning.letters.check import differences, one_pass_pdf, placed_text
    from dunning.letters.samples import sample_letter

    layouts = broken_brand(tmp_path)
    renderer = LetterRenderer(layouts_dir=layouts, one_pass={"mybrand"})
    letter = sample_letter(LetterKind.FIRST_REMINDER, "en", "mybrand")
    letters = [dataclasses.replace(letter, letter_id=f"OP{i}") for i in range(2)]
    result = renderer.render_batch(letters)
    assert not result.problems
    assert b"/DunForm" not in result.pdf and b"/DunMemo" not in result.pdf  # no layers, no shared blocks
    rendered = result.letters[1]
    one_pass = one_pass_pdf(renderer, letters[1], rendered.page_count)
    assert differences(placed_text(result.pdf, rendered.pages), placed_text(one_pass, range(rendered.page_count))) == []
