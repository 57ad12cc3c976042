"""The print batches as the credit controller and the print house follow them (``dunning batches``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dunning.store import Store
from dunning.store.deliveries import count_letters_by_batch, load_print_batches
from dunning.usecases.letters.data import LETTER_CHANNELS
from dunning.usecases.letters.send import PRINT_CHANNEL

__all__ = ["BatchSummary", "list_print_batches"]


@dataclass(frozen=True, slots=True)
class BatchSummary:
    """One print batch: its letters, pages and state, and how many letters were posted or came back."""

    batch: str
    date: str
    letters: int
    pages: int | None
    status: str
    delivered_on: str | None
    posted: int
    returned: int
    destination: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"batch": self.batch, "date": self.date, "letters": self.letters, "pages": self.pages,
                "status": self.status, "delivered_on": self.delivered_on, "posted": self.posted,
                "returned": self.returned, "destination": self.destination}


def list_print_batches(store: Store) -> list[BatchSummary]:
    """The print batches recorded in the store, oldest first, with their letters posted and returned so far."""
    with store.begin() as conn:
        batches = load_print_batches(conn, PRINT_CHANNEL)
        acknowledged = count_letters_by_batch(conn, LETTER_CHANNELS, ("posted", "returned"))
    return [BatchSummary(b.batch_id, b.built_on.isoformat(), len(b.letter_ids), b.pages, b.status, b.delivered_on,
                         acknowledged.get((b.batch_id, "posted"), 0), acknowledged.get((b.batch_id, "returned"), 0),
                         b.destination) for b in batches]
