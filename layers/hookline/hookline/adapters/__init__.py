"""Adapters: the code that talks to the outside world (today AWS, through boto3).

Capabilities use them through core/ports.py; wiring.py, the composition root, builds them."""
