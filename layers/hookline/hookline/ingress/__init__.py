"""Ingress: verify signatures, parse bodies, record each event once, queue it."""
