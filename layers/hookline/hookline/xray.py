"""The tracer when X-Ray is on: Powertools' Tracer, with what hookline calls out through patched on import.

Tracer() patches with the X-Ray SDK's patch_all(), which imports every library the SDK can trace
that is installed: botocore (most of `import boto3`), requests with urllib3 and http.client,
sqlite3. A handler module then paid ~90 ms at import for clients its first request builds later,
or never (ingress sends nothing through requests). Here each library is patched by a post-import
hook when it is first imported: the same calls are traced, and the import of a library is paid
once, where it is used, with or without X-Ray.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

from aws_lambda_powertools import Tracer
from aws_xray_sdk.core import patch
from wrapt.importer import when_imported

# The libraries hookline calls AWS and destinations with (requirements.txt ships no other one the
# SDK can trace), by the module whose import makes them usable. Every client is made through
# botocore.session, which imports botocore.client in its body: hooked on botocore.client itself, the
# patch would run before the package has its `client` attribute. Not `botocore`: Powertools imports
# that package alone, and importing botocore.exceptions must not pull in the client machinery.
TRACED = {"botocore.session": "botocore", "requests": "requests"}


def _patcher(library: str) -> Callable[[ModuleType], None]:
    return lambda _module: patch([library])


def tracer(service: str) -> Tracer:
    """Powertools' Tracer without its patch_all(): records the handler subsegment (ColdStart, Service)."""
    traced = Tracer(service=service, auto_patch=False)
    for module, library in TRACED.items():
        when_imported(module)(_patcher(library))  # at once when already imported; patch() is idempotent
    return traced
