"""The adapters: dunning's side of the outside world (folders, SFTP, SMTP, SMS gateways, webhooks).

Each adapter implements a seam of :mod:`dunning.ports` and meets the others only there: no adapter
imports another, so one can be replaced (another SMS gateway, an object store) without touching
the rest. The single exception is :func:`dunning.adapters.transport.transport_for`, the factory
that opens a folder or an SFTP transport from a config section and so has to know both.
"""
