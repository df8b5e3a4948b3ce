"""The base of every hookline.yaml model and the secret references they hold.

Secrets are never written in the configuration: a field holding one takes a reference (`SecretRef`),
resolved at run time by hookline.secrets. The models of each section (config_sources.py,
config_destinations.py, config_syncs.py, config.py) derive from `_Model`.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

SECRET_REF = re.compile(r"^(env:[A-Za-z_][A-Za-z0-9_]*|ssm:/[\w./-]+|secretsmanager:[\w/+=.@:-]+)$")
HEADER_SECRET = re.compile(r"\{secret:([^}]+)\}")
SECRET_HINT = "use env:NAME, ssm:/param/name or secretsmanager:secret-id"  # noqa: S105 (a hint, not a secret) # nosec B105


def _check_secret_ref(value: str) -> str:
    if not isinstance(value, str) or not SECRET_REF.match(value):
        raise ValueError("not a secret reference: plain-text secrets are not accepted")
    return value


SecretRef = Annotated[str, AfterValidator(_check_secret_ref),
                      Field(description="env:NAME | ssm:/name | secretsmanager:id")]


class _Model(BaseModel):
    # Unknown keys are typos more often than features: reject them with their path.
    # defer_build: a Lambda rebuilds its pre-validated configuration without validating (core/construct.py),
    # so the validators are built only where YAML is validated (~45 ms of a cold start's CPU otherwise).
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

