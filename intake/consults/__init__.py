"""Consults: free slots from each host's hours, booking by staff or by the patient's link,
moves, cancellations, outcomes, and the messages and calendars that follow them."""
