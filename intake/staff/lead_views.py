"""Placeholder: routes are added by this module."""

from intake.staff import bp  # noqa: F401
