"""What every capability shares and nothing capability-specific: the configuration model, the envelope,
the queue and DLQ messages, the fan-out step, signing primitives, outbound HTTP deadlines and OAuth2
tokens, and the ports (`ports.py`) the adapters implement. Imports only itself and the shared platform
modules (observability, secrets); tests/structure/test_architecture.py holds it to that."""
