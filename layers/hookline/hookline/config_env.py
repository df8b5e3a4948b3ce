"""`${NAME}` and `${NAME:-default}` in a destination's or a sync's `url`: a value from the environment of the
process that loads the configuration.

Only URLs, because where a system answers is what differs between machines (the demo CRM on whichever
port was free, a staging host), while the rest of the file is the integration itself. Secrets have their
own references (env:, ssm:, secretsmanager:) and never pass through here. `make deploy` validates the
file and writes its pre-validated form (prevalidated.py), so a deployed function keeps the values of the
shell that deployed it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from hookline.core.errors import Problem

VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_SECTIONS = ("destinations", "syncs")


def expand_urls(data: dict[str, Any], env: Mapping[str, str] = os.environ) -> tuple[dict[str, Any], list[Problem]]:
    """`data` with the variables in its URLs replaced (a copy where anything changed; the caller's dict is
    left as it was), and a problem for each variable that is neither set nor given a default."""
    problems: list[Problem] = []
    out = data
    for section in _SECTIONS:
        entries = data.get(section)
        if not isinstance(entries, dict):
            continue
        for name, entry in entries.items():
            url = entry.get("url") if isinstance(entry, dict) else None
            if not isinstance(url, str) or "${" not in url:
                continue
            where = f"{section}.{name}.url"

            def value(m: re.Match[str], where: str = where) -> str:
                var, default = m.group(1), m.group(2)
                if env.get(var):
                    return env[var]
                if default is not None:
                    return default
                problems.append(Problem(where, f"${{{var}}} is not set in the environment",
                                        f"export {var}=... before running hookline, or give a default: "
                                        f"${{{var}:-VALUE}}"))
                return m.group(0)

            if out is data:
                out = dict(data)
            if out[section] is entries:
                out[section] = dict(entries)
            out[section][name] = {**entry, "url": VARIABLE.sub(value, url)}
    return out, problems
