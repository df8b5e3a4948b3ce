"""Operator tools: DLQ listing and replay, outcome reports, stack lookup, time parsing."""
