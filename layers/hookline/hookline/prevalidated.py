"""hookline.yaml validated at deploy time, loaded in Lambda without validating it again.

`make deploy` validates the configuration (every check of `hookline validate`) and writes, next
to the bundled hookline.yaml, a JSON form: the validated model and the parsed AST of every
JMESPath expression in it. A cold start then reads JSON instead of YAML, skips the semantic
checks (schema files, transforms, URLs) and parses no expression. The JSON names the SHA-256
of the YAML it came from: if the YAML was changed without a new dump, the YAML is loaded and
validated as usual. This module writes the form; `validation.load_config` reads it.

    python -m hookline.prevalidated layers/hookline/hookline/bundled/hookline.yaml
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from hookline.core import expressions
from hookline.core.errors import ConfigError
from hookline.validation import PREVALIDATED_FORMAT, load_config, prevalidated_path


def dump(config_file: Path) -> Path:
    """Validate `config_file` fully and write its pre-validated form; raises ConfigError if invalid."""
    expressions._COMPILED.clear()  # only this configuration's expressions
    cfg = load_config(config_file)
    out = prevalidated_path(config_file)
    out.write_text(json.dumps({
        "format": PREVALIDATED_FORMAT,
        "yaml_sha256": hashlib.sha256(config_file.read_text().encode()).hexdigest(),
        "expressions": {expr: parsed.parsed for expr, parsed in expressions._COMPILED.items()},
        "config": cfg.model_dump(mode="json", by_alias=True, exclude_unset=True),
    }, separators=(",", ":")))
    return out


def main(argv: list[str]) -> int:
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
