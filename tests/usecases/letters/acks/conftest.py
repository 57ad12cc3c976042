"""The real OpenSSH sshd of the letter tests, for acknowledgements read over SFTP."""

from tests.usecases.letters.conftest import sftp_upload, sshd

__all__ = ["sftp_upload", "sshd"]
