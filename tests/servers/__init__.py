"""Real servers started by test fixtures (OpenSSH sshd, ...)."""
