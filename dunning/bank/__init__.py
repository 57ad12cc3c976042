"""Bank files, the second input of the cycle: camt read into the domain's records, and the inbox they come from
(a folder or SFTP, ZIP archives too)."""
