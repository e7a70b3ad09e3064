"""Domain logic as plain functions: keyword arguments, explicit actors and times, no commits."""
