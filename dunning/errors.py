"""Every exception dunning raises on purpose, in one place.

::

    DunningError
    ├── ConfigError            dunning.yaml or an environment override is invalid (names file and key)
    ├── WorkspaceError         the workspace folder is missing or not a workspace
    ├── InputError             a file given to dunning cannot be read at all (names the file)
    │   ├── LedgerError        a ledger export cannot be read (encoding, header, mapping)
    │   └── FlowError          a flow file is invalid or breaks its legal rule pack
    ├── StoreError             the state store cannot be opened or migrated
    ├── NotFound               a case, debtor, batch or review item that does not exist
    ├── WorkspaceBusy          another process is working on the same stage of this workspace
    └── DeliveryError          sending a letter, email, SMS or upload failed
        ├── TransientDeliveryError   worth retrying (timeouts, 4xx SMTP, connection reset)
        └── PermanentDeliveryError   retrying will not help: the step's fallback follows

Bad *records* (one ledger row, one bank transaction) are not exceptions: the
functions that read them return them as problems beside the good results, so
one bad record never stops a batch. The CLI turns these exceptions into
messages and exit codes (see ``dunning.cli``).
"""

from __future__ import annotations


class DunningError(Exception):
    """Base class of all errors raised by dunning on purpose."""


class ConfigError(DunningError):
    """The configuration is invalid; the message names the file and the key."""


class WorkspaceError(DunningError):
    """The workspace folder is missing, or is not a dunning workspace."""


class InputError(DunningError):
    """A file given to dunning cannot be read at all; the message names the file."""


class LedgerError(InputError):
    """A ledger export cannot be read as a whole (encoding, header, mapping)."""


class FlowError(InputError):
    """A flow file is invalid or would break its legal rule pack."""


class StoreError(DunningError):
    """The state store cannot be opened or migrated."""


class NotFound(DunningError):
    """A case, debtor, batch or review item that does not exist."""


class DeliveryError(DunningError):
    """Sending a letter, email, SMS or upload failed."""


class TransientDeliveryError(DeliveryError):
    """A delivery failure worth retrying later (timeout, 4xx, connection reset)."""


class PermanentDeliveryError(DeliveryError):
    """A delivery failure that retrying will not fix; the step's fallback follows."""


class WorkspaceBusy(DunningError):
    """Another process holds this stage's lock on the workspace; the message says who and since when."""
