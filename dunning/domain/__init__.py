"""The pure core: money, references, flows, legal rules, matching.

Nothing in this package does I/O, reads the clock or touches a database; every
function takes what it needs as arguments and returns values (often together
with a list of problems), so it can be tested with plain data.
"""
