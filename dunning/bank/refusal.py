"""Why a bank file is refused: :class:`BankFileRefused`, naming the file, line, element and value.

A refused file is never booked in part: reconciliation sets it aside with a report (see
:func:`dunning.usecases.reconcile.run.reconcile_files`) and goes on with the other files.
"""

from __future__ import annotations

import re

from camt import MessageInfo, StatementHeader
from dunning.errors import InputError

__all__ = ["BankFileRefused", "compact_account", "marked_as_test_data", "refuse_foreign_account"]


class BankFileRefused(InputError):
    """A bank file cannot be used (not camt, malformed, unsafe XML, a record past an invariant).

    The message names the file and, where known, the line, the element and the value; the same
    facts are kept as attributes for the quarantine report (:meth:`facts`).
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        element: str | None = None,
        value: str | None = None,
        reason: str | None = None,
    ) -> None:
        super().__init__(message)
        self.file = file
        self.line = line
        self.element = element
        self.value = value
        self.reason = reason or message

    @classmethod
    def at(
        cls,
        file: str,
        reason: str,
        *,
        line: int | None = None,
        element: str | None = None,
        value: str | None = None,
    ) -> BankFileRefused:
        """``bank file refused: FILE, line N, ELEMENT: REASON (value 'V')``."""
        where = file + (f", line {line}" if line is not None else "") + (f", {element}" if element else "")
        tail = f" (value {value!r})" if value is not None else ""
        return cls(
            f"bank file refused: {where}: {reason}{tail}",
            file=file,
            line=line,
            element=element,
            value=value,
            reason=reason,
        )

    def facts(self) -> dict[str, object]:
        """What the quarantine report and the store keep: file, line, element, value, reason."""
        return {
            "file": self.file,
            "line": self.line,
            "element": self.element,
            "value": self.value,
            "reason": self.reason,
            "message": str(self),
        }


# GrpHdr/AddtlInf of a test delivery: "TEST", "Testdatei", Swiss SPS "SPS/1.7/TEST" (production says PROD).
_TEST_MARK = re.compile(r"(?<![A-Za-z])test", re.IGNORECASE)


def marked_as_test_data(
    info: MessageInfo | None, header: StatementHeader | None, test_accounts: frozenset[str]
) -> str | None:
    """Why a file is test data, or None: its group header says so, or its account is a known test account."""
    if info is not None and info.additional_info and _TEST_MARK.search(info.additional_info):
        return f"the group header marks it as test data (AddtlInf {info.additional_info!r})"
    account = header.account if header is not None else None
    for value in (account.iban, account.other_id) if account is not None else ():
        if value and value.replace(" ", "").upper() in test_accounts:
            return f"its account {value} is listed in bank.test_accounts"
    return None


def compact_account(value: str) -> str:
    """An account as compared: no spaces, upper case (``be68 5390 0754 7034`` = ``BE68539007547034``)."""
    return "".join(value.split()).upper()


def refuse_foreign_account(file: str, header: StatementHeader, own_accounts: frozenset[str]) -> None:
    """Raise :class:`BankFileRefused` unless the statement is for one of ``own_accounts`` (``bank.accounts``)."""
    account = header.account.iban or header.account.other_id
    own = ", ".join(sorted(own_accounts)) or "none"
    if account is None:
        raise BankFileRefused.at(
            file,
            f"the statement names no account, so it cannot be told to be this workspace's (bank.accounts: {own})",
            line=header.line,
            element="Acct/Id",
        )
    if compact_account(account) not in own_accounts:
        raise BankFileRefused.at(
            file,
            f"the statement is for account {account}, which is not this workspace's (bank.accounts: {own}); "
            "add it to bank.accounts in dunning.yaml if it is the creditor's",
            line=header.line,
            element="Acct/Id/IBAN" if header.account.iban else "Acct/Id/Othr/Id",
            value=account,
        )
