"""A Jinja2 template error as a configuration error naming the file and the line (exit code 3).

Templates are workspace files a person edits (``templates/email``, ``templates/sms``, letters):
a typo must read ``templates/email/nl/friendly_reminder.txt.j2:12: template syntax error:
unexpected '}'``, not a traceback.
"""

from __future__ import annotations

import traceback
from pathlib import Path

import jinja2

from dunning.errors import ConfigError

__all__ = ["template_error"]


def _line_in(error: BaseException, filename: str) -> int | None:
    """The line of ``filename`` where a runtime error happened (Jinja rewrites its frames to the template)."""
    lines = [frame.lineno for frame in traceback.extract_tb(error.__traceback__) if frame.filename == filename]
    return lines[-1] if lines else None


def template_error(error: Exception, template: Path) -> ConfigError:
    """``error`` (raised loading or rendering ``template``) as a ConfigError naming the file and line."""
    if isinstance(error, jinja2.TemplateSyntaxError):
        where = f"{error.filename or template}:{error.lineno}"
        return ConfigError(f"{where}: template syntax error: {error.message}")
    line = _line_in(error, str(template))
    where = f"{template}:{line}" if line else str(template)
    message = error.message if isinstance(error, jinja2.TemplateError) and error.message else str(error)
    return ConfigError(f"{where}: template error: {message or type(error).__name__}")
