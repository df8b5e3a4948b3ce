"""What `make deploy` puts in the layer beside the configuration: `python -m hookline.operations.bundle CONFIG DIR`.

The deployed functions read `hookline/bundled/hookline.yaml`, and resolve relative files from its
folder, exactly as locally from the configuration's folder. So the bundle holds the configuration
and every file it refers to: `lookup_file` tables, JSON Schema files, and the `transforms/` package
of python transforms. The folder is rebuilt from scratch each time (a removed file does not linger).
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hookline.core.config import HooklineConfig
from hookline.core.errors import ConfigError
from hookline.mapping.python_hook import PACKAGE
from hookline.validation import load_config


def _lookup_files(spec: Any) -> Iterator[str]:
    if isinstance(spec, dict):
        for key, value in spec.items():
            if key == "lookup_file" and isinstance(value, str):
                yield value
            else:
                yield from _lookup_files(value)
    elif isinstance(spec, list):
        for item in spec:
            yield from _lookup_files(item)


def referenced_files(cfg: HooklineConfig) -> tuple[list[str], bool]:
    """(relative file names, whether the transforms/ package is needed)."""
    files: list[str] = []
    for source in cfg.sources.values():
        if isinstance(source.schema_, str):
            files.append(source.schema_)
    python = False
    for route in cfg.routes:
        if isinstance(route.schema_, str):
            files.append(route.schema_)
        specs = [route.transform, *(step.body for step in route.enrich)]
        files += [f for spec in specs for f in _lookup_files(spec)]
        python = python or (isinstance(route.transform, dict) and "python" in route.transform)
    return list(dict.fromkeys(files)), python


def bundle(config: Path, target: Path) -> list[Path]:
    cfg = load_config(config)
    base = config.parent.resolve()
    files, python = referenced_files(cfg)
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    written = [target / "hookline.yaml"]
    shutil.copyfile(config, written[0])
    for name in files:
        source = (base / name).resolve()
        if not source.is_relative_to(base):
            raise ValueError(f"{name}: files the configuration refers to must be inside its folder ({base})")
        dest = target / source.relative_to(base)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, dest)
        written.append(dest)
    if python:
        shutil.copytree(base / PACKAGE, target / PACKAGE, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        written.append(target / PACKAGE)
    return written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m hookline.operations.bundle CONFIG TARGET_DIR", file=sys.stderr)
        return 2
    try:
        written = bundle(Path(args[0]), Path(args[1]))
    except (ConfigError, ValueError, OSError) as e:
        print(f"cannot bundle {args[0]}: {e}", file=sys.stderr)
        return 1
    for path in written:
        print(f"bundled {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
