"""The hookline.yaml model: `HooklineConfig`, its routes (retry, enrichment) and the smaller sections.

The larger sections have their own modules, re-exported here so `from hookline.core.config import X` names
any of them: config_base.py (`_Model`, secret references), config_sources.py, config_destinations.py,
config_syncs.py, and config_checks.py (the check helpers the capabilities share, the YAML reader).

This module knows no capability. Checks that need one (transforms compile, a warehouse
destination is complete, pagination is coherent) live in that capability's `checks.py`;
`hookline.validation` collects them and owns `load_config` / `parse_config`.
"""

from __future__ import annotations

from datetime import date
from functools import cached_property
from typing import Any, Literal

from pydantic import Field, field_validator

from hookline.core.config_base import HEADER_SECRET, SECRET_HINT, SECRET_REF, SecretRef, _Model
from hookline.core.config_checks import (
    CREDENTIAL_HEADERS,
    check_headers,
    check_jmespath,
    check_schema,
    check_url,
    load_schema,
    pydantic_problems,
    yaml_load,
    yaml_module,
)
from hookline.core.config_destinations import (
    AUTH_SCHEMES,
    HTTP_METHOD,
    RATE_LIMIT,
    ApiKeyAuthConfig,
    AuthConfig,
    BasicAuthConfig,
    CircuitBreakerConfig,
    DestinationConfig,
    MethodChoice,
    MtlsAuthConfig,
    OAuth2Config,
    SigningConfig,
    SigV4AuthConfig,
    parse_rate_limit,
)
from hookline.core.config_sources import (
    SCHEMES,
    SOURCE_AUTH_METHODS,
    ReconcileConfig,
    SecretRefs,
    SourceApiKeyAuth,
    SourceAuthConfig,
    SourceBasicAuth,
    SourceConfig,
    SourceHmacAuth,
    SourceJwtAuth,
    SourceProviderAuth,
    VerifyConfig,
)
from hookline.core.config_syncs import PaginationConfig, SyncConfig, WatermarkConfig
from hookline.core.routing import RouteIndex

__all__ = [
    "AUTH_SCHEMES", "CREDENTIAL_HEADERS", "DEFAULT_SCHEDULE", "HEADER_SECRET", "HTTP_METHOD", "RATE_LIMIT",
    "SCHEMES", "SECRET_HINT", "SECRET_REF", "SOURCE_AUTH_METHODS", "SQS_MAX_VISIBILITY_SECONDS",
    "ApiKeyAuthConfig", "ArchiveConfig", "AuthConfig", "BasicAuthConfig", "CircuitBreakerConfig",
    "DestinationConfig", "EnrichConfig", "EntityConfig", "HooklineConfig", "MethodChoice", "MtlsAuthConfig",
    "OAuth2Config", "PaginationConfig", "ReconcileConfig", "RetryConfig", "RouteConfig", "SecretRef",
    "SecretRefs", "SigV4AuthConfig", "SigningConfig", "SourceApiKeyAuth", "SourceAuthConfig", "SourceBasicAuth",
    "SourceConfig", "SourceHmacAuth", "SourceJwtAuth", "SourceProviderAuth", "SyncConfig", "VerifyConfig",
    "WatermarkConfig", "check_headers", "check_jmespath", "check_schema", "check_url", "load_schema",
    "parse_rate_limit", "pydantic_problems", "yaml_load", "yaml_module",
]

DEFAULT_SCHEDULE = (60, 300, 1800)
SQS_MAX_VISIBILITY_SECONDS = 12 * 60 * 60


class RetryConfig(_Model):
    schedule_seconds: list[int] = Field(default_factory=lambda: list(DEFAULT_SCHEDULE))

    @field_validator("schedule_seconds")
    @classmethod
    def _bounded(cls, v: list[int]) -> list[int]:
        for d in v:
            if d < 0 or d > SQS_MAX_VISIBILITY_SECONDS:
                raise ValueError(f"each delay must be within 0..{SQS_MAX_VISIBILITY_SECONDS} s (SQS limit)")
        return v


class EnrichConfig(_Model):
    """A call to another configured destination before mapping; its response is `enriched.<name>`."""

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=64)
    destination: str
    method: Literal["GET", "POST"] = "GET"
    path: str = ""  # appended to the destination's url; `{EXPR}` placeholders (JMESPath), URL-encoded
    cache_seconds: int = Field(default=0, ge=0, le=86400)
    on_missing: Literal["skip", "default", "fail"] = "fail"  # what a 404 / 410 means
    default: Any = None  # with on_missing: default
    body: dict[str, Any] | None = None  # with method: POST, a transform spec sent as JSON


class RouteConfig(_Model):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", max_length=80)
    source: str
    destination: str
    when: str | None = None
    transform: dict[str, Any] | None = None
    retry: RetryConfig | None = None
    schema_: dict[str, Any] | str | None = Field(default=None, alias="schema")
    enrich: list[EnrichConfig] = Field(default_factory=list)
    # Governance: the entity this route writes, and how a write into the owner is justified.
    writes: str | None = None
    one_way_copy: bool = False
    precedence: int | None = Field(default=None, ge=0)  # higher wins when routes write one field
    owner: str | None = None
    review_by: date | None = None

    # Records: the record key (JMESPath over the envelope), per-key FIFO delivery, the stale-update guard.
    key: str | None = None
    ordered: bool = False
    version: str | None = None


class EntityConfig(_Model):
    """A data type (customer, order, ...) and its single system of record."""

    owner: str  # a source or destination name
    steward: str | None = None  # a person or team, free text
    fields: list[str] = Field(default_factory=list)
    precedence: list[str] | None = None  # sources, first wins, when routes write one field


class ArchiveConfig(_Model):
    """`archive:`: every accepted event and attempt kept in S3 for `hookline events search` (docs/events.md).
    The deployed bucket's lifecycle comes from the template parameter ArchiveRetentionDays; 0 here turns
    the archive's writes off."""

    retention_days: int = Field(default=30, ge=0, le=3650)


class HooklineConfig(_Model):
    sources: dict[str, SourceConfig] = Field(default_factory=dict)
    destinations: dict[str, DestinationConfig] = Field(default_factory=dict)
    routes: list[RouteConfig] = Field(default_factory=list)
    retry: RetryConfig = Field(default_factory=RetryConfig)
    archive: ArchiveConfig = Field(default_factory=ArchiveConfig)
    syncs: dict[str, SyncConfig] = Field(default_factory=dict)
    entities: dict[str, EntityConfig] = Field(default_factory=dict)

    def routes_for(self, source: str) -> list[RouteConfig]:
        return [r for r in self.routes if r.source == source]

    def route(self, name: str) -> RouteConfig:
        for r in self.routes:
            if r.name == name:
                return r
        raise KeyError(name)

    def schedule_for(self, route: RouteConfig) -> list[int]:
        return list((route.retry or self.retry).schedule_seconds)

    @cached_property
    def route_index(self) -> RouteIndex:
        """The routes compiled and indexed by source (built at load, once per configuration)."""
        return RouteIndex(self.routes)
