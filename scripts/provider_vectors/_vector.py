"""Write one provider's test vector: a request the provider's own SDK signed or accepted.

Each scripts/provider_vectors/make_<name>.py (named so it never shadows the SDK it imports) runs in a
throwaway venv that has the SDK (never in .venv: the SDKs are heavy or pin other versions) and writes
tests/unit/ingress/providers/vectors/<name>.json, which tests/unit/ingress/providers/test_catalog_e2.py
checks against hookline's verifier.
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path

VECTORS = Path(__file__).resolve().parents[2] / "tests" / "unit" / "ingress" / "providers" / "vectors"


def write(name: str, *, sdk: str, accepted_by: str, **vector: object) -> None:
    version = metadata.version(sdk)
    venv = f"/tmp/pv-{name}"  # noqa: S108 - a scratch venv, thrown away after
    vector = {
        "provider": name,
        "signer": f"{sdk} {version}: {accepted_by}",
        "made_by": f"python3 -m venv {venv} && {venv}/bin/pip install {sdk}=={version} && "
                   f"{venv}/bin/python scripts/provider_vectors/make_{name}.py",
        "python": sys.version.split()[0],
        **vector,
    }
    save(vector)


def save(vector: dict[str, object]) -> None:
    """vectors/<provider>.json, for write() and for the scripts whose judge is a published example."""
    path = VECTORS / f"{vector['provider']}.json"
    VECTORS.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(vector, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {path}")


def checkout_file(path: str) -> tuple[str, str]:
    """`make_<name>.py <checkout or bare git dir> <commit> ...`: the commit, and the text of `path` at it."""
    repo, commit = sys.argv[1], sys.argv[2]
    text = subprocess.run(["git", "--git-dir", repo, "show", f"{commit}:{path}"],  # noqa: S603, S607 - a maintainer's tool
                          capture_output=True, text=True, check=True).stdout
    return commit, text
