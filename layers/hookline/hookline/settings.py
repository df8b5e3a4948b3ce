"""Environment settings, validated once per cold start (template.yaml Globals set them)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

BUNDLED_CONFIG = Path(__file__).parent / "bundled" / "hookline.yaml"


class Settings(BaseModel):
    """Values given here win; the environment fills the rest, by field name in any case.

    A plain model rather than pydantic-settings' BaseSettings: reading a few variables is all it did
    here, and importing it (asyncio, argparse, its sources) cost every handler ~15-35 ms of cold start.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    hookline_config: Path = BUNDLED_CONFIG
    hookline_stage: str = "dev"
    events_table: str = ""
    delivery_queue_url: str = ""
    dlq_url: str = ""
    ordered_queue_url: str = ""  # FIFO delivery queue of `ordered: true` routes
    records_table: str = ""  # stale guard, limits and breaker state (adapters/aws/guard_store.py)
    payload_bucket: str = ""
    archive_stream: str = ""  # the event archive's Firehose stream (core/archive.py); empty = no archive
    idempotency_window_seconds: int = Field(default=7 * 24 * 3600, ge=60)
    event_log_ttl_seconds: int = Field(default=30 * 24 * 3600, ge=3600)
    large_body_threshold_bytes: int = Field(default=200 * 1024, ge=1024)
    max_body_bytes: int = Field(default=6 * 1024 * 1024, ge=1024)

    def __init__(self, **values: Any) -> None:
        fields = type(self).model_fields
        env = {name.lower(): value for name, value in os.environ.items() if name.lower() in fields}
        super().__init__(**{**env, **values})
