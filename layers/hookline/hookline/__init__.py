"""hookline: verify, record once, map and deliver webhooks on AWS serverless."""

__version__ = "0.1.0"
