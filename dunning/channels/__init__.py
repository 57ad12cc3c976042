"""Email and SMS channels of dunning: build messages, count SMS segments, read bounces.

The modules here turn one planned action (a reminder for one debtor) into a message that an
adapter in ``dunning.adapters`` can send; they do no network I/O themselves.

- ``dunning.channels.email``: MIME message (text + HTML, optional PDF), deterministic
  Message-ID, VERP bounce address, List-Unsubscribe where it belongs, DKIM.
- ``dunning.channels.sms``: SMS text from templates, GSM-7/UCS-2 detection, segment counting,
  E.164 numbers.
- ``dunning.channels.gsm7``: the GSM 03.38 alphabet, the encoder and the segment splitter.
- ``dunning.channels.quiet_hours``: when an SMS may be sent, per country.
- ``dunning.channels.tokens``: signed, short action tokens (VERP addresses, Message-IDs).
- ``dunning.channels.bounces``: delivery status notifications (RFC 3464 and the wild ones)
  read from a Maildir, an mbox or an IMAP folder and mapped back to the action.
"""
