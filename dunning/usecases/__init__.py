"""Use cases: the functions that wire the pure core to the store and the adapters, one package per stage.

The CLI and the Prefect pipelines are thin callers of these. Where each stage of the cycle lives:

- ``importing``: a ledger export becomes a snapshot of debtors, cases and open invoices.
- ``planning``: the night: every case walked through its flow on date D; the workspace's rate tables.
- ``messaging``: email and SMS composed and dispatched; bounces and delivery receipts.
- ``letters``: letters rendered, batched and sent to the print house; its acknowledgements.
- ``outgoing``: what every outgoing message shares (letters, email, SMS): fees booked when it goes out.
- ``reconcile``: bank files matched to cases, payments applied, collective entries, review, reports.
- ``notify``: signed webhooks to the creditor (an outbox) and export files for agencies and lawyers.
- ``cases``: cases as the credit controller reads them: the list, one case's timeline, its reference.

Each reads the store through the typed modules of :mod:`dunning.store` (one per subject) and keeps
the rules in :mod:`dunning.domain`: a use case reads as the story of its stage.
"""
