"""The one loader for the sample events in events/ (shared with `sam local invoke`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).resolve().parents[2] / "events"


def load_event(name: str) -> dict[str, Any]:
    """load_event("ingress/github-issues") -> the parsed events/ingress/github-issues.json."""
    return json.loads((EVENTS / f"{name.removesuffix('.json')}.json").read_text())
