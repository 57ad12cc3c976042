"""Importing: a ledger export becomes a snapshot of cases and open invoices."""
