"""The messaging channels' transports, opened from the workspace, and replies kept free of recipients.

:func:`open_channel_transport` opens ``email.transport`` or ``sms.transport`` for the dispatch
(:mod:`dunning.usecases.messaging.dispatch`), the one message sent at once
(:mod:`dunning.usecases.messaging.send_now`) and the pay page's contact confirmation;
:func:`redact` takes the recipient out of a server's reply before it is logged or stored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from dunning.adapters.sms import SmsTransport, open_sms_transport
from dunning.adapters.smtp import PASSWORD_ENV, USERNAME_ENV, EmailTransport, open_email_transport
from dunning.errors import ConfigError
from dunning.workspace import Workspace

__all__ = ["CHANNELS", "open_channel_transport", "redact"]

CHANNELS = ("email", "sms")
#: ``email.*`` password variable named in the workspace template; the SMTP adapter reads PASSWORD_ENV
LEGACY_PASSWORD_ENV = "DUNNING_EMAIL_PASSWORD"


_ADDRESS = re.compile(r"<?[A-Za-z0-9._%+=-]+@[A-Za-z0-9.-]+>?|\+?\d[\d ]{7,}\d")


def redact(text: str) -> str:
    """Server replies quote the recipient ("550 <erika@example.org>: no such user"); keep that out of logs."""
    return _ADDRESS.sub("<recipient>", text)


def open_channel_transport(channel: str, workspace: Workspace, env: Mapping[str, str]) -> EmailTransport | SmsTransport:
    """The transport of ``email.transport`` or ``sms.transport`` (relative ``file://`` folders in the workspace)."""
    config = workspace.config
    if channel == "email":
        url = config.email.transport
        environ = dict(env)
        if config.email.username and USERNAME_ENV not in environ:
            environ[USERNAME_ENV] = config.email.username
        if PASSWORD_ENV not in environ and LEGACY_PASSWORD_ENV in environ:
            environ[PASSWORD_ENV] = environ[LEGACY_PASSWORD_ENV]
        options: dict[str, Any] = {}
        if urlsplit(url).scheme in ("smtp", "smtps") and "rate=" not in url:
            options["rate_limit"] = config.email.rate_per_second
        return open_email_transport(url, env=environ, base_dir=workspace.root, **options)
    if channel == "sms":
        return open_sms_transport(config.sms.transport, env=env, base_dir=workspace.root)
    raise ConfigError(f"unknown messaging channel {channel!r}: use {' or '.join(CHANNELS)}")
