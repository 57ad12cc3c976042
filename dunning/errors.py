"""Every exception dunning raises on purpose, in one place, with the exit code the CLI gives it.

The categories are defined here; the specific errors live beside the code that raises them (so a
traceback names the module that refused) and each derives from exactly one category. The tree,
with the exit code of each branch (``dunning.cli`` turns any of them into ``error: <message>`` on
stderr and that code, in one place: :func:`exit_code`)::

    DunningError                                      1  (no category: never raised as such)
    ├── ConfigError                                   3  dunning.yaml or an environment override is invalid
    │   ├── InvalidActionId      dunning.channels.tokens        an action id cannot travel in an address
    │   ├── TemplateMissing      dunning.channels.render        no message template for channel/kind/language
    │   ├── InvalidBrand         dunning.channels.email         a brand setting cannot go into an email
    │   └── LetterBuildError     dunning.usecases.letters.data  a planned letter's data cannot be put together
    ├── WorkspaceError                                3  the workspace folder is missing or not a workspace
    ├── InputError                                    4  a file given to dunning cannot be read at all
    │   ├── LedgerError                                  a ledger export cannot be read (encoding, header, mapping)
    │   │   └── SnapshotRefused  dunning.usecases.importing.snapshot  no data rows, or it would close too many cases
    │   ├── FlowError                                    a flow file is invalid or breaks its legal rule pack
    │   ├── BankFileRefused      dunning.bank.read              a bank file is not camt, malformed or unsafe
    │   ├── InvalidMatchInput    dunning.domain.matching.model  a matching input record is malformed
    │   ├── ReviewError          dunning.usecases.reconcile.review  a review decision cannot be applied
    │   ├── CreditDecisionError  dunning.usecases.reconcile.credits  a credit decision that cannot be applied
    │   ├── TooManySends         dunning.usecases.paypage.contact   a pay link sent its confirmation codes for the hour
    │   ├── DisputeRefused       dunning.usecases.paypage.dispute   a question or dispute the page cannot take
    │   ├── PlanRefused          dunning.usecases.paypage.plan      a plan the debtor asked for cannot be made
    │   ├── MandateRefused       dunning.usecases.paypage.plan_mandate  a direct debit mandate the page cannot take
    │   └── TaskError            dunning.usecases.planning.tasks    a task is already closed, or closed before it opened
    ├── InvalidValue (also a ValueError)              4  a value breaks a rule of the domain
    │   ├── InvalidAmount        dunning.domain.money           not a decimal amount
    │   ├── CurrencyMismatch     dunning.domain.money           arithmetic across two currencies
    │   ├── InvalidReference     dunning.domain.references      not a valid structured reference
    │   ├── EpcError             dunning.domain.epc             an EPC QR payload cannot be made or read
    │   ├── PayLinkError         dunning.domain.paylink         a pay-link token cannot be made or trusted
    │   │   ├── InvalidToken     dunning.domain.paylink         forged or malformed token
    │   │   ├── ExpiredToken     dunning.domain.paylink         genuine token past its date
    │   │   └── RevokedToken     dunning.domain.paylink         the case's pay links were revoked
    │   ├── RateUpdateError      dunning.domain.legal.rate_updates  a rate table update cannot be applied
    │   ├── PlanError            dunning.domain.plans.model     a payment plan cannot be made or changed as asked
    │   ├── LetterDataError      dunning.letters.model          a letter's data breaks a rule of its layout
    │   │   └── UnprintableLetter  dunning.letters.printsafe    an address does not fit the envelope's window
    │   ├── ContactRefused       dunning.usecases.paypage.contact   contact details a debtor gave cannot be used
    │   └── SignatureError       dunning.channels.webhook       a webhook signature is missing, stale or wrong
    ├── StoreError                                    5  the state store cannot be opened or migrated
    ├── NotFound                                      7  a case, debtor, batch, review item or task that does not exist
    ├── WorkspaceBusy                                 8  another process is working on the same stage of this workspace
    └── DeliveryError                                 6  sending a letter, email, SMS or upload failed
        ├── TransientDeliveryError                       worth retrying (timeouts, 4xx SMTP, connection reset)
        │   └── SendFailed       dunning.usecases.paypage.contact   a confirmation code's message was not taken
        └── PermanentDeliveryError                       retrying will not help: the step's fallback follows
            ├── InvalidEmailAddress  dunning.channels.email     the recipient address is not deliverable
            ├── InvalidPhoneNumber   dunning.channels.sms       no SMS can go to this number
            ├── MessageTooLong       dunning.channels.sms       every template variant is too long
            ├── BatchConflictError   dunning.print.delivery     the print house has another batch of this id
            ├── HostKeyError         dunning.adapters.sftp      the SFTP server's host key is unknown or changed
            └── SftpAuthError        dunning.adapters.sftp      the SFTP server refused our key

The other exit codes: 0 done; 1 done, but some records were rejected (see the report); 2 wrong
usage (click's own). ``WorkspaceBusy`` (code 8) comes from the stage locks of :mod:`dunning.store.locks`.
``camt`` is independent of dunning: its ``CamtError`` is given code 4 (an input cannot be read)
where the CLI catches it. ``tests/cli/test_exit_codes.py`` checks that every subclass of
:class:`DunningError` in the library is named in this tree and falls in a category.

Bad *records* (one ledger row, one bank transaction) are not exceptions: the functions that read
them return them as problems beside the good results, so one bad record never stops a batch.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = [
    "EXIT_BUSY",
    "EXIT_CODES",
    "EXIT_CONFIG",
    "EXIT_DELIVERY",
    "EXIT_INPUT",
    "EXIT_NOT_FOUND",
    "EXIT_OK",
    "EXIT_PROBLEMS",
    "EXIT_STORE",
    "EXIT_USAGE",
    "ConfigError",
    "DeliveryError",
    "DunningError",
    "FlowError",
    "InputError",
    "InvalidValue",
    "LedgerError",
    "NotFound",
    "PermanentDeliveryError",
    "StoreError",
    "TransientDeliveryError",
    "WorkspaceBusy",
    "WorkspaceError",
    "category",
    "exit_code",
]

#: The CLI's exit codes (the README's table).
(EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, EXIT_CONFIG, EXIT_INPUT, EXIT_STORE, EXIT_DELIVERY, EXIT_NOT_FOUND,
 EXIT_BUSY) = range(9)


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


class InvalidValue(DunningError, ValueError):
    """A value breaks a rule of the domain (an amount, a reference, an IBAN, a token, a signature).

    Also a :class:`ValueError`, because these are raised by small pure functions whose callers
    (and the standard library's conventions) expect one.
    """


class StoreError(DunningError):
    """The state store cannot be opened or migrated."""


class NotFound(DunningError):
    """A case, debtor, batch, review item or task that does not exist."""


class WorkspaceBusy(DunningError):
    """Another process holds this stage's lock on the workspace; the message says who and since when."""


class DeliveryError(DunningError):
    """Sending a letter, email, SMS or upload failed."""


class TransientDeliveryError(DeliveryError):
    """A delivery failure worth retrying later (timeout, 4xx, connection reset)."""


class PermanentDeliveryError(DeliveryError):
    """A delivery failure that retrying will not fix; the step's fallback follows."""


#: The exit code of each category; a subclass takes the code of its nearest listed ancestor.
EXIT_CODES: Mapping[type[DunningError], int] = MappingProxyType({
    DunningError: EXIT_PROBLEMS,
    ConfigError: EXIT_CONFIG,
    WorkspaceError: EXIT_CONFIG,
    InputError: EXIT_INPUT,
    InvalidValue: EXIT_INPUT,
    StoreError: EXIT_STORE,
    DeliveryError: EXIT_DELIVERY,
    NotFound: EXIT_NOT_FOUND,
    WorkspaceBusy: EXIT_BUSY,
})


def category(kind: type[DunningError]) -> type[DunningError]:
    """The nearest ancestor of ``kind`` (or ``kind`` itself) that :data:`EXIT_CODES` lists.

    >>> category(PermanentDeliveryError).__name__
    'DeliveryError'
    """
    for base in kind.__mro__:
        if issubclass(base, DunningError) and base in EXIT_CODES:
            return base
    return DunningError  # not reached: DunningError is in every such MRO, and listed


def exit_code(error: DunningError) -> int:
    """The exit code the CLI gives ``error``.

    >>> exit_code(LedgerError("ledger.csv: no header"))
    4
    >>> exit_code(NotFound("case 7"))
    7
    """
    return EXIT_CODES[category(type(error))]
