"""The review list of `hookline report`: sources, destinations and routes past their `review_by:` date."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def overdue(config: str | None, stack: Any = None, today: Any = None) -> list[Any]:
    """Overdue reviews of the configuration in use; [] when there is none to read (the figures still print)."""
    # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
    from hookline.core.errors import ConfigError
    from hookline.governance import overdue_reviews
    from hookline.validation import load_config

    path = stack.config_file(config) if stack is not None else Path(config or os.environ.get("HOOKLINE_CONFIG")
                                                                      or "hookline.yaml")
    if not Path(path).is_file():
        return []
    try:
        cfg = load_config(path)
    except ConfigError:
        return []
    return overdue_reviews(cfg, today or datetime.now(UTC).date())
