"""Real servers started by test fixtures (OpenSSH sshd, a local server speaking Stripe's API, ...)."""
