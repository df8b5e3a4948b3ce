"""The delivery engine: route, map, send, classify the outcome, back off, dead-letter."""
