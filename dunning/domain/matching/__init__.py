"""Payment matching in the pure core: the matcher (``match``), its model, text and IBAN rules, the index and
the allocation of a payment to what a case owes."""
