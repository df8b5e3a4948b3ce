"""KEY=VALUE files (demo.env) for the `env:` secrets of `hookline dev` and `hookline send`.

Lines are `KEY=VALUE` or `export KEY=VALUE`; `#` starts a comment line; single or double
quotes around a value are removed. Variables already set in the environment win (a
shell `export` overrides the file). Values are never printed.
"""

from __future__ import annotations

import os
import re
from collections.abc import MutableMapping
from pathlib import Path

_LINE = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$")
DEFAULT_NAME = "demo.env"


class EnvFileError(ValueError):
    pass


def parse_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        m = _LINE.match(text)
        if not m:
            raise EnvFileError(f"{path}:{n}: not KEY=VALUE")
        value = m.group(2).strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[m.group(1)] = value
    return values


def default_env_file(config: Path) -> Path | None:
    candidate = config.resolve().parent / DEFAULT_NAME
    return candidate if candidate.is_file() else None


def load_env_file(path: Path, environ: MutableMapping[str, str] | None = None) -> tuple[list[str], list[str]]:
    """Set the file's variables that are not set yet; returns (set, already set) names."""
    env = os.environ if environ is None else environ
    applied, kept = [], []
    for key, value in parse_env_file(path).items():
        if key in env:
            kept.append(key)
        else:
            env[key] = value
            applied.append(key)
    return applied, kept
