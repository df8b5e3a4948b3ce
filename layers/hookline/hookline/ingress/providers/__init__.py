"""The provider catalog: one TOML entry per sender (catalog/<name>.toml), read and compiled when used."""

from __future__ import annotations

from hookline.ingress.providers.request import Request

__all__ = ["Request"]
