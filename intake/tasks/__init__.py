"""Staff tasks: call-backs and follow-ups on a lead, with due times, reminders and escalation."""
