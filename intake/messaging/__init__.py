"""Messaging: the send ledger, the emails and how they are delivered, follow-up cadences,
unsubscribes and the staff digest."""
