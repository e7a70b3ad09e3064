"""Outgoing webhooks: admins subscribe a URL to events; each event is signed per the Standard
Webhooks specification and delivered through the outbox and a delivery ledger (README: Webhooks).

``events`` is the one place that says which events exist and what their payloads hold;
``endpoints`` manages subscriptions and their secrets; ``addresses`` refuses private
destinations; ``delivery`` fans events out to the ledger, signs, posts and retries."""
