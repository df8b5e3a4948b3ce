"""Field mapping: transforms compiled once from the config and applied to envelopes."""
