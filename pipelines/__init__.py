"""Prefect flows, one module per deployment; each a thin wrapper over library calls."""
