"""The audit log: one hash-chained row per staff or system action."""
