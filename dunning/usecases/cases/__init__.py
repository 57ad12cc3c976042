"""Cases as the credit controller reads them: the list, one case's timeline, its printed reference."""
