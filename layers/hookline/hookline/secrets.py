"""Secret references (`env:`, `ssm:`, `secretsmanager:`) resolved to values at the edge.

SSM and Secrets Manager go through Powertools Parameters, which caches each value for
`max_age` seconds so a warm Lambda does not call the API per event. Values are never
logged: errors name the reference only.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from typing import Any

from hookline.core.errors import SecretResolutionError

HEADER_SECRET = re.compile(r"\{secret:([^}]+)\}")
DEFAULT_MAX_AGE = 300


class SecretResolver:
    def __init__(
        self,
        environ: Mapping[str, str] | None = None,
        ssm_provider: Any | None = None,
        secrets_provider: Any | None = None,
        max_age: int = DEFAULT_MAX_AGE,
    ) -> None:
        self._environ = environ if environ is not None else os.environ
        self._ssm = ssm_provider
        self._secrets = secrets_provider
        self._max_age = max_age

    def resolve(self, ref: str) -> str:
        kind, _, name = ref.partition(":")
        try:
            if kind == "env":
                if name not in self._environ:
                    raise SecretResolutionError(
                        f"secret {ref} is not set: export {name}=... in the environment of hookline", permanent=True)
                return self._environ[name]
            if kind == "ssm":
                return str(self._ssm_provider().get(name, decrypt=True, max_age=self._max_age))
            if kind == "secretsmanager":
                return str(self._secrets_provider().get(name, max_age=self._max_age))
        except SecretResolutionError:
            raise
        except Exception as e:  # provider errors carry no secret value, only names and codes
            raise SecretResolutionError(f"cannot read secret {ref}: {type(e).__name__}: {e}") from None
        raise SecretResolutionError(f"unknown secret reference kind in {ref!r}")

    def resolve_all(self, refs: list[str]) -> list[str]:
        return [self.resolve(r) for r in refs]

    def interpolate(self, template: str) -> str:
        """Replace each {secret:REF} in a header value with the secret's value."""
        return HEADER_SECRET.sub(lambda m: self.resolve(m.group(1)), template)

    def _ssm_provider(self) -> Any:
        if self._ssm is None:
            # lazy: Powertools' parameters (~250 ms) load on the first ssm: reference; env: secrets never need them.
            from aws_lambda_powertools.utilities.parameters import SSMProvider

            self._ssm = SSMProvider()
        return self._ssm

    def _secrets_provider(self) -> Any:
        if self._secrets is None:
            # lazy: as above, on the first secretsmanager: reference.
            from aws_lambda_powertools.utilities.parameters import SecretsProvider

            self._secrets = SecretsProvider()
        return self._secrets


SecretLookup = Callable[[str], str]


def scrub(text: str, values: list[str]) -> str:
    """Replace each secret value in `text` with ***, longest first (too short to matter: kept)."""
    for value in sorted({v for v in values if v and len(v) >= 4}, key=len, reverse=True):
        text = text.replace(value, "***")
    return text
