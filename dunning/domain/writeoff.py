"""The write-off tolerance: how small a difference is never asked for, per currency.

A payment that falls short of what was asked by at most the tolerance settles the claim and
the difference is written off (reconciliation); a residual at or below it is never dunned (the
planner treats the case as paid). One amount for every currency, or one per currency
(currencies not named: nothing is written off)::

    >>> WriteOffTolerance.parse({"EUR": "1.00", "chf": "0.50"}).of("CHF")
    Decimal('0.50')
    >>> WriteOffTolerance.parse({"EUR": "1.00"}).of("USD")
    Decimal('0')
    >>> WriteOffTolerance.parse("0.05").of("USD")
    Decimal('0.05')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from dunning.domain.money import to_decimal
from dunning.errors import ConfigError

__all__ = ["WriteOffTolerance"]

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class WriteOffTolerance:
    """``default`` for every currency not in ``per_currency`` (ISO 4217 code → amount, upper case)."""

    default: Decimal = _ZERO
    per_currency: Mapping[str, Decimal] = field(default_factory=dict)

    def of(self, currency: str) -> Decimal:
        """The tolerance of ``currency``."""
        return self.per_currency.get(currency.upper(), self.default)

    @classmethod
    def parse(cls, value: str | Decimal | Mapping[str, object] | None) -> WriteOffTolerance:
        """From the config: one amount for every currency, or a mapping per currency."""
        if value is None:
            return cls()
        if isinstance(value, Mapping):
            return cls(_ZERO, {str(code).upper(): _amount(amount, f".{code}") for code, amount in value.items()})
        return cls(_amount(value, ""))


def _amount(value: object, where: str) -> Decimal:
    try:
        amount = to_decimal(value)
    except ValueError as exc:
        raise ConfigError(f"bank.tolerance{where}: {exc}") from None
    if amount < 0:
        raise ConfigError(f"bank.tolerance{where}: {amount} is negative")
    return amount
