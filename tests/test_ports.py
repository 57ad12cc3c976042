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


def test_write_atomic_many_writes_every_file_or_none() -> None:
    import tempfile

    from dunning.ports import write_atomic_many

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "letters"
        write_atomic_many([(folder / "1.pdf", b"one"), (folder / "2.pdf", b"two")])
        assert sorted(p.name for p in folder.iterdir()) == ["1.pdf", "2.pdf"]  # no temporary file left
        assert (folder / "2.pdf").read_bytes() == b"two"
        (Path(tmp) / "blocked").write_bytes(b"a file where a folder should be")
        try:
            write_atomic_many([(folder / "1.pdf", b"new"), (Path(tmp) / "blocked" / "3.pdf", b"three")])
        except OSError:
            pass
        else:
            raise AssertionError("writing under a file should fail")
        assert (folder / "1.pdf").read_bytes() == b"one"  # nothing renamed into place
        assert sorted(p.name for p in folder.iterdir()) == ["1.pdf", "2.pdf"]
