"""The provider catalog: one TOML entry per sender (catalog/<name>.toml), read and compiled only when a
configured source uses it, once per process. docs/providers.md describes the entry format."""

from __future__ import annotations

from hookline.ingress.providers.compile import Provider, ProviderError, load, names
from hookline.ingress.providers.engine import Verified, sign, verify
from hookline.ingress.providers.request import Request

__all__ = ["Provider", "ProviderError", "Request", "Verified", "load", "names", "sign", "verify"]
