"""The brand the pay page wears: the letters' brand of the workspace (``layouts/<brand>/brand.yaml``)."""

from __future__ import annotations

from dataclasses import dataclass

from dunning.letters.brand import load_brand
from dunning.workspace import Workspace

__all__ = ["PageBrand", "page_brand"]


@dataclass(frozen=True, slots=True)
class PageBrand:
    """What the page takes of a letter brand: its name, colours, fonts and logo (a data: URI or empty)."""

    name: str
    colours: dict[str, str]
    fonts: dict[str, str]
    logo_uri: str

    def css(self) -> str:
        """The brand as CSS custom properties, served as the page's second stylesheet."""
        lines = [f"  --{key}: {value};" for key, value in sorted(self.colours.items())]
        lines += [
            f"  --font-{key}: '{value}', 'Liberation Sans', Arial, sans-serif;"
            for key, value in sorted(self.fonts.items())
        ]
        return ":root {\n" + "\n".join(lines) + "\n}\n"


def page_brand(workspace: Workspace) -> PageBrand:
    """The workspace's brand (its own ``layouts/`` first, else the shipped ones); ConfigError if broken."""
    key = workspace.config.brand
    own = workspace.root / "layouts"
    brand = load_brand(key, own if (own / key / "brand.yaml").is_file() else None)
    return PageBrand(brand.name, dict(brand.colours), dict(brand.fonts), brand.logo_uri)
