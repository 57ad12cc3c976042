"""dunning: a self-hosted print-and-mail dunning factory with bank reconciliation.

Layout: ``domain`` (the pure core), ``ledger`` (reading exports), ``store`` (the
state store), ``adapters`` (SFTP, SMTP, SMS, files), ``usecases`` (wiring) and
``cli`` (the command line). See the README and DESIGN.md.
"""

__version__ = "0.1.0"
