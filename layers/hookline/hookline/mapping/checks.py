"""What mapping needs of a configuration beyond the model: transforms that compile."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hookline.core.errors import Problem
from hookline.mapping.compiler import MappingSpecError, compile_transform

TRANSFORM_HINT = "see docs/mapping.md (field mapping)"


def transform_problems(spec: Any, path: str, base_dir: Path, hint: str = TRANSFORM_HINT) -> list[Problem]:
    """Each problem of a route's `transform` (none when it has none), under `path` (`routes[i].transform`)."""
    if spec is None:
        return []
    try:
        compile_transform(spec, base_dir)
    except MappingSpecError as e:
        return [Problem(f"{path}{('.' + sub) if sub else ''}", msg, hint) for sub, msg in e.problems]
    return []
