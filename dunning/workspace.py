"""A workspace: one folder holding ``dunning.yaml``, flows, ledger drops and output.

``init_workspace`` copies the template shipped with the package (a ready-to-run
config, default flows and an example ledger in ``examples/``, apart from the ``ledger/`` drop
folder the nightly flow reads); ``open_workspace`` finds and
validates an existing one. Relative paths in the config (``sqlite:///state.db``,
``file://output/print``) are relative to the workspace folder.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

from dunning.config import CONFIG_FILE, Config, load_config
from dunning.errors import ConfigError, WorkspaceError

TEMPLATE_PACKAGE = "dunning"
TEMPLATE_DIR = "workspace_template"
#: where finance drops ledger exports; the nightly flow imports the newest file found here
LEDGER_DROPS = "ledger"
#: the example ledger ``dunning init`` writes: never in the drop folder, where a nightly run would
#: import its made-up debtors over the real ones
EXAMPLE_LEDGER = "examples/open-items.csv"


@dataclass(frozen=True)
class Workspace:
    """An opened workspace: its folder and its validated configuration."""

    root: Path
    config: Config

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_FILE

    def path(self, relative: str | Path) -> Path:
        """Resolve a path from the config against the workspace folder."""
        candidate = Path(relative).expanduser()
        return candidate if candidate.is_absolute() else self.root / candidate

    @property
    def database_url(self) -> str:
        """The store URL, with a relative SQLite file resolved inside the workspace."""
        url = self.config.database
        prefix, _, rest = url.partition(":///")
        if prefix.startswith("sqlite") and rest and not rest.startswith("/") and rest != ":memory:":
            return f"{prefix}:///{self.path(rest)}"
        return url

    def transport_dir(self, url: str) -> Path | None:
        """The local folder of a ``file://`` transport URL, None for other schemes."""
        parts = urlsplit(url)
        if parts.scheme != "file":
            return None
        return self.path(parts.netloc + parts.path)

    @property
    def output_dir(self) -> Path:
        return self.root / "output"

    @property
    def reports_dir(self) -> Path:
        return self.output_dir / "reports"

    @property
    def flows_dir(self) -> Path:
        return self.path(self.config.flows)


def workspace_root(given: str | Path | None, environ: Mapping[str, str] | None = None) -> Path:
    """``--workspace`` if given, else ``$DUNNING_WORKSPACE``, else the current directory."""
    env = os.environ if environ is None else environ
    chosen = given if given is not None else env.get("DUNNING_WORKSPACE") or "."
    return Path(chosen).expanduser().resolve()


def open_workspace(root: Path, environ: Mapping[str, str] | None = None) -> Workspace:
    """Open the workspace at ``root``; errors say what is missing."""
    if not root.is_dir():
        raise WorkspaceError(f"{root}: no such folder; create one with 'dunning init {root}'")
    config_path = root / CONFIG_FILE
    if not config_path.is_file():
        raise WorkspaceError(
            f"{root}: not a dunning workspace (no {CONFIG_FILE}); create one with 'dunning init {root}'"
        )
    return Workspace(root=root, config=load_config(config_path, environ))


def _copy_tree(source: resources.abc.Traversable, target: Path) -> list[Path]:
    written: list[Path] = []
    for item in source.iterdir():
        if item.name == "__pycache__":
            continue
        # Shipped as "gitignore" so packaging keeps it; a workspace needs it as ".gitignore".
        destination = target / (".gitignore" if item.name == "gitignore" else item.name)
        if item.is_dir():
            destination.mkdir(exist_ok=True)
            written.extend(_copy_tree(item, destination))
        else:
            destination.write_bytes(item.read_bytes())
            written.append(destination)
    return written


def _write_secret(path: Path) -> None:
    """A random pay-link signing key, readable by the owner only (kept out of git by .gitignore)."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(secrets.token_urlsafe(32) + "\n", encoding="utf-8")


def init_workspace(root: Path, *, force: bool = False) -> list[Path]:
    """Write a ready-to-run workspace into ``root`` and return the files written.

    Refuses to overwrite an existing ``dunning.yaml`` unless ``force`` is set.
    """
    if (root / CONFIG_FILE).exists() and not force:
        raise WorkspaceError(f"{root}: already a workspace ({CONFIG_FILE} exists); use --force to overwrite")
    root.mkdir(parents=True, exist_ok=True)
    template = resources.files(TEMPLATE_PACKAGE).joinpath(TEMPLATE_DIR)
    written = _copy_tree(template, root)
    for folder in ("output", "bank/inbox", LEDGER_DROPS):
        (root / folder).mkdir(parents=True, exist_ok=True)
    _write_secret(root / "secrets" / "paylink.key")
    try:
        load_config(root / CONFIG_FILE, environ={})
    except ConfigError as exc:  # pragma: no cover - the shipped template is tested
        raise WorkspaceError(f"the shipped workspace template is invalid: {exc}") from exc
    return sorted(written)


def reset_folder(root: Path) -> None:
    """Empty ``root`` if it is a workspace (used by ``dunning demo`` to start afresh)."""
    if root.exists():
        if not (root / CONFIG_FILE).exists() and any(root.iterdir()):
            raise WorkspaceError(f"{root}: exists and is not a dunning workspace; choose another folder")
        shutil.rmtree(root)
