"""Messaging tests reuse the real servers of the channel tests (aiosmtpd, smpp34, the HTTP SMS gateway)."""

from __future__ import annotations

from tests.channels.conftest import http_gateway, smpp_server, smtp_server

__all__ = ["http_gateway", "smpp_server", "smtp_server"]
