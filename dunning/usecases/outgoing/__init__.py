"""What every outgoing message shares, letters and email and SMS alike (so neither imports the other).

``due`` (the planned actions due on a channel, with what their message needs), ``secrets`` (the
keys links and tokens are signed with), ``paylinks``, ``legal`` (the mentions of a first legal
notice) and ``fees`` (the fee a message carries, booked once it went out).
"""
