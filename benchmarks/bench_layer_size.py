"""Size of what the Lambda layer ships from this repository: `layers/hookline` as `sam build` copies it.

Counts every file under the layer's ContentUri except what a build leaves behind and the layer
never needs (__pycache__, *.pyc, *.egg-info, the git-ignored `hookline/bundled/` that `make deploy`
writes): files, unzipped bytes, lines of Python, and the deflated size of the same files as a zip
(what Lambda stores). The layer's pip dependencies (requirements.txt) are not counted: they do not
change with the code. The tooling kept out of the layer (tools/hookline) is measured the same way.

    .venv/bin/python benchmarks/bench_layer_size.py [--root DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKIPPED_DIRS = {"__pycache__", "bundled"}


def layer_files(layer: Path) -> list[Path]:
    return sorted(p for p in layer.rglob("*") if p.is_file() and p.suffix != ".pyc"
                  and not any(part in SKIPPED_DIRS or part.endswith(".egg-info")
                              for part in p.relative_to(layer).parts[:-1]))


def measure(layer: Path) -> dict[str, int]:
    files = layer_files(layer)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in files:
            archive.write(file, file.relative_to(layer).as_posix())
    python = [f for f in files if f.suffix == ".py"]
    return {"files": len(files), "bytes": sum(f.stat().st_size for f in files),
            "python_files": len(python),
            "python_lines": sum(len(f.read_bytes().splitlines()) for f in python),
            "zip_bytes": len(buffer.getvalue())}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="repository to measure (default: this one)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    figures = {"layer": measure(args.root / "layers" / "hookline"), "tools": measure(args.root / "tools")}
    for name, where in (("layer", "layers/hookline, without dependencies"), ("tools", "tools/, not in the layer")):
        f = figures[name]
        print(f"{name} ({where}): {f['files']} files, {f['bytes']:,} bytes unzipped, {f['zip_bytes']:,} bytes "
              f"zipped, {f['python_lines']:,} lines in {f['python_files']} Python files")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
