"""Signing in and out, second factors, invitations and password resets, and each person's own
account page."""
