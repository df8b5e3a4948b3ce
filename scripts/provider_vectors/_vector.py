"""Write one provider's test vector: a request the provider's own SDK signed or accepted.

Each scripts/provider_vectors/make_<name>.py (named so it never shadows the SDK it imports) runs in a
throwaway venv that has the SDK (never in .venv: the SDKs are heavy or pin other versions) and writes
tests/unit/ingress/providers/vectors/<name>.json, which tests/unit/ingress/providers/test_catalog_e2.py
checks against hookline's verifier.
"""

from __future__ import annotations

import json
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
    VECTORS.mkdir(parents=True, exist_ok=True)
    (VECTORS / f"{name}.json").write_text(json.dumps(vector, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {VECTORS / f'{name}.json'}")
