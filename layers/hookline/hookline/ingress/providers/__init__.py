"""The provider catalog: one TOML entry per sender (catalog/<name>.toml), read and compiled only when a
configured source uses it, once per process. docs/providers.md describes the entry format.

Only `Request` is imported with the package: ingress builds one for every request, while the engine
(compile, content, crypto) loads on the first use of a `provider:` source, so a deployment without one
pays nothing for the catalog at cold start.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from hookline.ingress.providers.request import Request

if TYPE_CHECKING:
    from hookline.ingress.providers.compile import Provider, ProviderError, load, names
    from hookline.ingress.providers.engine import Verified, identify, sign, signs_timestamp, verify

__all__ = ["Provider", "ProviderError", "Request", "Verified", "identify", "load", "names", "sign", "signs_timestamp",
           "verify"]

_HOME = {"Provider": "compile", "ProviderError": "compile", "load": "compile", "names": "compile",
         "Verified": "engine", "identify": "engine", "sign": "engine", "signs_timestamp": "engine", "verify": "engine"}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # resolved once
    return value
