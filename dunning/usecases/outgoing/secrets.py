"""The keys outgoing messages are signed with: pay-link tokens, and VERP / Message-ID action tokens.

Letters print a pay link; emails and SMS carry one, and emails also carry a signed action token in
their bounce address and Message-ID. Both channels read the keys here, once per run.

* The **pay-link secret** comes from ``$DUNNING_PAYLINK_SECRET`` or the file named by
  ``paylink.secret_file``; without one, nothing is sent (a link signed with a made-up key would be
  worthless and silently so).
* The **VERP/Message-ID token secret** comes from ``$DUNNING_VERP_SECRET``, else it is derived from
  the pay-link secret with HMAC under a fixed label (domain separation: one secret to configure,
  two independent keys).

Either must stay the same for as long as links may be clicked or bounces for sent messages arrive.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass

from dunning.config import secret
from dunning.errors import ConfigError
from dunning.workspace import Workspace

__all__ = ["PAYLINK_SECRET_ENV", "VERP_SECRET_ENV", "Secrets", "load_secrets"]

PAYLINK_SECRET_ENV = "DUNNING_PAYLINK_SECRET"
VERP_SECRET_ENV = "DUNNING_VERP_SECRET"
_VERP_LABEL = b"dunning/verp-token/v1"
_MIN_SECRET = 16


@dataclass(frozen=True, slots=True)
class Secrets:
    """The keys outgoing messages sign with: pay-link tokens, and VERP / Message-ID action tokens."""

    paylink: bytes
    verp: bytes


def load_secrets(workspace: Workspace, env: Mapping[str, str] | None = None) -> Secrets:
    """Read the pay-link secret (required) and the VERP secret (else derived); see the module docstring."""
    environ = os.environ if env is None else env
    file = workspace.config.paylink.secret_file
    value = secret("paylink_secret", environ, workspace.path(file) if file is not None else None)
    if not value:
        raise ConfigError(
            f"no pay-link secret: set ${PAYLINK_SECRET_ENV} (at least {_MIN_SECRET} characters) or "
            f"paylink.secret_file in {workspace.config_path}"
        )
    paylink_key = value.encode("utf-8")
    if len(paylink_key) < _MIN_SECRET:
        raise ConfigError(f"${PAYLINK_SECRET_ENV} (or paylink.secret_file) is shorter than {_MIN_SECRET} bytes")
    verp_value = environ.get(VERP_SECRET_ENV)
    if verp_value:
        verp_key = verp_value.encode("utf-8")
    else:
        verp_key = hmac.new(paylink_key, _VERP_LABEL, hashlib.sha256).digest()
    return Secrets(paylink_key, verp_key)
