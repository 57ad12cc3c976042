"""A bad field in brand.yaml: ``dunning brand-check`` names the file, the line and the key, exit code 3."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from dunning.cli import EXIT_CONFIG, cli
from dunning.letters.brand import DEFAULT_LAYOUTS_DIR


@pytest.mark.parametrize(
    ("key", "value", "marker"),
    [
        ("colours", "navy", "colours: navy"),  # was AttributeError: 'str' object has no attribute 'items'
        ("colours.primary", 12, "primary: 12"),
        ("fonts", ["Liberation Sans"], "fonts:"),
        ("envelope", ["din5008b-dl"], "envelope:"),  # was TypeError: unhashable type: 'list'
        ("sender_block.4", "{creditor.email", "'{creditor.email'"),  # was ValueError: Single '{' encountered
        ("return_line", 42, "return_line: 42"),
    ],
)
def test_a_bad_brand_field_is_named_with_file_line_and_key(tmp_path: Path, key: str, value: object,
                                                          marker: str) -> None:
    layouts = tmp_path / "layouts"
    shutil.copytree(DEFAULT_LAYOUTS_DIR / "default", layouts / "mybrand")
    brand_file = layouts / "mybrand" / "brand.yaml"
    raw = yaml.safe_load(brand_file.read_text(encoding="utf-8"))
    *parents, last = key.split(".")
    node = raw
    for part in parents:
        node = node[part]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    text = yaml.safe_dump(raw, sort_keys=False, allow_unicode=True)
    brand_file.write_text(text, encoding="utf-8")
    line = next(n for n, content in enumerate(text.splitlines(), start=1) if marker in content)
    shown = key if "." not in key or not key.split(".")[-1].isdigit() else f"{parents[0]}[{last}]"

    result = CliRunner().invoke(cli, ["brand-check", "mybrand", "--layouts", str(layouts)])

    assert result.exit_code == EXIT_CONFIG, result.output
    assert not isinstance(result.exception, (TypeError, AttributeError, ValueError))  # no traceback
    assert f"{brand_file}:{line}: {shown}:" in result.stderr, result.stderr


def test_a_brand_file_that_is_not_yaml_names_the_line(tmp_path: Path) -> None:
    layouts = tmp_path / "layouts"
    shutil.copytree(DEFAULT_LAYOUTS_DIR / "default", layouts / "mybrand")
    brand_file = layouts / "mybrand" / "brand.yaml"
    brand_file.write_text("name: x\ncolours: {primary: \"#000000\"\n  fonts: [\n", encoding="utf-8")

    result = CliRunner().invoke(cli, ["brand-check", "mybrand", "--layouts", str(layouts)])

    assert result.exit_code == EXIT_CONFIG
    assert f"{brand_file}:" in result.stderr and "not valid YAML" in result.stderr
