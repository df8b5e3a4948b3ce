"""Environment settings, validated once per cold start (template.yaml Globals set them)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

BUNDLED_CONFIG = Path(__file__).parent / "bundled" / "hookline.yaml"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, extra="ignore")

    hookline_config: Path = BUNDLED_CONFIG
    hookline_stage: str = "dev"
    events_table: str = ""
    delivery_queue_url: str = ""
    dlq_url: str = ""
    ordered_queue_url: str = ""  # FIFO delivery queue of `ordered: true` routes
    records_table: str = ""  # stale guard, limits and breaker state (delivery/store.py)
    payload_bucket: str = ""
    idempotency_window_seconds: int = Field(default=7 * 24 * 3600, ge=60)
    event_log_ttl_seconds: int = Field(default=30 * 24 * 3600, ge=3600)
    large_body_threshold_bytes: int = Field(default=200 * 1024, ge=1024)
    max_body_bytes: int = Field(default=6 * 1024 * 1024, ge=1024)

