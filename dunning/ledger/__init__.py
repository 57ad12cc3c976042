"""Reading ledger exports (CSV, XLSX, Parquet) into canonical open-item rows.

``read_ledger(path, mapping)`` returns a :class:`~dunning.ledger.normalize.LedgerSnapshot`:
the good rows (canonical columns, Decimal amounts, dates), and every rejection and
warning with file, line, column, value and reason. Applying a snapshot to the store
is the job of :mod:`dunning.usecases.importing.snapshot`.
"""

from dunning.ledger.mapping import Mapping, load_mapping
from dunning.ledger.normalize import LedgerRow, LedgerSnapshot, Problem, read_ledger

__all__ = ["LedgerRow", "LedgerSnapshot", "Mapping", "Problem", "load_mapping", "read_ledger"]
