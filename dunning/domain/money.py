"""Money: a Decimal amount that travels with its currency.

Amounts are never floats. Arithmetic between two currencies is refused, and
rounding to the currency's minor unit is explicit (``quantize``)::

    >>> Money.of("12.50", "EUR") + Money.of("0.5", "EUR")
    Money(amount=Decimal('13.00'), currency='EUR')
    >>> Money.of("12,50", "EUR")
    Traceback (most recent call last):
    ...
    dunning.domain.money.InvalidAmount: '12,50' is not a decimal amount
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from dunning.errors import InvalidValue

__all__ = ["CurrencyMismatch", "InvalidAmount", "Money", "minor_unit", "to_decimal"]

# ISO 4217 currencies whose minor unit is not 2 digits (the ones a European
# creditor meets); every other code is taken to have 2.
_MINOR_UNITS = {"JPY": 0, "ISK": 0, "KRW": 0, "HUF": 2, "BHD": 3, "KWD": 3, "TND": 3}


class InvalidAmount(InvalidValue):
    """A value that cannot be read as a decimal amount."""


class CurrencyMismatch(InvalidValue):
    """Arithmetic or comparison between amounts of two currencies."""


def minor_unit(currency: str) -> int:
    """Number of decimal places of ``currency`` (ISO 4217), e.g. 2 for EUR."""
    return _MINOR_UNITS.get(currency, 2)


def to_decimal(value: object) -> Decimal:
    """Return ``value`` as a finite Decimal; floats are refused (they are not exact)."""
    if isinstance(value, bool | float):
        raise InvalidAmount(f"{value!r} is a float or bool, not a decimal amount")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise InvalidAmount(f"{value!r} is not a decimal amount") from None
    else:
        raise InvalidAmount(f"{value!r} is not a decimal amount")
    if not result.is_finite():
        raise InvalidAmount(f"{value!r} is not a finite amount")
    return result


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount in one currency (ISO 4217 code)."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            object.__setattr__(self, "amount", to_decimal(self.amount))
        if len(self.currency) != 3 or not self.currency.isalpha() or not self.currency.isupper():
            raise ValueError(f"{self.currency!r} is not an ISO 4217 currency code")

    @classmethod
    def of(cls, amount: object, currency: str = "EUR") -> Money:
        return cls(to_decimal(amount), currency)

    @classmethod
    def zero(cls, currency: str = "EUR") -> Money:
        return cls(Decimal(0).quantize(Decimal(1).scaleb(-minor_unit(currency))), currency)

    def quantize(self) -> Money:
        """Round half up to the currency's minor unit."""
        exp = Decimal(1).scaleb(-minor_unit(self.currency))
        return Money(self.amount.quantize(exp, rounding=ROUND_HALF_UP), self.currency)

    def _check(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatch(f"{self.currency} and {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __mul__(self, factor: Decimal | int) -> Money:
        if isinstance(factor, float):
            raise TypeError("multiply Money by a Decimal or an int, not a float")
        return Money(self.amount * factor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._check(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._check(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._check(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._check(other)
        return self.amount >= other.amount

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"
