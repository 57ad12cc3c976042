"""dunning.ports stays a leaf, and the adapters meet each other only through it."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import dunning

PACKAGE = Path(dunning.__file__).parent


def _imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_ports_imports_only_the_standard_library_and_dunning_errors() -> None:
    for name in _imported_modules(PACKAGE / "ports.py"):
        top = name.partition(".")[0]
        assert top in sys.stdlib_module_names or name in ("__future__", "dunning.errors"), name


def test_adapters_do_not_import_each_other_except_the_transport_factory() -> None:
    for path in sorted((PACKAGE / "adapters").glob("*.py")):
        others = {name for name in _imported_modules(path) if name.startswith("dunning.adapters")}
        allowed = {"dunning.adapters.sftp"} if path.name == "transport.py" else set()
        assert others <= allowed, f"{path.name} imports {sorted(others - allowed)}"
