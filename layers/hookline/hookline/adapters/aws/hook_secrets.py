"""Secrets handed over in a handshake (Asana's X-Hook-Secret), kept as SSM SecureString parameters.

The parameter is the one the source's `secrets: [ssm:/<prefix>/...]` reads, so later requests resolve it
like any other secret. Written once: a second handshake cannot replace it (anyone can send one); the
operator deletes the parameter to register a new webhook (docs/providers.md, Handshakes).
"""

from __future__ import annotations

from typing import Any

from hookline.adapters.aws.stores import hot_path_client


class SsmHookSecrets:
    def __init__(self, client: Any | None = None) -> None:
        self._client = client

    def _ssm(self) -> Any:
        if self._client is None:
            self._client = hot_path_client("ssm")
        return self._client

    def put_new(self, name: str, value: str) -> str | None:
        ssm = self._ssm()
        try:
            ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=False,
                              Description="handed over by the provider's webhook handshake (hookline)")
            return None
        except ssm.exceptions.ParameterAlreadyExists:
            return str(ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"])
