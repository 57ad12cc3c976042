"""Notify: signed webhooks to the creditor (an outbox) and export files for agencies and lawyers."""
