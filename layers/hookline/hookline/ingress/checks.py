"""What ingress needs of a configuration beyond the model: usable source names, signature settings."""

from __future__ import annotations

import re
from pathlib import Path

from hookline.core.config import HooklineConfig, check_jmespath, check_schema
from hookline.core.errors import Problem

_SOURCE_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


def source_problems(cfg: HooklineConfig, base_dir: Path) -> list[Problem]:
    problems: list[Problem] = []
    for name, src in cfg.sources.items():
        p = f"sources.{name}"
        if not _SOURCE_NAME.match(name):
            problems.append(Problem(p, "source names appear in the URL /webhooks/{source}",
                                    "use letters, digits, '-' and '_' only"))
        v = src.verify
        if v.scheme == "hmac-sha256" and not v.header:
            problems.append(Problem(f"{p}.verify.header", "hmac-sha256 needs the name of the signature header",
                                    "e.g. header: X-Signature"))
        for key in ("id_path", "type_path"):
            expr = getattr(v, key)
            if expr:
                check_jmespath(expr, f"{p}.verify.{key}", problems)
        if src.schema_ is not None:
            check_schema(src.schema_, base_dir, f"{p}.schema", problems)
    return problems
