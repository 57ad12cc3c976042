"""The debtor's pay page: the claim behind a pay link, as the letters state it, and each visit recorded."""
