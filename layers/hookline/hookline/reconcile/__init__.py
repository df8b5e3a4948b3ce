"""Reconciliation: the provider's own list of events, checked against the event log (docs/missed-webhooks.md)."""
