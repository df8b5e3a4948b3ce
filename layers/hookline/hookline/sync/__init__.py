"""Batch sync: pull pages from APIs that cannot push and record them through ingress."""
