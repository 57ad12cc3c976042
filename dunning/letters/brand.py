"""White-label brands: ``layouts/<brand>/brand.yaml`` plus the brand's CSS and logo.

A brand file looks like this (every key but ``name`` is optional)::

    name: Atelier Nord
    colours: {primary: "#7a2e1d", accent: "#d9a441", text: "#2b2b2b", muted: "#6b6b6b", rule: "#e3d8c8"}
    fonts: {body: "DejaVu Serif", heading: "DejaVu Sans"}
    logo: logo.svg                 # file beside brand.yaml (SVG or PNG)
    css: letter.css                # extra CSS beside brand.yaml, applied after the base CSS
    envelope: pingen               # a profile of dunning.letters.geometry
    sender_block: ["{creditor.name}", "{creditor.address.street} {creditor.address.house_number}"]
    return_line: "{creditor.name} · {creditor.address.postal_code} {creditor.address.city}"
    footer:                        # columns of lines at the foot of page 1
      - ["{creditor.name}", "{creditor.enterprise_number}"]
      - ["IBAN {iban}", "BIC {creditor.bic}"]

Text values may name fields of the letter's creditor (``{creditor.name}``) and
``{iban}`` (the formatted IBAN). Errors name the file and the key.
"""

from __future__ import annotations

import base64
import re
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from dunning.errors import ConfigError
from dunning.letters.geometry import PROFILES, EnvelopeProfile

__all__ = ["DEFAULT_LAYOUTS_DIR", "Brand", "load_brand"]

DEFAULT_LAYOUTS_DIR = Path(__file__).resolve().parents[2] / "layouts"
_COLOUR = re.compile(r"#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?")
_COLOUR_KEYS = ("primary", "accent", "text", "muted", "rule")
_DEFAULT_COLOURS = {"primary": "#1f3b57", "accent": "#1f3b57", "text": "#1a1a1a", "muted": "#666666",
                    "rule": "#cccccc"}
_DEFAULT_FONTS = {"body": "Liberation Sans", "heading": "Liberation Sans"}
_FIELDS = re.compile(r"\{(creditor(\.[a-z_]+)+|iban)\}")


@dataclass(frozen=True, slots=True)
class Brand:
    key: str
    name: str
    folder: Path
    colours: dict[str, str]
    fonts: dict[str, str]
    logo_uri: str
    envelope: EnvelopeProfile
    sender_block: tuple[str, ...]
    return_line: str
    footer: tuple[tuple[str, ...], ...]
    css_text: str

    def resolve_variables(self, css: str) -> str:
        """Replace ``var(--primary)``, ``var(--font-body)``... by the brand's values.

        Done in Python rather than with CSS custom properties: WeasyPrint resolves
        ``var()`` for every element of every letter, which costs about 10 % of layout.
        """
        values = {f"--{k}": v for k, v in self.colours.items()}
        values.update({f"--font-{k}": f"'{v}'" for k, v in self.fonts.items()})

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in values:
                raise ConfigError(f"{self.folder}: CSS uses unknown variable {name}")
            return values[name]

        return re.sub(r"var\((--[a-z-]+)\)", replace, css)


def _line_of(path: Path, key: str) -> int | None:
    """The line of ``key`` (``colours.primary``, ``footer[1][0]``) in the YAML file, if it can be found."""
    try:
        node: Any = yaml.compose(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    parts = [int(p) if p.isdigit() else p for p in re.findall(r"[^.\[\]]+", key)]
    line = None
    for part in parts:
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in node.value if k.value == str(part)), None)
            if pair is None:
                return None
            line, node = pair[0].start_mark.line, pair[1]  # the key's line: a list value starts below it
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line
        else:
            return None
    return None if line is None else int(line) + 1


def _fail(path: Path, key: str, message: str) -> ConfigError:
    """An error naming the file, the line (when the key is in the file) and the key."""
    line = _line_of(path, key)
    return ConfigError(f"{path}:{line}: {key}: {message}" if line else f"{path}: {key}: {message}")


def _mapping(path: Path, key: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _fail(path, key, f"expected a mapping of keys, got {value!r}")
    return {str(k): v for k, v in value.items()}


def _text(path: Path, key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise _fail(path, key, f"{value!r} is not text")
    try:
        fields = list(string.Formatter().parse(value))
    except ValueError as exc:  # "Single '{' encountered in format string"
        raise _fail(path, key, f"{value!r}: {exc} (write {{{{ for a literal brace)") from None
    for _, name, _, _ in fields:
        if name is not None and not _FIELDS.fullmatch("{" + name + "}"):
            raise _fail(path, key, f"placeholder {{{name}}} is not {{creditor.<field>}} or {{iban}}")
    return value


def load_brand(key: str, layouts_dir: Path | None = None) -> Brand:
    """Load and validate ``<layouts_dir>/<key>/brand.yaml``."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", key):
        raise ConfigError(f"brand name {key!r} must be lower-case letters, digits, '-' or '_'")
    folder = (layouts_dir or DEFAULT_LAYOUTS_DIR) / key
    path = folder / "brand.yaml"
    if not path.is_file():
        raise ConfigError(f"{path}: brand file not found")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise ConfigError(f"{where}: not valid YAML ({getattr(exc, 'problem', None) or exc})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read ({exc})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of keys")
    raw = {str(k): v for k, v in raw.items()}
    known = {"name", "colours", "fonts", "logo", "css", "envelope", "sender_block", "return_line", "footer"}
    for unknown in sorted(set(raw) - known):
        raise _fail(path, unknown, f"unknown key (known: {', '.join(sorted(known))})")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _fail(path, "name", "a brand needs a name")

    colours = dict(_DEFAULT_COLOURS)
    for ckey, value in _mapping(path, "colours", raw.get("colours")).items():
        if ckey not in _COLOUR_KEYS:
            raise _fail(path, f"colours.{ckey}", f"unknown colour (known: {', '.join(_COLOUR_KEYS)})")
        if not isinstance(value, str) or not _COLOUR.fullmatch(value):
            raise _fail(path, f"colours.{ckey}", f"{value!r} is not a #rrggbb colour")
        colours[ckey] = value
    fonts = dict(_DEFAULT_FONTS)
    for fkey, value in _mapping(path, "fonts", raw.get("fonts")).items():
        if fkey not in _DEFAULT_FONTS:
            raise _fail(path, f"fonts.{fkey}", "unknown font role (known: body, heading)")
        if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9 -]+", value):
            raise _fail(path, f"fonts.{fkey}", f"{value!r} is not a font family name")
        fonts[fkey] = value

    logo_uri = ""
    if raw.get("logo"):
        logo_path = folder / _text(path, "logo", raw["logo"])
        if not logo_path.is_file():
            raise _fail(path, "logo", f"{logo_path} not found")
        mime = {".svg": "image/svg+xml", ".png": "image/png"}.get(logo_path.suffix.lower())
        if mime is None:
            raise _fail(path, "logo", f"{logo_path.name} must be .svg or .png")
        logo_uri = f"data:{mime};base64," + base64.b64encode(logo_path.read_bytes()).decode("ascii")
    css_text = ""
    if raw.get("css"):
        css_path = folder / _text(path, "css", raw["css"])
        if not css_path.is_file():
            raise _fail(path, "css", f"{css_path} not found")
        try:
            css_text = css_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise _fail(path, "css", f"{css_path} cannot be read ({exc})") from None
    envelope_name = raw.get("envelope", "din5008b-dl")
    if not isinstance(envelope_name, str) or envelope_name not in PROFILES:
        raise _fail(path, "envelope", f"{envelope_name!r} is not one of {', '.join(sorted(PROFILES))}")

    sender = raw.get("sender_block") or ["{creditor.name}"]
    if not isinstance(sender, list):
        raise _fail(path, "sender_block", "expected a list of lines")
    footer = raw.get("footer") or []
    if not isinstance(footer, list) or not all(isinstance(col, list) for col in footer):
        raise _fail(path, "footer", "expected a list of columns, each a list of lines")
    return Brand(
        key=key,
        name=name.strip(),
        folder=folder,
        colours=colours,
        fonts=fonts,
        logo_uri=logo_uri,
        envelope=PROFILES[envelope_name],
        sender_block=tuple(_text(path, f"sender_block[{i}]", ln) for i, ln in enumerate(sender)),
        return_line=_text(path, "return_line", raw.get("return_line", "")),
        footer=tuple(
            tuple(_text(path, f"footer[{c}][{i}]", ln) for i, ln in enumerate(col)) for c, col in enumerate(footer)
        ),
        css_text=css_text,
    )
