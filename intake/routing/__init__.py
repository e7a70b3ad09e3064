"""Routing: which team and person a lead goes to (rules, strategies, business hours, off-hours
holding) and the first-contact SLA."""
