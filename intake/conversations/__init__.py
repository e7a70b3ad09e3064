"""Conversations with a patient: staff-sent email and text, and the replies that come back.

``inbound`` records what arrives (a reply, an auto-reply, a bounce, a keyword text) once, on the
right lead, with its consequences; the sending side goes through the send ledger like every
automatic message, so the same checks hold at send time.
"""
