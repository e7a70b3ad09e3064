"""Celery workers for intake: the app entry point (``workers.app``) and thin tasks."""
