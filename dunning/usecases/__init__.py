"""Use cases: the functions that wire the pure core to the store and the adapters.

The CLI and the Prefect pipelines are thin callers of these.
"""
