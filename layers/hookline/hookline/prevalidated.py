"""hookline.yaml validated at deploy time, loaded in Lambda without validating it again.

`make deploy` validates the configuration (every check of `hookline validate`) and writes, next
to the bundled hookline.yaml, a JSON form: the validated model and the parsed AST of every
JMESPath expression in it. A cold start then reads JSON instead of YAML, skips the semantic
checks (schema files, transforms, URLs) and parses no expression. The JSON names the SHA-256
of the YAML it came from: if the YAML was changed without a new dump, the YAML is loaded and
validated as usual.

    python -m hookline.prevalidated layers/hookline/hookline/bundled/hookline.yaml
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

FORMAT = 1


def path_for(config_file: Path) -> Path:
    return config_file.with_suffix(".validated.json")


def dump(config_file: Path) -> Path:
    """Validate `config_file` fully and write its pre-validated form; raises ConfigError if invalid."""
    from hookline import expressions
    from hookline.config import load_config

    expressions._COMPILED.clear()  # only this configuration's expressions
    cfg = load_config(config_file)
    out = path_for(config_file)
    out.write_text(json.dumps({
        "format": FORMAT,
        "yaml_sha256": hashlib.sha256(config_file.read_text().encode()).hexdigest(),
        "expressions": {expr: parsed.parsed for expr, parsed in expressions._COMPILED.items()},
        "config": cfg.model_dump(mode="json", by_alias=True, exclude_unset=True),
    }, separators=(",", ":")))
    return out


def load(config_file: Path, text: str) -> Any | None:
    """The configuration from its pre-validated form, or None when there is none for this exact YAML."""
    out = path_for(config_file)
    try:
        data = json.loads(out.read_text())
    except (OSError, ValueError):
        return None
    if data.get("format") != FORMAT or data.get("yaml_sha256") != hashlib.sha256(text.encode()).hexdigest():
        return None
    from jmespath.parser import ParsedResult

    from hookline import expressions
    from hookline.config import HooklineConfig

    for expr, ast in data["expressions"].items():
        expressions._COMPILED.setdefault(expr, ParsedResult(expr, ast))
    cfg = HooklineConfig.model_validate(data["config"])  # the model's own checks are cheap; they stay
    cfg.route_index  # noqa: B018 - compiled at load, as parse_config does
    return cfg


def main(argv: list[str]) -> int:
    from hookline.errors import ConfigError

    if len(argv) != 1:
        print("usage: python -m hookline.prevalidated CONFIG_FILE", file=sys.stderr)
        return 2
    try:
        out = dump(Path(argv[0]))
    except ConfigError as e:
        print(e, file=sys.stderr)
        return 1
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
