"""Between a prepared request and its destination (guards.py): the stale guard (stale.py), the destination's
rate and concurrency limits (limits.py) and its circuit breaker (breaker.py), each over the records table."""
