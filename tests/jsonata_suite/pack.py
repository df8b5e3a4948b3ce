"""Re-vendor the official JSONata test suite into two compact files.

Usage: python tests/jsonata_suite/pack.py /path/to/jsonata-js/jsonata [commit]
Reads `test/test-suite` at that commit with git (no work tree needed) and writes cases.json
(every case, `expr-file` inlined, keyed "group/file[#index]") and datasets.json beside this file.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def _git(repo: str, *args: str) -> str:
    return subprocess.run(["git", "-C", repo, *args], check=True, capture_output=True, text=True).stdout


def main(repo: str, commit: str = "HEAD") -> None:
    root = "test/test-suite"
    names = _git(repo, "ls-tree", "-r", "--name-only", commit, root).split()
    datasets, cases = {}, []
    for name in sorted(names):
        rel = name[len(root) + 1 :]
        if rel.startswith("datasets/") and rel.endswith(".json"):
            datasets[Path(rel).stem] = json.loads(_git(repo, "show", f"{commit}:{name}"))
        elif rel.startswith("groups/") and rel.endswith(".json"):
            group = rel.split("/")[1]
            spec = json.loads(_git(repo, "show", f"{commit}:{name}"))
            many = isinstance(spec, list)
            for i, case in enumerate(spec if many else [spec]):
                if "expr-file" in case:
                    case["expr"] = _git(repo, "show", f"{commit}:{root}/groups/{group}/{case.pop('expr-file')}")
                case_id = f"{group}/{Path(rel).stem}" + (f"#{i}" if many else "")
                cases.append({"id": case_id, **case})
    (HERE / "datasets.json").write_text(json.dumps(datasets, separators=(",", ":"), sort_keys=True) + "\n")
    (HERE / "cases.json").write_text(
        "[\n" + ",\n".join(json.dumps(c, separators=(",", ":")) for c in cases) + "\n]\n"
    )
    print(f"{len(cases)} cases, {len(datasets)} datasets")


if __name__ == "__main__":
    main(*sys.argv[1:])
