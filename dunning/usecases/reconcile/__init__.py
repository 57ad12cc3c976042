"""Reconciliation: bank files matched to cases, payments applied, collective entries, review, reports."""
