"""The leads area of the staff workspace: the queue, the lead page, duplicates and the dashboard."""
